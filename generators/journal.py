"""An append-only JSON-lines journal of finished rows that survives being killed at any moment.

Generation can take hours and may be killed (SIGKILL, a preempted GPU, a full disk). Rewriting the
whole file after every batch costs O(n²) and loses everything written since the last rewrite, so
finished rows are instead appended, flushed and fsynced. A kill can then only leave a torn last line
(a write cut short): readers ignore it and `Journal.open` truncates it before appending again, so a
file is always "complete rows + at most one torn line". Rows are deduplicated by id, the first
complete one kept, so a batch written twice (killed after the write, before the caller saw it) never
yields a duplicate.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

from bias_inheritance.errors import UserError

try:  # POSIX: one writer per journal; without fcntl (Windows) two writers are only deduplicated
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

_DISK_FULL = (errno.ENOSPC, errno.EDQUOT)


@dataclass
class JournalContents:
    """What a journal holds: unique complete rows in file order, and what was set aside."""

    rows: list[dict] = field(default_factory=list)
    duplicates: int = 0  # rows whose id an earlier complete row already had
    torn_bytes: int = 0  # length of the torn last line (0 when the file ends with a newline)
    complete_bytes: int = 0  # where the last complete line ends


def _row(line: bytes) -> dict | None:
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    return row if isinstance(row, dict) and "id" in row else None


def _parse(data: bytes, origin: Path) -> JournalContents:
    """Split a journal's bytes into rows and a torn tail.

    The tail is everything from the first line that is not a complete row (cut short, or garbage left
    by a crash) to the end; a complete row after it means the file was damaged otherwise: an error.
    """
    contents = JournalContents()
    seen: set[str] = set()
    offset = 0
    torn_at: int | None = None
    torn_line = 0
    pieces = data.split(b"\n")
    lines = [piece + b"\n" for piece in pieces[:-1]] + ([pieces[-1]] if pieces[-1] else [])
    for number, line in enumerate(lines, start=1):
        row = _row(line) if line.endswith(b"\n") else None
        if row is not None and torn_at is not None:
            raise UserError(f"{origin} line {torn_line} is not a complete row, yet rows follow it.",
                            "the file was edited or damaged: delete it and its card, and generate again.")
        if row is None and torn_at is None and line.strip():
            torn_at, torn_line = offset, number
        if row is not None:
            if row["id"] in seen:
                contents.duplicates += 1
            else:
                seen.add(row["id"])
                contents.rows.append(row)
        offset += len(line)
    contents.complete_bytes = offset if torn_at is None else torn_at
    contents.torn_bytes = len(data) - contents.complete_bytes
    return contents


def read_journal(path: Path) -> JournalContents:
    """The rows of a journal (or of a finished file) without changing it; an absent file is empty."""
    path = Path(path)
    if not path.is_file():
        return JournalContents()
    return _parse(path.read_bytes(), path)


def _write(fd: int, data: bytes) -> None:
    """Write every byte (os.write may write fewer than asked)."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


@contextlib.contextmanager
def disk_errors(path: Path, kept: str) -> Iterator[None]:
    """Turn a full disk into a one-line UserError saying what is kept and how to resume."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _DISK_FULL:
            raise
        raise UserError(f"No space left on the device while writing {path} ({kept}).",
                        "free some disk space and run the same command again: it resumes where it stopped.") from None


class Journal:
    """An open journal: `rows` read at opening, `append` adds finished rows durably."""

    def __init__(self, path: Path, fd: int, contents: JournalContents) -> None:
        self.path = path
        self._fd = fd
        self.rows = contents.rows
        self.ids = {row["id"] for row in contents.rows}
        self.duplicates = contents.duplicates
        self.repaired_bytes = contents.torn_bytes

    @classmethod
    def open(cls, path: Path) -> "Journal":
        """Open (creating) `path` for appending, after truncating a torn last line.

        Refuses a second writer: two processes appending one journal would each generate every row.
        """
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        created = not path.exists()
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            if fcntl is not None:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    raise UserError(f"Another process is generating into {path}.",
                                    "wait for it to finish, or stop it first.") from None
            with open(path, "rb") as handle:
                contents = _parse(handle.read(), path)
            if contents.torn_bytes:
                os.ftruncate(fd, contents.complete_bytes)
                os.fsync(fd)
            if created:
                _fsync_dir(path.parent)  # the file's name must survive a crash as well as its rows
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, contents)

    def append(self, rows: Sequence[dict]) -> list[dict]:
        """Durably append the rows whose id is new (one write, then fsync); returns those appended.

        A failed write (a full disk) is cut back to the last complete row before the error is raised,
        so the file stays resumable.
        """
        new, ids = [], set(self.ids)
        for row in rows:
            if row["id"] not in ids:
                ids.add(row["id"])
                new.append(row)
        if not new:
            return []
        data = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in new).encode("utf-8")
        size = os.fstat(self._fd).st_size
        try:
            _write(self._fd, data)
            os.fsync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):  # best effort: a torn line is also repaired on reopening
                os.ftruncate(self._fd, size)
            raise
        self.rows.extend(new)
        self.ids.update(row["id"] for row in new)
        return new

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)  # also releases the lock
            self._fd = -1

    def __enter__(self) -> "Journal":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every platform can open a folder
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
