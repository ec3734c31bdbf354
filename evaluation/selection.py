"""Which leaf tasks a run evaluates and what each one reads, decided before any model is loaded.

Names may be task, group or tag names, or globs over them (`bias_inheritance_*`). Every name is
expanded to leaf tasks from lm-eval's own task index (without building the tasks, which would load
their data), each leaf once, so a glob that matches a group and its members runs each task once.
Each leaf's data family (`metadata.data_family` in its YAML) is then checked, so a missing data set
is a one-line error naming the command that adds it, not a traceback from inside lm-eval.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from bias_inheritance import cache, cards, schema
from bias_inheritance.data.source_file import SOURCE_FILE
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json, folder_sha256
from bias_inheritance.io import read_json, sha256_file
from bias_tasks import tasks_path
from bias_tasks.common import docs

# Config keys that name or file a task without changing what it computes (left out of its key).
_NAMING_KEYS = frozenset({"task", "tag", "task_alias", "group", "group_alias"})
_CODE_SUFFIXES = (".py", ".yaml", "_yaml", ".json", ".csv", ".txt", ".jinja")
SHARED_TASK_CODE = "common"  # bias_tasks/common: helpers every task imports
# Every task, group and tag of ours carries this in its name, so such a name is never one of lm-eval's.
OUR_MARK = "bias_inheritance"


@dataclass(frozen=True)
class TaskSpec:
    """One leaf task as the index describes it: enough to key its result and check its data."""

    name: str
    version: Any
    output_type: str | None
    config_sha256: str  # the YAML config (includes resolved), function references by name
    code_sha256: str  # the task's folder and the shared task helpers
    family: str | None  # data family read, from metadata.data_family (None: reads no prepared data)
    dataset: str | None  # culture: dataset key, from dataset_kwargs.dataset


@dataclass(frozen=True)
class TaskData:
    """The prepared data one task reads: where, which source, and the content that keys its result."""

    family: str
    dataset: str | None
    folder: Path
    label: str
    content: str  # sha256 of the files the task reads (see data_sha256)


def task_manager(metadata: Mapping[str, Any] | None = None, include_defaults: bool = False) -> Any:
    """A TaskManager that sees our tasks (and lm-eval's own only when asked: indexing them takes ~7 s).

    lm-eval applies `metadata` (passed on to `custom_dataset`) only through the TaskManager, not
    through simple_evaluate when a manager is given.
    """
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(tasks_path()), include_defaults=include_defaults,
                       metadata=dict(metadata) if metadata else None)


def select_tasks(names: Sequence[str], metadata: Mapping[str, Any] | None = None) -> tuple[Any, list[TaskSpec]]:
    """(manager, leaf tasks) for task names or globs; unknown names are one UserError.

    lm-eval's own tasks are indexed only when a name that is not ours (see OUR_MARK) is unmatched.
    """
    wanted = [n.strip() for name in names for n in str(name).split(",") if n.strip()]
    if not wanted:
        raise UserError("No task names given.", "pass --tasks, e.g. bias_inheritance_gender_bios or 'bias_inheritance_*'.")
    manager = task_manager(metadata)
    if any(OUR_MARK not in name.replace("-", "_") for name in _unmatched(wanted, manager.all_tasks)):
        manager = task_manager(metadata, include_defaults=True)
    unknown = _unmatched(wanted, manager.all_tasks)
    if unknown:
        ours = sorted(t for t in manager.all_tasks if t.startswith(OUR_MARK))
        raise UserError(f"Unknown task(s): {', '.join(unknown)}.",
                        f"use task, group or tag names or globs over them, e.g. {', '.join(ours[:6])} or 'bias_inheritance_*'.")
    leaves: dict[str, None] = {}
    for name in wanted:
        for match in _matches(name, manager.all_tasks):
            leaves.update(dict.fromkeys(_leaves(match, manager.task_index, ())))
    return manager, [task_spec(manager, name) for name in leaves]


def _matches(pattern: str, names: Sequence[str]) -> list[str]:
    if pattern in names:
        return [pattern]
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern)) if any(c in pattern for c in "*?[") else []


def _unmatched(patterns: Iterable[str], names: Sequence[str]) -> list[str]:
    return [p for p in patterns if not _matches(p, names)]


def _group_fields() -> frozenset[str]:
    from lm_eval.config.group import GroupConfig

    return frozenset(f.name for f in fields(GroupConfig))


def _leaves(name: str, index: Mapping[str, Any], trail: tuple[str, ...]) -> list[str]:
    """Leaf task names of a task, tag or group, the way lm-eval's TaskFactory builds them."""
    from lm_eval.tasks._index import Kind

    if name in trail:
        raise UserError(f"Group {trail[0]} contains itself (through {' -> '.join(trail)}).", "fix the group YAML.")
    entry = index[name]
    if entry.kind in (Kind.TASK, Kind.PY_TASK):
        return [name]
    if entry.kind == Kind.TAG:
        return [leaf for task in sorted(entry.tags) if task in index for leaf in _leaves(task, index, trail + (name,))]
    cfg = entry.cfg or {}
    overrides = sorted(set(cfg) - _group_fields())
    members = cfg.get("task") or []
    if overrides or any(not isinstance(m, str) or m not in index for m in members):
        # A group that changes its members' settings (or defines tasks inline) cannot be split into
        # leaf tasks evaluated on their own without changing what they compute.
        raise UserError(f"Group {name} changes or defines its tasks inline, so its tasks cannot be keyed one by one.",
                        "name its tasks instead, or run the group with plain `lm_eval`.")
    return [leaf for member in members for leaf in _leaves(member, index, trail + (name,))]


def _portable(value: Any) -> Any:
    """The config with absolute function references (`/path/utils.fn`) reduced to `utils.fn`."""
    if isinstance(value, Mapping):
        return {k: _portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_portable(v) for v in value]
    if isinstance(value, str) and os.path.isabs(value):
        return Path(value).name
    return value


def _code_folders(yaml_path: Path | None) -> list[Path]:
    """The task's own folder (the top folder under bias_tasks/) and the shared helpers."""
    if yaml_path is None:
        return []
    root = tasks_path()
    try:
        top = root / Path(yaml_path).resolve().relative_to(root).parts[0]
    except ValueError:  # one of lm-eval's own tasks
        return [Path(yaml_path).parent]
    return [top, root / SHARED_TASK_CODE]


def code_sha256(folders: Iterable[Path]) -> str:
    """sha256 over the names and bytes of the source files in `folders` (caches skipped)."""
    digest = hashlib.sha256()
    for folder in folders:
        for path in sorted(p for p in Path(folder).rglob("*") if p.is_file() and p.name.endswith(_CODE_SUFFIXES)
                           and "__pycache__" not in p.parts):
            digest.update(f"{folder.name}/{path.relative_to(folder).as_posix()}".encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).hexdigest().encode() + b"\n")
    return digest.hexdigest()


