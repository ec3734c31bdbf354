"""The board's Markdown about its runs: the header naming every input (file, hash, card), what each
run is (its provenance and marks) and how it was evaluated, with the helpers every Markdown view
shares (escaping, tables, run names and order, short task names).
"""

from __future__ import annotations

import os
import re
from collections import Counter
from typing import Any, Mapping

from leaderboard import marks
from leaderboard.provenance import ENVIRONMENT_COLUMNS, RUN_COLUMNS
from leaderboard.results import RunRecord

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


def row_order(records: list[RunRecord]) -> list[int]:
    """Runs of one format together, the base first, then by label."""
    return sorted(range(len(records)), key=lambda i: (
        str(records[i].format), records[i].role != "base", records[i].label, str(records[i].path)))


def short_names(names: set[str]) -> dict[str, str]:
    """Task names without their shared prefix (`bias_inheritance_`), cut after an underscore or hyphen."""
    if len(names) < 2:
        return {name: name for name in names}
    prefix = os.path.commonprefix(sorted(names))
    prefix = prefix[: max(prefix.rfind("_"), prefix.rfind("-")) + 1]
    return {name: name[len(prefix):] or name for name in names}


def display_names(records: list[RunRecord]) -> dict[int, str]:
    """id(record) -> the name its rows show: its label, told apart by format, then file, when labels repeat."""
    names = {id(r): r.label for r in records}
    for qualify in (lambda r: r.format or "format unknown", lambda r: str(r.path)):
        counts = Counter(names.values())
        names = {id(r): f"{names[id(r)]} ({qualify(r)})" if counts[names[id(r)]] > 1 else names[id(r)] for r in records}
    return names


def inputs_header(
    records: list[RunRecord], names: Mapping[int, str], versions: Mapping[str, str], generated: str
) -> list[str]:
    """The title, who built the board when, and every results file it read (path, hash, card)."""
    inputs = [[names[id(r)], str(r.path), _text(r.sha256), _text(r.card), _text(r.card_key)] for r in records]
    return [
        "# bias-inheritance leaderboard", "",
        f"Generated {generated} by bias-inheritance {versions.get('bias-inheritance', MISSING)} "
        f"(lm-eval {versions.get('lm-eval', MISSING)}) from {len(records)} results file(s):", "",
        table(["run", "results file", "sha256", "card", "card key"], inputs), "",
    ]


def run_sections(
    records: list[RunRecord], names: Mapping[int, str], order: list[int], short: Mapping[str, str]
) -> list[str]:
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

