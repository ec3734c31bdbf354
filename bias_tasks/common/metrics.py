"""Group metrics computed inside one task (lm-eval's group aggregation is only a plain mean).

Per-document results are `(group, value)` tuples; these aggregations pick out one group or compare
two. A group with no documents yields NaN rather than a misleading 0.
"""

from __future__ import annotations

import math
from typing import Hashable, Iterable, Sequence

Item = tuple[Hashable, float]


def group_mean(items: Iterable[Item], group: Hashable) -> float:
    values = [float(value) for key, value in items if key == group]
    return sum(values) / len(values) if values else math.nan


def group_gap(items: Sequence[Item], first: Hashable, second: Hashable) -> float:
    """mean(first) - mean(second); NaN when either group is empty."""
    return group_mean(items, first) - group_mean(items, second)
