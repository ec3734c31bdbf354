"""The findings check on synthetic boards built to support, contradict and leave undecided each finding."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.findings import CONTRADICTED, NOT_ENOUGH, SUPPORTED, check_findings, holm
from bias_inheritance.errors import UserError
from leaderboard.long_table import LONG_COLUMNS

BIOS, GAP = "bias_inheritance_gender_bios", "acc_gap"


def _row(**values) -> dict:
    row = dict.fromkeys(LONG_COLUMNS, None)
    row.update({"group": "", "mitigation": "none", "round": 1, "metric": GAP, "task": BIOS, **values})
    return row


def _gender_board(slope: float, seeds: int, worst_extra: float = 0.0, noise: float = 0.002) -> list[dict]:
    """A gap = slope·γ (+ worst_extra for types 3-5) + seeded noise, per seed and type, with a γ = 0 control."""
    rng = np.random.default_rng(0)
    rows = []
    for seed in range(seeds):
        rows.append(_row(run=f"control-{seed}", bias_type="", gamma=0.0, seed=seed, value=0.0, role="control"))
        for bias_type in (0, 4):
            for gamma in (0.1, 0.2, 0.5):
                value = (slope + (worst_extra if bias_type == 4 else 0.0)) * gamma + rng.normal(0, noise)
                rows.append(_row(run=f"t{bias_type}-{gamma}-{seed}", bias_type=str(bias_type), gamma=gamma, seed=seed,
                                 value=value, inheritance_delta=value, role="finetuned"))
    return rows


def _check(tmp_path, rows) -> dict:
    pd.DataFrame(rows, columns=list(LONG_COLUMNS)).to_csv(tmp_path / "leaderboard.csv", index=False)
    return json.loads(check_findings(tmp_path, tmp_path / "out").read_text())


def _verdicts(document, finding) -> set[str]:
    return {t["verdict"] for t in document["tests"] if t["finding"] == finding}


@pytest.mark.parametrize("slope, seeds, worst, expected", [
    (0.2, 4, 0.2, SUPPORTED), (-0.2, 4, -0.2, CONTRADICTED), (0.2, 2, 0.2, NOT_ENOUGH), (0.0, 4, 0.0, NOT_ENOUGH)])
def test_gap_over_gamma_and_the_worst_types(tmp_path, slope, seeds, worst, expected):
    document = _check(tmp_path, _gender_board(slope, seeds, worst))
    assert _verdicts(document, "gamma") == {expected}
    assert _verdicts(document, "worst_types") == {expected}
    (test,) = [t for t in document["tests"] if t["finding"] == "gamma" and t["scope"] == "type 0"]
    assert len(test["per_seed"]) == seeds and test["estimate"] == pytest.approx(slope, abs=0.02)
    assert (tmp_path / "out" / "findings.md").read_text().count("| gamma |") == 2


def _culture_board(indirect: float, direct: float, seeds: int) -> list[dict]:
    rng = np.random.default_rng(1)
    rows = []
    for seed in range(seeds):
        for task, delta in (("bias_inheritance_hate_ar_osact4", indirect), ("bias_inheritance_bias_ar_biasfignews", direct)):
            for gamma in (0.1, 0.2):
                d = delta + rng.normal(0, 0.002)
                rows.append(_row(run=f"{task}-{gamma}-{seed}", task=task, metric="macro_f1", bias_type="1", gamma=gamma,
                                 seed=seed, value=0.5 + d, inheritance_delta=d, role="finetuned"))
    return rows


@pytest.mark.parametrize("indirect, direct, seeds, expected", [
    (0.05, -0.05, 3, {"indirect": SUPPORTED, "direct": SUPPORTED}),
    (-0.05, 0.05, 3, {"indirect": CONTRADICTED, "direct": CONTRADICTED}),
    (0.05, -0.05, 1, {"indirect": NOT_ENOUGH, "direct": NOT_ENOUGH})])
def test_low_gamma_helps_indirect_and_hurts_direct_culture_tasks(tmp_path, indirect, direct, seeds, expected):
    document = _check(tmp_path, _culture_board(indirect, direct, seeds))
    found = {t["task"].split()[0]: t["verdict"] for t in document["tests"] if t["finding"] == "low_gamma"}
    assert found == expected


@pytest.mark.parametrize("growth, seeds, expected", [(0.03, 3, SUPPORTED), (-0.03, 3, CONTRADICTED), (0.03, 2, NOT_ENOUGH)])
def test_gap_over_rounds(tmp_path, growth, seeds, expected):
    rng = np.random.default_rng(2)
    rows = [_row(run=f"r{r}-{s}", bias_type="0", gamma=0.5, round=r, seed=s, value=growth * r + rng.normal(0, 0.002))
            for s in range(seeds) for r in (1, 2, 3)]
    assert _verdicts(_check(tmp_path, rows), "rounds") == {expected}


def test_holm_matches_the_definition_and_the_interval_is_students():
    assert holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)
    values = [0.18, 0.21, 0.2, 0.22]
    interval = stats.t.interval(0.95, 3, loc=np.mean(values), scale=stats.sem(values))
    from analysis.findings import Test

    test = Test("gamma", "t", "m", "s", +1, values)
    assert (test.ci_low, test.ci_high) == pytest.approx(interval)


def test_a_file_that_is_not_a_board_is_one_line(tmp_path):
    with pytest.raises(UserError, match="No leaderboard.csv"):
        check_findings(tmp_path, tmp_path / "out")
    (tmp_path / "leaderboard.csv").write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="not a board's long table"):
        check_findings(tmp_path, tmp_path / "out")


def test_the_command_prints_each_finding(tmp_path, capsys):
    from pipeline.cli import main

    pd.DataFrame(_gender_board(0.2, 3), columns=list(LONG_COLUMNS)).to_csv(tmp_path / "leaderboard.csv", index=False)
    assert main(["analyze", "findings", str(tmp_path), "--out", str(tmp_path / "out")]) == 0
    assert "the gap widens with γ: 2 supported, 0 contradicted, 0 not enough data (of 2 tests)" in capsys.readouterr().out
