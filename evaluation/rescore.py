"""Score logged samples again with the current task code, without generating again.

Evaluation keeps lm-eval's per-sample logs beside every task result (see `store`). `rescore`
runs each task's *current* `process_results` on every logged document and response, then the
task's current metric aggregations through lm-eval's own aggregation code: after a parser fix,
or with a larger lexicon passed through metadata, the numbers change without loading a model.

The new results go next to the old, never over them: `<name>.rescored-<key12>.json`, with a card
(stage "rescore", parent: the original results' card) that records what changed: the task code
and config hashes, the metadata, and which metrics moved.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any, Mapping

from bias_inheritance import cards, schema
from bias_inheritance.errors import UserError
from bias_inheritance.identity import short_key
from bias_inheritance.io import atomic_write_text, read_json
from evaluation.console import quiet_repeats
from evaluation.selection import TaskSpec, check_data, metadata_inputs, select_tasks
from evaluation.store import PER_TASK_SECTIONS, default_store, load_samples, to_json

STAGE = "rescore"
DEFAULT_BOOTSTRAP_ITERS = 100000  # simple_evaluate's default, used when the results do not say


def rescored_path(results_path: Path, key: str) -> Path:
    """`r.json` -> `r.rescored-<key12>.json` beside it."""
    stem = results_path.name.removesuffix(results_path.suffix)
    return results_path.with_name(f"{stem}.rescored-{short_key(key)}{results_path.suffix or '.json'}")


def _provenance(results: Mapping[str, Any], path: Path) -> dict[str, Any]:
    ours = results.get(schema.PROVENANCE_KEY)
    if not isinstance(ours, dict) or not isinstance(ours.get("tasks"), dict) or not ours["tasks"]:
        raise UserError(f"{path} holds no per-task results with sample logs.",
                        "rescore results written by `bias-inheritance evaluate`, which keeps them.")
    return ours


def _task_folder(results_path: Path, ours: Mapping[str, Any], task: str) -> Path:
    """Where a task's samples are: the recorded folder, or the default store beside the results."""
    info = ours["tasks"][task]
    recorded = Path(info["path"])
    if recorded.is_dir():
        return recorded
    fallback = default_store(results_path) / task / short_key(info["key"])
    if fallback.is_dir():
        return fallback
    raise UserError(f"The logged samples of {task} are gone (no {recorded}).", "evaluate that task again.")


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def score_samples(tasks: Mapping[str, Any], samples: Mapping[str, list[dict]], bootstrap_iters: int) -> dict[str, Any]:
    """lm-eval's results sections for logged samples, scored by the given (current) Task objects."""
    from lm_eval.evaluator_utils import _process_results  # lm-eval's aggregation, as in evaluate()

    accumulated: dict[str, Any] = {}
    for name, task in tasks.items():
        raw: dict[tuple[str, str], list[Any]] = defaultdict(list)
        for sample in samples[name]:
            for metric, value in task.process_results(sample["doc"], sample["filtered_resps"]).items():
                raw[(metric, sample["filter"])].append(value)
        accumulated[name] = {"task": task, "raw_metrics": raw, "logged_samples": []}
    return dict(_process_results(accumulated, {}, bootstrap_iters)._to_eval_results())


