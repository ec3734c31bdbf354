"""Paper-style figures (SPEC §8) from the long table: a metric against γ (one line per bias type
and group), mitigated against unmitigated (bars per mitigation at each γ > 0), and a metric against
round; each written as PNG (for the page) and SVG (for papers).

Which rows make which point is worked out apart from the drawing, so that it can be checked against
hand-computed values. Drawing uses its own `Figure` (no pyplot state) under fixed rcParams and no
dates in the files, so the same table gives the same bytes. Task and metric names come from results
files: they become file names only through `safe_name`, and matplotlib never parses them as math.
"""

from __future__ import annotations

import io
import math
import os
import re
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping, Sequence

import matplotlib
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from trainers.mitigations import MITIGATIONS

UNMITIGATED = MITIGATIONS[0]  # "none": the first of the trainer's mitigations is no mitigation
KINDS: Mapping[str, str] = {
    "gamma": "metric against γ",
    "mitigation": "mitigated against unmitigated",
    "round": "metric against round",
}
LINE_KEY: tuple[str, ...] = ("model", "bias", "culture", "bias_type")  # what a line (colour) stands for; the group is its style
BANDS: Mapping[str, str] = {
    "interval": "the row's interval",
    "stderr": "± lm-eval's stderr",
    "spread": "the range over seeds (runs) pooled into the point",
}
_TEXT_COLUMNS = ("run", "model", "bias", "culture", "bias_type", "mitigation", "task", "metric", "group", "role")
_NUMBER_COLUMNS = ("gamma", "round", "seed", "value", "interval_low", "interval_high", "stderr", "n")
_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",  # matplotlib's tab10, fixed here so that
            "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf")  # a user's style cannot change the figures
_STYLES = (("-", "o"), ("--", "s"), (":", "^"), ("-.", "D"))
_RC: Mapping[str, object] = {
    "font.family": "DejaVu Sans", "font.size": 9, "axes.titlesize": 9, "legend.fontsize": 8,
    "axes.grid": True, "grid.alpha": 0.3, "figure.dpi": 100, "savefig.dpi": 120,
    "svg.hashsalt": "bias-inheritance", "svg.fonttype": "path", "text.parse_math": False, "text.usetex": False,
    "path.simplify": False,
}
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Point:
    """One plotted value: the mean of the rows pooled into it, its band and the documents scored."""

    x: float
    value: float
    low: float | None
    high: float | None
    band: str | None  # a key of BANDS
    n: tuple[int, int] | None  # (fewest, most) documents scored over the pooled rows


@dataclass(frozen=True)
class Series:
    key: tuple[str, ...]  # LINE_KEY values
    group: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Panel:
    """One axes: lines (γ or round figures) or bars per mitigation at each γ (mitigation figure)."""

    title: str
    series: tuple[Series, ...] = ()
    bars: Mapping[tuple[float, str], Point] = field(default_factory=dict)  # (γ, mitigation) -> bar
    control: Point | None = None  # the γ = 0 control, drawn as a reference line behind bars


@dataclass(frozen=True)
class Plot:
    """One figure file: a (task, metric) of one kind, in one or more panels."""

    kind: str
    task: str
    metric: str
    panels: tuple[Panel, ...]


@dataclass(frozen=True)
class FigureFile:
    kind: str
    task: str
    metric: str
    png: str  # file names inside the figures folder
    svg: str
    alt: str
    caption: str


def prepare(table: pd.DataFrame) -> pd.DataFrame:
    """Text columns as str ("" where missing), number columns as float (NaN where missing)."""
    frame = table.copy()
    for column in _TEXT_COLUMNS:
        frame[column] = [("" if _missing(v) else str(v)) for v in frame[column]]
    for column in _NUMBER_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    frame.loc[frame["mitigation"] == "", "mitigation"] = UNMITIGATED
    return frame


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _finite(value: float) -> bool:
    return value is not None and math.isfinite(value)


