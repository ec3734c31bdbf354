"""The leaderboard's one long table: one row per (run, task, metric, group).

Every output (Markdown, CSV, JSON, the HTML page and its figures) is a view of this table, so a
figure and the number beside it can never disagree. Each fine-tuned run is set against the γ = 0
control of the same seed (same base model, bias family and round, scored on the same prompts and
documents; the control's key leaves out bias type and mitigation): that difference is the
inheritance delta, the paper's comparison. The change from the base model (base → fine-tuned) mixes
the effect of fine-tuning with that of the biased data; it is the fine-tuning delta, shown apart,
and the only delta an external base/tuned pair gets.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from leaderboard import marks as marking
from leaderboard.compare import comparisons, same_conditions, same_model
from leaderboard.external import EXTERNAL_BASE, EXTERNAL_TUNED, ExternalRun, external_runs
from leaderboard.groups import split_group
from leaderboard.markdown import display_names
from leaderboard.metrics import Measurement, is_finite
from leaderboard.paired import Aggregations, Change, normal_change, paired_change, read_samples
from leaderboard.results import RunRecord, discover, load_record

LONG_COLUMNS: tuple[str, ...] = (
    "run", "model", "bias", "culture", "bias_type", "gamma", "mitigation", "round", "seed", "task",
    "metric", "group", "value", "interval_low", "interval_high", "stderr", "n",
    "data_source", "card_key", "marks", "role", "control_run", "inheritance_delta",
    "inheritance_low", "inheritance_high", "finetune_delta",
)
ROLES: tuple[str, ...] = ("base", "control", "finetuned", EXTERNAL_BASE, EXTERNAL_TUNED)


@dataclass(frozen=True)
class Board:
    """The records a board was built from, their names and roles, and the long table.

    `methods` is aligned with `table`: how each inheritance interval was made (paired.PAIRED,
    paired.NORMAL) or None; `notes` says, per run, why it has no control where it has none.
    """

    records: list[RunRecord]
    names: dict[int, str]  # id(record) -> run name
    roles: dict[int, str]  # id(record) -> one of ROLES
    table: pd.DataFrame
    methods: list[str | None]
    notes: dict[str, str]  # run -> why it has no γ = 0 control


def _role(record: RunRecord, external: ExternalRun | None) -> str:
    if external is not None:
        return external.role
    if record.role == "base":
        return "base"
    gamma = record.provenance.get("gamma")
    return "control" if record.role == "control" or (is_finite(_float(gamma)) and _float(gamma) == 0) else "finetuned"


def _float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _same(a: Any, b: Any) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and str(a) == str(b))


def _control(record: RunRecord, controls: list[RunRecord]) -> tuple[RunRecord | None, str | None]:
    """The γ = 0 control of the same seed, model, bias, culture and round, scored on the same prompts and documents.

    A later round trained afresh (not continuing an adapter) compares with round 1's control: a
    fresh LoRA on D_o alone is the same training in every round, so it is trained once.
    """
    p = record.provenance
    alike = [c for c in controls if c is not record and same_model(c, record) and _same(c.bias, record.bias)
             and all(_same(c.provenance.get(k), p.get(k)) for k in ("seed", "culture")) and same_conditions(c, record)]
    found = [c for c in alike if _same(c.provenance.get("round"), p.get("round"))]
    if not found and p.get("continued") is False:
        found = [c for c in alike if _float(c.provenance.get("round")) == 1 and not c.provenance.get("continued")]
    if len(found) == 1:
        return found[0], None
    if found:
        return None, "several γ = 0 controls match (" + ", ".join(sorted(c.label for c in found)) + ")"
    return None, (f"no γ = 0 control of seed {p.get('seed')}, round {p.get('round')} and the same model, "
                  "bias, prompt format, limit and evaluation data")


def _marks(record: RunRecord, task: str, family: str | None) -> str:
    """The marks of one task of a run: provenance metrics > 0 (or, in older files, flagged sources)."""
    found = []
    for metric, tasks in marking.flagged(record).items():
        if task in tasks or (family is not None and f"{family} data" in tasks):
            found.append(marking.MARKS[metric])
    if record.trained_format and record.format and record.trained_format != record.format:
        found.append(f"trained in {record.trained_format} format, evaluated in {record.format}")
    return ", ".join(found)


class _Logs:
    """Per-sample logs read once per build."""

    def __init__(self) -> None:
        self._read: dict[Path, dict[str, dict[Any, Any]]] = {}

    def values(self, record: RunRecord, task: str, metric: str) -> Mapping[Any, Any] | None:
        path = record.sample_logs.get(task)
        if path is None:
            return None
        if path not in self._read:
            self._read[path] = read_samples(path)
        return self._read[path].get(metric)


def _change(
    record: RunRecord, reference: RunRecord, task: str, name: str, value: Measurement, base: Measurement,
    logs: _Logs, aggregations: Aggregations,
) -> Change:
    delta = value.value - base.value  # type: ignore[operator]
    ours, theirs = logs.values(record, task, name), logs.values(reference, task, name)
    paired = None
    if ours is not None and theirs is not None and math.isfinite(delta):
        paired = paired_change(ours, theirs, delta, aggregations.get(task, name))
    return paired or normal_change(delta, value, base)


def _pairs(records: list[RunRecord], roles: Mapping[int, str], externals: Mapping[Path, ExternalRun]):
    """id(record) -> its base (fine-tuning delta) and its control (inheritance delta), with notes."""
    by_path = {r.path.resolve(): r for r in records}
    ours = [r for r in records if roles[id(r)] not in (EXTERNAL_BASE, EXTERNAL_TUNED)]
    bases = {id(r): c.base for r, c in zip(ours, comparisons(ours))}
    controls = [r for r in ours if roles[id(r)] == "control"]
    found: dict[int, tuple[RunRecord | None, RunRecord | None]] = {}
    notes: dict[int, str] = {}
    for record in records:
        role = roles[id(record)]
        if role == EXTERNAL_TUNED:
            found[id(record)] = (by_path.get(externals[record.path.resolve()].partner), None)
        elif role == "finetuned":
            control, note = _control(record, controls)
            found[id(record)] = (bases.get(id(record)), control)
            if note:
                notes[id(record)] = note
        elif role == "control":
            found[id(record)] = (bases.get(id(record)), None)
        else:
            found[id(record)] = (None, None)
    return found, notes


def _rows(record: RunRecord, name: str, role: str, base: RunRecord | None, control: RunRecord | None,
          control_name: str | None, logs: _Logs, aggregations: Aggregations) -> list[tuple[dict, str | None]]:
    p = record.provenance
    rows = []
    for task, entry in record.tasks.items():
        source = (record.eval_data.get(entry.family) if entry.family  # never another family's source
                  else "; ".join(f"{f}: {s}" for f, s in record.eval_data.items()))
        for measurement, value in entry.metrics.measurements.items():
            metric, group = split_group(measurement)
            row = {
                "run": name, "model": p.get("model"), "bias": record.bias, "culture": _text(p.get("culture")),
                "bias_type": _text(p.get("bias_type")),
                "gamma": _float(p.get("gamma")), "mitigation": _text(p.get("mitigation")),
                "round": _float(p.get("round")), "seed": _float(p.get("seed")), "task": task, "metric": metric,
                "group": group, "value": _number(value.value), "interval_low": _number(value.ci_low),
                "interval_high": _number(value.ci_high), "stderr": _number(value.stderr),
                "n": _float(record.n.get(task)), "data_source": source or None, "card_key": record.card_key,
                "marks": _marks(record, task, entry.family), "role": role, "control_run": None,
                "inheritance_delta": math.nan, "inheritance_low": math.nan, "inheritance_high": math.nan,
                "finetune_delta": math.nan,
            }
            method = None
            reference = _measurement(base, task, measurement)
            if reference is not None and is_finite(value.value) and is_finite(reference.value):
                row["finetune_delta"] = value.value - reference.value  # type: ignore[operator]
            against = _measurement(control, task, measurement)
            if control is not None:
                row["control_run"] = control_name
            if against is not None and is_finite(value.value) and is_finite(against.value):
                change = _change(record, control, task, measurement, value, against, logs, aggregations)  # type: ignore[arg-type]
                row.update(inheritance_delta=change.delta, inheritance_low=change.low, inheritance_high=change.high)
                method = change.method
            rows.append((row, method))
    return rows


def _measurement(record: RunRecord | None, task: str, name: str) -> Measurement | None:
    entry = record.tasks.get(task) if record is not None else None
    return entry.metrics.measurements.get(name) if entry is not None else None


def _number(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def load_board(results: Sequence[Path]) -> Board:
    """Read every results file under `results` (a corrupt or foreign one is a UserError naming it)."""
    paths = [Path(p) for p in results]
    externals = external_runs(paths)
    records = [load_record(path) for path in discover(paths)]
    for index, record in enumerate(records):  # an external pair shows its label, and which side it is
        external = externals.get(record.path.resolve())
        if external is not None:
            side = "base" if external.role == EXTERNAL_BASE else "tuned"
            records[index] = replace(record, label=f"{external.label} ({side})")
    roles = {id(r): _role(r, externals.get(r.path.resolve())) for r in records}
    names = display_names(records)
    pairs, notes = _pairs(records, roles, externals)
    logs, aggregations = _Logs(), Aggregations()
    rows: list[dict] = []
    methods: list[str | None] = []
    for record in records:
        base, control = pairs[id(record)]
        for row, method in _rows(record, names[id(record)], roles[id(record)], base, control,
                                 names[id(control)] if control else None, logs, aggregations):
            rows.append(row)
            methods.append(method)
    table = pd.DataFrame(rows, columns=list(LONG_COLUMNS))
    return Board(records, names, roles, table, methods, {names[i]: note for i, note in notes.items()})


def long_table(results: Sequence[Path]) -> pd.DataFrame:
    """The long table (LONG_COLUMNS) of every results file under `results`."""
    return load_board(results).table
