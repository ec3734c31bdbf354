"""Generation backends: the factory, HF batching, vLLM's mapping (with a fake vllm), and the
OpenAI-compatible backend against a local fake server that is slow, fails, rate-limits and lies."""

from __future__ import annotations

import logging
import socket
import sys
import traceback
import types
from types import SimpleNamespace

import pytest
from fake_openai_server import FakeOpenAIServer, reply_text

from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json, model_identity
from generators.backends import (
    API_KEY_ENV, ApiOptions, HFGenerator, OpenAICompatGenerator, SamplingSettings, TextGenerator,
    generator_identity, make_generator,
)
from generators.backends.vllm import sampling_params_kwargs

SECRET = "sk-test-DO-NOT-LEAK-4f9a1c"
SAMPLING = SamplingSettings(max_new_tokens=33, temperature=0.6, top_p=0.85)


@pytest.fixture(autouse=True)
def api_key(monkeypatch):
    """Every test runs with a key set, so any test that writes or raises could leak it."""
    monkeypatch.setenv(API_KEY_ENV, SECRET)


@pytest.fixture
def fake_server():
    """Start fake servers on 127.0.0.1 (free ports) in threads; all stop when the test ends."""
    servers = []

    def start(schedule=(), **options):
        servers.append(FakeOpenAIServer(schedule, **options).__enter__())
        return servers[-1]

    yield start
    for server in servers:
        server.__exit__(None, None, None)


def api(server, sampling=SAMPLING, **options):
    return OpenAICompatGenerator(server.url, "served-model", sampling, ApiOptions(**{"timeout_s": 5, **options}))


def one_line_error(info) -> str:
    text = str(info.value)
    assert "\n" not in text and SECRET not in "".join(traceback.format_exception(info.value))
    return text


# ---- factory and interface ----------------------------------------------------------------------

@pytest.mark.parametrize("backend,model,base_url,message", [
    ("tgi", "m", None, "Unknown backend 'tgi'"),
    ("openai", "m", None, "needs the server's address"),
    ("openai", "embedded", "http://127.0.0.1:1/v1", "served model's name"),
    ("openai", "m", "127.0.0.1:8000/v1", "is not an http"),
    ("hf", "embedded", "http://127.0.0.1:1/v1", "--base-url is for --backend openai only"),
])
def test_factory_rejects_bad_choices_before_loading_anything(backend, model, base_url, message):
    with pytest.raises(UserError, match=message):
        make_generator(backend, model, SAMPLING, base_url=base_url)


@pytest.mark.parametrize("url", [f"http://user:{SECRET}@127.0.0.1:8000/v1", f"https://api.example/v1?api-key={SECRET}"])
def test_a_base_url_carrying_a_secret_is_refused_without_echoing_it(url):
    with pytest.raises(UserError, match="must not carry credentials") as info:
        make_generator("openai", "m", SAMPLING, base_url=url)
    one_line_error(info)


def test_api_identity_is_url_and_model_only():
    gen = make_generator("openai", " served-model ", SAMPLING, base_url="http://127.0.0.1:9/v1/")
    expected = {"kind": "api", "base_url": "http://127.0.0.1:9/v1", "model": "served-model"}
    assert gen.identity == generator_identity("openai", "served-model", "http://127.0.0.1:9/v1/") == expected
    assert isinstance(gen, TextGenerator) and gen.name == "served-model"


@pytest.mark.parametrize("options,message", [
    ({"concurrency": 0}, "concurrency"), ({"timeout_s": 0}, "timeout"), ({"max_retries": -1}, "max_retries"),
])
def test_bad_api_options_are_user_errors(options, message):
    with pytest.raises(UserError, match=message):
        OpenAICompatGenerator("http://127.0.0.1:9/v1", "m", SAMPLING, ApiOptions(**options))


def test_hf_batched_greedy_equals_one_at_a_time(tiny_model_dir):
    """Left padding with its attention mask: a prompt's text does not depend on its batch-mates."""
    gen = make_generator("hf", str(tiny_model_dir), SamplingSettings(max_new_tokens=6, temperature=0), device="cpu")
    assert isinstance(gen, HFGenerator) and gen.identity == model_identity(str(tiny_model_dir))
    assert gen.tokenizer.padding_side == "left"
    # The random tiny model's greedy choice is a special token (decoded as ""): forbid those.
    gen.model.generation_config.suppress_tokens = sorted(gen.tokenizer.added_tokens_decoder)
    prompts = ["Write a biography.", "A much longer prompt about a nurse who works in a busy city hospital.", "Hi"]
    batched = gen.generate(prompts, seed=0)
    assert batched == [gen.generate([p], seed=0)[0] for p in prompts]
    assert all(batched)


# ---- vLLM, without vllm --------------------------------------------------------------------------

def test_vllm_missing_is_a_user_error_naming_the_extra(monkeypatch, tiny_model_dir):
    monkeypatch.setitem(sys.modules, "vllm", None)  # makes `import vllm` raise ImportError
    with pytest.raises(UserError, match=r"pip install bias-inheritance\[vllm\]") as info:
        make_generator("vllm", str(tiny_model_dir), SAMPLING, device="cpu")
    assert "not installed" in one_line_error(info)