def pool(rows: pd.DataFrame, x: float) -> Point:
    """A point from one row (its interval, else ± its stderr) or from several seeds (mean, range)."""
    values = rows["value"].dropna()
    counts = rows["n"].dropna()
    n = (int(counts.min()), int(counts.max())) if len(counts) else None
    if len(values) == 0:
        return Point(x, math.nan, None, None, None, n)
    if len(values) > 1:
        return Point(x, float(values.mean()), float(values.min()), float(values.max()), "spread", n)
    row = rows.loc[values.index[0]]
    value = float(row["value"])
    if _finite(row["interval_low"]) and _finite(row["interval_high"]):
        return Point(x, value, float(row["interval_low"]), float(row["interval_high"]), "interval", n)
    if _finite(row["stderr"]):
        return Point(x, value, value - float(row["stderr"]), value + float(row["stderr"]), "stderr", n)
    return Point(x, value, None, None, None, n)


def _first_round(rows: pd.DataFrame) -> pd.DataFrame:
    """The paper's γ and mitigation figures are of the first round; later rounds have their own figure."""
    if rows["round"].notna().any():
        return rows[rows["round"].isna() | (rows["round"] == rows["round"].min())]
    return rows


def _same_line(rows: pd.DataFrame, key: Sequence[str]) -> pd.Series:
    """Rows of the line `key` names, its bias type aside (the shared control has none)."""
    same = pd.Series(True, index=rows.index)
    for column, value in zip(LINE_KEY[:-1], key[:-1]):
        same &= rows[column] == value
    return same


def _lines(rows: pd.DataFrame, x: str, extra: pd.DataFrame | None = None) -> tuple[Series, ...]:
    """One series per (LINE_KEY, group); `extra` rows (the shared control) join every line of their model,
    bias and group."""
    series = []
    for (*key, group), part in rows.groupby([*LINE_KEY, "group"], sort=True):
        if extra is not None:
            same = _same_line(extra, key) & (extra["group"] == group)
            part = pd.concat([extra[same], part])
        points = tuple(pool(at, float(value)) for value, at in part.groupby(x, sort=True))
        series.append(Series(tuple(key), group, points))
    return tuple(series)


def gamma_plots(table: pd.DataFrame) -> list[Plot]:
    """Metric against γ of unmitigated runs; a γ = 0 control without a bias type is every line's γ = 0."""
    rows = table[table["gamma"].notna() & (table["mitigation"] == UNMITIGATED)]
    plots = []
    for (task, metric), part in _first_round(rows).groupby(["task", "metric"], sort=True):
        if part["gamma"].nunique() < 2:
            continue
        shared = (part["gamma"] == 0) & (part["bias_type"] == "")
        typed = part[~shared]
        if typed.empty:
            continue
        plots.append(Plot("gamma", task, metric, (Panel(f"{task} · {metric}", _lines(typed, "gamma", part[shared])),)))
    return plots


def mitigation_plots(table: pd.DataFrame) -> list[Plot]:
    """Bars per mitigation at each γ > 0, one panel per line key and group, where some γ has two mitigations."""
    rows = _first_round(table[table["gamma"].notna()])
    plots = []
    for (task, metric), part in rows.groupby(["task", "metric"], sort=True):
        treated = part[part["gamma"] > 0]
        if not (treated.groupby([*LINE_KEY, "group", "gamma"])["mitigation"].nunique() > 1).any():
            continue
        controls = part[part["gamma"] == 0]
        varying = _varying(treated.groupby(list(LINE_KEY)).groups)
        panels = []
        for (*key, group), cell in treated.groupby([*LINE_KEY, "group"], sort=True):
            at_gamma = cell.groupby(["gamma", "mitigation"], sort=True)
            bars = {(float(g), str(m)): pool(at, float(g)) for (g, m), at in at_gamma}
            same = _same_line(controls, key) & (controls["group"] == group)
            same &= controls["bias_type"].isin(["", key[-1]])
            control = pool(controls[same], 0.0) if same.any() else None
            panels.append(Panel(_label(tuple(key), group, varying), bars=bars, control=control))
        plots.append(Plot("mitigation", task, metric, tuple(panels)))
    return plots


def round_plots(table: pd.DataFrame) -> list[Plot]:
    """Metric against round of unmitigated runs, one panel per γ, of the lines that have several rounds."""
    rows = table[table["round"].notna() & (table["mitigation"] == UNMITIGATED)]
    plots = []
    gammas = rows["gamma"].fillna(-1.0)  # runs without a γ (external ones) share a panel
    several = rows.groupby([*LINE_KEY, "group", "task", "metric", gammas])["round"].transform("nunique") > 1
    for (task, metric), part in rows[several].groupby(["task", "metric"], sort=True):
        panels = tuple(
            Panel(f"{task} · {metric} · γ = {_gamma(g)}", _lines(at, "round"))
            for g, at in part.groupby(part["gamma"].fillna(-1.0), sort=True)
        )
        plots.append(Plot("round", task, metric, panels))
    return plots


