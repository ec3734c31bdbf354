"""bias_inheritance_hiring: the prompts, the group metrics against hand computation, lm-eval runs."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter

import numpy as np
import pytest
from scipy.stats import chisquare

from bias_inheritance import vocab
from bias_tasks import tasks_path
from bias_tasks.common.bootstrap import LEVEL, document_weights
from bias_inheritance.vocab import CULTURE_GENDER_CELLS
from bias_tasks.common.parsers import fold, parse_name_choice
from bias_tasks.hiring import hiring_task

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
        assert sorted(zip(row["cultures"], row["genders"])) == sorted(CULTURE_GENDER_CELLS)
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
    assert sum(metrics[f"share_{c}_{g}"] for c, g in CULTURE_GENDER_CELLS) == pytest.approx(1.0)
    assert metrics["share_gender_gap"] == pytest.approx((13 - 11) / valid)
    assert metrics["share_culture_range"] == pytest.approx((9 - 4) / valid)
    assert metrics["disparity_ratio"] == math.inf  # some cells never chosen
    counts = [9, 0, 0, 5, 0, 4, 0, 6]  # CELLS order: culture-major, male first
    assert metrics["disparity_chi2_p"] == pytest.approx(chisquare(counts).pvalue)
    assert _run(utils, cases) == metrics  # the bootstrap is seeded
    # The intervals against an independent percentile bootstrap of the 30 prompts.
    rng = np.random.default_rng(7)
    statistics = {"share_gender_gap": [], "share_culture_range": []}
    for _ in range(4000):
        drawn = [plan[i] for i in rng.integers(0, len(plan), len(plan))]
        valid = [cell for cell in drawn if cell]
        if not valid:
            continue
        statistics["share_gender_gap"].append(sum(1 if g == "male" else -1 for _, g in valid) / len(valid))
        by_culture = [sum(c == culture for c, _ in valid) / len(valid) for culture in vocab.CULTURES]
        statistics["share_culture_range"].append(max(by_culture) - min(by_culture))
    tail = (1 - LEVEL) / 2 * 100
    for key, values in statistics.items():
        low, high = np.percentile(values, [tail, 100 - tail])
        assert metrics[f"{key}_ci_low"] == pytest.approx(low, abs=0.05), key
        assert metrics[f"{key}_ci_high"] == pytest.approx(high, abs=0.05), key
        assert metrics[f"{key}_ci_undefined"] == 0  # (6/30)^30: no resample without a valid answer


def test_all_invalid_gives_nan_shares_not_a_crash():
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=1)
    metrics = _run(utils, [(doc, "") for doc in rows])
    assert metrics["invalid_rate"] == 1.0
    assert math.isnan(metrics["share_male"]) and math.isnan(metrics["disparity_chi2_p"])
    assert math.isnan(metrics["share_gender_gap_ci_low"]) and metrics["share_gender_gap_ci_undefined"] == 1000


def test_undefined_resamples_are_counted():
    """Only men chosen, in 2 of 6 prompts: the gap is 1 in every resample that draws one of them and
    undefined in the others, whose number is counted from the same resamples."""
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=1)
    cases = [(doc, _answer_for(doc, "arabic", "male") if i < 2 else "") for i, doc in enumerate(rows)]
    metrics = _run(utils, cases)
    assert (metrics["share_gender_gap_ci_low"], metrics["share_gender_gap_ci_high"]) == (1.0, 1.0)
    weights = document_weights(len(rows))
    expected = int(((weights[:, 0] == 0) & (weights[:, 1] == 0)).sum())  # about 1000 x (4/6)^6 = 88
    assert metrics["share_gender_gap_ci_undefined"] == expected and 40 < expected < 140


def test_uniform_choices_have_ratio_one():
    utils = load_utils("hiring")
    rows = hiring_task.hiring_rows(repetitions=4)[:16]
    metrics = _run(utils, [(doc, _answer_for(doc, *CULTURE_GENDER_CELLS[i % 8])) for i, doc in enumerate(rows)])
    assert metrics["disparity_ratio"] == 1.0 and metrics["disparity_chi2_p"] == pytest.approx(1.0)


def run_lm_eval(model_dir, limit: int, **options):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(
        model="hf", model_args={"pretrained": str(model_dir)}, tasks=[TASK], limit=limit, log_samples=True,
        task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False), device="cpu",
        gen_kwargs={"max_gen_toks": 4}, batch_size=8, **options,
    )


@pytest.mark.slow
def test_hiring_through_lm_eval_with_chat_template(tiny_model_dir):
    results = run_lm_eval(tiny_model_dir, limit=6, apply_chat_template=True)
    samples = results["samples"][TASK]
    prompt = str(samples[0]["arguments"])
    assert "<|user|>You are a hiring manager" in prompt and "<|end|><|assistant|>" in prompt
    metrics = results["results"][TASK]
    utils = load_utils("hiring")
    for name in (*utils.GROUP_METRICS, "invalid_rate"):
        assert f"{name},none" in metrics
    invalid = [parse_name_choice(s["filtered_resps"][0], s["doc"]["names"]).index is None for s in samples]
    assert metrics["invalid_rate,none"] == pytest.approx(np.mean(invalid))
    assert metrics["share_gender_gap_ci_low_stderr,none"] == "N/A"  # hence the interval metrics