@pytest.fixture
def fake_vllm(monkeypatch):
    """A stand-in `vllm` module: LLM records what it is given; SamplingParams returns its kwargs."""
    from transformers import AutoTokenizer

    calls = {}

    class LLM:
        def __init__(self, **kwargs):
            calls["init"] = kwargs
            self._tokenizer = AutoTokenizer.from_pretrained(kwargs["tokenizer"])

        def get_tokenizer(self):
            return self._tokenizer

        def generate(self, inputs, params, use_tqdm=True):
            calls["generate"] = (inputs, params, use_tqdm)
            return [SimpleNamespace(outputs=[SimpleNamespace(text=f"  text {i}\n")]) for i in range(len(inputs))]

    monkeypatch.setitem(sys.modules, "vllm", types.SimpleNamespace(LLM=LLM, SamplingParams=lambda **kw: kw))
    return calls


def test_vllm_renders_the_chat_template_and_seeds_each_prompt(fake_vllm, tiny_model_dir):
    gen = make_generator("vllm", str(tiny_model_dir), SAMPLING, device="cpu")
    assert gen.identity == {**model_identity(str(tiny_model_dir)), "backend": "vllm"}
    assert fake_vllm["init"] == {"model": str(tiny_model_dir), "tokenizer": str(tiny_model_dir)}
    assert gen.generate(["x", "Write a biography."], seed=10) == ["text 0", "text 1"]
    inputs, params, use_tqdm = fake_vllm["generate"]
    # tests/conftest.py CHAT_TEMPLATE by hand; passed as ids so vLLM adds no special token of its own.
    assert gen.tokenizer.decode(inputs[0]["prompt_token_ids"]) == "<|user|>x<|end|><|assistant|>"
    assert gen.tokenizer.decode(inputs[1]["prompt_token_ids"]) == "<|user|>Write a biography.<|end|><|assistant|>"
    assert params == [{"n": 1, "temperature": 0.6, "top_p": 0.85, "max_tokens": 33, "seed": 10},
                      {"n": 1, "temperature": 0.6, "top_p": 0.85, "max_tokens": 33, "seed": 11}]
    assert use_tqdm is False


def test_greedy_maps_to_temperature_zero_and_full_top_p():
    assert sampling_params_kwargs(SamplingSettings(max_new_tokens=5, temperature=0, top_p=0.3), seed=4) == {
        "n": 1, "temperature": 0.0, "top_p": 1.0, "max_tokens": 5, "seed": 4}


# ---- OpenAI-compatible endpoint against the fake server -------------------------------------------

def test_a_run_completes_against_a_flaky_server_in_prompt_order(fake_server):
    server = fake_server(["500", "429", "drop", "slow"], slow_s=0.2)
    prompts = [f"prompt {i}" for i in range(10)]
    texts = api(server, concurrency=4, max_retries=3).generate(prompts, seed=100)
    assert texts == [reply_text(p, 100 + i) for i, p in enumerate(prompts)]
    answered = [r for r in server.requests if r["behaviour"] in ("ok", "slow")]
    assert sorted(r["body"]["messages"][-1]["content"] for r in answered) == sorted(prompts)  # each exactly once
    assert len(server.requests) == len(prompts) + 3  # the 500, the 429 and the dropped request were retried
    body = answered[0]["body"]
    assert body["messages"] == [{"role": "user", "content": body["messages"][-1]["content"]}]
    assert {k: body[k] for k in ("model", "temperature", "top_p", "max_tokens")} == {
        "model": "served-model", "temperature": 0.6, "top_p": 0.85, "max_tokens": 33}


@pytest.mark.parametrize("concurrency", [1, 3])
def test_the_concurrency_limit_is_respected(fake_server, concurrency):
    server = fake_server(latency_s=0.05)
    prompts = [f"p{i}" for i in range(9)]
    assert api(server, concurrency=concurrency).generate(prompts, seed=0) == [reply_text(p, i) for i, p in enumerate(prompts)]
    assert server.max_in_flight == concurrency


def test_retries_back_off_exponentially_and_honour_retry_after(fake_server):
    server = fake_server(["drop", "drop", "429"], retry_after_s=0.3)
    assert api(server, concurrency=1, max_retries=3).generate(["p"], seed=5) == [reply_text("p", 5)]
    at = [r["at"] for r in server.requests]
    gaps = [b - a for a, b in zip(at, at[1:])]
    # The client waits 0.5 s * 2**retry less up to 25 % jitter, unless the server says Retry-After
    # (the third wait would otherwise be at least 1.5 s).
    assert len(gaps) == 3 and gaps[0] >= 0.37 and gaps[1] >= 0.74 and gaps[1] > gaps[0]
    assert 0.29 <= gaps[2] < 1.4


