"""Stage 3: lm-eval task YAMLs, their metrics and answer parsers.

lm-eval finds these tasks only through `--include_path`; `bias-inheritance tasks-path` prints it.
"""

from __future__ import annotations

from pathlib import Path


def tasks_path() -> Path:
    """The folder to pass to lm-eval as `--include_path`."""
    return Path(__file__).resolve().parent
