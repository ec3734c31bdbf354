"""Percentile bootstrap intervals for the group statistics computed inside a task's aggregation.

lm-eval reports "N/A" as stderr for custom aggregations, so a task reports each interval as three
extra metrics: `<metric>_ci_low`, `<metric>_ci_high` and `<metric>_ci_undefined`, the number of the
RESAMPLES resamples in which the statistic was undefined (NaN: a group drawn empty, a group without
a valid answer). Those resamples are counted, never silently dropped; the bounds are percentiles
of the defined ones, so a large `_ci_undefined` says the interval describes only part of the
resamples.

A resample is a row of weights: how often each document was drawn. One statistic function then
gives the point estimate (all weights 1) and every resample's value (one matrix product per
group), so the two can never disagree on what is measured. Three designs draw the weights:

- `document_weights`: documents with replacement (prompts drawn independently);
- `stratified_weights`: documents within each stratum (the design's profession x gender cells),
  so every stratum keeps its size;
- `cluster_weights`: in each cell, its clusters (names) with replacement, then the documents
  (stories) of each drawn cluster with replacement: a two-stage cluster bootstrap for documents
  nested in clusters nested in cells.

The RNG is seeded: the same items give the same interval.
"""

from __future__ import annotations

import functools
import math
from collections import defaultdict
from dataclasses import dataclass
from typing import Callable, Hashable, NamedTuple, Sequence

import numpy as np

from bias_inheritance.schema import INTERVAL_SUFFIXES
from bias_tasks.common.metrics import frozen

RESAMPLES = 1000
LEVEL = 0.95
SEED = 20250206

# statistic(weights) -> one value per row; `weights` has shape (rows, n_documents).
Statistic = Callable[[np.ndarray], np.ndarray]
Aggregation = Callable[[Sequence], float]


def interval_metrics(metric: str) -> tuple[str, ...]:
    """The metric names that report the interval of `metric`."""
    return tuple(metric + suffix for suffix in INTERVAL_SUFFIXES)


# --------------------------------------------------------------------------- resampling designs


def _groups(labels: Sequence[Hashable]) -> list[np.ndarray]:
    """Document indices of each distinct label, in order of first appearance."""
    members: dict[Hashable, list[int]] = defaultdict(list)
    for index, label in enumerate(labels):
        members[label].append(index)
    return [np.asarray(indices) for indices in members.values()]


def _uniform_counts(rng: np.random.Generator, draws: np.ndarray | int, items: int, rows: int) -> np.ndarray:
    """(rows, items) counts of `draws` uniform draws with replacement among `items` per row."""
    if isinstance(draws, int):
        return rng.multinomial(draws, np.full(items, 1.0 / items), size=rows)
    return rng.multinomial(draws, np.full(items, 1.0 / items))


def document_weights(n: int, *, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Resample n documents with replacement."""
    return stratified_weights([0] * n, resamples=resamples, seed=seed)


def stratified_weights(strata: Sequence[Hashable], *, resamples: int = RESAMPLES, seed: int = SEED) -> np.ndarray:
    """Resample documents with replacement within each stratum (each keeps its size)."""
    rng = np.random.default_rng(seed)
    weights = np.zeros((resamples, len(strata)))
    for members in _groups(strata):
        weights[:, members] = _uniform_counts(rng, len(members), len(members), resamples)
    return weights


def cluster_weights(
    cells: Sequence[Hashable], clusters: Sequence[Hashable], *, resamples: int = RESAMPLES, seed: int = SEED
) -> np.ndarray:
    """Two-stage bootstrap: within each cell draw its clusters with replacement, then, for every
    time a cluster is drawn, its documents with replacement.

    Drawing a cluster c times and its m documents m times each is one multinomial of c*m draws.
    Clusters are taken within cells (a name listed for two cultures is two clusters).
    """
    rng = np.random.default_rng(seed)
    weights = np.zeros((resamples, len(cells)))
    for cell_members in _groups(cells):
        by_cluster = [cell_members[m] for m in _groups([clusters[i] for i in cell_members])]
        times_drawn = _uniform_counts(rng, len(by_cluster), len(by_cluster), resamples)
        for column, members in enumerate(by_cluster):
            weights[:, members] = _uniform_counts(rng, times_drawn[:, column] * len(members), len(members), resamples)
    return weights


# --------------------------------------------------------------------------- statistics


def weighted_ratio(numerator: np.ndarray, denominator: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """sum(w * numerator) / sum(w * denominator) per row; NaN where the denominator sums to 0."""
    top = weights @ np.asarray(numerator, dtype=float)
    bottom = weights @ np.asarray(denominator, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bottom > 0, top / np.where(bottom > 0, bottom, 1.0), np.nan)


def weighted_mean(values: np.ndarray, mask: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Weighted mean of `values` over the documents in `mask`, per row (NaN if none is drawn)."""
    mask = np.asarray(mask, dtype=bool)
    return weighted_ratio(np.where(mask, values, 0.0), mask, weights)


def mean_of_defined(values: np.ndarray) -> np.ndarray:
    """Column means of a (k, rows) array over its non-NaN entries; NaN where a column has none."""
    defined = ~np.isnan(values)
    count = defined.sum(axis=0)
    total = np.where(defined, values, 0.0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def point(statistic: Statistic, n: int) -> float:
    """The statistic on the documents themselves (every weight 1)."""
    return float(statistic(np.ones((1, n)))[0]) if n else math.nan


def point_aggregation(metric: str, statistic_of: Callable[[Sequence], Statistic]) -> Aggregation:
    """Aggregation reporting `metric`: the statistic built from the items, on the items themselves."""

    def aggregate(items: Sequence) -> float:
        return point(statistic_of(items), len(items))

    aggregate.__name__ = metric
    return aggregate


# --------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class Interval:
    """Percentile interval over the resamples where the statistic is defined."""

    low: float
    high: float
    undefined: int  # resamples (of `resamples`) where the statistic was NaN
    resamples: int


def percentile_interval(statistic: Statistic, weights: np.ndarray, *, level: float = LEVEL) -> Interval:
    """The (1 - level)/2 and (1 + level)/2 percentiles of the statistic over the resamples."""
    resamples = weights.shape[0]
    values = np.asarray(statistic(weights), dtype=float) if weights.size else np.full(resamples, np.nan)
    defined = values[~np.isnan(values)]
    undefined = int(resamples - defined.size)
    if defined.size == 0:
        return Interval(math.nan, math.nan, undefined, resamples)
    tail = (1.0 - level) / 2.0 * 100.0
    low, high = np.percentile(defined, [tail, 100.0 - tail])
    return Interval(float(low), float(high), undefined, resamples)


class IntervalAggregations(NamedTuple):
    """The three aggregations reporting one interval, in INTERVAL_SUFFIXES order."""

    low: Aggregation
    high: Aggregation
    undefined: Aggregation


def interval_aggregations(metric: str, interval_of: Callable[[tuple], Interval]) -> IntervalAggregations:
    """Aggregations for `<metric>_ci_low/_high/_undefined`; lm-eval calls each with the same items,
    so the bootstrap runs once per evaluation (cached on the items)."""
    cached = functools.lru_cache(maxsize=2)(interval_of)

    def field(name: str) -> Aggregation:
        def aggregate(items: Sequence) -> float:
            return float(getattr(cached(frozen(items)), name))

        aggregate.__name__ = f"{metric}_ci_{name}"
        return aggregate

    return IntervalAggregations(field("low"), field("high"), field("undefined"))
