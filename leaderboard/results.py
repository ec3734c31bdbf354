"""Read lm-eval results files (this harness's or any plain `lm_eval --output_path` run) into records.

A record is one evaluated model or checkpoint: its tasks' measurements, what data each task read,
and the provenance a reader needs to trust the numbers. A file that is not a readable results file
is a one-line UserError naming it: a leaderboard never drops a run silently.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from bias_inheritance.cards import CARD_SUFFIX, FOLDER_CARD, read_card
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json, sha256_file
from bias_inheritance.schema import PROVENANCE_KEY, TASK_DATA_FAMILY_KEY
from leaderboard.metrics import TaskMetrics, parse_task
from leaderboard.provenance import data_sources, eval_data, mapping, row_provenance, training_provenance

_FIX = "pass an unmodified results file written by `bias-inheritance evaluate` or `lm_eval --output_path`."


@dataclass(frozen=True)
class TaskEntry:
    """One `results[...]` entry: a task or a group, with what tables are grouped by."""

    name: str
    metrics: TaskMetrics
    is_group: bool
    family: str | None  # data family from the task config's metadata (schema.TASK_DATA_FAMILY_KEY)
    output_type: str | None  # lm-eval's output_type; a group's when all its tasks share it


@dataclass(frozen=True)
class RunRecord:
    label: str
    role: str
    path: Path
    provenance: dict[str, Any]  # leaderboard.provenance.COLUMNS -> value (None: not recorded)
    tasks: dict[str, TaskEntry]
    eval_data: dict[str, str]  # family -> data source label the evaluation read
    sources: dict[str, Mapping[str, Any]]  # family -> source record (for marks of older files)
    trained_format: str | None  # the format the adapter was trained in (its card), if recorded
    card: str | None  # the results card's path, from the provenance block
    card_key: str | None  # its key, when that card is readable here
    sha256: str  # of the results file itself

    @property
    def format(self) -> str | None:
        return self.provenance["format"]

    @property
    def limit(self) -> Any:
        return self.provenance["limit"]


def _read(path: Path) -> dict[str, Any]:
    raw = read_json(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), dict):
        raise UserError(f"{path} is not an lm-eval results file (no 'results' mapping).", _FIX)
    if not raw["results"]:
        raise UserError(f"{path} holds no task results ('results' is empty).", "re-run the evaluation that wrote it.")
    return raw


def _tasks(raw: Mapping[str, Any], path: Path) -> dict[str, TaskEntry]:
    configs = mapping(raw, "configs", "", path)
    subtasks = mapping(raw, "group_subtasks", "", path)

    def kind(name: str, seen: frozenset[str] = frozenset()) -> tuple[str | None, str | None]:
        """(data family, output type) of a task, or of a group whose members all share one."""
        if name in subtasks and name not in seen:
            kinds = {kind(member, seen | {name}) for member in subtasks[name] or []}
            return kinds.pop() if len(kinds) == 1 else (None, None)
        config = configs.get(name)
        if not isinstance(config, Mapping):
            return None, None
        metadata = config.get("metadata")
        family = metadata.get(TASK_DATA_FAMILY_KEY) if isinstance(metadata, Mapping) else None
        return family, config.get("output_type")

    entries = {}
    for name, values in sorted(raw["results"].items()):
        if not isinstance(values, dict):
            raise UserError(f"{path}: results[{name!r}] is not a mapping.", _FIX)
        family, output_type = kind(name)
        entries[name] = TaskEntry(name, parse_task(values), name in subtasks, family, output_type)
    return entries


def _card_key(card: Any, path: Path) -> str | None:
    """The results card's key; None when the card is not on this machine (a copied results file)."""
    if not card:
        return None
    card_file = Path(str(card))
    if not card_file.is_absolute():
        card_file = path.parent / card_file
    found = read_card(card_file)
    return None if found is None else str(found["key"])


def load_record(path: Path) -> RunRecord:
    """One results file -> a RunRecord; anything else is a UserError naming the file."""
    path = Path(path)
    raw = _read(path)
    block = mapping(raw, PROVENANCE_KEY, "", path)
    training = training_provenance(block, path)
    sources = data_sources(block, path)
    data = eval_data(sources)
    provenance = row_provenance(raw, block, training, data, path)
    if block.get("label"):
        label, role = str(block["label"]), str(block.get("role") or "–")
    else:
        adapter = provenance["adapter"]
        named = str(adapter or provenance["model"] or path.stem)
        label = Path(named.split("@", 1)[0]).name or named
        role = "finetuned" if adapter else "base"
    return RunRecord(
        label=label, role=role, path=path, provenance=provenance, tasks=_tasks(raw, path), eval_data=data,
        sources=sources, trained_format=training.get("format"),
        card=str(block["card"]) if block.get("card") else None, card_key=_card_key(block.get("card"), path),
        sha256=sha256_file(path),
    )


def _is_card(path: Path) -> bool:
    return path.name == FOLDER_CARD or path.name.endswith(CARD_SUFFIX)


def _looks_like_results(path: Path) -> bool:
    """Files named results*.json are always results (and fail loudly if corrupt); others are sniffed."""
    if path.name.startswith("results"):
        return True
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("results"), dict)


def _is_store_slice(path: Path) -> bool:
    """One task's part of an evaluation, kept in the evaluator's per-task store: not a run of its own."""
    return path.name == "results.json" and (path.parent / FOLDER_CARD).is_file()


def discover(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Expand folders into the results files they hold; returns (results files, skipped JSON files).

    A file passed by name must be a results file; in a folder, cards are passed over and any other
    JSON is reported as skipped.
    """
    found: list[Path] = []
    skipped: list[Path] = []
    for path in (Path(p) for p in paths):
        if path.is_dir():
            for candidate in sorted(p for p in path.rglob("*.json") if not _is_card(p) and not _is_store_slice(p)):
                (found if _looks_like_results(candidate) else skipped).append(candidate)
        elif path.exists():
            found.append(path)
        else:
            raise UserError(f"{path} does not exist.", "pass results files or folders holding them.")
    unique: dict[Path, Path] = {}
    for file in found:  # a file named twice (or inside a folder also passed) is one run
        unique.setdefault(file.resolve(), file)
    found = list(unique.values())
    if not found:
        where = ", ".join(str(p) for p in paths)
        raise UserError(f"No lm-eval results files in {where}.",
                        "pass the files written by `evaluate` or `lm_eval --output_path`.")
    return found, skipped