def task_spec(manager: Any, name: str) -> TaskSpec:
    """Describe one leaf task from the index (its YAML, includes resolved, functions unresolved)."""
    entry = manager.task_index[name]
    cfg = dict(entry.cfg or {})
    meta = cfg.get("metadata") if isinstance(cfg.get("metadata"), dict) else {}
    family = meta.get(schema.TASK_DATA_FAMILY_KEY)
    if family is not None and family not in schema.DATA_FAMILIES:
        raise UserError(f"Task {name} names an unknown data family {family!r}.",
                        f"use one of: {', '.join(schema.DATA_FAMILIES)} in its YAML metadata.")
    dataset_kwargs = cfg.get("dataset_kwargs") if isinstance(cfg.get("dataset_kwargs"), dict) else {}
    config = _portable({k: v for k, v in cfg.items() if k not in _NAMING_KEYS})
    return TaskSpec(
        name=name,
        version=meta.get("version"),
        output_type=cfg.get("output_type"),
        config_sha256=hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest(),
        code_sha256=code_sha256(_code_folders(entry.yaml_path)),
        family=family,
        dataset=dataset_kwargs.get("dataset"),
    )


def data_folder(family: str, metadata: Mapping[str, Any] | None) -> Path:
    """The prepared folder of `family` a run reads: the tasks' own reading of `--metadata`, else the cache."""
    return docs.data_folder(family, metadata or {}) or cache.data_dir(family)


def metadata_inputs(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """`metadata` for a key: a value naming a file (a lexicon) counts by its content too.

    Data folders are keyed by their content elsewhere (data_sha256); leave their keys out first.
    """
    return {k: {"path": v, "sha256": sha256_file(Path(v).expanduser())}
            if isinstance(v, str) and v and Path(v).expanduser().is_file() else v
            for k, v in sorted(metadata.items())}


def source_record(folder: Path) -> dict[str, Any]:
    """A prepared folder's source.json (what it holds, where from, checksums)."""
    return read_json(Path(folder) / SOURCE_FILE)


def data_sha256(folder: Path, dataset: str | None = None) -> str:
    """sha256 of the prepared files a task reads: its data set's file, else the whole folder.

    The bytes, not source.json's record of them, so a file edited after preparing is noticed.
    """
    own_file = Path(folder) / f"{dataset}.jsonl" if dataset else None
    if own_file is not None and own_file.is_file():
        return sha256_file(own_file)
    return folder_sha256(Path(folder), ignored=frozenset({cards.FOLDER_CARD}))


def check_data(specs: Sequence[TaskSpec], metadata: Mapping[str, Any] | None) -> dict[str, TaskData]:
    """The data each task reads, or one UserError naming everything missing and how to add it."""
    from bias_inheritance.data import check_prepared

    found: dict[str, TaskData] = {}
    problems: dict[str, UserError] = {}  # one per distinct message
    failing = 0
    for spec in specs:
        if spec.family is None:
            continue
        folder = data_folder(spec.family, metadata)
        try:
            label = check_prepared(spec.family, folder, spec.dataset)
        except UserError as exc:
            problems.setdefault(str(exc), exc)
            failing += 1
            continue
        found[spec.name] = TaskData(spec.family, spec.dataset, folder, label, data_sha256(folder, spec.dataset))
    if len(problems) == 1:
        raise next(iter(problems.values()))
    if problems:
        raise UserError(f"The data of {failing} task(s) is missing: " + " | ".join(p.problem for p in problems.values()),
                        " | ".join(dict.fromkeys(p.fix or "" for p in problems.values())))
    return found
