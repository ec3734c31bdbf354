"""Results files -> leaderboard.csv (one wide row per run) and leaderboard.md (provenance header,
runs with their provenance and marks, what each Δ is against, task tables).

Every input is read and checked before anything is written, and both outputs are written
atomically: a bad input leaves the previous leaderboard as it was.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Sequence

from bias_inheritance.io import atomic_write_text
from bias_inheritance.provenance import package_versions
from leaderboard.compare import comparisons
from leaderboard.markdown import render
from leaderboard.results import discover, load_record
from leaderboard.table import to_frame

MARKDOWN_NAME = "leaderboard.md"
CSV_NAME = "leaderboard.csv"


def build_leaderboard(inputs: Sequence[Path], out_dir: Path, base: str | None = None) -> tuple[Path, Path]:
    """Read results files or folders holding them; write `out_dir`/leaderboard.md and .csv.

    `base` is the label of the run to compare against; in each (format, limit) the run with that
    label is the base (default: the run whose role is "base"). Returns (markdown path, csv path).
    """
    files, skipped = discover(list(inputs))
    records = [load_record(path) for path in files]
    compared = comparisons(records, base)
    generated = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    markdown = render(records, compared, skipped, package_versions(), generated)
    csv = to_frame(records, compared).to_csv(index=False)
    out_dir = Path(out_dir)
    md_path, csv_path = out_dir / MARKDOWN_NAME, out_dir / CSV_NAME
    atomic_write_text(csv_path, csv)
    atomic_write_text(md_path, markdown)
    return md_path, csv_path
