"""Where prepared data, converted models and run outputs live on disk.

One root, `$BIAS_INHERITANCE_CACHE` (default `~/.cache/bias-inheritance`), resolved on every call
so tests and users can point it elsewhere without touching global state.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_ENV = "BIAS_INHERITANCE_CACHE"


def cache_root() -> Path:
    """The cache root, from the environment or the default under ~/.cache."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "bias-inheritance"


def data_dir(family: str) -> Path:
    """Folder holding the prepared canonical files of one data family ("gender", "culture")."""
    return cache_root() / "data" / family


def models_dir() -> Path:
    """Folder holding models converted for the harness (the embedded default among them)."""
    return cache_root() / "models"
