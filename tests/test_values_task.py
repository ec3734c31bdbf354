"""bias_inheritance_values through lm-eval on the tiny model: letters scored, held-out questions only,
per-culture similarity = 1 − JS distance (base 2) recomputed by hand from the logged log-likelihoods."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bias_inheritance import schema
from bias_inheritance.data import opinions
from bias_tasks import tasks_path
from bias_tasks.values.values_task import similarity

TASK = "bias_inheritance_values"


def _js_by_hand(p, q):
    p, q = np.asarray(p, float) / sum(p), np.asarray(q, float) / sum(q)
    m = (p + q) / 2
    kl = lambda a, b: sum(x * math.log2(x / y) for x, y in zip(a, b) if x > 0)  # noqa: E731
    return math.sqrt((kl(p, m) + kl(q, m)) / 2)


def test_similarity_is_one_minus_the_base_2_js_distance():
    p, q = [0.7, 0.2, 0.1], [0.1, 0.3, 0.6]
    assert similarity(p, q) == pytest.approx(1 - _js_by_hand(p, q))
    assert similarity(p, p) == pytest.approx(1.0) and similarity([1, 0], [0, 1]) == pytest.approx(0.0)


@pytest.fixture(scope="module")
def evaluated(tiny_model_dir, tmp_path_factory):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    folder = tmp_path_factory.mktemp("values") / "opinions"
    opinions.prepare_opinions(sample=True, out_dir=folder)

    def run(persona: bool):
        metadata = {schema.data_dir_key("opinions"): str(folder), "persona": persona}
        return simple_evaluate(model="hf", model_args={"pretrained": str(tiny_model_dir)}, device="cpu", batch_size=16,
                               log_samples=True, tasks=[TASK],
                               task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False,
                                                        metadata=metadata))
    return {"plain": run(False), "persona": run(True), "folder": folder}


def test_letters_of_held_out_questions_are_scored(evaluated):
    samples = evaluated["plain"]["samples"][TASK]
    heldout = {r["id"] for r in opinions.load_split("heldout", evaluated["folder"])}
    assert {s["doc"]["id"] for s in samples} == heldout and len(samples) == 4  # one held-out question × 4 cultures
    first = samples[0]
    assert [a[1] for a in first["arguments"]] == [" (A)", " (B)", " (C)", " (D)"]
    assert first["arguments"][0][0].endswith("\nAnswer:") and "You are a person" not in first["arguments"][0][0]
    persona = evaluated["persona"]["samples"][TASK][0]["arguments"][0][0]
    assert persona.startswith("You are a person influenced by")


def test_per_culture_similarity_equals_a_hand_computation(evaluated):
    results = {k.split(",")[0]: v for k, v in evaluated["plain"]["results"][TASK].items() if k.endswith(",none")}
    by_culture = {}
    for s in evaluated["plain"]["samples"][TASK]:
        lls = np.array([r[0][0] for r in s["resps"]])
        model = np.exp(lls - lls.max()) / np.exp(lls - lls.max()).sum()
        by_culture.setdefault(s["doc"]["culture"], []).append(1 - _js_by_hand(model, s["doc"]["distribution"]))
    for culture, values in by_culture.items():
        assert results[f"similarity_{culture}"] == pytest.approx(np.mean(values))
    assert results["similarity"] == pytest.approx(np.mean([v for vs in by_culture.values() for v in vs]))
    assert 0 <= results["similarity"] <= 1 and results["synthetic_sample"] == 1.0
    # One question per culture: every resample gives the same value, so the interval is that value.
    assert results["similarity_arabic_ci_low"] == pytest.approx(results["similarity_arabic"])
