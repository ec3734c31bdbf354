"""bias_inheritance_hiring: the prompts, the group metrics against hand computation, lm-eval runs."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter

import pytest
from scipy.stats import chisquare

from bias_inheritance import vocab
from bias_inheritance.io import read_json
from bias_tasks import tasks_path
from bias_tasks.hiring import hiring_task
from evaluation.evaluate import evaluate_model
from bias_tasks.common.parsers import fold

TASK = "bias_inheritance_hiring"


def load_utils(folder: str):
    spec = importlib.util.spec_from_file_location(f"{folder}_utils", tasks_path() / folder / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_prompts_follow_the_protocol():
    rows = hiring_task.hiring_rows()
    assert len(rows) == 6 * 60
    assert Counter(r["profession"] for r in rows) == {p: 60 for p in vocab.PROFESSIONS}
    assert {r["profession"] for r in rows[:6]} == set(vocab.PROFESSIONS)  # any --limit prefix is balanced
    for row in rows:
        assert sorted(zip(row["cultures"], row["genders"])) == sorted(hiring_task.CELLS)
        assert len({fold(n) for n in row["names"]}) == 8  # no two candidates look alike
        for name, culture, gender in zip(row["names"], row["cultures"], row["genders"]):
            assert name in vocab.NAMES[culture][gender]
    # shuffled: the first position is not always the same cell
    assert len({(r["cultures"][0], r["genders"][0]) for r in rows}) == 8
    assert hiring_task.hiring_rows() == rows  # deterministic
    assert hiring_task.hiring_rows(seed=1) != rows
    prompt = hiring_task.doc_to_text(rows[0])
    assert prompt.startswith("You are a hiring manager for the position of architect.")
    assert ", ".join(rows[0]["names"]) in prompt


def _run(utils, docs_and_answers):
    per_doc = [utils.process_results(doc, [answer]) for doc, answer in docs_and_answers]
    metrics = {}
    for name in utils.GROUP_METRICS:
        metrics[name] = getattr(utils, f"agg_{name}")([r[name] for r in per_doc])
    metrics["invalid_rate"] = sum(r["invalid_rate"] for r in per_doc) / len(per_doc)
    return metrics


def _answer_for(doc, culture, gender):
    index = list(zip(doc["cultures"], doc["genders"])).index((culture, gender))
    return f"I would choose {doc['names'][index]}."


def test_group_metrics_match_hand_computation():
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=5)  # 30 prompts
    plan = [("arabic", "male")] * 9 + [("spanish", "female")] * 6 + [("chinese", "female")] * 5 + \
           [("portuguese", "male")] * 4 + [None] * 6  # 6 invalid answers
    cases = []
    for doc, cell in zip(rows, plan):
        answer = _answer_for(doc, *cell) if cell else "All of them are great: " + ", ".join(doc["names"])
        cases.append((doc, answer))
    metrics = _run(utils, cases)
    valid = 24
    assert metrics["invalid_rate"] == pytest.approx(6 / 30)
    assert metrics["share_arabic_male"] == pytest.approx(9 / valid)
    assert metrics["share_spanish_female"] == pytest.approx(6 / valid)
    assert metrics["share_arabic_female"] == 0.0
    assert metrics["share_male"] == pytest.approx(13 / valid)
    assert metrics["share_female"] == pytest.approx(11 / valid)
    assert metrics["share_chinese"] == pytest.approx(5 / valid)
    assert sum(metrics[f"share_{c}_{g}"] for c, g in hiring_task.CELLS) == pytest.approx(1.0)
    assert metrics["share_gender_gap"] == pytest.approx((13 - 11) / valid)
    assert metrics["share_culture_range"] == pytest.approx((9 - 4) / valid)
    assert metrics["disparity_ratio"] == math.inf  # some cells never chosen
    counts = [9, 0, 0, 5, 0, 4, 0, 6]  # CELLS order: culture-major, male first
    assert metrics["disparity_chi2_p"] == pytest.approx(chisquare(counts).pvalue)
    for key in ("share_gender_gap", "share_culture_range"):
        low, high = metrics[f"{key}_ci_low"], metrics[f"{key}_ci_high"]
        assert low <= metrics[key] <= high and low < high
    assert _run(utils, cases) == metrics  # the bootstrap is seeded


def test_all_invalid_gives_nan_shares_not_a_crash():
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=1)
    metrics = _run(utils, [(doc, "") for doc in rows])
    assert metrics["invalid_rate"] == 1.0
    assert math.isnan(metrics["share_male"]) and math.isnan(metrics["disparity_chi2_p"])
    assert math.isnan(metrics["share_gender_gap_ci_low"])


def test_uniform_choices_have_ratio_one():
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=4)[:16]
    metrics = _run(utils, [(doc, _answer_for(doc, *hiring_task.CELLS[i % 8])) for i, doc in enumerate(rows)])
    assert metrics["disparity_ratio"] == 1.0 and metrics["disparity_chi2_p"] == pytest.approx(1.0)


@pytest.mark.slow
def test_hiring_runs_through_lm_eval(tiny_model_dir, cache_dir, tmp_path):
    out = evaluate_model(str(tiny_model_dir), [TASK], tmp_path / "r.json", limit=12,
                         gen_kwargs={"max_gen_toks": 8})
    results = read_json(out)
    metrics = results["results"][TASK]
    utils = load_utils("hiring")
    for name in (*utils.GROUP_METRICS, "invalid_rate"):
        assert f"{name},none" in metrics
    assert 0.0 <= metrics["invalid_rate,none"] <= 1.0
    assert results["n-samples"][TASK]["effective"] == 12
    assert metrics["share_gender_gap_ci_low_stderr,none"] == "N/A"  # hence the interval metrics


@pytest.mark.slow
def test_hiring_with_chat_template(tiny_model_dir, cache_dir):
    from lm_eval import simple_evaluate

    from evaluation.evaluate import task_manager

    results = simple_evaluate(
        model="hf", model_args={"pretrained": str(tiny_model_dir)}, tasks=[TASK], task_manager=task_manager(),
        limit=2, apply_chat_template=True, log_samples=True, gen_kwargs={"max_gen_toks": 4}, device="cpu",
    )
    prompt = str(results["samples"][TASK][0]["arguments"])
    assert "<|user|>You are a hiring manager" in prompt and "<|end|><|assistant|>" in prompt
