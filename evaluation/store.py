"""Per-task results keyed by everything that decides them, so each is computed once and reused after.

A store folder (default: `<results file without suffix>.tasks/`) holds

    <task>/<key12>/card.json       stage "evaluate": the task's full input record and key. Written
                                   "partial" before the files and "complete" after them, so a
                                   write torn by a kill is evaluated again, never reused.
    <task>/<key12>/results.json    that task's slice of lm-eval's results (results, configs,
                                   versions, n-shot, higher_is_better, n-samples, and the run's
                                   config, date and versions), itself a valid lm-eval results file
    <task>/<key12>/samples.jsonl   lm-eval's per-sample logs (log_samples), read by `rescore`
    requests/<key12>_rank0.db      lm-eval's request cache (use_cache) of one model + adapter + dtype

A result is reused only when its card carries the same key (cards.check_reuse); a folder with
another key is never silently used.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from bias_inheritance import cards
from bias_inheritance.identity import short_key
from bias_inheritance.io import atomic_write_text, read_json, read_jsonl

STAGE = "evaluate"
RESULTS_FILE = "results.json"
SAMPLES_FILE = "samples.jsonl"
REQUESTS_FOLDER = "requests"
STORE_SUFFIX = ".tasks"
# Sections of lm-eval's results that map task name -> value; everything else is about the run.
PER_TASK_SECTIONS = ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples")
# Sections a single task's slice does not carry (samples live in samples.jsonl; groups are not keyed).
_LEFT_OUT = frozenset({"samples", "groups", "group_subtasks"})


def to_json(value: Any) -> str:
    """lm-eval's results as JSON text (its own fallback for values JSON cannot hold)."""
    from lm_eval.utils import handle_non_serializable

    return json.dumps(value, indent=2, default=handle_non_serializable, ensure_ascii=False) + "\n"


def _jsonl(rows: Iterable[Any]) -> str:
    from lm_eval.utils import handle_non_serializable

    return "".join(json.dumps(row, default=handle_non_serializable, ensure_ascii=False) + "\n" for row in rows)


def default_store(out_path: Path) -> Path:
    """`results.json` -> `results.tasks/` beside it."""
    out_path = Path(out_path)
    return out_path.with_name(out_path.name.removesuffix(out_path.suffix) + STORE_SUFFIX)


def task_slice(results: Mapping[str, Any], task: str) -> dict[str, Any]:
    """One task's part of lm-eval's results dict, plus the run-level sections."""
    part: dict[str, Any] = {k: v for k, v in results.items() if k not in PER_TASK_SECTIONS and k not in _LEFT_OUT}
    for section in PER_TASK_SECTIONS:
        if task in (results.get(section) or {}):
            part[section] = {task: results[section][task]}
    return part


def merge_slices(slices: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """lm-eval's results format from per-task slices, in the given task order.

    The run-level sections (config, date, versions of the run) come from the newest slice.
    """
    newest = max(slices.values(), key=lambda s: float(s.get("date") or 0), default={})
    merged: dict[str, Any] = {section: {} for section in PER_TASK_SECTIONS}
    merged["group_subtasks"] = {}
    for part in slices.values():
        for section in PER_TASK_SECTIONS:
            merged[section].update(part.get(section) or {})
    merged.update({k: v for k, v in newest.items() if k not in PER_TASK_SECTIONS})
    return merged


@dataclass(frozen=True)
class TaskStore:
    """The store folder of per-task results."""

    root: Path

    def folder(self, task: str, key: str) -> Path:
        return Path(self.root) / task / short_key(key)

    def status(self, task: str, key: str, inputs: Mapping[str, Any]) -> cards.Reuse:
        """"complete" (reuse), "partial" (a torn write: evaluate again) or "absent"."""
        return cards.check_reuse(
            self.folder(task, key), STAGE, key, inputs, what=f"The stored result of {task}",
            fix=f"delete {self.folder(task, key)} or pass another store folder.",
        )

    def request_cache(self, key: str) -> str:
        """The `use_cache` prefix for one model side (lm-eval appends `_rank<N>.db`)."""
        return str(Path(self.root) / REQUESTS_FOLDER / short_key(key))

    def save(
        self,
        task: str,
        inputs: Mapping[str, Any],
        parents: Mapping[str, cards.Parent],
        part: Mapping[str, Any],
        samples: Iterable[Any],
        summary: Mapping[str, Any],
        environment: Mapping[str, Any],
    ) -> dict[str, Any]:
        """Write one task's result: a partial card, the files, then the complete card (returned)."""
        key = cards.stage_key(STAGE, inputs, parents)
        folder = self.folder(task, key)
        folder.mkdir(parents=True, exist_ok=True)
        cards.write_card(folder, STAGE, inputs, parents=parents, status="partial", environment=environment)
        atomic_write_text(folder / SAMPLES_FILE, _jsonl(samples))
        atomic_write_text(folder / RESULTS_FILE, to_json(part))
        return cards.write_card(folder, STAGE, inputs, parents=parents, status="complete", summary=summary,
                                environment=environment)


def load_slice(folder: Path) -> dict[str, Any]:
    return read_json(Path(folder) / RESULTS_FILE)


def load_samples(folder: Path) -> list[dict]:
    return read_jsonl(Path(folder) / SAMPLES_FILE)
