"""The evaluator: task globs, checks before any model loads, per-task keyed results, resume, provenance."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path

import pytest

from bias_inheritance import cards, schema
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import read_json, read_jsonl, sha256_file, write_jsonl
from evaluation import evaluate as evaluate_module
from evaluation.console import quiet_repeats
from evaluation.evaluate import evaluate_model, resolve_format
from evaluation.selection import select_tasks, task_manager
from evaluation.store import default_store

BIOS = "bias_inheritance_gender_bios"
SALARY = "bias_inheritance_salary"
GEN = {"max_gen_toks": 4}


def is_leaf(entry) -> bool:
    from lm_eval.tasks._index import Kind

    return entry.kind in (Kind.TASK, Kind.PY_TASK)


@pytest.fixture
def lm_eval_calls(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """The task lists of every lm-eval evaluation this test starts."""
    calls: list[list[str]] = []
    real = evaluate_module.run_lm_eval

    def counting(**kwargs):
        calls.append(list(kwargs["tasks"]))
        return real(**kwargs)

    monkeypatch.setattr(evaluate_module, "run_lm_eval", counting)
    return calls


def no_model(*_args, **_kwargs):
    raise AssertionError("a model was loaded")


def evaluate(tiny_model_dir: Path, tasks: list[str], out: Path, **kwargs) -> dict:
    kwargs.setdefault("limit", 4)
    return read_json(evaluate_model(str(tiny_model_dir), tasks, out, gen_kwargs=GEN, device="cpu", **kwargs))


# --------------------------------------------------------------------------- task selection


def test_glob_selects_every_leaf_task_once(cache_dir):
    manager, specs = select_tasks(["bias_inheritance_*"])
    names = [s.name for s in specs]
    ours = {n for n, e in manager.task_index.items() if n.startswith("bias_inheritance") and is_leaf(e)}
    assert len(names) == len(set(names))
    assert set(names) == ours
    assert {BIOS, SALARY, "bias_inheritance_hiring", "bias_inheritance_story"} <= set(names)
    # a group or tag named beside the glob adds nothing twice
    containers = [n for n, e in manager.task_index.items() if n.startswith(("bias_inheritance", "bias-inheritance")) and not is_leaf(e)]
    assert containers, "our tasks define groups or tags"
    again = [s.name for s in select_tasks(["bias_inheritance_*", *containers])[1]]
    assert len(again) == len(set(again)) and again[: len(names)] == names


def test_groups_and_tags_expand_to_their_leaves(cache_dir):
    from lm_eval.tasks._index import Kind

    manager = task_manager()
    for name, entry in manager.task_index.items():
        if entry.kind == Kind.TAG:
            assert [s.name for s in select_tasks([name])[1]] == sorted(entry.tags)
        elif entry.kind == Kind.GROUP:
            leaves = [s.name for s in select_tasks([name])[1]]
            members = [m for m in entry.cfg["task"] if is_leaf(manager.task_index[m])]
            assert set(members) <= set(leaves) and len(leaves) == len(set(leaves))
            assert all(is_leaf(manager.task_index[leaf]) for leaf in leaves)


@pytest.mark.parametrize("names", [["bias_inheritance_nope"], ["bias_inheritance_nothing_*"], [BIOS, "bias-inheritance-nope"]])
def test_unknown_task_fails_before_model_load(names, cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate_module, "resolve_model", no_model)
    with pytest.raises(UserError, match="Unknown task"):
        evaluate_model("/definitely/not/a/model", names, tmp_path / "r.json")


def test_missing_data_fails_before_model_load(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate_module, "resolve_model", no_model)
    monkeypatch.setattr(evaluate_module, "run_lm_eval", no_model)
    with pytest.raises(UserError, match="bias-inheritance data prepare gender"):
        evaluate_model("/not/loaded", [BIOS], tmp_path / "r.json")
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    with pytest.raises(UserError, match=str(empty)):
        evaluate_model("/not/loaded", [BIOS], tmp_path / "r.json", metadata={schema.data_dir_key("gender"): str(empty)})
    with pytest.raises(UserError) as caught:  # every family of the glob is named in one message
        evaluate_model("/not/loaded", ["bias_inheritance_*"], tmp_path / "r.json")
    assert "gender" in str(caught.value) and "culture" in str(caught.value)
    assert not (tmp_path / "r.json").exists()


# --------------------------------------------------------------------------- format


def test_format_follows_the_chat_template(tiny_model_dir, tmp_path):
    assert resolve_format("auto", str(tiny_model_dir)) == schema.CHAT_FORMAT
    assert resolve_format("plain", str(tiny_model_dir)) == schema.PLAIN_FORMAT
    plain = shutil.copytree(tiny_model_dir, tmp_path / "no-template")
    (plain / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((plain / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (plain / "tokenizer_config.json").write_text(json.dumps(config))
    assert resolve_format("auto", str(plain)) == schema.PLAIN_FORMAT
    with pytest.raises(UserError, match="prompt format"):
        resolve_format("markdown", str(plain))


# --------------------------------------------------------------------------- keyed reuse


@pytest.mark.slow
def test_adding_a_task_evaluates_only_that_task(tiny_model_dir, gender_sample, tmp_path, lm_eval_calls):
    out = tmp_path / "r.json"
    first = evaluate(tiny_model_dir, [BIOS], out)
    both = evaluate(tiny_model_dir, [BIOS, SALARY], out)
    assert lm_eval_calls == [[BIOS], [SALARY]]
    assert both["results"][BIOS] == first["results"][BIOS]
    assert both[schema.PROVENANCE_KEY]["tasks"][BIOS]["key"] == first[schema.PROVENANCE_KEY]["tasks"][BIOS]["key"]
    assert [both[schema.PROVENANCE_KEY]["tasks"][t]["evaluated_now"] for t in (BIOS, SALARY)] == [False, True]
    assert set(both["results"]) == {BIOS, SALARY} and both["n-samples"][SALARY]["effective"] == 4

    evaluate(tiny_model_dir, [BIOS, SALARY], out)  # nothing changed: nothing evaluated
    assert len(lm_eval_calls) == 2
    more = evaluate(tiny_model_dir, [BIOS, SALARY], out, limit=6)  # another limit: both again
    assert lm_eval_calls[-1] == [BIOS, SALARY]
    assert {more["n-samples"][t]["effective"] for t in (BIOS, SALARY)} == {6}
    evaluate(tiny_model_dir, [BIOS], out, metadata={"seed": 1})  # another metadata value
    assert lm_eval_calls[-1] == [BIOS]
    # each input record is kept under its own key; the first is still there and still reusable
    assert len(list((default_store(out) / BIOS).iterdir())) == 3
    evaluate(tiny_model_dir, [BIOS], out)
    assert len(lm_eval_calls) == 4


@pytest.mark.slow
def test_other_data_is_evaluated_again_and_the_same_data_elsewhere_is_not(tiny_model_dir, gender_sample, tmp_path, lm_eval_calls):
    out = tmp_path / "r.json"
    evaluate(tiny_model_dir, [BIOS], out)
    same = shutil.copytree(gender_sample, tmp_path / "same")
    evaluate(tiny_model_dir, [BIOS], out, metadata={schema.data_dir_key("gender"): str(same)})
    assert len(lm_eval_calls) == 1  # a folder counts by what it holds
    changed = shutil.copytree(gender_sample, tmp_path / "changed")
    rows = read_jsonl(changed / "test.jsonl")
    rows[0] = {**rows[0], "text": "Changed biography text for this test."}
    write_jsonl(changed / "test.jsonl", rows)
    result = evaluate(tiny_model_dir, [BIOS], out, metadata={schema.data_dir_key("gender"): str(changed)})
    assert lm_eval_calls == [[BIOS], [BIOS]]
    samples = read_jsonl(Path(result[schema.PROVENANCE_KEY]["tasks"][BIOS]["path"]) / "samples.jsonl")
    assert "Changed biography text for this test." in {s["doc"]["text"] for s in samples}


@pytest.mark.slow
def test_a_metadata_file_counts_by_its_content(tiny_model_dir, gender_sample, tmp_path, lm_eval_calls):
    """A lexicon edited in place is another input: its path alone would reuse the old scores."""
    lexicon = tmp_path / "lexicon.csv"
    lexicon.write_text("brave,agency,1\n")
    out = tmp_path / "r.json"
    evaluate(tiny_model_dir, [BIOS], out, limit=2, metadata={"lexicon_path": str(lexicon)})
    evaluate(tiny_model_dir, [BIOS], out, limit=2, metadata={"lexicon_path": str(lexicon)})
    assert len(lm_eval_calls) == 1
    lexicon.write_text("brave,agency,1\ntimid,agency,0\n")
    result = evaluate(tiny_model_dir, [BIOS], out, limit=2, metadata={"lexicon_path": str(lexicon)})
    assert len(lm_eval_calls) == 2
    inputs = cards.read_card(Path(result[schema.PROVENANCE_KEY]["tasks"][BIOS]["path"]) / "card.json")["inputs"]
    assert inputs["metadata"]["lexicon_path"]["sha256"] == sha256_file(lexicon)


@pytest.mark.slow
def test_a_killed_evaluation_resumes_from_the_request_cache(tiny_model_dir, gender_sample, tmp_path, monkeypatch):
    from lm_eval.api.model import CacheHook
    from lm_eval.models.huggingface import HFLM

    stored = {"n": 0}
    real_add = CacheHook.add_partial

    def add_then_die(self, attr, req, res):
        real_add(self, attr, req, res)
        stored["n"] += 1
        if stored["n"] == 10:
            raise KeyboardInterrupt("killed")

    sent: list[int] = []
    real_loglikelihood = HFLM.loglikelihood

    def counting(self, requests, *args, **kwargs):
        sent.append(len(requests))
        return real_loglikelihood(self, requests, *args, **kwargs)

    monkeypatch.setattr(HFLM, "loglikelihood", counting)
    out = tmp_path / "r.json"
    monkeypatch.setattr(CacheHook, "add_partial", add_then_die)
    with pytest.raises(KeyboardInterrupt):
        evaluate(tiny_model_dir, [BIOS], out)
    assert not out.exists() and not (default_store(out) / BIOS).exists()
    monkeypatch.setattr(CacheHook, "add_partial", real_add)
    result = evaluate(tiny_model_dir, [BIOS], out)
    total = 4 * 6  # 4 biographies x 6 professions
    assert sent == [total, total - 10]
    fresh = evaluate(tiny_model_dir, [BIOS], tmp_path / "fresh.json")  # another store: no cache
    assert result["results"][BIOS] == fresh["results"][BIOS]


@pytest.mark.slow
def test_a_torn_task_result_is_evaluated_again(tiny_model_dir, gender_sample, tmp_path, lm_eval_calls):
    out = tmp_path / "r.json"
    first = evaluate(tiny_model_dir, [BIOS], out)
    folder = Path(first[schema.PROVENANCE_KEY]["tasks"][BIOS]["path"])
    card = cards.read_card(folder / "card.json")
    cards.write_card(folder, card["stage"], card["inputs"], status="partial")  # killed while writing
    (folder / "results.json").unlink()
    again = evaluate(tiny_model_dir, [BIOS], out)
    assert lm_eval_calls == [[BIOS], [BIOS]]
    assert cards.read_card(folder / "card.json")["status"] == "complete"
    assert again["results"][BIOS] == first["results"][BIOS]


# --------------------------------------------------------------------------- provenance


def make_adapter(tiny_model_dir: Path, folder: Path) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    get_peft_model(base, LoraConfig(r=2, target_modules=["q_proj", "v_proj"])).save_pretrained(folder)
    return folder


@pytest.mark.slow
def test_results_carry_provenance_and_cards(tiny_model_dir, gender_sample, tmp_path):
    adapter = make_adapter(tiny_model_dir, tmp_path / "adapter")
    training = {"bias_type": 2, "gamma": 0.5, "mitigation": None, "round": 1, "seed": 3,
                "data_sha256": "d" * 64, "data_source": "sample", "format": schema.CHAT_FORMAT}
    train_card = cards.write_card(adapter, "train", {"gamma": 0.5}, summary={"provenance": training})
    out = tmp_path / "r.json"
    result = evaluate(tiny_model_dir, [BIOS], out, adapter=adapter, label="run-a", metadata={"seed": 0})
    ours = result[schema.PROVENANCE_KEY]
    assert ours["label"] == "run-a" and ours["role"] == "finetuned"
    assert ours["format"] == schema.CHAT_FORMAT
    assert ours["model"] == model_identity(str(tiny_model_dir))
    assert ours["adapter"] == str(adapter) and ours["adapter_card"] == train_card
    assert ours["data_sources"]["gender"] == {**read_json(gender_sample / "source.json"),
                                              "label": "sample:bias_inheritance/data/sample_bios.jsonl (SYNTHETIC SAMPLE)"}
    assert (ours["limit"], ours["metadata"], ours["device"], ours["dtype"]) == (4, {"seed": 0}, "cpu", "float32")
    for section in ("results", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config"):
        assert BIOS in result[section] or section == "config"
    task_folder = Path(ours["tasks"][BIOS]["path"])
    assert read_json(task_folder / "results.json")["results"][BIOS] == result["results"][BIOS]
    assert len(read_jsonl(task_folder / "samples.jsonl")) == 4
    task_card = cards.read_card(task_folder / "card.json")
    assert task_card["key"] == ours["tasks"][BIOS]["key"] and task_card["status"] == "complete"
    assert task_card["parents"]["adapter"]["key"] == train_card["key"]
    assert task_card["summary"]["provenance"] == {**training, "model": ours["model"], "gamma_realised": None, "generator": None, "bias": None,
                                                  "culture": None, "continued": None}
    assert task_card["environment"]["device"] == "cpu"
    run_card = cards.read_card(Path(ours["card"]))
    assert Path(ours["card"]) == cards.card_path(out).resolve()
    assert run_card["parents"][f"task:{BIOS}"]["key"] == task_card["key"]
    assert run_card["parents"]["adapter"]["key"] == train_card["key"]
    assert cards.chain(out)["parents_cards"][f"task:{BIOS}"]["parents_cards"]["adapter"]["key"] == train_card["key"]

    # the same adapter without its card is keyed by its files; plain format is another result
    (adapter / "card.json").unlink()
    plain = evaluate(tiny_model_dir, [BIOS], out, adapter=adapter, prompt_format="plain", metadata={"seed": 0})
    assert plain[schema.PROVENANCE_KEY]["format"] == schema.PLAIN_FORMAT
    assert plain[schema.PROVENANCE_KEY]["adapter_card"] is None
    assert plain[schema.PROVENANCE_KEY]["tasks"][BIOS]["key"] != ours["tasks"][BIOS]["key"]
    inputs = cards.read_card(Path(plain[schema.PROVENANCE_KEY]["tasks"][BIOS]["path"]) / "card.json")["inputs"]
    assert set(inputs["adapter"]) == {"sha256"} and inputs["format"] == schema.PLAIN_FORMAT


def test_apply_chat_template_is_an_alias_of_the_format(cache_dir, tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate_module, "resolve_model", no_model)
    with pytest.warns(DeprecationWarning), pytest.raises(UserError, match="contradicts"):
        evaluate_model("/x", [BIOS], tmp_path / "r.json", prompt_format="chat", apply_chat_template=False)


# --------------------------------------------------------------------------- lm-eval behaviour we rely on


def test_request_cache_never_answers_sampled_requests(tmp_path):
    """Story prompts repeat identically and must stay independent samples; greedy ones may be cached."""
    from lm_eval.api.instance import Instance
    from lm_eval.api.model import LM, CachingLM

    class Counter(LM):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def generate_until(self, requests):
            self.calls += len(requests)
            return [f"answer {self.calls - len(requests) + i}" for i in range(len(requests))]

        def loglikelihood(self, requests):
            raise NotImplementedError

        def loglikelihood_rolling(self, requests):
            raise NotImplementedError

    def request(do_sample: bool) -> Instance:
        return Instance("generate_until", {}, ("Tell a story about Ana.", {"do_sample": do_sample}), 0)

    lm = Counter()
    cached = CachingLM(lm, str(tmp_path / "cache.db"))
    sampled = [cached.generate_until([request(True)])[0] for _ in range(3)]
    assert len(set(sampled)) == 3 and lm.calls == 3
    greedy = [cached.generate_until([request(False)])[0] for _ in range(2)]
    assert greedy[0] == greedy[1] and lm.calls == 4


def test_repeated_warnings_are_shown_once(caplog):
    task_logger = logging.getLogger("lm_eval.api.task")
    with caplog.at_level(logging.WARNING), quiet_repeats() as repeat:
        for task in ("bias_inheritance_a", "bias_inheritance_b", "bias_inheritance_c"):
            task_logger.warning("%s: Custom kwargs can be passed to `--metadata` in console.", task)
        task_logger.warning("Another warning")
    texts = [r.getMessage() for r in caplog.records]
    assert sum("Custom kwargs" in t for t in texts) == 1
    assert "Another warning" in texts
    assert sum(repeat.hidden.values()) == 2
    assert any("2 repeated warning(s) hidden" in t for t in texts)
    task_logger.warning("%s: Custom kwargs can be passed to `--metadata` in console.", "after")
    assert sum("Custom kwargs" in r.getMessage() for r in caplog.records) == 2  # the filter is gone after the run


@pytest.mark.slow
def test_changed_task_code_is_evaluated_again(tiny_model_dir, gender_sample, tmp_path, lm_eval_calls, monkeypatch):
    """A prompt or parser edited in a task's Python (same YAML, same version) never reuses old results."""
    from evaluation import selection

    out = tmp_path / "r.json"
    evaluate(tiny_model_dir, [BIOS], out, limit=2)
    evaluate(tiny_model_dir, [BIOS], out, limit=2)
    assert len(lm_eval_calls) == 1
    monkeypatch.setattr(selection, "code_sha256", lambda folders: "0" * 64)  # as if a task file had changed
    evaluate(tiny_model_dir, [BIOS], out, limit=2)
    assert len(lm_eval_calls) == 2


