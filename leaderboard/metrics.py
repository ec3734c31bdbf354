"""The metrics of one task in an lm-eval results entry, sorted by what they mean.

lm-eval stores every number as a `metric,filter` key. Only some are measurements: `<m>_stderr` is
lm-eval's standard error of `<m>`, `<m>_ci_low`/`<m>_ci_high` are the bootstrap interval our tasks
report for `<m>` (lm-eval has no stderr for custom aggregations), `<m>_ci_undefined` counts the
resamples where that interval's statistic was undefined, and the provenance metrics of
`schema.PROVENANCE_METRICS` say what data the task read. Folding the qualifiers into their
measurement keeps tables one column per measurement.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Mapping

from bias_inheritance.schema import CI_HIGH_SUFFIX, CI_LOW_SUFFIX, CI_UNDEFINED_SUFFIX, PROVENANCE_METRICS

STDERR_SUFFIX = "_stderr"  # lm-eval's name for a metric's standard error
QUALIFIER_SUFFIXES = (STDERR_SUFFIX, CI_LOW_SUFFIX, CI_HIGH_SUFFIX, CI_UNDEFINED_SUFFIX)

_FILTERED = re.compile(r"(?P<metric>.*?)(?P<filter>\[[^\]]*\])?")


@dataclass(frozen=True)
class Measurement:
    """One measurement with what qualifies it; None where the results file has no number."""

    value: float | None
    stderr: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    ci_undefined: float | None = None


@dataclass(frozen=True)
class TaskMetrics:
    """A task's measurements (display name -> Measurement) and its provenance metrics (name -> value)."""

    measurements: dict[str, Measurement]
    provenance: dict[str, float]


def number(value: Any) -> float | None:
    """A metric value as float; None for lm-eval's "N/A" and anything else that is not a number."""
    if isinstance(value, (bool, int, float)):
        return float(value)
    return None


def is_finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def display_name(key: str) -> str | None:
    """`acc,none` -> `acc`; `acc,strict` -> `acc[strict]`; keys that are not metrics -> None."""
    if "," not in key:
        return None  # alias, name, sample_len, sample_count
    metric, filter_name = key.split(",", 1)
    return metric if filter_name == "none" else f"{metric}[{filter_name}]"


def _split_suffix(name: str) -> tuple[str, str | None]:
    """(`salary_gap[f]`, `_ci_low`) for `salary_gap_ci_low[f]`; (name, None) when unqualified."""
    match = _FILTERED.fullmatch(name)
    assert match is not None  # the pattern matches every string
    metric, filter_part = match["metric"], match["filter"] or ""
    for suffix in QUALIFIER_SUFFIXES:
        if metric.endswith(suffix) and len(metric) > len(suffix):
            return metric[: -len(suffix)] + filter_part, suffix
    return name, None


def parse_task(entry: Mapping[str, Any]) -> TaskMetrics:
    """Sort one `results[task]` mapping into measurements and provenance metrics.

    A qualifier whose measurement is absent stays a measurement of its own, so nothing is dropped.
    """
    raw = {name: number(value) for key, value in entry.items() if (name := display_name(key)) is not None}
    provenance = {name: value for name, value in raw.items() if name in PROVENANCE_METRICS and value is not None}
    qualifiers: dict[str, dict[str, float | None]] = {}
    values: dict[str, float | None] = {}
    for name, value in raw.items():
        if name in PROVENANCE_METRICS:
            continue
        base, suffix = _split_suffix(name)
        if suffix is not None and base in raw:
            qualifiers.setdefault(base, {})[suffix] = value
        else:
            values[name] = value
    measurements = {
        name: Measurement(
            value=value,
            stderr=qualifiers.get(name, {}).get(STDERR_SUFFIX),
            ci_low=qualifiers.get(name, {}).get(CI_LOW_SUFFIX),
            ci_high=qualifiers.get(name, {}).get(CI_HIGH_SUFFIX),
            ci_undefined=qualifiers.get(name, {}).get(CI_UNDEFINED_SUFFIX),
        )
        for name, value in sorted(values.items())
    }
    return TaskMetrics(measurements=measurements, provenance=provenance)
