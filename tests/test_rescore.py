"""rescore: the logged samples scored again with the current task code, without loading a model."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from bias_inheritance import cards, schema
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import atomic_write_json, read_json, read_jsonl
from bias_tasks.common.parsers import SalaryParse
from bias_tasks.salary import salary_task
from evaluation import evaluate as evaluate_module
from evaluation.evaluate import evaluate_model
from evaluation.rescore import rescore

SALARY = "bias_inheritance_salary"


def by_length(answer) -> SalaryParse:
    """A stand-in parser fix: every answer is a salary of 30,000 plus 1,000 per character."""
    return SalaryParse(30_000.0 + 1_000 * len(answer), "ok")


def no_model(*_args, **_kwargs):
    raise AssertionError("a model was loaded")


@pytest.mark.slow
def test_rescore_uses_the_current_parser_without_a_model(tiny_model_dir, gender_sample, tmp_path, monkeypatch):
    from lm_eval.models.huggingface import HFLM

    # plain format: the tiny random model then answers with text (with the chat template it stops at once)
    out = evaluate_model(str(tiny_model_dir), [SALARY], tmp_path / "r.json", limit=12, device="cpu",
                         gen_kwargs={"max_gen_toks": 8}, prompt_format="plain")
    before = out.read_bytes()
    original = read_json(out)
    assert original["results"][SALARY]["invalid_rate,none"] == 1.0  # the tiny model never names a salary
    monkeypatch.setattr(HFLM, "__init__", no_model)
    monkeypatch.setattr(evaluate_module, "run_lm_eval", no_model)

    same = rescore(out)  # today's code on the logged samples reproduces lm-eval's numbers
    assert canonical_json(read_json(same)["results"]) == canonical_json(original["results"])
    assert read_json(same)[schema.PROVENANCE_KEY]["rescore"]["changed"]["metrics"] == {}

    monkeypatch.setattr(salary_task, "parse_salary", by_length)
    fixed = rescore(out, metadata={"per_profession": 60})
    assert out.read_bytes() == before  # never written over
    assert fixed.parent == out.parent and fixed.name.startswith("r.rescored-") and fixed != same
    metrics = read_json(fixed)["results"][SALARY]
    samples = read_jsonl(Path(original[schema.PROVENANCE_KEY]["tasks"][SALARY]["path"]) / "samples.jsonl")
    assert len(samples) == 12
    salary = {g: [by_length(s["filtered_resps"][0]).value for s in samples if s["doc"]["gender"] == g] for g in ("male", "female")}
    assert metrics["salary_male,none"] == pytest.approx(np.mean(salary["male"]))
    assert metrics["salary_female,none"] == pytest.approx(np.mean(salary["female"]))
    assert metrics["salary_gap,none"] == pytest.approx(np.mean(salary["male"]) - np.mean(salary["female"]))
    assert metrics["invalid_rate,none"] == 0.0
    assert math.isnan(original["results"][SALARY]["salary_male,none"])

    card = cards.read_card(cards.card_path(fixed))
    assert card["stage"] == "rescore" and card["parents"]["results"]["key"] == cards.read_card(cards.card_path(out))["key"]
    changed = card["summary"]["changed"]
    assert {"salary_male,none", "invalid_rate,none"} <= set(changed["metrics"][SALARY])
    assert changed["metadata"] == {"before": {}, "after": {"per_profession": 60}}
    ours = read_json(fixed)[schema.PROVENANCE_KEY]
    assert ours["rescore"]["from"] == str(out.resolve()) and ours["card"] == str(cards.card_path(fixed).resolve())
    assert ours["label"] == f"{original[schema.PROVENANCE_KEY]['label']} (rescored {fixed.stem.rsplit('-', 1)[1]})"
    assert rescore(out, metadata={"per_profession": 60}) == fixed  # same code and metadata: reused


def test_results_without_sample_logs_cannot_be_rescored(tmp_path):
    plain = tmp_path / "plain.json"
    atomic_write_json(plain, {"results": {SALARY: {"invalid_rate,none": 1.0}}})
    with pytest.raises(UserError, match="no per-task results with sample logs"):
        rescore(plain)
