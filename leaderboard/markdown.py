"""Records -> leaderboard.md: a provenance header, the runs and their provenance, which base each
row's changes are against (or why it has none), then the task tables of `layout`.

A measurement is one cell: value, ±stderr, [bootstrap interval], the number of undefined bootstrap
resamples when there were any, and (Δ) against the row's base.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Any, Mapping

from leaderboard import marks
from leaderboard.compare import Comparison, delta
from leaderboard.layout import TaskTable, short_names, task_tables
from leaderboard.metrics import Measurement, is_finite
from leaderboard.provenance import ENVIRONMENT_COLUMNS, RUN_COLUMNS
from leaderboard.results import RunRecord
from leaderboard.table import row_order

MISSING = "–"
HEADERS: Mapping[str, str] = {
    "data_sha256": "data sha256", "data_source": "data source", "bias_type": "bias type", "gamma": "γ",
    "gamma_realised": "γ realised", "eval_data": "eval data",
}
_SHA256 = re.compile(r"\b[0-9a-f]{64}\b")


def _text(value: Any) -> str:
    """A provenance cell: missing as "–", floats without trailing zeros, hashes to 12 digits."""
    if value is None or value == "":
        return MISSING
    if isinstance(value, float):
        return f"{value:g}"
    return _SHA256.sub(lambda m: m.group(0)[:12] + "…", str(value))


def _number(value: float | None, sign: str = "") -> str:
    if value is None:
        return MISSING
    return "NaN" if math.isnan(value) else f"{value:{sign}.4f}"


def measurement_cell(value: Measurement | None, change: float | None) -> str:
    if value is None:
        return MISSING
    cell = _number(value.value)
    if is_finite(value.stderr):
        cell += f" ±{_number(value.stderr)}"
    if value.ci_low is not None or value.ci_high is not None:
        cell += f" [{_number(value.ci_low)}, {_number(value.ci_high)}]"
    undefined = value.ci_undefined
    if undefined is not None and undefined > 0:  # shown only when some resamples were undefined (NaN > 0 is False)
        cell += f" ({undefined:g} undefined)"
    if change is not None:
        cell += f" ({_number(change, '+')})"
    return cell


def escape(text: str) -> str:
    """Text from a results file (model names are user input) as inert Markdown: one line, no table
    break, no code span, no HTML, no emphasis, no link; "[low, high]" intervals stay as they read."""
    text = " ".join(str(text).splitlines())
    for char in "\\`|*":
        text = text.replace(char, "\\" + char)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text.replace("](", "]\\(").replace("![", "!\\[")


def table(header: list[str], rows: list[list[str]]) -> str:
    """A Markdown table; every cell is escaped."""
    lines = ["| " + " | ".join(map(escape, header)) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(map(escape, row)) + " |" for row in rows])


def display_names(records: list[RunRecord]) -> dict[int, str]:
    """id(record) -> the name its rows show: its label, told apart by format, then file, when labels repeat."""
    names = {id(r): r.label for r in records}
    for qualify in (lambda r: r.format or "format unknown", lambda r: str(r.path)):
        counts = Counter(names.values())
        names = {id(r): f"{names[id(r)]} ({qualify(r)})" if counts[names[id(r)]] > 1 else names[id(r)] for r in records}
    return names


def _header(
    records: list[RunRecord], names: Mapping[int, str], versions: Mapping[str, str], generated: str
) -> list[str]:
    inputs = [[names[id(r)], str(r.path), _text(r.sha256), _text(r.card), _text(r.card_key)] for r in records]
    return [
        "# bias-inheritance leaderboard", "",
        f"Generated {generated} by bias-inheritance {versions.get('bias-inheritance', MISSING)} "
        f"(lm-eval {versions.get('lm-eval', MISSING)}) from {len(records)} results file(s):", "",
        table(["run", "results file", "sha256", "card", "card key"], inputs), "",
    ]


def _runs(records: list[RunRecord], names: Mapping[int, str], order: list[int], short: Mapping[str, str]) -> list[str]:
    """What each run is (with its marks), then how and where it was evaluated."""

    def header(columns: tuple[str, ...]) -> list[str]:
        return [HEADERS.get(c, c.replace("_", " ")) for c in columns]

    runs = [
        [names[id(records[i])], records[i].role, *(_text(records[i].provenance[c]) for c in RUN_COLUMNS),
         "; ".join(marks.mark_texts(records[i], short)) or MISSING]
        for i in order
    ]
    environments = [
        [names[id(records[i])], *(_text(records[i].provenance[c]) for c in ENVIRONMENT_COLUMNS)] for i in order
    ]
    used = [m for m in marks.MARKS if any(marks.flagged(r)[m] for r in records)]
    warnings = [f"> **{marks.WARNING} {marks.MARKS[m]}**: rows so marked were {marks.EXPLANATIONS[m]}." for m in used]
    return [
        "## Runs", "", *(w + "\n" for w in warnings), table(["run", "role", *header(RUN_COLUMNS), "marks"], runs), "",
        "## Evaluation environment", "", table(["run", *header(ENVIRONMENT_COLUMNS)], environments), "",
    ]


def _changes(
    records: list[RunRecord], names: Mapping[int, str], compared: list[Comparison], order: list[int]
) -> list[str]:
    rows = []
    for i in order:
        comparison, name = compared[i], names[id(records[i])]
        if comparison.base is not None:
            rows.append([name, names[id(comparison.base)], ""])
        elif comparison.note is None:
            rows.append([name, MISSING, "the base of its format and limit"])
        else:
            rows.append([name, MISSING, "no Δ: " + comparison.note])
    return [
        "## Changes (Δ)", "",
        "A Δ is a row's value minus its base's, shown in brackets after the value. It is computed only "
        "against a base run of the same prompt format and `--limit` that read the same evaluation data.", "",
        table(["run", "Δ against", "note"], rows), "",
    ]


def _task_table(
    task_table: TaskTable, records: list[RunRecord], names: Mapping[int, str], compared: list[Comparison], order: list[int]
) -> list[str]:
    if task_table.is_family:
        columns = short_names(set(task_table.tasks))  # the table's own prefix: twins may be named differently
        header = ["run", *(columns[t] for t in task_table.tasks)]
        cells = [(task, task_table.measurements[0]) for task in task_table.tasks]
    else:
        header = ["run", *task_table.measurements]
        cells = [(task_table.tasks[0], name) for name in task_table.measurements]
    rows = []
    for i in order:
        record, base = records[i], compared[i].base
        if not any(task in record.tasks for task in task_table.tasks):
            continue
        mark = f"{marks.WARNING} " if marks.flagged_tasks(record) & set(task_table.tasks) else ""
        row = [mark + names[id(record)]]
        for task, name in cells:
            value = record.tasks[task].metrics.measurements.get(name) if task in record.tasks else None
            reference = base.tasks[task].metrics.measurements.get(name) if base and task in base.tasks else None
            row.append(measurement_cell(value, delta(value, reference)))
        rows.append(row)
    return [f"### {escape(task_table.title)}", "", table(header, rows), ""]


def render(
    records: list[RunRecord], compared: list[Comparison], versions: Mapping[str, str], generated: str,
) -> str:
    """The whole page; `versions` and `generated` (a UTC time) are the builder's, for the header."""
    order, names = row_order(records), display_names(records)
    short = short_names({name for r in records for name in r.tasks})
    parts = _header(records, names, versions, generated) + _runs(records, names, order, short)
    parts += _changes(records, names, compared, order) + ["## Tasks", ""]
    for task_table in task_tables(records):
        parts += _task_table(task_table, records, names, compared, order)
    return "\n".join(parts)
