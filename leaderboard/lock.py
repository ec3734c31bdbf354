"""The one lock every writer of a board holds (`leaderboard update`, `leaderboard add`), so
concurrent writers wait for each other instead of losing work."""

from __future__ import annotations

from pathlib import Path

from filelock import FileLock

LOCK_NAME = ".lock"


def board_lock(board: Path) -> FileLock:
    board = Path(board)
    board.mkdir(parents=True, exist_ok=True)
    return FileLock(str(board / LOCK_NAME))
