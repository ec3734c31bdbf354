"""Records -> the wide CSV: one row per run, its provenance and marks, then one column per task
measurement (and per qualifier the file holds: stderr, interval bounds, undefined resamples),
followed by its change against the row's base."""

from __future__ import annotations

import pandas as pd

from leaderboard import marks
from leaderboard.compare import Comparison, delta
from leaderboard.metrics import QUALIFIER_SUFFIXES, csv_columns
from leaderboard.provenance import COLUMNS
from leaderboard.results import RunRecord

DELTA_SUFFIX = " Δ"
_SUFFIX_ORDER = ("", *QUALIFIER_SUFFIXES, DELTA_SUFFIX)  # a measurement's columns: value, qualifiers, Δ
HEAD_COLUMNS: tuple[str, ...] = ("label", "role", *COLUMNS)
TAIL_COLUMNS: tuple[str, ...] = (
    *(f"{metric}_tasks" for metric in marks.MARKS), "delta_against", "delta_note",
    "results_file", "results_sha256", "card", "card_key",
)


def row_order(records: list[RunRecord]) -> list[int]:
    """Runs of one format together, the base first, then by label."""
    return sorted(range(len(records)), key=lambda i: (
        str(records[i].format), records[i].role != "base", records[i].label, str(records[i].path)))


def to_frame(records: list[RunRecord], compared: list[Comparison]) -> pd.DataFrame:
    with_delta = any(c.base is not None for c in compared)
    rows: list[dict] = []
    metric_columns: dict[str, tuple[str, str, int]] = {}  # column -> (task, measurement, position)
    for index in row_order(records):
        record, comparison = records[index], compared[index]
        row: dict = {"label": record.label, "role": record.role, **record.provenance, **marks.csv_columns(record)}
        row.update({
            "delta_against": comparison.base.label if comparison.base else None,
            "delta_note": comparison.note, "results_file": str(record.path), "results_sha256": record.sha256,
            "card": record.card, "card_key": record.card_key,
        })
        for task_name, task in record.tasks.items():
            reference = comparison.base.tasks.get(task_name) if comparison.base else None
            for name, measurement in task.metrics.measurements.items():
                columns = csv_columns(task_name, name, measurement)
                if with_delta:
                    base_value = reference.metrics.measurements.get(name) if reference else None
                    columns[f"{task_name}/{name}{DELTA_SUFFIX}"] = delta(measurement, base_value)
                row.update(columns)
                for column in columns:
                    suffix = column[len(f"{task_name}/{name}"):]
                    metric_columns.setdefault(column, (task_name, name, _SUFFIX_ORDER.index(suffix)))
        rows.append(row)
    ordered = sorted(metric_columns, key=metric_columns.__getitem__)
    frame = pd.DataFrame(rows, columns=[*HEAD_COLUMNS, *TAIL_COLUMNS, *ordered])
    for column in HEAD_COLUMNS + TAIL_COLUMNS:  # keep ints as ints: pandas turns a column with gaps into floats
        frame[column] = pd.Series([row.get(column) for row in rows], dtype=object)
    for column in ordered:
        frame[column] = pd.to_numeric(frame[column])
    return frame

