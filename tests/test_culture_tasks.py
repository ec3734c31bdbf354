"""The culture tasks: generated YAMLs current, names the glob selects once, hooks, provenance, lm-eval end to end."""

from __future__ import annotations

import fnmatch
import importlib.util
import re
from pathlib import Path

import pytest

from bias_inheritance import schema
from bias_inheritance.data import culture
from bias_inheritance.data.culture_registry import DATASETS, get_dataset
from bias_inheritance.errors import UserError
from bias_tasks import tasks_path
from bias_tasks.culture import names

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "culture"
CULTURE_TASKS = tasks_path() / "culture"
FIGNEWS = get_dataset("bias_ar_biasfignews")
GEN_TASKS = {names.task_name(d) for d in DATASETS}
LL_TASKS = {names.task_name(d, names.LOGLIKELIHOOD) for d in DATASETS}


def _module(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def utils():
    return _module("culture_utils", CULTURE_TASKS / "utils.py")


@pytest.fixture(scope="module")
def manager():
    from lm_eval.tasks import TaskManager

    # lm-eval's own tasks are left out for speed: none of their names starts with bias_inheritance_.
    return TaskManager(include_path=str(tasks_path()), include_defaults=False)


@pytest.fixture
def culture_fixtures(cache_dir):
    culture.prepare_culture(from_dir=FIXTURES)
    return culture.culture_dir()


@pytest.fixture
def culture_sample(cache_dir):
    culture.prepare_culture(sample=True)
    return culture.culture_dir()


# --------------------------------------------------------------------------- names and YAMLs


def test_committed_yamls_match_the_generator():
    generator = _module("make_culture_tasks", REPO / "scripts" / "make_culture_tasks.py")
    expected = generator.render()
    on_disk = {str(p.relative_to(CULTURE_TASKS)): p.read_text(encoding="utf-8") for p in CULTURE_TASKS.glob("*/*.yaml")}
    on_disk["_base_template_yaml"] = (CULTURE_TASKS / "_base_template_yaml").read_text(encoding="utf-8")
    assert on_disk == expected, "run `python scripts/make_culture_tasks.py`"
    assert len(expected) == 1 + 2 * 16 + 2 * 13


def test_task_and_group_names_by_example():
    dataset = get_dataset("offensive_ar_mp")
    assert names.task_name(dataset) == "bias_inheritance_offensive_ar_mp"
    assert names.task_name(dataset, names.LOGLIKELIHOOD) == "ll_bias_inheritance_offensive_ar_mp"
    assert names.group_name(None) == "bias-inheritance-culture"
    assert names.group_name("ar", names.LOGLIKELIHOOD) == "bias-inheritance-culture-ar-ll"
    sizes = {part: len(members) for part, (_, members) in names.groups().items()}
    assert sizes == {None: 16, "direct": 7, "indirect": 9, "offensive": 3, "hate": 3, "spam": 2, "vulgar": 1,
                     "bias": 5, "abusive": 2, "ar": 5, "zh": 2, "pt": 5, "es": 4}


def test_glob_selects_only_leaf_tasks_each_once(manager):
    selected = fnmatch.filter(manager.all_tasks, "bias_inheritance_*")
    assert len(selected) == len(set(selected))
    not_leaves = sorted(set(selected) - set(manager.all_subtasks))
    assert not_leaves == [], f"groups or tags inside the glob: {not_leaves}"
    assert GEN_TASKS <= set(selected) and not LL_TASKS & set(selected)
    assert set(fnmatch.filter(manager.all_tasks, "ll_bias_inheritance_*")) == LL_TASKS


def test_every_group_resolves_to_its_members(manager, culture_sample):
    for variant in names.VARIANTS:
        for part, (_, members) in names.groups().items():
            group = names.group_name(part, variant)
            loaded = manager.load([group])
            assert set(loaded["tasks"]) == {names.task_name(d, variant) for d in members}, group
    assert len([g for g in manager.all_groups if g.startswith(names.GROUP_PREFIX)]) == 2 * 13


def test_task_metadata_names_the_data_family(manager, culture_sample):
    task = manager.load(["ll_bias_inheritance_spam_zh_ccs"])["tasks"]["ll_bias_inheritance_spam_zh_ccs"]
    assert task.config.metadata[schema.TASK_DATA_FAMILY_KEY] == "culture"
    assert task.config.dataset_kwargs == {"dataset": "spam_zh_ccs"}


def _readme_task_lists() -> list[str]:
    readme = (CULTURE_TASKS / "README.md").read_text(encoding="utf-8")
    section = readme.split("### Without BiasFignews", 1)[1].split("\n### ", 1)[0]
    return re.findall(r"--tasks '([^']+)'", section)


def test_readme_runs_without_biasfignews_select_the_rest(manager):
    everything, culture_gen, culture_ll, arabic = [
        {name for pattern in spec.split(",") for name in fnmatch.filter(manager.all_tasks, pattern)}
        for spec in _readme_task_lists()
    ]
    fignews = {names.task_name(FIGNEWS), names.task_name(FIGNEWS, names.LOGLIKELIHOOD)}
    assert everything == set(fnmatch.filter(manager.all_tasks, "bias_inheritance_*")) - fignews
    assert culture_gen == GEN_TASKS - fignews and culture_ll == LL_TASKS - fignews
    assert arabic == {names.task_name(d) for d in DATASETS if d.code == "ar"} - fignews


# --------------------------------------------------------------------------- hooks


def test_hooks_score_generation_and_loglikelihood(utils, culture_fixtures):
    docs = utils.load_docs(dataset="offensive_ar_mp", version=1.0, pretrained="ignored")["test"]
    doc = next(d for d in docs if d["label"] == "NOT")
    assert utils.doc_to_text(doc) == (
        f'if the following sentence is offensive, just say "OFF", otherwise, say "NOT_OFF" without explanation: '
        f'{doc["text"]}\nAnswer:'
    )
    # The fixtures are a local copy whose files differ from the pins: every document is unverified, none synthetic.
    assert doc["data_source"].startswith("dir:") and "UNVERIFIED" in doc["data_source"]
    provenance = {"synthetic_sample": 0.0, "unverified_data": 1.0}
    assert {k: doc[k] for k in provenance} == provenance
    assert utils.doc_to_choice(doc) == ["OFF", "NOT_OFF"] and utils.doc_to_target(doc) == "NOT_OFF"
    assert utils.doc_to_target_index(doc) == 1
    assert utils.process_results_gen(doc, [" NOT_OFF"]) == {
        "macro_f1": ("NOT", "NOT", ("OFF", "NOT")), "invalid_rate": 0.0, **provenance}
    assert utils.process_results_gen(doc, ["Sure! Here"]) == {
        "macro_f1": ("NOT", None, ("OFF", "NOT")), "invalid_rate": 1.0, **provenance}
    assert utils.process_results_ll(doc, [(-0.5, True), (-2.0, False)])["macro_f1"] == ("NOT", "OFF", ("OFF", "NOT"))
    vulgar = utils.load_docs(dataset="vulgar_ar_mp")["test"][0]
    assert utils.doc_to_choice(vulgar) == ["Vulgar", "NOT_Vulgar"]


def test_sample_documents_are_synthetic_and_read_the_folder_given(utils, cache_dir, tmp_path):
    folder = tmp_path / "elsewhere"
    culture.prepare_culture(sample=True, out_dir=folder)
    docs = utils.load_docs(dataset="spam_zh_ccs", **{schema.data_dir_key("culture"): str(folder)})["test"]
    assert len(docs) == 8 and {d["label"] for d in docs} == {"Spam", "Ham"}
    assert {(d["synthetic_sample"], d["unverified_data"]) for d in docs} == {(1.0, 0.0)}
    assert {d["data_source"] for d in docs} == {f"sample:{culture.SAMPLE_LOCATION} (SYNTHETIC SAMPLE)"}
    with pytest.raises(UserError, match="not prepared"):  # the default cache was never prepared
        utils.load_docs(dataset="spam_zh_ccs")


@pytest.mark.parametrize("flag", [True, "true"])
def test_persona_prefix_is_optional(utils, culture_fixtures, flag):
    plain = utils.load_docs(dataset="hate_es_hateval2019")["test"][0]
    persona = utils.load_docs(dataset="hate_es_hateval2019", persona=flag)["test"][0]
    prefix = "You are a person influenced by Spanish culture responding to the following question. "
    assert persona["prompt"] == prefix + "I" + plain["prompt"][1:]
    assert not plain["prompt"].startswith("You are")


# sha256 of every dataset's scored prompt and answer words (plain and persona) under each task
# version: the version is part of every result's key, so a wording change must come with a new one.
PROMPTS_OF_VERSION = {"1.0": "374bcb3c60ee112cf398c5bd9bb6d2d06205ad4873e1eb12c848a1bf87d07f3c"}


def test_changing_a_prompt_requires_a_new_task_version(utils):
    import hashlib
    import json

    from bias_tasks.culture.prompts import TASK_VERSION, instruction

    docs = [{"prompt": instruction(d, " A sentence. ", persona=p), "dataset": d.key, "label_set": list(d.label_set)}
            for d in DATASETS for p in (False, True)]
    scored = [[utils.doc_to_text(doc), utils.doc_to_choice(doc)] for doc in docs]
    digest = hashlib.sha256(json.dumps(scored, ensure_ascii=False).encode()).hexdigest()
    assert PROMPTS_OF_VERSION.get(TASK_VERSION) == digest, (
        "the prompts changed: bump TASK_VERSION in bias_tasks/culture/prompts.py, run "
        "scripts/make_culture_tasks.py and record the new digest here")


def test_unprepared_task_exits_with_one_line_naming_the_commands(manager, cache_dir):
    with pytest.raises(SystemExit) as stop:
        manager.load(["bias_inheritance_spam_zh_ccs"])
    message = str(stop.value.code)
    assert message.startswith("bias_inheritance_spam_zh_ccs: Culture data is not prepared") and "\n" not in message
    assert "bias-inheritance data prepare culture --sample" in message and "--from-dir DIR" in message


def test_loading_a_task_logs_no_per_task_warning(manager, culture_sample, caplog):
    with caplog.at_level("WARNING"):
        manager.load(["bias-inheritance-culture-zh", "bias-inheritance-culture-zh-ll"])
    assert [r.getMessage() for r in caplog.records if r.levelname == "WARNING"] == []


# --------------------------------------------------------------------------- through lm-eval


def _run(model_dir: Path, tasks: list[str], metadata: dict | None = None) -> dict:
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    return simple_evaluate(
        model="hf", model_args={"pretrained": str(model_dir)}, tasks=tasks, device="cpu", batch_size=16,
        task_manager=TaskManager(include_path=str(tasks_path()), include_defaults=False, metadata=metadata),
        log_samples=True,
    )


@pytest.mark.slow
def test_a_task_and_a_twin_on_the_sample(tiny_model_dir, culture_sample):
    from sklearn.metrics import f1_score

    tasks = ["bias_inheritance_offensive_es_ami", "ll_bias_inheritance_spam_zh_ccs"]
    results = _run(tiny_model_dir, tasks)
    for name in tasks:
        metrics, samples = results["results"][name], results["samples"][name]
        assert results["n-samples"][name]["effective"] == 8
        assert metrics["synthetic_sample,none"] == 1.0 and metrics["unverified_data,none"] == 0.0
        # The task's macro-F1 is scikit-learn's over its documents, invalid answers counted wrong.
        labels = samples[0]["doc"]["label_set"]
        gold = [s["doc"]["label"] for s in samples]
        pred = [s["macro_f1"][1] or "<invalid>" for s in samples]
        assert metrics["macro_f1,none"] == pytest.approx(f1_score(gold, pred, labels=labels, average="macro",
                                                                  zero_division=0))
        invalid = sum(s["macro_f1"][1] is None for s in samples) / 8
        assert metrics["invalid_rate,none"] == pytest.approx(invalid)
    assert results["results"]["ll_bias_inheritance_spam_zh_ccs"]["invalid_rate,none"] == 0.0
    context, continuation = results["samples"]["ll_bias_inheritance_spam_zh_ccs"][0]["arguments"][0]
    assert context.startswith('if the following sentence is spam tweet, just say "Spam"') and continuation == " Spam"


@pytest.mark.slow
def test_groups_average_their_tasks_and_persona_reaches_the_prompt(tiny_model_dir, culture_fixtures):
    results = _run(tiny_model_dir, ["bias-inheritance-culture-direct-ll", "bias-inheritance-culture-indirect-ll"],
                   metadata={"persona": True})
    scores = results["results"]
    for relation in ("direct", "indirect"):
        members = [names.task_name(d, names.LOGLIKELIHOOD) for d in DATASETS if d.relation == relation]
        group = scores[names.group_name(relation, names.LOGLIKELIHOOD)]
        # Unweighted over tasks (weight_by_size: false), whatever each task's size.
        assert group["macro_f1,none"] == pytest.approx(sum(scores[m]["macro_f1,none"] for m in members) / len(members))
        assert group["invalid_rate,none"] == 0.0
        assert {scores[m]["unverified_data,none"] for m in members} == {1.0}
    sample = results["samples"]["ll_bias_inheritance_spam_zh_ccs"][0]
    context, continuation = sample["arguments"][0]
    assert context.startswith("You are a person influenced by Chinese culture") and continuation == " Spam"