def _gamma(value: float) -> str:
    return "–" if value < 0 else f"{value:g}"


def safe_name(text: str, taken: set[str]) -> str:
    """A file-name stem from untrusted text: letters, digits, "_" and "-" only, at most 60 characters,
    told apart from names already `taken` (which it joins)."""
    stem = _UNSAFE.sub("_", text).strip("_-")[:60] or "figure"
    name, count = stem, 1
    while name in taken:
        count += 1
        name = f"{stem}-{count}"
    taken.add(name)
    return name


def _write_bytes(path: Path, data: bytes) -> None:
    """Atomic like `io.atomic_write_text`: a half-written figure is never seen by the page."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _varying(keys: Iterable[tuple[str, ...]]) -> list[bool]:
    """Which LINE_KEY parts tell the keys apart (the bias type is always named)."""
    keys = list(keys)
    return [len({k[i] for k in keys}) > 1 or LINE_KEY[i] == "bias_type" for i in range(len(LINE_KEY))]


def _label(key: tuple[str, ...], group: str, varying: Sequence[bool]) -> str:
    """A line's legend entry or a bar panel's title: the key parts that vary, then the group."""
    shown = [part or "control" for name, part, varies in zip(LINE_KEY, key, varying)
             if varies and (part or name == "bias_type")]  # no bias type: the control; no culture: a gender run
    return " · ".join([*shown, group or "all"])


def _n_text(points: Iterable[Point]) -> str:
    counts = [p.n for p in points if p.n is not None]
    if not counts:
        return "n not reported"
    low, high = min(c[0] for c in counts), max(c[1] for c in counts)
    return f"n = {low}" if low == high else f"n = {low}–{high}"


def _footer(points: list[Point]) -> str:
    bands = sorted({p.band for p in points if p.band})
    text = f"{_n_text(points)} documents scored per point"
    return text + ("; bands: " + ", ".join(BANDS[b] for b in bands) if bands else "; no interval or stderr reported")


def _draw_lines(axes, panel: Panel, xlabel: str) -> list[Point]:
    keys = sorted({s.key for s in panel.series})
    groups = sorted({s.group for s in panel.series})
    varying = _varying(keys)
    for series in panel.series:
        colour = _COLOURS[keys.index(series.key) % len(_COLOURS)]
        style, marker = _STYLES[groups.index(series.group) % len(_STYLES)]
        xs = [p.x for p in series.points]
        axes.plot(xs, [p.value for p in series.points], color=colour, linestyle=style, marker=marker,
                  markersize=4, label=_label(series.key, series.group, varying))
        banded = [p for p in series.points if p.low is not None and p.high is not None]
        if banded:
            axes.fill_between([p.x for p in banded], [p.low for p in banded], [p.high for p in banded],
                              color=colour, alpha=0.15, linewidth=0)
    axes.set_xlabel(xlabel)
    if xlabel == "round":
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(panel.title)
    axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    return [p for s in panel.series for p in s.points]


def _draw_bars(axes, panel: Panel) -> list[Point]:
    gammas = sorted({g for g, _ in panel.bars})
    mitigations = sorted({m for _, m in panel.bars}, key=lambda m: (m != UNMITIGATED, m))
    width = 0.8 / len(mitigations)
    for j, mitigation in enumerate(mitigations):
        at = [(i, panel.bars[(g, mitigation)]) for i, g in enumerate(gammas) if (g, mitigation) in panel.bars]
        xs = [i - 0.4 + width * (j + 0.5) for i, _ in at]
        errors = [[p.value - p.low if p.low is not None else 0 for _, p in at],
                  [p.high - p.value if p.high is not None else 0 for _, p in at]]
        axes.bar(xs, [p.value for _, p in at], width=width, yerr=errors, capsize=2,
                 color=_COLOURS[j % len(_COLOURS)], label=mitigation)
    if panel.control is not None and _finite(panel.control.value):
        axes.axhline(panel.control.value, color="black", linestyle="--", linewidth=1, label="γ = 0 control")
    axes.set_xticks(range(len(gammas)), [f"γ = {g:g}" for g in gammas])
    axes.set_title(panel.title)
    points = list(panel.bars.values())
    return points + ([panel.control] if panel.control is not None else [])


def render(plot: Plot) -> tuple[bytes, bytes]:
    """(PNG, SVG) of one plot; the same plot gives the same bytes."""
    columns = min(len(plot.panels), 3)
    rows = math.ceil(len(plot.panels) / columns)
    with matplotlib.rc_context():  # restored on exit; defaults first, so no user style leaks in
        matplotlib.rcdefaults()
        matplotlib.rcParams.update(_RC)
        width = 5.2 * columns
        figure = Figure(figsize=(width, 3.0 * rows + 0.4), layout="constrained")
        grid = figure.subplots(rows, columns, squeeze=False)
        points: list[Point] = []
        for axes, panel in zip(grid.flat, plot.panels):
            if plot.kind == "mitigation":
                points += _draw_bars(axes, panel)
            else:
                points += _draw_lines(axes, panel, "γ" if plot.kind == "gamma" else "round")
            axes.set_ylabel(plot.metric)
        for axes in list(grid.flat)[len(plot.panels):]:
            axes.set_visible(False)
        if plot.kind == "mitigation":  # one legend: every panel has the same mitigations' colours
            figure.suptitle(f"{plot.task} · {plot.metric}")
            handles = {label: h for axes in grid.flat for h, label in zip(*axes.get_legend_handles_labels())}
            figure.legend(handles.values(), handles.keys(), loc="outside right upper", frameon=False)
        figure.supxlabel(textwrap.fill(_footer(points), int(width * 16)), fontsize=7, x=0.0, ha="left")
        png, svg = io.BytesIO(), io.BytesIO()
        figure.savefig(png, format="png", metadata={"Software": None})
        figure.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


def _describe(plot: Plot) -> tuple[str, str]:
    """(alt text, caption) of a figure file."""
    what = {
        "gamma": "one line per bias type (colour) and group (line style); the γ = 0 point is the shared control",
        "mitigation": "bars per mitigation at each γ > 0, one panel per bias type and group; "
        "the dashed line is the γ = 0 control",
        "round": "one line per bias type (colour) and group (line style), one panel per γ",
    }[plot.kind]
    alt = f"{KINDS[plot.kind]} for task {plot.task}, metric {plot.metric}: {what}"
    points = [p for panel in plot.panels for p in (*(q for s in panel.series for q in s.points), *panel.bars.values())]
    return alt, f"{plot.task} · {plot.metric}: {what}. {_footer(points)}."


def plots(table: pd.DataFrame) -> tuple[list[Plot], dict[str, str]]:
    """Every plot the table supports, and kind -> why it has none (for the page to say)."""
    made = {"gamma": gamma_plots(table), "mitigation": mitigation_plots(table), "round": round_plots(table)}
    reasons = {
        "gamma": "no task metric has an unmitigated run at more than one γ",
        "mitigation": "no task metric has two mitigations (or none and one) at the same γ > 0",
        "round": "no task metric has unmitigated runs in more than one round",
    }
    return [p for kind in KINDS for p in made[kind]], {k: reasons[k] for k in KINDS if not made[k]}


def write_figures(table: pd.DataFrame, folder: Path) -> tuple[list[FigureFile], dict[str, str]]:
    """Write every supported figure as PNG and SVG into `folder` (removing figures of an earlier build
    that this one does not make); return the files and kind -> why none was made."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    made, skipped = plots(prepare(table))
    taken: set[str] = set()
    files = []
    for plot in made:
        stem = safe_name(f"{plot.kind}__{plot.task}__{plot.metric}", taken)
        png, svg = render(plot)
        _write_bytes(folder / f"{stem}.png", png)
        _write_bytes(folder / f"{stem}.svg", svg)
        files.append(FigureFile(plot.kind, plot.task, plot.metric, f"{stem}.png", f"{stem}.svg", *_describe(plot)))
    kept = {name for f in files for name in (f.png, f.svg)}
    for old in folder.iterdir():
        if old.suffix in (".png", ".svg") and old.name not in kept:
            old.unlink()
    return files, skipped
