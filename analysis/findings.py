"""`bias-inheritance analyze findings BOARD`: do the paper's directional findings (SPEC §8) hold on a grid?

Seeds are the replicates (training noise usually exceeds test-sampling noise): every test reduces
each seed's runs to one number and tests those numbers across seeds with a one-sample t-test, so a
comparison with fewer than three seeds is "not enough data". The findings:
- gamma: a gap widens with γ: the slope of the gap (male − female) over γ, the seed's γ = 0 control
  included, is positive; one test per task, gap metric and bias type (unmitigated, first round);
- worst_types: contrastive explicit (types 4, 5) and contextual implicit (3) are the most harmful:
  per seed, their mean inheritance Δ of the gap at the largest γ minus that of the other types;
- low_gamma: low γ (10–20 %) helps culture tasks indirectly related to bias and hurts directly
  related ones: per seed, the mean inheritance Δ of macro-F1 at γ ∈ [0.1, 0.2] over the tasks of
  one relation (positive for indirect, negative for direct);
- rounds: a gap grows over rounds: the slope of the gap over round.
Every p-value is Holm-corrected over all the tests made. A verdict is "supported" or "contradicted"
only when the corrected p is below ALPHA and the estimate has the finding's sign or the opposite;
anything else, too few seeds included, is "not enough data".
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd
from scipy import stats

from bias_inheritance.data.culture_registry import TASKTYPE_RELATION
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, atomic_write_text
from bias_inheritance.provenance import package_versions
from leaderboard.long_table import LONG_COLUMNS

ALPHA = 0.05
MIN_SEEDS = 3
WORST_TYPES = frozenset({"3", "4", "5"})  # contextual implicit; contrastive single and intersectional explicit
LOW_GAMMA = (0.1, 0.2)
CULTURE_METRIC = "macro_f1"
GAP_SUFFIX = "_gap"
SUPPORTED, CONTRADICTED, NOT_ENOUGH = "supported", "contradicted", "not enough data"
FINDINGS = {
    "gamma": "the gap widens with γ",
    "worst_types": "contrastive explicit and contextual implicit are the most harmful bias types",
    "low_gamma": "low γ (10-20 %) helps indirectly related culture tasks and hurts directly related ones",
    "rounds": "the gap grows over rounds",
}
FINDINGS_JSON, FINDINGS_MD = "findings.json", "findings.md"


@dataclass
class Test:
    """One test: the per-seed numbers, the direction the finding predicts, and its verdict."""

    finding: str
    task: str
    metric: str
    scope: str  # bias type, relation, ...
    expected_sign: int
    per_seed: list[float]
    estimate: float = math.nan
    ci_low: float = math.nan
    ci_high: float = math.nan
    p: float = math.nan
    p_holm: float = math.nan
    verdict: str = NOT_ENOUGH

    def __post_init__(self) -> None:
        values = np.asarray(self.per_seed, dtype=float)
        if len(values) == 0:
            return
        self.estimate = float(values.mean())
        if len(values) >= MIN_SEEDS and values.std(ddof=1) > 0:
            result = stats.ttest_1samp(values, 0.0)
            interval = result.confidence_interval(0.95)
            self.p, self.ci_low, self.ci_high = float(result.pvalue), float(interval.low), float(interval.high)


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (NaN stays NaN and does not count as a test)."""
    order = sorted((p, i) for i, p in enumerate(p_values) if not math.isnan(p))
    adjusted = [math.nan] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(order):
        running = max(running, min(1.0, (len(order) - rank) * p))
        adjusted[i] = running
    return adjusted


def _slope(x: Iterable[float], y: Iterable[float]) -> float | None:
    x, y = np.asarray(list(x), dtype=float), np.asarray(list(y), dtype=float)
    return float(stats.linregress(x, y).slope) if len(set(x.tolist())) >= 2 else None


def _text(column: pd.Series) -> pd.Series:
    return column.astype(object).where(column.notna(), "").astype(str)


