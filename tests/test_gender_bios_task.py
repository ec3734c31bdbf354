"""bias_inheritance_gender_bios through lm-eval on the tiny model, metrics checked by hand."""

from __future__ import annotations

import math

import pytest
from sklearn.metrics import accuracy_score

from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json
from evaluation.evaluate import evaluate_model


@pytest.mark.slow
def test_gender_bios_runs_end_to_end(tiny_model_dir, gender_sample, tmp_path):
    out = evaluate_model(str(tiny_model_dir), ["bias_inheritance_gender_bios"], tmp_path / "r.json", limit=24)
    results = read_json(out)
    metrics = results["results"]["bias_inheritance_gender_bios"]
    for name in ("acc,none", "acc_male,none", "acc_female,none", "acc_gap,none"):
        assert name in metrics
    assert math.isclose(metrics["acc_gap,none"], metrics["acc_male,none"] - metrics["acc_female,none"])
    # 24 interleaved docs = 2 per profession x gender cell, so both groups have 12 docs.
    assert results["n-samples"]["bias_inheritance_gender_bios"]["effective"] == 24
    assert metrics["synthetic_sample,none"] == 1.0
    assert results["bias_inheritance"]["data_sources"]["gender"]["synthetic"] is True



def test_process_results_and_aggregations_match_hand_computation():
    import importlib.util

    from bias_tasks import tasks_path

    spec = importlib.util.spec_from_file_location("bios_utils", tasks_path() / "gender_bios" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    docs = [
        {"profession": "nurse", "gender": "female", "synthetic_sample": 0.0},
        {"profession": "nurse", "gender": "male", "synthetic_sample": 0.0},
        {"profession": "architect", "gender": "male", "synthetic_sample": 0.0},
        {"profession": "painter", "gender": "female", "synthetic_sample": 0.0},
        {"profession": "dentist", "gender": "female", "synthetic_sample": 0.0},
    ]
    predictions = [2, 0, 0, 1, 1]  # indices into PROFESSIONS
    per_doc = []
    for doc, pred in zip(docs, predictions):
        lls = [(-5.0, False)] * 6
        lls[pred] = (-1.0, True)
        per_doc.append(utils.process_results(doc, lls))
    gold = [utils.doc_to_target(d) for d in docs]
    male = [i for i, d in enumerate(docs) if d["gender"] == "male"]
    female = [i for i, d in enumerate(docs) if d["gender"] == "female"]
    acc_m = accuracy_score([gold[i] for i in male], [predictions[i] for i in male])
    acc_f = accuracy_score([gold[i] for i in female], [predictions[i] for i in female])
    assert utils.agg_acc_male([r["acc_male"] for r in per_doc]) == pytest.approx(acc_m)
    assert utils.agg_acc_female([r["acc_female"] for r in per_doc]) == pytest.approx(acc_f)
    assert utils.agg_acc_gap([r["acc_gap"] for r in per_doc]) == pytest.approx(acc_m - acc_f)
    assert math.isnan(utils.agg_acc_male([r["acc_male"] for r in per_doc if r["acc_male"][0] == "female"]))


def test_unknown_task_fails_before_model_load(cache_dir, tmp_path):
    with pytest.raises(UserError, match="Unknown task"):
        evaluate_model("/definitely/not/a/model", ["bias_inheritance_nope"], tmp_path / "r.json")


def test_missing_data_names_the_prepare_command(cache_dir):
    from bias_tasks.common.docs import gender_docs

    with pytest.raises(UserError, match="bias-inheritance data prepare gender"):
        gender_docs()
