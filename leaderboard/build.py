"""Results files -> the board, every output a view of one long table (leaderboard.long_table):
`build_board` writes that table (leaderboard.csv), its runs with their provenance (leaderboard.json),
the Markdown views (leaderboard.md) and the static page (index.html, by leaderboard.page where it is
installed); `add_external` adds an external base/tuned pair and rebuilds. The CLI's `leaderboard
build`, the sweep and CI's `leaderboard update` all build through `build_board`.

Every input is read and checked before anything is written, and each output is written
atomically: a bad input leaves the previous board as it was.
"""

from __future__ import annotations

import datetime as _dt
import math
from pathlib import Path
from typing import Any, Sequence

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, atomic_write_text, read_json
from bias_inheritance.provenance import package_versions
from leaderboard.board_markdown import render_board
from leaderboard.external import ENTRIES, EXTERNAL_BASE, EXTERNAL_TUNED, copy_pair
from leaderboard.lock import board_lock
from leaderboard.long_table import LONG_COLUMNS, Board, load_board
from leaderboard.results import BOARD_JSON as JSON_NAME

MARKDOWN_NAME = "leaderboard.md"
CSV_NAME = "leaderboard.csv"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")


def _json_value(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def _records(board: Board) -> list[dict[str, Any]]:
    """Each run: what it is, where its numbers came from (file, hash, card) and its provenance."""
    return [{
        "run": board.names[id(r)], "role": board.roles[id(r)], "results_file": str(r.path.resolve()), "sha256": r.sha256,
        "card": r.card, "card_key": r.card_key, "bias": r.bias, "provenance": r.provenance, "eval_data": r.eval_data,
        "sample_logs": {task: str(path) for task, path in r.sample_logs.items()},
        "no_control": board.notes.get(board.names[id(r)]),
    } for r in board.records]


def write_board(board: Board, out: Path) -> dict[str, Path]:
    """Write the board's Markdown, CSV, JSON (and page, where leaderboard.page exists) atomically."""
    out = Path(out)
    versions, generated = package_versions(), _now()
    rows = [{k: _json_value(v) for k, v in row.items()} | {"interval_method": method}
            for row, method in zip(board.table.to_dict(orient="records"), board.methods)]
    document = {"generated": generated, "versions": versions, "columns": list(LONG_COLUMNS),
                "runs": _records(board), "rows": rows}
    written = {"csv": out / CSV_NAME, "json": out / JSON_NAME, "md": out / MARKDOWN_NAME}
    atomic_write_text(written["csv"], board.table.to_csv(index=False))
    atomic_write_json(written["json"], document)
    atomic_write_text(written["md"], render_board(board, versions, generated))
    try:
        from leaderboard import page
    except ModuleNotFoundError as missing:  # the page module is optional; any other import error is a bug
        if missing.name != "leaderboard.page":
            raise
        return written
    written["html"] = page.write_page(board.table, out)
    return written


def build_board(results: Sequence[Path], out: Path) -> dict[str, Path]:
    """Read every results file under `results` (all are checked before anything is written: a corrupt
    or foreign file is a UserError naming it and the board stays as it was), then write the board.
    Returns {"md", "csv", "json", "html"} paths ("html" only where leaderboard.page exists)."""
    return write_board(load_board([Path(p) for p in results]), Path(out))


def board_inputs(board: Path) -> list[Path]:
    """The results a board was built from: what `build_board` recorded, and its external entries."""
    board = Path(board)
    document = read_json(board / JSON_NAME) if (board / JSON_NAME).is_file() else {}
    files = [Path(run["results_file"]) for run in document.get("runs", []) if isinstance(run, dict)
             and run.get("role") not in (EXTERNAL_BASE, EXTERNAL_TUNED)]
    missing = [f for f in files if not f.is_file()]
    if missing:
        raise UserError(f"{missing[0]} (a results file of the board {board}) is gone.",
                        f"rebuild the board with `bias-inheritance leaderboard build RESULTS... --out {board}`.")
    entries = board / ENTRIES
    return files + ([entries] if entries.is_dir() else [])


def add_external(base: Path, tuned: Path, label: str, board: Path) -> dict[str, Path]:
    """Copy an external model's base and fine-tuned results into `board/entries/` and rebuild the board
    from every results file it holds. A corrupt or foreign file is refused before anything changes."""
    with board_lock(Path(board)):  # serialised with `leaderboard update` and other adds
        if board_inputs(Path(board)):  # the board as it is must still build before the pair is added
            load_board(board_inputs(Path(board)))
        copy_pair(Path(base), Path(tuned), label, Path(board))
        return build_board(board_inputs(Path(board)), Path(board))

