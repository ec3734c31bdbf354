"""The long table -> a static, self-contained index.html: provenance (models, data sources, marks),
the paper-style figures of `figures`, and one table per task (a row per run × metric × group).

Every string on the page comes from results files or configs (model names are user input), so each
one passes through `_e` (html.escape) and nothing is ever executed; the page has no script, and its
Content-Security-Policy forbids scripts and anything from outside its own folder besides.
"""

from __future__ import annotations

import html
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

import pandas as pd

from bias_inheritance.identity import short_key
from bias_inheritance.io import atomic_write_text
from leaderboard import figures, marks

PAGE_NAME = "index.html"
FIGURES_DIR = "figures"
ANALYSIS_DIR = "analysis"  # analyses written into a board (`analyze ... --out BOARD/analysis/NAME`) are linked
MISSING = "–"
TITLE = "bias-inheritance leaderboard"
# The run's settings shown once per run in the provenance table, and per row in the task tables.
RUN_FIELDS: Mapping[str, str] = {
    "role": "role", "model": "model", "bias": "bias", "culture": "culture", "bias_type": "bias type", "gamma": "γ",
    "mitigation": "mitigation", "round": "round", "seed": "seed",
}
BOARD_HEADERS = ("run", *RUN_FIELDS.values(), "metric", "group", "value", "interval / stderr", "n",
                 "inheritance Δ", "fine-tuning Δ", "marks")
_BOARD_NUMERIC = frozenset(range(BOARD_HEADERS.index("value"), BOARD_HEADERS.index("marks")))
DEFINITIONS: Mapping[str, str] = {
    "interval / stderr": "the row's interval [low, high] where its task reports one (a bootstrap over the "
    "documents scored), and lm-eval's standard error (±) where it reports that",
    "n": "documents scored for the row",
    "inheritance Δ": "the row's value minus that of the γ = 0 control of the same seed (the run named under "
    "“control run” in Runs), with its paired-bootstrap interval over the same documents: the effect of the "
    "biased data alone",
    "fine-tuning Δ": "the row's value minus the base model's: the effect of fine-tuning mixed with that of the "
    "biased data (all an external base/tuned pair has)",
    "group": "the group a metric is computed for; “all” for a whole-task metric. A gap's definition and sign "
    "are in its metric's name",
}
_MARK_EXPLANATIONS = {marks.MARKS[m]: marks.EXPLANATIONS[m] for m in marks.MARKS}
_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto; max-width: 1400px;
       padding: 0 1em; color: #1a1a1a; background: #fff; }
