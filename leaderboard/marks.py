"""Marks on a row: the tasks of a run whose numbers are not a measurement on the published data.

Every task reports the provenance metrics of `schema.PROVENANCE_METRICS` (the share of its
documents that came from the synthetic sample, or from files that failed their checksums); they
are the only provenance a plain `lm_eval` run keeps. The leaderboard turns them into a mark naming
the tasks, never a metric column. Files from before tasks reported them fall back on the source
records of the harness's provenance block.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping

from bias_inheritance.schema import SYNTHETIC_SAMPLE_METRIC, UNVERIFIED_DATA_METRIC
from leaderboard.results import RunRecord

MARKS: Mapping[str, str] = {
    SYNTHETIC_SAMPLE_METRIC: "synthetic sample",
    UNVERIFIED_DATA_METRIC: "unverified data",
}
EXPLANATIONS: Mapping[str, str] = {
    SYNTHETIC_SAMPLE_METRIC: "evaluated (in the tasks named) on the bundled sample written for this project: "
    "a smoke test, not a measurement",
    UNVERIFIED_DATA_METRIC: "evaluated (in the tasks named) on data files that did not match the published checksums",
}
_SOURCE_FLAGS: Mapping[str, Callable[[Mapping[str, Any]], bool]] = {
    SYNTHETIC_SAMPLE_METRIC: lambda source: bool(source.get("synthetic")),
    UNVERIFIED_DATA_METRIC: lambda source: source.get("verified") is False,
}
WARNING = "⚠"


def flagged(record: RunRecord) -> dict[str, dict[str, float | None]]:
    """provenance metric -> {task: share of its documents (> 0)}; `<family> data` -> None in older files."""
    found: dict[str, dict[str, float | None]] = {}
    for metric in MARKS:
        reported = {
            name: task.metrics.provenance[metric]
            for name, task in record.tasks.items()
            if not task.is_group and metric in task.metrics.provenance
        }
        if reported:
            found[metric] = {name: share for name, share in reported.items() if share > 0}
        else:
            found[metric] = {f"{family} data": None for family, s in record.sources.items() if _SOURCE_FLAGS[metric](s)}
    return found


def _named(tasks: Mapping[str, float | None], record: RunRecord, short: Mapping[str, str]) -> str:
    """The flagged tasks by short name with any partial share; "all N tasks" when that is what they are."""
    leaves = {name for name, task in record.tasks.items() if not task.is_group}
    if len(leaves) > 1 and set(tasks) == leaves and all(share is not None and share >= 1 for share in tasks.values()):
        return f"all {len(leaves)} tasks"
    return ", ".join(
        short.get(name, name) + ("" if share is None or share >= 1 else f" ({share:.0%})")
        for name, share in sorted(tasks.items())
    )


def mark_texts(record: RunRecord, short: Mapping[str, str]) -> list[str]:
    """The marks of one row, e.g. "⚠ synthetic sample: gender_bios, hiring (50%)"."""
    texts = [
        f"{WARNING} {MARKS[metric]}: {_named(tasks, record, short)}" for metric, tasks in flagged(record).items() if tasks
    ]
    if record.trained_format and record.format and record.trained_format != record.format:
        texts.append(f"{WARNING} trained in {record.trained_format} format, evaluated in {record.format}")
    return texts
