"""Percentile bootstrap intervals for group statistics computed inside a task's aggregation.

lm-eval reports "N/A" as stderr for custom aggregations, so the generation tasks report the
interval as two extra metrics (`<metric>_ci_low`, `<metric>_ci_high`). Documents are resampled
with replacement; the statistic is vectorised over all resamples at once, so 1,000 resamples of a
few thousand documents cost milliseconds. The RNG is seeded: the same items give the same interval.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np

RESAMPLES = 1000
LEVEL = 0.95
SEED = 20250206

# statistic(indices) -> one value per row; `indices` has shape (resamples, n_documents).
Statistic = Callable[[np.ndarray], np.ndarray]


def percentile_interval(
    n: int, statistic: Statistic, *, resamples: int = RESAMPLES, level: float = LEVEL, seed: int = SEED
) -> tuple[float, float]:
    """(low, high) percentile interval of `statistic` over bootstrap resamples of n documents.

    Resamples where the statistic is undefined (NaN, e.g. a group drawn empty) are ignored; with
    no documents, or none defined, the interval is (NaN, NaN).
    """
    if n <= 0:
        return math.nan, math.nan
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, n, size=(resamples, n))
    values = np.asarray(statistic(indices), dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return math.nan, math.nan
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(values, [tail, 100.0 - tail])
    return float(low), float(high)


def resampled_group_means(values: np.ndarray, mask: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """Mean of `values` over documents where `mask` holds, for each resample row (NaN if none)."""
    picked = mask[indices]
    counts = picked.sum(axis=1)
    sums = np.where(picked, values[indices], 0.0).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.maximum(counts, 1), np.nan)


def resampled_ratio(numerator: np.ndarray, denominator: np.ndarray, indices: np.ndarray) -> np.ndarray:
    """sum(numerator) / sum(denominator) per resample row (NaN where the denominator sums to 0)."""
    top = numerator[indices].sum(axis=1)
    bottom = denominator[indices].sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1), np.nan)
