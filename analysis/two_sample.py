"""Two-sample comparison of representation sets: energy distance, a jackknife interval, a permutation p.

The energy distance (Székely & Rizzo) E = 2·E‖X − Y‖ − E‖X − X′‖ − E‖Y − Y′‖ is zero exactly when the
two distributions are equal, so it is both the effect size and the test statistic. It is estimated
unbiasedly (the U-statistic: within-sample means leave out each row's distance to itself). Its 95 %
interval is the jackknife's normal interval: a bootstrap resample repeats rows, whose zero distances
to themselves bias every resampled energy distance upward, so percentile intervals miss the estimate.
The permutation test is scipy.stats.permutation_test; with B permutations its p-value cannot go below
1/(B + 1): that is its resolution, reported beside it (a p of 1e-56 needs another method).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from scipy import stats
from scipy.spatial.distance import cdist

STATISTIC = "energy_distance"
INTERVAL_METHOD = "jackknife normal 95 % (leave one row out)"


def _within(distances: np.ndarray, unbiased: bool) -> float:
    n = len(distances)
    return float(distances.sum() / (n * (n - 1) if unbiased else n * n))


def energy_distance(x: np.ndarray, y: np.ndarray, unbiased: bool = True) -> float:
    """The energy distance between the rows of `x` and of `y` (Euclidean); `unbiased=False`: the V-statistic."""
    return float(2 * cdist(x, y).mean() - _within(cdist(x, x), unbiased) - _within(cdist(y, y), unbiased))


def _indexed(distances: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * distances[np.ix_(a, b)].mean() - _within(distances[np.ix_(a, a)], True)
                 - _within(distances[np.ix_(b, b)], True))


@dataclass(frozen=True)
class Comparison:
    statistic: str
    value: float
    interval_low: float
    interval_high: float
    interval_method: str
    p_value: float
    permutations: int
    p_value_resolution: float
    n_original: int
    n_generated: int

    def to_dict(self) -> dict:
        return asdict(self)


def _jackknife(distances: np.ndarray, a: np.ndarray, b: np.ndarray) -> float:
    """The jackknife standard error of the energy distance, leaving out one row of either sample."""
    values = [_indexed(distances, np.delete(a, i), b) for i in range(len(a))]
    values += [_indexed(distances, a, np.delete(b, j)) for j in range(len(b))]
    values = np.asarray(values)
    n = len(values)
    return float(np.sqrt((n - 1) / n * ((values - values.mean()) ** 2).sum()))


def compare(original: np.ndarray, generated: np.ndarray, *, permutations: int = 999, seed: int = 0) -> Comparison:
    """Energy distance of two samples [n, d] (at least two rows each), its interval, a permutation p."""
    x, y = np.asarray(original, dtype=float), np.asarray(generated, dtype=float)
    distances = cdist(np.vstack([x, y]), np.vstack([x, y]))  # once: a permutation only regroups its rows
    a, b = np.arange(len(x)), np.arange(len(x), len(x) + len(y))

    def statistic(first: np.ndarray, second: np.ndarray, axis: int = 0) -> float:
        return _indexed(distances, first.astype(int), second.astype(int))

    tested = stats.permutation_test((a, b), statistic, permutation_type="independent", vectorized=False,
                                    n_resamples=permutations, alternative="greater",
                                    random_state=np.random.default_rng(seed))
    value, error = _indexed(distances, a, b), _jackknife(distances, a, b)
    z = stats.norm.ppf(0.975)
    return Comparison(STATISTIC, value, value - z * error, value + z * error, INTERVAL_METHOD, float(tested.pvalue),
                      permutations, 1.0 / (permutations + 1), len(x), len(y))