def _whole(table: pd.DataFrame) -> pd.DataFrame:
    """Whole-task rows (no group) of unmitigated runs, with the text columns filled."""
    rows = table[_text(table["group"]) == ""].copy()
    for column in ("bias_type", "mitigation", "task", "metric", "role"):
        rows[column] = _text(rows[column]).str.replace(r"\.0$", "", regex=True)  # a type read as 4.0 is "4"
    return rows[rows["mitigation"].isin(["", "none"])]


def gamma_tests(table: pd.DataFrame) -> list[Test]:
    rows = _whole(table)
    rows = rows[rows["metric"].str.endswith(GAP_SUFFIX) & rows["gamma"].notna()
                & (rows["round"].fillna(1) == rows["round"].fillna(1).min())]
    tests = []
    for (task, metric), part in rows.groupby(["task", "metric"]):
        controls = part[(part["gamma"] == 0) & (part["bias_type"] == "")]
        for bias_type, typed in part[part["bias_type"] != ""].groupby("bias_type"):
            slopes = []
            for seed, own in typed.groupby("seed"):
                points = pd.concat([controls[controls["seed"] == seed], own])
                slope = _slope(points["gamma"], points["value"])
                if slope is not None:
                    slopes.append(slope)
            tests.append(Test("gamma", task, metric, f"type {bias_type}", +1, slopes))
    return tests


def worst_type_tests(table: pd.DataFrame) -> list[Test]:
    rows = _whole(table)
    rows = rows[rows["metric"].str.endswith(GAP_SUFFIX) & (rows["bias_type"] != "") & rows["inheritance_delta"].notna()]
    tests = []
    for (task, metric), part in rows.groupby(["task", "metric"]):
        top = part[part["gamma"] == part["gamma"].max()]
        if not (top["bias_type"].isin(WORST_TYPES).any() and (~top["bias_type"].isin(WORST_TYPES)).any()):
            continue
        differences = []
        for _, seed in top.groupby("seed"):
            worst, other = seed[seed["bias_type"].isin(WORST_TYPES)], seed[~seed["bias_type"].isin(WORST_TYPES)]
            if len(worst) and len(other):
                differences.append(float(worst["inheritance_delta"].mean() - other["inheritance_delta"].mean()))
        tests.append(Test("worst_types", task, metric, "types 3, 4, 5 vs the others", +1, differences))
    return tests


def _relation(task: str) -> str | None:
    name = task.removeprefix("ll_").removeprefix("bias_inheritance_")
    return TASKTYPE_RELATION.get(name.split("_", 1)[0])


def low_gamma_tests(table: pd.DataFrame) -> list[Test]:
    rows = _whole(table)
    rows = rows[(rows["metric"] == CULTURE_METRIC) & rows["gamma"].between(*LOW_GAMMA) & rows["inheritance_delta"].notna()]
    rows = rows.assign(relation=rows["task"].map(_relation)).dropna(subset=["relation"])
    tests = []
    for relation, part in rows.groupby("relation"):
        per_seed = [float(seed["inheritance_delta"].mean()) for _, seed in part.groupby("seed")]
        tests.append(Test("low_gamma", f"{relation} culture tasks", CULTURE_METRIC, f"γ {LOW_GAMMA[0]}-{LOW_GAMMA[1]}",
                          +1 if relation == "indirect" else -1, per_seed))
    return tests


def round_tests(table: pd.DataFrame) -> list[Test]:
    rows = _whole(table)
    rows = rows[rows["metric"].str.endswith(GAP_SUFFIX) & rows["round"].notna() & (rows["bias_type"] != "")]
    tests = []
    for (task, metric, bias_type), part in rows.groupby(["task", "metric", "bias_type"]):
        if part["round"].nunique() < 2:
            continue
        slopes = [s for _, seed in part.groupby("seed") if (s := _slope(seed["round"], seed["value"])) is not None]
        tests.append(Test("rounds", task, metric, f"type {bias_type}", +1, slopes))
    return tests