h1 { font-size: 1.6em; } h2 { border-bottom: 1px solid #ccc; margin-top: 2em; } h3 { margin-top: 1.5em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; font-size: 13px; }
th, td { border: 1px solid #d0d0d0; padding: 3px 7px; text-align: left; vertical-align: top; }
th { background: #f0f3f7; position: sticky; top: 0; }
td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
tr.marked td { background: #fff7e0; }
.warning { background: #fff3cd; border-left: 4px solid #e0a800; padding: .5em 1em; margin: .5em 0; }
.skipped { color: #666; font-style: italic; }
figure { margin: 1em 0 2em; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 13px; color: #444; } dt { font-weight: 600; } dd { margin: 0 0 .5em 1.5em; }
"""


def _e(value: Any) -> str:
    """Escape any value for HTML text or a quoted attribute."""
    return html.escape(value if isinstance(value, str) else str(value), quote=True)


def _missing(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


def _text(value: Any) -> str:
    if _missing(value):
        return MISSING
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _number(value: Any, sign: str = "") -> str:
    return MISSING if _missing(value) else f"{float(value):{sign}.4f}"


def _interval(low: Any, high: Any) -> str:
    return "" if _missing(low) or _missing(high) else f"[{_number(low)}, {_number(high)}]"


def _spread(row: Mapping[str, Any]) -> str:
    parts = [_interval(row["interval_low"], row["interval_high"])]
    if not _missing(row["stderr"]):
        parts.append(f"±{_number(row['stderr'])}")
    return " ".join(p for p in parts if p) or MISSING


def _inheritance(row: Mapping[str, Any]) -> str:
    if _missing(row["inheritance_delta"]):
        return MISSING
    interval = _interval(row["inheritance_low"], row["inheritance_high"])
    return f"{_number(row['inheritance_delta'], '+')} {interval}".strip()


def _count(value: Any) -> str:
    return MISSING if _missing(value) else f"{int(value)}"


def _mark_list(value: Any) -> list[str]:
    return [] if _missing(value) else [m.strip() for m in str(value).split(",") if m.strip()]


def _table(headers: Sequence[str], rows: Iterable[tuple[Sequence[str], str]], css_class: str,
           numeric: frozenset[int] = frozenset()) -> str:
    """An HTML table; each row is (cells, row class); cells are plain text, escaped here."""
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    body = []
    for cells, row_class in rows:
        tds = "".join(f'<td class="num">{_e(c)}</td>' if i in numeric else f"<td>{_e(c)}</td>"
                      for i, c in enumerate(cells))
        body.append(f'<tr class="{_e(row_class)}">{tds}</tr>' if row_class else f"<tr>{tds}</tr>")
    return f'<table class="{css_class}"><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table>'


def _sorted(table: pd.DataFrame) -> pd.DataFrame:
    """Rows of a task by metric and group, then base and external runs (no γ) before the grid by γ."""
    keys = ["task", "metric", "group", "gamma", "bias_type", "mitigation", "round", "seed", "run"]
    return table.sort_values(keys, na_position="first", kind="stable", key=_sort_key)


def _sort_key(column: pd.Series) -> pd.Series:
    if column.name in ("gamma", "round", "seed"):
        return pd.to_numeric(column, errors="coerce")
    return column.map(lambda v: "" if _missing(v) else str(v))


def _summary(table: pd.DataFrame) -> str:
    runs, models, tasks = (table[c].map(_text).nunique() for c in ("run", "model", "task"))
    return f"<p>{len(table)} rows from {runs} run(s) of {models} model(s) over {tasks} task(s).</p>"


def _marks_section(table: pd.DataFrame) -> str:
    found: dict[str, set[str]] = {}
    for run, value in zip(table["run"], table["marks"]):
        for mark in _mark_list(value):
            found.setdefault(mark, set()).add(_text(run))
    notes = []
    for mark, runs in sorted(found.items()):
        explanation = _MARK_EXPLANATIONS.get(mark)
        said = f": rows so marked were {explanation}" if explanation else ""
        notes.append(f'<p class="warning">{_e(marks.WARNING)} <strong>{_e(mark)}</strong>{_e(said)}. '
                     f"Runs: {_e(', '.join(sorted(runs)))}.</p>")
    return "\n".join(notes)


def _runs_by(table: pd.DataFrame, column: str) -> str:
    items = []
    for value, part in sorted(table.groupby(table[column].map(_text)), key=lambda kv: kv[0]):
        runs = ", ".join(sorted(part["run"].map(_text).unique()))
        items.append(f"<li><strong>{_e(value)}</strong>: {_e(runs)}</li>")
    return f"<ul>{''.join(items)}</ul>"


def _runs_table(table: pd.DataFrame) -> str:
    rows = []
    for run, part in sorted(table.groupby(table["run"].map(_text)), key=lambda kv: kv[0]):
        first = part.iloc[0]
        run_marks = sorted({m for v in part["marks"] for m in _mark_list(v)})
        card = _text(first["card_key"])
        cells = [run, *(_text(first[c]) for c in RUN_FIELDS), _text(first["data_source"]),
                 card if card == MISSING else short_key(card), _text(first["control_run"]),
                 ", ".join(run_marks) or MISSING]
        rows.append((cells, "marked" if run_marks else ""))
    headers = ["run", *RUN_FIELDS.values(), "data source", "card key", "control run", "marks"]
    return _table(headers, rows, "runs")


def _definitions() -> str:
    items = "".join(f"<dt>{_e(term)}</dt><dd>{_e(text)}.</dd>" for term, text in DEFINITIONS.items())
    return f"<dl>{items}</dl>"


def _figures_section(files: list[figures.FigureFile], skipped: Mapping[str, str]) -> str:
    parts = []
    for kind, title in figures.KINDS.items():
        parts.append(f"<h3>{_e(title)}</h3>")
        if kind in skipped:
            parts.append(f'<p class="skipped">Not drawn: {_e(skipped[kind])}.</p>')
        for f in (f for f in files if f.kind == kind):
            png, svg = f"{FIGURES_DIR}/{f.png}", f"{FIGURES_DIR}/{f.svg}"
            parts.append(f'<figure><img src="{_e(png)}" alt="{_e(f.alt)}"><figcaption>{_e(f.caption)} '
                         f'<a href="{_e(svg)}">SVG</a> · <a href="{_e(png)}">PNG</a></figcaption></figure>')
    return "\n".join(parts)


def _task_tables(table: pd.DataFrame) -> str:
    parts = []
    for task, part in _sorted(table).groupby(table["task"].map(_text), sort=True):
        rows = []
        for row in part.to_dict("records"):
            row_marks = _mark_list(row["marks"])
            run = (f"{marks.WARNING} " if row_marks else "") + _text(row["run"])
            cells = [run, *(_text(row[c]) for c in RUN_FIELDS), _text(row["metric"]),
                     "all" if _missing(row["group"]) else str(row["group"]), _number(row["value"]), _spread(row),
                     _count(row["n"]), _inheritance(row), _number(row["finetune_delta"], "+"),
                     ", ".join(row_marks) or MISSING]
            rows.append((cells, "marked" if row_marks else ""))
        parts.append(f"<h3>{_e(task)}</h3>\n{_table(BOARD_HEADERS, rows, 'board', _BOARD_NUMERIC)}")
    return "\n".join(parts)


def analyses(out: Path) -> list[tuple[str, list[str], list[str]]]:
    """(name, figure PNGs, JSON files) of each analysis folder `out`/analysis/<name>/, relative to `out`."""
    root = Path(out) / ANALYSIS_DIR
    if not root.is_dir():
        return []
    found = []
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        pngs = [p.relative_to(out).as_posix() for p in sorted(folder.glob("*.png"))]
        jsons = [p.relative_to(out).as_posix() for p in sorted(folder.glob("*.json")) if not p.name.endswith("card.json")]
        if pngs or jsons:
            found.append((folder.name, pngs, jsons))
    return found


def _analyses_section(found: list[tuple[str, list[str], list[str]]]) -> str:
    if not found:
        return ('<p class="skipped">None yet: `bias-inheritance analyze embeddings|findings|balance ... '
                f'--out BOARD/{ANALYSIS_DIR}/NAME` writes one here and relinks this page.</p>')
    parts = []
    for name, pngs, jsons in found:
        parts.append(f"<h3>{_e(name)}</h3>")
        parts += [f'<figure><img src="{_e(p)}" alt="{_e(name)}: {_e(Path(p).stem)}"><figcaption>{_e(Path(p).stem)} '
                  f'<a href="{_e(p[:-4])}.svg">SVG</a> · <a href="{_e(p)}">PNG</a></figcaption></figure>' for p in pngs]
        parts.append("<p>Data: " + " · ".join(f'<a href="{_e(j)}">{_e(Path(j).name)}</a>' for j in jsons) + "</p>")
    return "\n".join(parts)


def render(table: pd.DataFrame, files: list[figures.FigureFile], skipped: Mapping[str, str],
           found: list[tuple[str, list[str], list[str]]] | None = None) -> str:
    """The whole page as a string (no date on it: the same table and analyses give the same page)."""
    body = [
        f"<h1>{_e(TITLE)}</h1>", _summary(table), _marks_section(table),
        "<h2>Provenance</h2>", "<h3>Models</h3>", _runs_by(table, "model"),
        "<h3>Data sources</h3>", _runs_by(table, "data_source"), "<h3>Runs</h3>", _runs_table(table),
        "<h2>How to read the numbers</h2>", _definitions(),
        "<h2>Figures</h2>", _figures_section(files, skipped),
        "<h2>Results</h2>", _task_tables(table),
        "<h2>Analyses</h2>", _analyses_section(found or []),
    ]
    head = (f'<meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><title>{_e(TITLE)}</title>'
            f"<style>{_CSS}</style>")
    return f'<!DOCTYPE html>\n<html lang="en"><head>{head}</head>\n<body>\n' + "\n".join(body) + "\n</body></html>\n"


def write_page(table: pd.DataFrame, out: Path) -> Path:
    """Write `out`/index.html and its figures under `out`/figures/; return the page's path."""
    out = Path(out)
    files, skipped = figures.write_figures(table, out / FIGURES_DIR)
    path = out / PAGE_NAME
    atomic_write_text(path, render(table, files, skipped, analyses(out)))
    return path
