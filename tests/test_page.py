"""The leaderboard page and its figures, from a long table built by hand: which rows make which
plotted point (hand-computed), the page's table rows, escaping, safe figure names, identical bytes
on a rebuild; and the page rendered in headless Chromium where it is installed."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from leaderboard import figures
from leaderboard.long_table import LONG_COLUMNS
from leaderboard.page import BOARD_HEADERS, write_page

EVIL_MODEL = '<script>alert("x")</script>'
EVIL_TASK = "../../evil/<b>task"
MODEL = "tiny-llama"
TYPES = ("contrastive explicit", "contextual implicit")
NAN = math.nan
REPO = Path(__file__).resolve().parents[1]
METRIC, GROUP, VALUE = (BOARD_HEADERS.index(h) for h in ("metric", "group", "value"))


def _row(run: str, role: str, value: float, **fields) -> dict:
    row = dict.fromkeys(LONG_COLUMNS, NAN)
    row.update(run=run, role=role, value=value, model=MODEL, bias="gender", bias_type="", mitigation="", task="hiring",
               metric="acc", group="male", n=40, data_source="sample", card_key="ab" * 32, marks="")
    row.update(fields)
    return row


def _board() -> pd.DataFrame:
    """A grid: base; γ = 0 control in rounds 1 and 2; 2 types × γ {0.2, 0.5} × {none, token} (seed 0), a second
    seed of one cell, a round 2 of another; an external pair whose model name is a script; a task named like a path."""
    rows = []
    for group, shift in (("male", 0.0), ("female", -0.1)):
        rows.append(_row("base", "base", 0.4 + shift, group=group, stderr=0.02))
        for rnd in (1, 2):
            rows.append(_row(f"control-r{rnd}", "control", 0.5 + shift + 0.01 * (rnd - 1), group=group, gamma=0.0,
                             mitigation="none", round=rnd, seed=0, interval_low=0.45 + shift,
                             interval_high=0.55 + shift, finetune_delta=0.1))
        for t, kind in enumerate(TYPES):
            for gamma in (0.2, 0.5):
                for mitigation, lift in (("none", 0.0), ("token", -0.05)):
                    value = 0.5 + shift + gamma * (t + 1) / 5 + lift
                    rows.append(_row(f"{kind}-{gamma}-{mitigation}", "finetuned", value, group=group, bias_type=kind,
                                     gamma=gamma, mitigation=mitigation, round=1, seed=0, stderr=0.01,
                                     control_run="control-r1", inheritance_delta=value - 0.5 - shift,
                                     inheritance_low=value - 0.55 - shift, inheritance_high=value - 0.45 - shift,
                                     marks="synthetic sample"))
        rows.append(_row("contrastive explicit-0.5-none-seed1", "finetuned", 0.7 + shift, group=group,
                         bias_type=TYPES[0], gamma=0.5, mitigation="none", round=1, seed=1))
        rows.append(_row("contrastive explicit-0.5-none-r2", "finetuned", 0.8 + shift, group=group,
                         bias_type=TYPES[0], gamma=0.5, mitigation="none", round=2, seed=0))
        rows.append(_row("ext-base", "external-base", 0.3, model=EVIL_MODEL, group=group, data_source=""))
        rows.append(_row("ext-tuned", "external-tuned", 0.35, model=EVIL_MODEL, group=group, finetune_delta=0.05,
                         data_source=""))
    rows.append(_row("base", "base", 0.1, task=EVIL_TASK, metric="gap $\\x$", group=""))
    return pd.DataFrame(rows, columns=list(LONG_COLUMNS))


class _Page(HTMLParser):
    """The parts of a page the tests read: task tables' rows, images, scripts, all text."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: list[tuple[str, list[list[str]]]] = []
        self.images: list[dict[str, str]] = []
        self.scripts = 0
        self.text: list[str] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self.tables.append((attrs.get("class", ""), []))
        elif tag == "tr" and self.tables:
            self.tables[-1][1].append([])
        elif tag == "td":
            self._cell = []
        elif tag == "img":
            self.images.append(attrs)
        elif tag == "script":
            self.scripts += 1

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self.tables[-1][1][-1].append("".join(self._cell))
            self._cell = None

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    def board_rows(self) -> list[list[str]]:
        return [row for css, rows in self.tables if css == "board" for row in rows if row]


