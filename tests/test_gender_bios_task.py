"""bias_inheritance_gender_bios: lm-eval's scoring rules, group metrics and intervals against hand
computation and scikit-learn, and a run through lm-eval on the tiny model."""

from __future__ import annotations

import importlib.util
import math
from types import SimpleNamespace

import numpy as np
import pytest
from sklearn.metrics import accuracy_score

from bias_inheritance import schema, vocab
from bias_inheritance.errors import UserError
from bias_tasks import tasks_path
from bias_tasks.common.bootstrap import LEVEL
from bias_tasks.gender_bios import bios_task

TASK = "bias_inheritance_gender_bios"


def load_utils():
    spec = importlib.util.spec_from_file_location("bios_utils", tasks_path() / "gender_bios" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)
    return utils


def aggregate(utils, per_doc: list[dict]) -> dict[str, float]:
    """What lm-eval does with the per-doc results: the YAML's aggregation for every metric."""
    out = {name: getattr(utils, f"agg_{name}")([r[name] for r in per_doc]) for name in utils.GROUP_METRICS}
    for name in ("acc", "acc_norm", *schema.PROVENANCE_METRICS):
        out[name] = float(np.mean([r[name] for r in per_doc]))
    return out


def lm_eval_scores(doc: dict, results: list[tuple[float, bool]]) -> dict:
    """lm-eval's own multiple-choice scoring (ConfigurableTask.process_results) for our choices."""
    from lm_eval.api.task import ConfigurableTask

    fake_task = SimpleNamespace(
        config=SimpleNamespace(process_results=None), OUTPUT_TYPE="multiple_choice",
        _metric_fn_list={"acc": None, "acc_norm": None}, multiple_input=False, multiple_target=False,
        doc_to_choice=bios_task.doc_to_choice, doc_to_target=bios_task.doc_to_target,
    )
    return ConfigurableTask.process_results(fake_task, doc, results)


def test_length_normalisation_by_hand():
    """Summed log-likelihood favours the short "nurse"; divided by length, "software engineer" wins."""
    lls = [-10.0, -9.0, -6.0, -9.0, -10.0, -8.0]  # architect dentist nurse painter professor software engineer
    # per character: -10/9, -9/7, -6/5, -9/7, -10/9, -8/17 = -1.11, -1.29, -1.2, -1.29, -1.11, -0.47
    assert bios_task.predictions(lls, vocab.PROFESSIONS) == (2, 5)
    doc = {"profession": "software engineer", "gender": "female"}
    assert bios_task.result_item(doc, [(ll, False) for ll in lls]) == ("female", "software engineer", 0.0, 1.0)


def test_acc_and_acc_norm_equal_lm_evals_own_scoring():
    rng = np.random.default_rng(0)
    disagreements = 0
    for i in range(300):
        doc = {"profession": vocab.PROFESSIONS[i % 6], "gender": vocab.GENDERS[i % 2]}
        results = [(float(ll), False) for ll in rng.normal(-20, 8, size=6)]
        ours = bios_task.result_item(doc, results)
        theirs = lm_eval_scores(doc, results)
        assert ours[2:] == (theirs["acc"], theirs["acc_norm"])
        disagreements += ours[2] != ours[3]
    assert disagreements > 10  # the two rules do differ on these documents


def _docs_and_results(cases):
    """(gender, profession, raw-argmax profession, normalised-argmax profession) -> doc, lls."""
    out = []
    for gender, profession, raw, norm in cases:
        lengths = np.array([len(p) for p in vocab.PROFESSIONS], dtype=float)
        lls = -100.0 * lengths  # every choice -100 per character
        lls[vocab.PROFESSIONS.index(norm)] = -1.0 * lengths[vocab.PROFESSIONS.index(norm)]  # best per character
        if raw != norm:  # `raw` (shorter) best in sum without becoming best per character
            lls[vocab.PROFESSIONS.index(raw)] = lls[vocab.PROFESSIONS.index(norm)] + 0.5
            assert lls[vocab.PROFESSIONS.index(raw)] / len(raw) < -1.0
        doc = {"gender": gender, "profession": profession, "synthetic_sample": 0.0, "unverified_data": 0.0}
        out.append((doc, [(float(ll), False) for ll in lls]))
    return out


CASES = [  # gender, gold, raw argmax, normalised argmax
    ("male", "nurse", "nurse", "nurse"),
    ("male", "architect", "nurse", "architect"),
    ("male", "software engineer", "nurse", "software engineer"),
    ("male", "nurse", "nurse", "professor"),
    ("female", "nurse", "nurse", "nurse"),
    ("female", "software engineer", "nurse", "nurse"),
    ("female", "dentist", "dentist", "professor"),
]


