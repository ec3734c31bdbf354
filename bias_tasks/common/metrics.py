"""Helpers for group metrics computed inside one task (lm-eval's own aggregation is a plain mean).

Every group metric of a task receives the same per-document items; aggregations that share work
(adjective extraction, a bootstrap) cache it on the items, which must then be hashable.
"""

from __future__ import annotations

from typing import Sequence


def frozen(items: Sequence) -> tuple:
    """Items as a tuple of tuples (a cache key), whatever sequence type lm-eval hands over."""
    return tuple(tuple(item) if isinstance(item, (list, tuple)) else item for item in items)