def _parse(markup: str) -> _Page:
    page = _Page()
    page.feed(markup)
    return page


def _expected_rows(table: pd.DataFrame) -> list[tuple[str, str, str]]:
    return sorted((r.run, r.metric, r.group or "all") for r in table.itertuples())


def _shown_rows(page: _Page) -> list[tuple[str, str, str]]:
    """(run, metric, group) of every task-table row; the run is ⚠-prefixed when marked."""
    return sorted((row[0].removeprefix("⚠ "), row[METRIC], row[GROUP]) for row in page.board_rows())


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, Path]:
    out = tmp_path_factory.mktemp("site") / "board"
    table = _board()
    write_page(table, out)
    return table, out


def _series(plot: figures.Plot, bias_type: str, group: str) -> figures.Series:
    (series,) = [s for p in plot.panels for s in p.series if s.key[-1] == bias_type and s.group == group]
    return series


def test_gamma_points_share_the_control_pool_seeds_and_leave_out_mitigated_runs():
    (plot,) = [p for p in figures.gamma_plots(figures.prepare(_board())) if p.task == "hiring"]
    male = _series(plot, TYPES[0], "male")
    assert [(p.x, p.band) for p in male.points] == [(0.0, "interval"), (0.2, "stderr"), (0.5, "spread")]
    control, one, pooled = male.points
    assert (control.value, control.low, control.high) == pytest.approx((0.5, 0.45, 0.55))  # round 1's control
    assert (one.value, one.low, one.high) == pytest.approx((0.54, 0.53, 0.55))  # 0.5 + 0.2/5 ± stderr 0.01
    assert (pooled.value, pooled.low, pooled.high) == pytest.approx((0.65, 0.6, 0.7))  # seeds 0.6 and 0.7
    assert pooled.n == (40, 40)
    female = _series(plot, TYPES[1], "female")
    assert [p.value for p in female.points] == pytest.approx([0.4, 0.48, 0.6])  # the control is every type's γ = 0
    assert {s.key[-1] for s in plot.panels[0].series} == set(TYPES)  # no "control" line of its own


def test_mitigation_bars_at_each_gamma_with_the_control_as_reference():
    (plot,) = [p for p in figures.mitigation_plots(figures.prepare(_board())) if p.task == "hiring"]
    (panel,) = [p for p in plot.panels if p.title == f"{TYPES[1]} · female"]
    assert {k: round(v.value, 6) for k, v in panel.bars.items()} == {
        (0.2, "none"): 0.48, (0.2, "token"): 0.43, (0.5, "none"): 0.6, (0.5, "token"): 0.55}
    assert panel.control.value == pytest.approx(0.4)
    assert len(plot.panels) == 4  # 2 bias types × 2 groups


def test_round_lines_per_gamma():
    (plot,) = [p for p in figures.round_plots(figures.prepare(_board())) if p.task == "hiring"]
    by_gamma = {p.title.rsplit("= ", 1)[1]: p for p in plot.panels}
    assert set(by_gamma) == {"0", "0.5"}
    (line,) = [s for s in by_gamma["0.5"].series if s.group == "male"]
    assert [(p.x, round(p.value, 6)) for p in line.points] == [(1.0, 0.65), (2.0, 0.8)]
    (control,) = [s for s in by_gamma["0"].series if s.group == "male"]
    assert [round(p.value, 6) for p in control.points] == [0.5, 0.51]