def test_vllm_backend_is_checked_first_and_serves_the_adapter_as_a_lora_request(tmp_path, monkeypatch):
    """No vLLM here: the backend is refused in one line before any model loads; with vLLM the
    adapter goes to lm-eval's vLLM model as a LoRA request whose rank limit fits the adapter."""
    monkeypatch.setattr(evaluate_module, "resolve_model", no_model)
    with pytest.raises(UserError, match="Unknown evaluation backend 'tgi'"):
        evaluate_model("embedded", ["bias_inheritance_gender_bios"], tmp_path / "r.json", backend="tgi")
    if evaluate_module.importlib.util.find_spec("vllm") is None:
        with pytest.raises(UserError, match=r"bias-inheritance\[vllm\]"):
            evaluate_model("embedded", ["bias_inheritance_gender_bios"], tmp_path / "r.json", backend="vllm")
    adapter = tmp_path / "adapter"
    adapter.mkdir()
    (adapter / "adapter_config.json").write_text(json.dumps({"r": 64}))
    run = evaluate_module._Run(resolved="/m", model={}, adapter=evaluate_module.Adapter(adapter, {}, None, None),
                               format="chat", limit=None, gen_kwargs=None, metadata={}, device="cuda",
                               dtype="bfloat16", backend="vllm")
    assert evaluate_module.lm_eval_model_args(run) == {"pretrained": "/m", "dtype": "bfloat16",
                                                       "lora_local_path": str(adapter), "max_lora_rank": 64}
    hf = evaluate_module._Run(**{**run.__dict__, "backend": "hf"})
    assert evaluate_module.lm_eval_model_args(hf) == {"pretrained": "/m", "dtype": "bfloat16", "peft": str(adapter)}