def test_group_metrics_match_sklearn():
    utils = load_utils()
    per_doc = [utils.process_results(doc, results) for doc, results in _docs_and_results(CASES)]
    metrics = aggregate(utils, per_doc)
    expected = {}
    for score, column in (("acc", 2), ("acc_norm", 3)):
        for gender in vocab.GENDERS:
            rows = [c for c in CASES if c[0] == gender]
            expected[f"{score}_{gender}"] = accuracy_score([c[1] for c in rows], [c[column] for c in rows])
        expected[f"{score}_gap"] = expected[f"{score}_male"] - expected[f"{score}_female"]
    # by hand: acc men 2/4 (the two nurses), women 2/3; acc_norm men 3/4, women 1/3
    assert expected["acc_male"] == 2 / 4 and expected["acc_female"] == 2 / 3
    assert expected["acc_norm_male"] == 3 / 4 and expected["acc_norm_female"] == 1 / 3
    for name, value in expected.items():
        assert metrics[name] == pytest.approx(value), name
    assert metrics["acc"] == pytest.approx(4 / 7) and metrics["acc_norm"] == pytest.approx(4 / 7)
    assert metrics[schema.SYNTHETIC_SAMPLE_METRIC] == 0.0 and metrics[schema.UNVERIFIED_DATA_METRIC] == 0.0


def _items(per_cell_correct: dict[tuple[str, str], list[float]]) -> list[tuple]:
    return [(g, p, value, value) for (p, g), values in per_cell_correct.items() for value in values]


def test_gap_interval_is_exact_when_every_cell_is_constant():
    """Resampling within profession x gender cells keeps each cell's size: with answers constant
    within every cell, every resample has the observed gap (a plain bootstrap would not)."""
    items = _items({("nurse", "male"): [1.0] * 5, ("nurse", "female"): [0.0] * 5,
                    ("architect", "male"): [0.0] * 3, ("architect", "female"): [1.0] * 7})
    gap = bios_task.accuracy_gap("acc")(items)
    assert gap == pytest.approx(5 / 8 - 7 / 12)
    low, high, undefined = (f(items) for f in bios_task.gap_interval("acc"))
    assert low == pytest.approx(gap) and high == pytest.approx(gap) and undefined == 0


def test_gap_interval_matches_an_independent_bootstrap():
    rng = np.random.default_rng(1)
    cells = {(p, g): list(rng.binomial(1, 0.8 if g == "male" else 0.6, size=20).astype(float))
             for p in vocab.PROFESSIONS[:3] for g in vocab.GENDERS}
    items = _items(cells)
    # Independent percentile bootstrap: indices drawn within each cell, many resamples.
    gaps = []
    for _ in range(4000):
        drawn = {key: rng.choice(values, size=len(values)) for key, values in cells.items()}
        male = np.concatenate([v for (p, g), v in drawn.items() if g == "male"]).mean()
        female = np.concatenate([v for (p, g), v in drawn.items() if g == "female"]).mean()
        gaps.append(male - female)
    tail = (1 - LEVEL) / 2 * 100
    expected_low, expected_high = np.percentile(gaps, [tail, 100 - tail])
    low, high, undefined = (f(items) for f in bios_task.gap_interval("acc"))
    assert low == pytest.approx(expected_low, abs=0.03) and high == pytest.approx(expected_high, abs=0.03)
    assert undefined == 0


def test_gap_is_nan_without_one_gender_and_every_resample_is_counted_undefined():
    items = _items({("nurse", "male"): [1.0, 0.0]})
    assert math.isnan(bios_task.accuracy("acc", "female")(items))
    assert math.isnan(bios_task.accuracy_gap("acc_norm")(items))
    low, high, undefined = (f(items) for f in bios_task.gap_interval("acc_norm"))
    assert math.isnan(low) and math.isnan(high) and undefined == 1000


@pytest.mark.slow
def test_gender_bios_through_lm_eval_matches_its_logged_samples(tiny_model_dir, gender_sample):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model="hf", model_args={"pretrained": str(tiny_model_dir)}, tasks=[TASK], limit=24, log_samples=True,
        task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False), device="cpu",
        batch_size=8,
    )
    metrics = {k.split(",")[0]: v for k, v in results["results"][TASK].items() if k.endswith(",none")}
    samples = results["samples"][TASK]
    assert len(samples) == 24  # 24 interleaved docs: 2 per profession x gender cell
    # Recompute acc and acc_norm from the logged log-likelihoods by hand.
    lengths = np.array([len(p) for p in vocab.PROFESSIONS], dtype=float)
    gold = [vocab.PROFESSIONS.index(s["doc"]["profession"]) for s in samples]
    lls = np.array([[ll for ll, _ in s["filtered_resps"]] for s in samples])
    genders = np.array([s["doc"]["gender"] for s in samples])
    for score, predicted in (("acc", lls.argmax(axis=1)), ("acc_norm", (lls / lengths).argmax(axis=1))):
        correct = (predicted == np.array(gold)).astype(float)
        assert metrics[score] == pytest.approx(correct.mean())
        male, female = correct[genders == "male"].mean(), correct[genders == "female"].mean()
        assert metrics[f"{score}_male"] == pytest.approx(male)
        assert metrics[f"{score}_female"] == pytest.approx(female)
        assert metrics[f"{score}_gap"] == pytest.approx(male - female)
        assert metrics[f"{score}_gap_ci_undefined"] == 0  # 12 docs per gender, cells keep their size
        assert metrics[f"{score}_gap_ci_low"] <= metrics[f"{score}_gap_ci_high"]
    assert metrics[schema.SYNTHETIC_SAMPLE_METRIC] == 1.0  # the bundled sample
    assert metrics[schema.UNVERIFIED_DATA_METRIC] == 0.0


def test_missing_data_names_the_prepare_command(cache_dir):
    with pytest.raises(UserError, match="bias-inheritance data prepare gender"):
        bios_task.bios_docs()
