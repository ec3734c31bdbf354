"""The two-sample test: the energy distance by hand, level on identical distributions, power on shifted ones."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from analysis.two_sample import compare, energy_distance

REPETITIONS, N, ALPHA = 200, 15, 0.05


def test_energy_distance_matches_scipy_and_a_hand_computation():
    rng = np.random.default_rng(0)
    x, y = rng.normal(0, 1, 40), rng.normal(0.5, 1, 30)
    # scipy's 1-D energy_distance is sqrt(2·E|X−Y| − E|X−X′| − E|Y−Y′|) over the empirical distributions
    assert energy_distance(x[:, None], y[:, None], unbiased=False) == pytest.approx(stats.energy_distance(x, y) ** 2)
    within = lambda s: sum(abs(a - b) for a in s for b in s) / (len(s) * (len(s) - 1))  # noqa: E731
    by_hand = 2 * np.abs(x[:, None] - y[None, :]).mean() - within(x) - within(y)
    assert energy_distance(x[:, None], y[:, None]) == pytest.approx(by_hand)


def _rejections(shift: float) -> int:
    rng = np.random.default_rng(1)
    rejected = 0
    for _ in range(REPETITIONS):
        x, y = rng.normal(0, 1, (N, 3)), rng.normal(shift, 1, (N, 3))
        rejected += compare(x, y, permutations=99, seed=int(rng.integers(1 << 30))).p_value <= ALPHA
    return rejected


def test_keeps_its_level_on_identical_distributions():
    # Under the null the rejections are Binomial(200, ≤ 0.05): above the 99.9 % quantile the test is anti-conservative.
    assert _rejections(0.0) <= stats.binom(REPETITIONS, ALPHA).ppf(0.999)


def test_rejects_shifted_distributions():
    assert _rejections(1.0) >= 0.9 * REPETITIONS


def test_the_report_names_its_resolution_and_interval():
    rng = np.random.default_rng(3)
    result = compare(rng.normal(0, 1, (20, 4)), rng.normal(3, 1, (25, 4)), permutations=199)
    assert result.p_value == pytest.approx(1 / 200) and result.p_value_resolution == 1 / 200
    assert result.interval_low < result.value < result.interval_high and (result.n_original, result.n_generated) == (20, 25)


def test_the_interval_covers_the_true_distance():
    """Shift 1 in one of 3 dimensions; the true energy distance is estimated from 1,500 rows of each."""
    rng = np.random.default_rng(4)
    big = rng.normal(0, 1, (4000, 3)), rng.normal(0, 1, (4000, 3)) + np.array([1.0, 0, 0])
    truth = energy_distance(big[0][:1500], big[1][:1500])
    covered = sum(r.interval_low <= truth <= r.interval_high for r in (
        compare(rng.normal(0, 1, (30, 3)), rng.normal(0, 1, (30, 3)) + np.array([1.0, 0, 0]), permutations=9)
        for _ in range(60)))
    assert covered >= 48  # nominal 95 %: at least 80 % of 60