def test_a_table_with_one_gamma_and_round_draws_nothing_and_the_page_says_why(tmp_path: Path):
    table = _board()
    table = table[(table["gamma"] == 0.2) & (table["mitigation"] == "none")]
    page = write_page(table, tmp_path)
    text = " ".join(_parse(page.read_text(encoding="utf-8")).text)
    assert text.count("Not drawn:") == 3
    assert "no task metric has an unmitigated run at more than one γ" in text
    assert list((tmp_path / "figures").iterdir()) == []


def test_page_lists_every_row_escapes_strings_and_links_existing_figures(board):
    table, out = board
    markup = (out / "index.html").read_text(encoding="utf-8")
    page = _parse(markup)
    assert _shown_rows(page) == _expected_rows(table)
    assert page.scripts == 0
    assert EVIL_MODEL in page.text and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in markup
    assert EVIL_TASK in page.text
    kinds = {Path(i["src"]).name.split("__")[0] for i in page.images}
    assert kinds == set(figures.KINDS)
    for image in page.images:
        assert image["alt"].startswith(tuple(figures.KINDS.values()))
        assert (out / image["src"]).resolve().is_file()
        assert (out / image["src"]).with_suffix(".svg").is_file()
    everything = {p.resolve() for p in out.parent.rglob("*")}
    assert all(out.resolve() in p.parents or p == out.resolve() for p in everything)  # no "../" escape
    marked = [row for row in page.board_rows() if row[0].startswith("⚠ ")]
    assert len(marked) == (table["marks"] != "").sum()
    base_male = next(r for r in page.board_rows() if r[0] == "base" and r[GROUP] == "male")
    assert base_male[VALUE:VALUE + 3] == ["0.4000", "±0.0200", "40"]


def test_rebuild_gives_identical_figures_and_drops_stale_ones(board, tmp_path: Path):
    table, out = board
    (tmp_path / "stale.png").write_bytes(b"old")
    (tmp_path / "notes.txt").write_text("kept")
    files, _ = figures.write_figures(table, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["notes.txt", *(f.png for f in files), *(f.svg for f in files)])
    for name in (n for f in files for n in (f.png, f.svg)):
        assert (tmp_path / name).read_bytes() == (out / "figures" / name).read_bytes(), name


@given(st.lists(st.text(max_size=80), max_size=6))
def test_safe_names_are_plain_and_distinct(texts):
    taken: set[str] = set()
    names = [figures.safe_name(t, taken) for t in texts]
    assert len(set(names)) == len(names)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{1,70}", n) for n in names)


def _chromium() -> str | None:
    names = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
    return next(filter(None, map(shutil.which, names)), None)


def test_page_renders_in_headless_chromium(board, tmp_path: Path):
    binary = _chromium()
    if binary is None:
        pytest.skip("chromium not installed: apt-get install chromium (the HTML-parsing tests still ran)")
    from PIL import Image

    table, out = board
    url = (out / "index.html").resolve().as_uri()
    common = [binary, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1400,4000"]
    screenshot = tmp_path / "page.png"
    subprocess.run([*common, f"--screenshot={screenshot}", url], check=True, capture_output=True, timeout=120)
    dom = subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, text=True, timeout=120).stdout
    artefacts = REPO / "test-artifacts"
    artefacts.mkdir(exist_ok=True)
    shutil.copyfile(screenshot, artefacts / "page.png")
    assert _shown_rows(_parse(dom)) == _expected_rows(table)
    pixels = Image.open(screenshot).convert("RGB")
    assert pixels.size == (1400, 4000)
    colours = pixels.getcolors(maxcolors=1 << 24)
    assert len(colours) > 50  # text, table shading and figures, not a blank page
    blue = sum(count for count, (r, g, b) in colours if abs(r - 0x1F) + abs(g - 0x77) + abs(b - 0xB4) < 30)
    assert blue > 200  # the figures' first line colour: the images loaded and were drawn
