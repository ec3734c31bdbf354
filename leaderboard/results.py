"""Read lm-eval results files (this harness's or any plain `lm_eval --output_path` run) into records.

A record is one evaluated model or checkpoint: its tasks' measurements, what data each task read,
and the provenance a reader needs to trust the numbers. A file that is not a readable results file
is a one-line UserError naming it: a leaderboard never drops a run silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from bias_inheritance.cards import CARD_SUFFIX, FOLDER_CARD, read_card
from bias_inheritance.errors import UserError
from bias_inheritance.identity import short_key
from bias_inheritance.io import read_json, sha256_file
from bias_inheritance.schema import PROVENANCE_KEY, TASK_DATA_FAMILY_KEY
from evaluation.store import SAMPLES_FILE, default_store
from leaderboard.metrics import TaskMetrics, parse_task
from leaderboard.provenance import data_sources, eval_data, mapping, row_provenance, training_provenance

# The manifest `leaderboard add` writes beside an external base/tuned pair (see leaderboard.external).
EXTERNAL_MANIFEST = "external.json"
# The board's own JSON (leaderboard.build), passed over when a board folder is scanned again.
BOARD_JSON = "leaderboard.json"
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
    n: dict[str, int | None]  # task -> documents scored (a group: the sum over its tasks)
    sample_logs: dict[str, Path]  # task -> lm-eval's per-sample log, where it is on this machine
    bias: str | None  # the data family the run's augmented data was about (gender, culture), if recorded

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
        if subtasks.get(name) and name not in seen:  # lm-eval lists every leaf task too, with no members
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
        entries[name] = TaskEntry(name, parse_task(values), bool(subtasks.get(name)), family, output_type)
    return entries


def _documents(raw: Mapping[str, Any], tasks: Mapping[str, TaskEntry], path: Path) -> dict[str, int | None]:
    """lm-eval's `n-samples[task].effective` (documents scored); a group's is the sum over its tasks."""
    counts = mapping(raw, "n-samples", "", path)
    subtasks = mapping(raw, "group_subtasks", "", path)

    def documents(name: str, seen: frozenset[str] = frozenset()) -> int | None:
        entry = counts.get(name)
        if isinstance(entry, Mapping):
            value = entry.get("effective", entry.get("original"))
            return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
        members = subtasks.get(name) if name not in seen else None
        parts = [documents(member, seen | {name}) for member in members or []]
        return sum(parts) if parts and all(p is not None for p in parts) else None  # type: ignore[misc]

    return {name: documents(name) for name in tasks}


_LM_EVAL_DATE = re.compile(r"_(?P<date>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(?:\.\d+)?)$")


def _sample_logs(block: Mapping[str, Any], tasks: Mapping[str, TaskEntry], path: Path) -> dict[str, Path]:
    """Per-sample logs: this harness's task store (as recorded, else the default store beside the file),
    or the `samples_<task>_<date>.jsonl` that `lm_eval --output_path --log_samples` writes beside
    `results_<date>.json`."""
    found: dict[str, Path] = {}
    recorded = block.get("tasks") if isinstance(block.get("tasks"), Mapping) else {}
    date = _LM_EVAL_DATE.search(path.stem)
    for name in tasks:
        info = recorded.get(name)
        candidates = []
        if isinstance(info, Mapping):
            if info.get("path"):
                candidates.append(Path(str(info["path"])) / SAMPLES_FILE)
            if info.get("key"):
                candidates.append(default_store(path) / name / short_key(str(info["key"])) / SAMPLES_FILE)
        if date:
            candidates.append(path.parent / f"samples_{name}_{date['date']}.jsonl")
        existing = next((c for c in candidates if c.is_file()), None)
        if existing is not None:
            found[name] = existing
    return found


def _bias(block: Mapping[str, Any], path: Path) -> str | None:
    """The run's bias family (gender, culture): the block's, else its adapter card's provenance's."""
    card = mapping(block, "adapter_card", "bias_inheritance.", path)
    provenance = mapping(mapping(card, "summary", "bias_inheritance.adapter_card.", path), "provenance",
                         "bias_inheritance.adapter_card.summary.", path)
    value = block.get("bias") or provenance.get("bias")
    return str(value) if value else None


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
    tasks = _tasks(raw, path)
    return RunRecord(
        label=label, role=role, path=path, provenance=provenance, tasks=tasks, eval_data=data,
        sources=sources, trained_format=training.get("format"),
        card=str(block["card"]) if block.get("card") else None, card_key=_card_key(block.get("card"), path),
        sha256=sha256_file(path), n=_documents(raw, tasks, path), sample_logs=_sample_logs(block, tasks, path),
        bias=_bias(block, path),
    )


def _is_card(path: Path) -> bool:
    return path.name == FOLDER_CARD or path.name.endswith(CARD_SUFFIX)


def _is_store_slice(path: Path) -> bool:
    """One task's part of an evaluation, kept in the evaluator's per-task store: not a run of its own."""
    return path.name == "results.json" and (path.parent / FOLDER_CARD).is_file()


def _passed_over(path: Path) -> bool:
    """JSON files a results folder may hold that are not runs: cards, store slices, external-pair
    manifests, a board's own JSON."""
    return _is_card(path) or _is_store_slice(path) or path.name in (EXTERNAL_MANIFEST, BOARD_JSON)


def discover(paths: list[Path]) -> list[Path]:
    """Expand folders into the results files they hold.

    Every JSON file in a folder, apart from cards, store slices and external-pair manifests, must be a
    results file: a corrupt or foreign one is refused (by load_record, naming it) instead of being
    skipped, so a board never silently loses a run whose file was damaged.
    """
    found: list[Path] = []
    for path in (Path(p) for p in paths):
        if path.is_dir():
            found += sorted(p for p in path.rglob("*.json") if not _passed_over(p))
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
    return found
