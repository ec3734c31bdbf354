"""Intervals of a change between two runs (a fine-tuned run and its control, or a base).

Both runs scored the same documents, so the change is measured paired: the same bootstrap
resample of document ids (`bias_tasks.common.bootstrap.document_weights`, seeded) is applied to
both runs' per-sample logs, the metric is computed on each, and the interval is the percentile
interval of the differences. A mean metric (lm-eval's `acc`) is a weighted mean of its per-sample
values; a group metric (`acc_gap`) is recomputed by its task's own aggregation, taken from the
task YAML installed with this package (never from a results file, whose `configs` hold source
text that is not executed). Where a run has no per-sample log, or the metric's aggregation is not
one of ours, the interval is normal: Δ ± z·√(se₁² + se₂²) from lm-eval's stderr, or from the
standard error implied by a reported 95 % bootstrap interval, ignoring the pairing (so wider).
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from bias_inheritance.errors import UserError
from bias_inheritance.io import iter_jsonl
from bias_tasks import tasks_path
from bias_tasks.common.bootstrap import LEVEL, RESAMPLES, SEED, document_weights, percentile_interval
from leaderboard.metrics import Measurement, is_finite, number

PAIRED = "paired bootstrap"
NORMAL = "normal (unpaired)"
Z = 1.959963984540054  # the normal quantile of LEVEL = 0.95

Aggregation = Callable[[Sequence[Any]], float]
Values = Mapping[Any, Any]  # doc id -> the per-sample value lm-eval logged for one metric


@dataclass(frozen=True)
class Change:
    """A change between two runs and its interval; `method` says how the interval was made."""

    delta: float
    low: float
    high: float
    method: str | None  # PAIRED, NORMAL, or None (no interval)
    n: int | None = None  # documents paired


def read_samples(path: Path) -> dict[str, dict[Any, Any]]:
    """metric display name (as in leaderboard.metrics: `acc`, `acc[strict]`) -> {doc id: value}."""
    found: dict[str, dict[Any, Any]] = {}
    fix = "re-run the evaluation that wrote it, or remove the file."
    for row in iter_jsonl(path):
        if "doc_id" not in row or not isinstance(row.get("metrics"), list):
            raise UserError(f"{path} is not an lm-eval per-sample log (a row has no doc_id or metrics).", fix)
        filter_name = str(row.get("filter", "none"))
        for metric in row["metrics"]:
            shown = metric if filter_name == "none" else f"{metric}[{filter_name}]"
            found.setdefault(shown, {})[_doc_key(row["doc_id"])] = row.get(metric)
    return found


def _doc_key(doc_id: Any) -> Any:
    return tuple(doc_id) if isinstance(doc_id, list) else doc_id


@dataclass
class Aggregations:
    """Aggregation functions of this package's own tasks, looked up in the installed task YAMLs.

    One per board build (it caches the task index); a metric whose aggregation is lm-eval's `mean`
    needs none, and a task that is not ours has none.
    """

    _index: Any = None
    _found: dict[tuple[str, str], Aggregation | str | None] = field(default_factory=dict)

    def get(self, task: str, metric: str) -> Aggregation | str | None:
        """The aggregation of `metric` (a display name) in `task`: a function, "mean", or None."""
        key = (task, metric.split("[", 1)[0])
        if key not in self._found:
            self._found[key] = self._look_up(*key)
        return self._found[key]

    def _look_up(self, task: str, metric: str) -> Aggregation | str | None:
        if self._index is None:
            from evaluation.selection import task_manager

            self._index = task_manager().task_index
        entry = self._index.get(task)
        config = getattr(entry, "cfg", None) or {}
        for item in config.get("metric_list") or []:
            if item.get("metric") == metric:
                return _resolve(item.get("aggregation"))
        return None


def _resolve(aggregation: Any) -> Aggregation | str | None:
    """"mean", or the function a `!function` path inside bias_tasks/ names; anything else None."""
    if aggregation == "mean" or not isinstance(aggregation, str) or "." not in aggregation:
        return "mean" if aggregation == "mean" else None
    module_path, name = aggregation.rsplit(".", 1)
    try:
        relative = Path(module_path + ".py").resolve().relative_to(tasks_path())
    except ValueError:
        return None  # not our code: never imported
    module = importlib.import_module(".".join(("bias_tasks", *relative.with_suffix("").parts)))
    found = getattr(module, name, None)
    return found if callable(found) else None


def _numbers(values: Sequence[Any]) -> np.ndarray | None:
    converted = [number(v) for v in values]
    return None if any(v is None for v in converted) else np.asarray(converted, dtype=float)


def _expand(items: Sequence[Any], counts: np.ndarray) -> list[Any]:
    """The documents of one resample: each item as often as it was drawn."""
    return [items[i] for i in np.repeat(np.arange(len(items)), counts.astype(int))]


def paired_change(
    tuned: Values, control: Values, delta: float, aggregation: Aggregation | str | None,
    resamples: int = RESAMPLES, seed: int = SEED,
) -> Change | None:
    """The paired bootstrap interval of `delta` over the documents both logs hold; None when it cannot
    be made (no shared documents, or a non-numeric metric without an aggregation of ours)."""
    ids = sorted(set(tuned) & set(control), key=lambda doc: (type(doc).__name__, doc))
    if not ids or aggregation is None:
        return None
    ours, theirs = [tuned[i] for i in ids], [control[i] for i in ids]
    weights = document_weights(len(ids), resamples=resamples, seed=seed)
    if aggregation == "mean":
        x, c = _numbers(ours), _numbers(theirs)
        if x is None or c is None:
            return None

        def statistic(w: np.ndarray) -> np.ndarray:
            return (w @ (x - c)) / w.sum(axis=1)
    else:
        aggregate: Aggregation = aggregation  # type: ignore[assignment]

        def statistic(w: np.ndarray) -> np.ndarray:
            return np.asarray([aggregate(_expand(ours, row)) - aggregate(_expand(theirs, row)) for row in w], dtype=float)

    interval = percentile_interval(statistic, weights, level=LEVEL)
    return Change(delta, interval.low, interval.high, PAIRED, len(ids))


def standard_error(value: Measurement) -> float | None:
    """lm-eval's stderr, else the one implied by a reported 95 % bootstrap interval (width / 2z)."""
    if is_finite(value.stderr):
        return value.stderr
    if is_finite(value.ci_low) and is_finite(value.ci_high):
        return (value.ci_high - value.ci_low) / (2 * Z)  # type: ignore[operator]
    return None


def normal_change(delta: float, value: Measurement, reference: Measurement) -> Change:
    """Δ ± z·√(se₁² + se₂²); no interval (NaN bounds) when either side has no standard error."""
    ours, theirs = standard_error(value), standard_error(reference)
    if ours is None or theirs is None or not math.isfinite(delta):
        return Change(delta, math.nan, math.nan, None)
    half = Z * math.hypot(ours, theirs)
    return Change(delta, delta - half, delta + half, NORMAL)