def judge(tests: list[Test]) -> list[Test]:
    """Holm over every test made, then each verdict."""
    for test, adjusted in zip(tests, holm([t.p for t in tests])):
        test.p_holm = adjusted
        enough = len(test.per_seed) >= MIN_SEEDS and not math.isnan(adjusted)
        if enough and adjusted < ALPHA:
            test.verdict = SUPPORTED if np.sign(test.estimate) == test.expected_sign else CONTRADICTED
        else:
            test.verdict = NOT_ENOUGH
    return tests


def read_board(board: Path) -> pd.DataFrame:
    path = Path(board) / "leaderboard.csv" if Path(board).is_dir() else Path(board)
    if not path.is_file():
        raise UserError(f"No leaderboard.csv at {board}.", "pass a board folder written by `bias-inheritance leaderboard build`.")
    table = pd.read_csv(path, keep_default_na=False, na_values=[""])
    missing = [c for c in LONG_COLUMNS if c not in table.columns]
    if missing:
        raise UserError(f"{path} is not a board's long table (no column {missing[0]!r}).",
                        "pass the leaderboard.csv that `leaderboard build` writes.")
    return table


def check_findings(board: Path, out: Path) -> Path:
    """findings.json and findings.md in `out`: every test, its per-seed numbers, interval, p and verdict."""
    table = read_board(board)
    tests = judge(gamma_tests(table) + worst_type_tests(table) + low_gamma_tests(table) + round_tests(table))
    summary = {}
    for key, text in FINDINGS.items():
        verdicts = [t.verdict for t in tests if t.finding == key]
        summary[key] = {"finding": text, "tests": len(verdicts),
                        **{v: verdicts.count(v) for v in (SUPPORTED, CONTRADICTED, NOT_ENOUGH)}}
    document = {"board": str(Path(board).resolve()), "alpha": ALPHA, "min_seeds": MIN_SEEDS,
                "correction": f"Holm over all {sum(not math.isnan(t.p) for t in tests)} tests with a p-value",
                "summary": summary, "tests": [_record(t) for t in tests], "versions": package_versions()}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / FINDINGS_JSON, document)
    atomic_write_text(out / FINDINGS_MD, render(document))
    return out / FINDINGS_JSON


def _record(test: Test) -> dict[str, Any]:
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in asdict(test).items()}


def _number(value: Any) -> str:
    return "–" if value is None else f"{value:+.4g}"


def render(document: dict[str, Any]) -> str:
    lines = ["# Findings check (SPEC §8)", "",
             f"Seeds are the replicates: one number per seed, a one-sample t-test across seeds (fewer than "
             f"{document['min_seeds']} seeds: not enough data); {document['correction']}; α = {document['alpha']}.", "",
             "| finding | tests | supported | contradicted | not enough data |", "|---|---:|---:|---:|---:|"]
    lines += [f"| {s['finding']} | {s['tests']} | {s[SUPPORTED]} | {s[CONTRADICTED]} | {s[NOT_ENOUGH]} |"
              for s in document["summary"].values()]
    lines += ["", "| finding | task | metric | scope | seeds | estimate | 95 % CI | p (Holm) | verdict |",
              "|---|---|---|---|---:|---:|---|---:|---|"]
    for t in document["tests"]:
        interval = "–" if t["ci_low"] is None else f"[{_number(t['ci_low'])}, {_number(t['ci_high'])}]"
        p = "–" if t["p_holm"] is None else f"{t['p_holm']:.3g}"
        lines.append(f"| {t['finding']} | {t['task']} | {t['metric']} | {t['scope']} | {len(t['per_seed'])} | "
                     f"{_number(t['estimate'] if t['per_seed'] else None)} | {interval} | {p} | {t['verdict']} |")
    return "\n".join(lines) + "\n"
