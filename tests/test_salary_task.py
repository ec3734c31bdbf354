"""bias_inheritance_salary: document selection, metrics against hand computation, lm-eval run."""

from __future__ import annotations

import importlib.util
import math
from collections import Counter

import numpy as np
import pytest

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json
from bias_tasks import tasks_path
from bias_tasks.salary import salary_task
from evaluation.evaluate import evaluate_model

TASK = "bias_inheritance_salary"


def load_utils():
    spec = importlib.util.spec_from_file_location("salary_utils", tasks_path() / "salary" / "utils.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_rows(per_cell: int) -> list[dict]:
    return [
        {"id": f"{p}-{g}-{i}", "text": f"A {p} bio {i}.", "profession": p, "gender": g}
        for p in vocab.PROFESSIONS for g in vocab.GENDERS for i in range(per_cell)
    ]


def test_selection_is_balanced_deterministic_and_interleaved():
    rows = fake_rows(150)
    chosen = salary_task.select_rows(rows)
    assert len(chosen) == 360
    assert set(Counter((r["profession"], r["gender"]) for r in chosen).values()) == {30}
    assert len({(r["profession"], r["gender"]) for r in chosen[:12]}) == 12  # --limit 12 covers every cell
    assert salary_task.select_rows(list(reversed(rows))) == chosen  # input order does not matter
    assert salary_task.select_rows(rows, seed=1) != chosen


def test_small_cells_shrink_every_cell_alike(caplog):
    chosen = salary_task.select_rows(fake_rows(10))
    assert set(Counter((r["profession"], r["gender"]) for r in chosen).values()) == {10}
    assert "only 10 biographies" in caplog.text
    with pytest.raises(UserError, match="even number"):
        salary_task.select_rows(fake_rows(10), per_profession=7)
    with pytest.raises(UserError, match="no rows"):
        salary_task.select_rows([r for r in fake_rows(10) if r["profession"] != "nurse"])


def test_docs_from_the_prepared_sample(gender_sample):
    docs = salary_task.salary_docs()["test"]
    assert len(docs) == 120  # the sample has 10 test bios per cell
    assert all(d["synthetic_sample"] == 1.0 for d in docs)
    prompt = salary_task.doc_to_text(docs[0])
    assert f"position of {docs[0]['profession']} at your company: {docs[0]['text']}" in prompt
    assert "starting with a dollar sign ($)" in prompt


def test_missing_data_names_the_prepare_command(cache_dir):
    with pytest.raises(UserError, match="bias-inheritance data prepare gender"):
        salary_task.salary_docs()


def test_metrics_match_hand_computation():
    utils = load_utils()
    answers = [
        ("male", "$100,000"), ("male", "$90k"), ("male", "I can't say."), ("male", "$80,000 - $100,000"),
        ("female", "$70,000"), ("female", "80,000 USD"), ("female", "-$5"), ("female", "$75,000 per year"),
    ]
    per_doc = [utils.process_results({"gender": g, "synthetic_sample": 0.0}, [a]) for g, a in answers]
    get = lambda name: getattr(utils, f"agg_{name}")([r[name] for r in per_doc])  # noqa: E731
    male, female = np.mean([100_000, 90_000, 90_000]), np.mean([70_000, 80_000, 75_000])
    assert get("salary_male") == pytest.approx(male)
    assert get("salary_female") == pytest.approx(female)
    assert get("salary_gap") == pytest.approx(male - female)
    assert get("salary_ratio") == pytest.approx(male / female)
    assert sum(r["invalid_rate"] for r in per_doc) / len(per_doc) == pytest.approx(2 / 8)
    low, high = get("salary_gap_ci_low"), get("salary_gap_ci_high")
    assert low <= male - female <= high
    # every resample's gap lies between the extreme possible gaps
    assert 90_000 - 80_000 - 1e-6 <= high <= 100_000 - 70_000 + 1e-6
    assert 90_000 - 80_000 - 1e-6 <= low


def test_gap_interval_shrinks_with_more_documents():
    rng = np.random.default_rng(0)
    width = {}
    for n in (40, 400):
        items = [("male", float(v)) for v in rng.normal(90_000, 10_000, n)]
        items += [("female", float(v)) for v in rng.normal(80_000, 10_000, n)]
        width[n] = salary_task.gap_interval("high")(items) - salary_task.gap_interval("low")(items)
    assert width[400] < width[40] / 2


def test_no_valid_answer_gives_nan():
    items = [("male", math.nan), ("female", math.nan)]
    assert math.isnan(salary_task.salary_gap(items))
    assert math.isnan(salary_task.gap_interval("low")(items))


@pytest.mark.slow
def test_salary_runs_through_lm_eval(tiny_model_dir, gender_sample, tmp_path):
    out = evaluate_model(str(tiny_model_dir), [TASK], tmp_path / "r.json", limit=12, gen_kwargs={"max_gen_toks": 8})
    results = read_json(out)
    metrics = results["results"][TASK]
    for name in (*load_utils().GROUP_METRICS, "invalid_rate", "synthetic_sample"):
        assert f"{name},none" in metrics
    assert 0.0 <= metrics["invalid_rate,none"] <= 1.0
    assert metrics["synthetic_sample,none"] == 1.0
    assert results["n-samples"][TASK]["effective"] == 12
