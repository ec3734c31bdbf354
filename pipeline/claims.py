"""Claims on a shared filesystem: one lock file per output key, so concurrent workers never do a piece twice.

A worker holds a piece's claim while it makes the piece; another worker that needs the same piece
blocks on the claim and, once it is released, finds the output complete (the stages reuse it by its
key), so nobody reads a half-written output. Locks are `filelock` (flock on POSIX): the kernel drops
the claim of a killed worker, so a crash never leaves a piece claimed forever.
"""

from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from filelock import FileLock, Timeout

CLAIMS_FOLDER = ".claims"


@dataclass(frozen=True)
class Claims:
    """The claim locks of one output folder."""

    root: Path

    def lock_path(self, key: str) -> Path:
        readable = re.sub(r"[^A-Za-z0-9_.-]+", "_", key)[:80]
        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]
        return Path(self.root) / CLAIMS_FOLDER / f"{readable}-{digest}.lock"

    @contextmanager
    def claim(self, key: str) -> Iterator[None]:
        """Hold `key` while the block runs; waits while another worker holds it."""
        path = self.lock_path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(path)):
            yield

    def held(self, key: str) -> bool:
        """Whether another worker holds `key` now (progress reports it as running)."""
        path = self.lock_path(key)
        if not path.exists():
            return False
        lock = FileLock(str(path))
        try:
            lock.acquire(timeout=0)
        except Timeout:
            return True
        lock.release()
        return False