def test_persistent_server_errors_fail_after_the_retries(fake_server):
    server = fake_server(["500", "500"])
    with pytest.raises(UserError, match=r"answered HTTP 500: internal error") as info:
        api(server, max_retries=1).generate(["p"], seed=0)
    assert "raise --max-retries" in one_line_error(info) and len(server.requests) == 2


def test_an_unreachable_server_is_a_user_error_after_retries():
    with socket.socket() as sock:  # a port that was free a moment ago: nobody listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gen = OpenAICompatGenerator(f"http://127.0.0.1:{port}/v1", "m", SAMPLING, ApiOptions(max_retries=1, timeout_s=2))
    with pytest.raises(UserError, match=r"could not be reached in 2 attempt\(s\)") as info:
        gen.generate(["p"], seed=0)
    one_line_error(info)


def test_a_server_slower_than_the_timeout_is_a_user_error(fake_server):
    server = fake_server(["slow"], slow_s=1.0)
    with pytest.raises(UserError, match=r"did not answer within 0.1 s in 1 attempt") as info:
        api(server, timeout_s=0.1, max_retries=0).generate(["p"], seed=0)
    one_line_error(info)


@pytest.mark.parametrize("behaviour,message", [
    ("garbage", "not JSON"), ("html", "without choices"), ("no_choices", "without choices"),
])
def test_garbage_answers_are_one_line_user_errors(fake_server, behaviour, message):
    server = fake_server([behaviour])
    with pytest.raises(UserError, match=message) as info:
        api(server, concurrency=1).generate(["p", "q"], seed=0)
    assert "--base-url" in one_line_error(info)


def test_a_failing_request_stops_the_batch_without_sending_the_rest(fake_server):
    server = fake_server(["ok", "garbage"], latency_s=0.05)
    with pytest.raises(UserError, match="not JSON"):
        api(server, concurrency=2, max_retries=0).generate([f"p{i}" for i in range(12)], seed=0)
    assert len(server.requests) <= 4  # those in flight when it failed, not all 12


def test_the_api_key_is_sent_but_never_written_logged_or_shown(fake_server, tmp_path, cache_dir, caplog):
    from generators.augment import GenerationSettings, generate_gender_augmentation

    caplog.set_level(logging.DEBUG)
    server = fake_server()
    gen = api(server, max_retries=0)
    rows = generate_gender_augmentation(GenerationSettings(bias_type=4, count=3, batch_size=2), tmp_path / "a.jsonl", gen)
    assert len(rows) == 3 and server.requests[0]["authorization"] == f"Bearer {SECRET}"
    written = "".join(p.read_text(encoding="utf-8") for p in tmp_path.rglob("*") if p.is_file())
    assert "served-model" in written and SECRET not in written
    assert SECRET not in repr(gen) and SECRET not in canonical_json(gen.identity)
    server.schedule.append("echo_auth")  # a careless server repeats the Authorization header
    with pytest.raises(UserError, match=r"HTTP 401: invalid key in header Bearer \*\*\*") as info:
        gen.generate(["p"], seed=0)
    assert API_KEY_ENV in one_line_error(info)
    assert caplog.records and SECRET not in caplog.text


def test_without_a_key_a_placeholder_is_sent(fake_server, monkeypatch):
    monkeypatch.delenv(API_KEY_ENV)
    server = fake_server()
    assert api(server).generate(["p"], seed=1) == [reply_text("p", 1)]
    assert server.requests[0]["authorization"] == "Bearer EMPTY"


def test_the_generate_command_completes_against_a_flaky_server(fake_server, tmp_path, cache_dir, capsys):
    """Done-when of issue 8: the CLI, the OpenAI-compatible backend, retries, the card and the audit."""
    from bias_inheritance import cards
    from bias_inheritance.io import read_jsonl
    from pipeline.cli import main

    server = fake_server(["500", "429", "drop", "slow"], slow_s=0.2)
    out = tmp_path / "d_a.jsonl"
    argv = ["generate", "--bias", "gender", "--bias-type", "6", "--count", "12", "--backend", "openai",
            "--base-url", server.url, "--model", "served-model", "--concurrency", "4", "--max-retries", "3",
            "--batch-size", "6", "--out", str(out)]
    assert main(argv) == 0, capsys.readouterr().err
    rows = read_jsonl(out)
    assert len(rows) == 12 and len({r["id"] for r in rows}) == 12
    answered = {r["body"]["messages"][-1]["content"]: r["body"]["seed"] for r in server.requests
                if r["behaviour"] in ("ok", "slow")}
    assert [r["text"] for r in rows] == [reply_text(r["prompt"], answered[r["prompt"]]) for r in rows]
    assert cards.read_card(cards.card_path(out))["inputs"]["generator"] == {"kind": "api", "base_url": server.url,
                                                                           "model": "served-model"}
    assert len(server.requests) == 12 + 3  # the failed, rate-limited and dropped requests were retried
    assert main(["audit", str(out)]) == 0 and "12 rows of 12 requested" in capsys.readouterr().out
