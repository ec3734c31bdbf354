"""Selection and its curves against hand counts and a simulated random selection."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import given, strategies as st

from attribution.selection import coverage_precision, curve, random_curve, ranking, selected_count, top
from bias_inheritance.errors import UserError


def test_coverage_and_precision_by_hand():
    scores = {"a": 0.9, "b": 0.8, "c": 0.7, "d": 0.1, "e": -0.2, "f": float("nan"), "g": 0.5, "h": 0.4, "i": 0.3, "j": 0.2}
    planted = {"a", "c", "e", "f"}
    ranked = ranking(scores)
    assert ranked[:3] == ["a", "b", "c"] and ranked[-1] == "f"  # NaN ranks last
    # top 20 % of 10 rows: a, b -> one hit of four planted
    assert coverage_precision(ranked, planted, 0.2) == {"p": 0.2, "selected": 2, "hits": 1, "coverage": 0.25, "precision": 0.5}
    # top 35 %: ceil(3.5) = 4 rows a, b, c, g -> 2 hits
    assert coverage_precision(ranked, planted, 0.35)["hits"] == 2 and selected_count(0.35, 10) == 4
    assert top(scores, 0.1) == ["a"]
    with pytest.raises(UserError, match="outside"):
        selected_count(0, 10)


@given(st.dictionaries(st.text(min_size=1, max_size=4), st.floats(allow_nan=False, allow_infinity=False), min_size=1),
       st.sampled_from([0.05, 0.2, 0.5, 1.0]))
def test_the_top_share_holds_the_highest_scores(scores, fraction):
    chosen = top(scores, fraction)
    rest = set(scores) - set(chosen)
    assert len(chosen) == selected_count(fraction, len(scores))
    assert not rest or min(scores[i] for i in chosen) >= max(scores[i] for i in rest)
    assert top(dict(reversed(list(scores.items()))), fraction) == chosen  # the dict's order never matters


def test_random_baseline_is_the_hypergeometric_expectation():
    rows, planted = 200, 30
    simulated = {p: [] for p in (0.05, 0.35)}
    rng = random.Random(0)
    ids = [str(i) for i in range(rows)]
    truth = set(ids[:planted])
    for _ in range(2000):
        order = ids[:]
        rng.shuffle(order)
        for p in simulated:
            simulated[p].append(coverage_precision(order, truth, p)["coverage"])
    expected = {r["p"]: r for r in random_curve(rows, planted, simulated)}
    for p, values in simulated.items():
        mean = sum(values) / len(values)
        assert math.isclose(mean, expected[p]["coverage"], abs_tol=0.01)
        inside = sum(expected[p]["coverage_low"] <= v <= expected[p]["coverage_high"] for v in values) / len(values)
        assert inside >= 0.93
    assert expected[0.35]["precision"] == planted / rows


def test_curve_reports_every_fraction():
    ranked = [str(i) for i in range(20)]
    assert [r["p"] for r in curve(ranked, {"0", "1"})] == [0.05, 0.1, 0.2, 0.35, 0.5]
    assert curve(ranked, {"0", "1"})[0]["coverage"] == 0.5  # top 1 row of 20 holds one of the two
