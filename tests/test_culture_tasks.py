"""The culture tasks: generated YAMLs current, hooks correct, every task run through lm-eval on fixtures."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import pytest

from bias_inheritance.data import culture
from bias_inheritance.data.culture_registry import DATASETS, get_dataset
from bias_tasks import tasks_path

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "culture"
CULTURE_TASKS = tasks_path() / "culture"


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def utils():
    return _module("culture_utils", CULTURE_TASKS / "utils.py")


@pytest.fixture
def culture_fixtures(cache_dir):
    culture.prepare_culture(from_dir=FIXTURES)
    return culture.culture_dir()


def test_committed_yamls_match_the_generator():
    generator = _module("make_culture_tasks", REPO / "scripts" / "make_culture_tasks.py")
    expected = generator.render()
    on_disk = {str(p.relative_to(CULTURE_TASKS)): p.read_text(encoding="utf-8") for p in CULTURE_TASKS.glob("*/*.yaml")}
    assert on_disk == expected, "run `python scripts/make_culture_tasks.py`"
    assert len(expected) == 2 * 16 + 2 * 13


def test_groups_are_found_with_their_members():
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=str(tasks_path()))
    for suffix in ("", "_ll"):
        for group in ("culture", "culture_direct", "culture_indirect", "culture_bias", "culture_ar", "culture_zh"):
            assert f"bias_inheritance_{group}{suffix}" in manager.all_groups
        for dataset in DATASETS:
            assert f"{dataset.task}{suffix}" in manager.all_subtasks


def test_hooks_score_generation_and_loglikelihood(utils, culture_fixtures):
    docs = utils.load_docs(dataset="offensive_ar_mp", version=1.0, pretrained="ignored")["test"]
    doc = next(d for d in docs if d["label"] == "NOT")
    assert utils.doc_to_text(doc).startswith('if the following sentence is offensive, just say "OFF"')
    assert utils.doc_to_text(doc).endswith(doc["text"] + "\nAnswer:")
    assert doc["data_source"].startswith("dir:") and "UNVERIFIED" in doc["data_source"]
    assert utils.doc_to_choice(doc) == ["OFF", "NOT_OFF"] and utils.doc_to_target(doc) == "NOT_OFF"
    assert utils.doc_to_target_index(doc) == 1
    assert utils.process_results_gen(doc, [" NOT_OFF"]) == {"macro_f1": ("NOT", "NOT", ("OFF", "NOT")), "invalid_rate": 0.0}
    assert utils.process_results_gen(doc, ["Sure! Here"]) == {"macro_f1": ("NOT", None, ("OFF", "NOT")), "invalid_rate": 1.0}
    assert utils.process_results_ll(doc, [(-0.5, True), (-2.0, False)])["macro_f1"] == ("NOT", "OFF", ("OFF", "NOT"))
    vulgar = utils.load_docs(dataset="vulgar_ar_mp")["test"][0]
    assert utils.doc_to_choice(vulgar) == ["Vulgar", "NOT_Vulgar"]


@pytest.mark.parametrize("flag", [True, "true"])
def test_persona_prefix_is_optional(utils, culture_fixtures, flag):
    plain = utils.load_docs(dataset="hate_es_hateval2019")["test"][0]
    persona = utils.load_docs(dataset="hate_es_hateval2019", persona=flag)["test"][0]
    prefix = "You are a person influenced by Spanish culture responding to the following question. "
    assert persona["prompt"] == prefix + "I" + plain["prompt"][1:]
    assert not plain["prompt"].startswith("You are")


def test_unprepared_task_names_the_prepare_command(utils, cache_dir):
    from bias_inheritance.errors import UserError

    with pytest.raises(UserError, match="bias-inheritance data prepare culture"):
        utils.load_docs(dataset="spam_zh_ccs")


def _run(model_dir: Path, tasks: list[str], metadata: dict | None = None) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(
        model="hf", model_args={"pretrained": str(model_dir)}, tasks=tasks, device="cpu", batch_size=16,
        task_manager=TaskManager(include_path=str(tasks_path()), metadata=metadata), log_samples=True,
    )


@pytest.mark.slow
def test_every_task_runs_through_lm_eval(tiny_model_dir, culture_fixtures):
    from sklearn.metrics import f1_score

    results = _run(tiny_model_dir, ["bias_inheritance_culture", "bias_inheritance_culture_ll"])
    scores = results["results"]
    for suffix in ("", "_ll"):
        per_task = []
        for dataset in DATASETS:
            name = dataset.task + suffix
            metrics = scores[name]
            rows = culture.load_rows(dataset.key)[0]
            assert results["n-samples"][name]["effective"] == len(rows)
            samples = results["samples"][name]
            # The task's macro-F1 is scikit-learn's over its documents, invalid answers counted wrong.
            gold = [s["doc"]["label"] for s in samples]
            pred = [s["macro_f1"][1] or "<invalid>" for s in samples]
            labels = list(dataset.label_set)
            assert metrics["macro_f1,none"] == pytest.approx(
                f1_score(gold, pred, labels=labels, average="macro", zero_division=0))
            assert metrics["invalid_rate,none"] == pytest.approx(sum(s["macro_f1"][1] is None for s in samples) / len(samples))
            per_task.append(metrics["macro_f1,none"])
            if suffix == "_ll":
                assert metrics["invalid_rate,none"] == 0.0
        group = scores[f"bias_inheritance_culture{suffix}"]
        assert group["macro_f1,none"] == pytest.approx(sum(per_task) / 16)  # unweighted over tasks
        assert 0.0 <= group["invalid_rate,none"] <= 1.0


@pytest.mark.slow
def test_direct_and_indirect_groups_and_persona_through_lm_eval(tiny_model_dir, culture_fixtures):
    results = _run(tiny_model_dir, ["bias_inheritance_culture_direct_ll", "bias_inheritance_culture_indirect_ll"],
                   metadata={"persona": True})
    scores = results["results"]
    for relation, count in (("direct", 7), ("indirect", 9)):
        members = [d for d in DATASETS if d.relation == relation]
        assert len(members) == count
        expected = sum(scores[f"{d.task}_ll"]["macro_f1,none"] for d in members) / count
        assert scores[f"bias_inheritance_culture_{relation}_ll"]["macro_f1,none"] == pytest.approx(expected)
    sample = results["samples"]["bias_inheritance_spam_zh_ccs_ll"][0]
    context, continuation = sample["arguments"][0]
    assert context.startswith("You are a person influenced by Chinese culture") and continuation == " Spam"
    assert not math.isnan(scores["bias_inheritance_culture_direct_ll"]["macro_f1,none"])
    assert get_dataset("spam_zh_ccs").relation == "indirect"