def _changes(
    original: Mapping[str, Any], rescored: Mapping[str, Any], specs: Mapping[str, TaskSpec],
    task_cards: Mapping[str, Mapping[str, Any]], old_metadata: Mapping[str, Any], new_metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """What differs from the original results: code, config, metadata, and the metrics that moved."""
    changed: dict[str, Any] = {"task_code": {}, "task_config": {}, "metrics": {}}
    for name, spec in specs.items():
        card = task_cards.get(name) or {}
        before_code = (card.get("summary") or {}).get("task_code_sha256")
        before_config = (card.get("inputs") or {}).get("task_config_sha256")
        if before_code != spec.code_sha256:
            changed["task_code"][name] = {"before": before_code, "after": spec.code_sha256}
        if before_config != spec.config_sha256:
            changed["task_config"][name] = {"before": before_config, "after": spec.config_sha256}
        old = (original.get("results") or {}).get(name) or {}
        new = (rescored.get("results") or {}).get(name) or {}
        moved = sorted(k for k in set(old) | set(new) if "," in k and not _same(old.get(k), new.get(k)))
        if moved:
            changed["metrics"][name] = moved
    if dict(old_metadata) != dict(new_metadata):
        changed["metadata"] = {"before": dict(old_metadata), "after": dict(new_metadata)}
    return changed


def rescore(results_path: str | Path, *, metadata: Mapping[str, Any] | None = None,
            bootstrap_iters: int | None = None) -> Path:
    """Score the logged samples behind `results_path` with the current task code; returns the new file.

    `metadata` is laid over the metadata the evaluation used (e.g. {"lexicon_path": "more.csv"}).
    Nothing is generated and no model is loaded. The same code and metadata give the same output
    file, which is then reused.
    """
    results_path = Path(results_path)
    original = read_json(results_path)
    ours = _provenance(original, results_path)
    source = cards.parent("results", results_path)
    old_metadata = dict(ours.get("metadata") or {})
    new_metadata = {**old_metadata, **dict(metadata or {})}
    names = list(ours["tasks"])
    manager, spec_list = select_tasks(names, new_metadata)
    specs = {spec.name: spec for spec in spec_list}
    check_data(spec_list, new_metadata)  # the tasks are built again, and building one reads its data
    iters = bootstrap_iters if bootstrap_iters is not None else int(
        (original.get("config") or {}).get("bootstrap_iters", DEFAULT_BOOTSTRAP_ITERS))
    inputs = {
        "task_code": {name: spec.code_sha256 for name, spec in specs.items()},
        "task_config": {name: spec.config_sha256 for name, spec in specs.items()},
        "metadata": metadata_inputs(new_metadata),  # a lexicon edited in place is another input
        "bootstrap_iters": iters,
    }
    parents = {"results": source}
    key = cards.stage_key(STAGE, inputs, parents)
    out = rescored_path(results_path, key)
    if cards.check_reuse(out, STAGE, key, inputs, what="Rescored results", fix=f"delete {out}.") == "complete":
        return out
    folders = {name: _task_folder(results_path, ours, name) for name in names}
    samples = {name: load_samples(folder) for name, folder in folders.items()}
    with quiet_repeats():
        tasks = manager.load(names)["tasks"]
        rescored = score_samples({name: tasks[name] for name in names}, samples, iters)
    for name in names:  # the documents scored are the logged ones, whatever the data holds now
        before = (original.get("n-samples") or {}).get(name) or {}
        rescored["n-samples"][name] = {**rescored["n-samples"][name], **{k: v for k, v in before.items() if k == "original"}}
    task_cards = {name: cards.read_card(cards.card_path(folder)) or {} for name, folder in folders.items()}
    changed = _changes(original, rescored, specs, task_cards, old_metadata, new_metadata)
    card_file = cards.card_path(out)
    document = {k: v for k, v in original.items() if k not in PER_TASK_SECTIONS and k != schema.PROVENANCE_KEY}
    document.update({section: rescored.get(section, {}) for section in PER_TASK_SECTIONS})
    document[schema.PROVENANCE_KEY] = {
        **ours, "metadata": new_metadata, "card": str(card_file.resolve()),
        # its own row on a leaderboard, told apart from the evaluation it re-scored
        "label": f"{ours.get('label')} (rescored {short_key(key)})",
        "rescore": {"from": str(results_path.resolve()), "from_card": str(source.card.resolve()), "changed": changed},
    }
    atomic_write_text(out, to_json(document))
    source_card = cards.read_card(source.card) or {}
    cards.write_card(out, STAGE, inputs, parents=parents, summary={
        "provenance": (source_card.get("summary") or {}).get("provenance") or {},
        "changed": changed,
    })
    return out
