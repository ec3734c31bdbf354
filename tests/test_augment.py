import errno
import hashlib
import json
import random
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from generators import audit, augment, journal
from generators.augment import GenerationSettings, generate_augmentation, generation_inputs, sampling_seed
from generators.requests import GenerationRequest, Interpretation, request_id

REPO = Path(__file__).resolve().parents[1]


class FakeGenerator:
    """Deterministic stand-in: "She ..." when batch seed + position is even, "He ..." when odd."""

    def __init__(self, hub_id="fake-model", die_after_batches=None):
        self.name = hub_id
        self.identity = {"kind": "hub", "hub_id": hub_id, "revision": "main"}
        self.calls = []
        self.die_after_batches = die_after_batches

    def generate(self, prompts, seed):
        if self.die_after_batches is not None and len(self.calls) >= self.die_after_batches:
            raise KeyboardInterrupt("killed")
        self.calls.append((len(prompts), seed))
        return [("She" if (seed + i) % 2 == 0 else "He") + f" is outstanding at work {seed}-{i}." for i in range(len(prompts))]


class HashGenerator:
    """Slow-able and deterministic per (prompt, seed + position); about one text in four is empty."""

    name = "hash-model"
    identity = {"kind": "hub", "hub_id": "hash-model", "revision": "main"}

    def __init__(self, delay=0.0):
        self.delay = delay

    def generate(self, prompts, seed):
        time.sleep(self.delay)
        out = []
        for i, prompt in enumerate(prompts):
            h = int(hashlib.sha256(f"{prompt}|{seed + i}".encode()).hexdigest(), 16)
            out.append("" if h % 4 == 0 else f"{'She' if h % 2 else 'He'} wrote {h % 10_000}.")
        return out


class FakeBias:
    """A Bias (requests.py) by hand: professions in turn, gender order alternating, empty texts retried."""

    def __init__(self, name="gender", prompt_version="fake-1"):
        self.name, self.prompt_version = name, prompt_version

    def requests(self, bias_type, count, seed, options):
        if bias_type not in (0, 4):
            raise UserError(f"Bias type {bias_type} has no fake template.", "use 0 or 4.")
        out = []
        for i in range(count):
            profession = vocab.PROFESSIONS[i % len(vocab.PROFESSIONS)]
            genders = ["male", "female"] if (i + seed) % 2 == 0 else ["female", "male"]
            prompt = f"Write about a {profession} ({i})." + (" [paper]" if options.get("paper_wording") else "")
            out.append(GenerationRequest(
                id=request_id(self.name, bias_type, seed, i, self.prompt_version), bias=self.name,
                bias_type=bias_type, index=i, prompt=prompt,
                attributes={} if bias_type == 0 else {"genders": genders}, fields={"profession": profession}))
        return out

    def interpret(self, request, text):
        if not text.strip():
            return Interpretation({"gender": "unknown"}, usable=False, reason="empty", retry=True)
        return Interpretation({"gender": "female" if text.startswith("She") else "male"})


def _card(path):
    return cards.read_card(cards.card_path(path))


def _gen(settings, out, generator, bias=None, options=None):
    return generate_augmentation(bias or FakeBias(settings.bias), settings, out, generator, options)


def test_sampling_seed_by_hand():
    base = int(hashlib.sha256(b'{"attempt":2,"seed":7}').hexdigest()[:8], 16) >> 2
    assert sampling_seed(7, 0, 2) == base and sampling_seed(7, 12, 2) == base + 12
    assert len({sampling_seed(s, 0, a) for s in range(20) for a in range(1, 4)}) == 60
    assert all(0 <= sampling_seed(s, 3_600, a) < 2**31 for s in range(50) for a in range(1, 5))


def test_rows_and_card_by_hand(tmp_path):
    gen, out = FakeGenerator(), tmp_path / "a.jsonl"
    settings = GenerationSettings(bias_type=4, count=5, batch_size=2, seed=7)
    rows = _gen(settings, out, gen)
    s = sampling_seed(7, 0, 1)
    assert gen.calls == [(2, s), (2, s + 2), (1, s + 4)]  # batches start at requests 0, 2, 4
    parity = ["She" if (s + i) % 2 == 0 else "He" for i in range(5)]
    assert [r["gender"] for r in rows] == ["female" if p == "She" else "male" for p in parity]
    assert [r["id"] for r in rows] == [request_id("gender", 4, 7, i, "fake-1") for i in range(5)]
    assert rows[3]["text"] == f"{parity[3]} is outstanding at work {s + 2}-1."
    sampling = {"max_new_tokens": 160, "temperature": 0.7, "top_p": 0.9}
    record = {"model": gen.identity, "name": "fake-model", "seed": 7, "sampling": sampling}
    assert rows[1] == {
        "id": request_id("gender", 4, 7, 1, "fake-1"), "origin": "augmented", "bias": "gender", "bias_type": 4,
        "bias_type_name": "contrastive_single_explicit", "attributes": {"genders": ["male", "female"]},
        "prompt": "Write about a dentist (1).", "text": rows[1]["text"], "profession": "dentist",
        "gender": rows[1]["gender"], "usable": True, "unusable_reason": None, "attempts": 1, "generator": record}
    assert read_jsonl(out) == rows
    card = _card(out)
    assert card["stage"] == "generate" and card["status"] == "complete"
    assert card["inputs"] == {"bias": "gender", "bias_type": 4, "count": 5, "seed": 7, "generator": gen.identity,
                              "sampling": sampling, "batch_size": 2, "prompt_version": "fake-1", "options": {},
                              "max_attempts": 3}
    assert card["key"] == cards.stage_key("generate", generation_inputs(settings, FakeBias(), gen.identity, {}))
    summary = card["summary"]
    assert summary["rows"] == 5 and summary["usable"] == 5 and summary["content_sha256"] == content_hash(rows)
    assert summary["audit"] == "a.audit.json" and audit.audit_path(out) == tmp_path / "a.audit.json"
    written = json.loads((tmp_path / "a.audit.json").read_text())
    assert written["status"] == "complete" and written["rows"] == 5 and written["file"] == "a.jsonl"
    prov = summary["provenance"]
    assert prov["bias_type"] == 4 and prov["generator"] == gen.identity and prov["seed"] == 7 and prov["gamma"] is None


def test_retries_regenerate_only_what_asks_for_it_then_keep_the_row_unusable(tmp_path):
    class Scripted(FakeGenerator):
        """Request 1 is empty once, request 3 always."""

        def generate(self, prompts, seed):
            self.calls.append((list(prompts), seed))
            first = len([c for c in self.calls if "(1)" in " ".join(c[0])]) == 1
            return ["" if "(3)" in p or ("(1)" in p and first) else f"She {p}" for p in prompts]

    gen = Scripted()
    rows = _gen(GenerationSettings(bias_type=0, count=4, batch_size=4, seed=2, max_attempts=3), tmp_path / "a.jsonl", gen)
    p = [f"Write about a {vocab.PROFESSIONS[i]} ({i})." for i in range(4)]
    assert gen.calls == [(p, sampling_seed(2, 0, 1)), ([p[1], p[3]], sampling_seed(2, 0, 2)), ([p[3]], sampling_seed(2, 0, 3))]
    assert [r["attempts"] for r in rows] == [1, 2, 1, 3]
    assert [r["usable"] for r in rows] == [True, True, True, False]
    assert [r["unusable_reason"] for r in rows] == [None, None, None, "empty"]
    assert rows[1]["text"] == f"She {p[1]}" and rows[3]["text"] == ""
    assert _card(tmp_path / "a.jsonl")["summary"]["usable"] == 3


def test_killed_run_resumes_from_its_partial_card_and_matches_an_uninterrupted_run(tmp_path):
    settings = GenerationSettings(bias_type=0, count=7, batch_size=3)
    out = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _gen(settings, out, FakeGenerator(die_after_batches=1))
    assert len(read_jsonl(out)) == 3 and _card(out)["status"] == "partial"
    assert not audit.audit_path(out).exists()
    gen = FakeGenerator()
    rows = _gen(settings, out, gen)
    s = sampling_seed(0, 0, 1)
    assert gen.calls == [(3, s + 3), (1, s + 6)]  # only the missing batches, seeded as in one run
    assert rows == _gen(settings, tmp_path / "whole.jsonl", FakeGenerator())
    finished = FakeGenerator()
    assert _gen(settings, out, finished) == rows and finished.calls == []
    assert _card(out)["status"] == "complete"


def test_a_half_written_batch_is_regenerated_whole_and_only_its_missing_rows_appended(tmp_path):
    """A kill inside a batch's write leaves some of its rows and a torn line: the batch is redone with its seed."""
    settings = GenerationSettings(bias_type=4, count=8, batch_size=4)
    whole = _gen(settings, tmp_path / "whole.jsonl", HashGenerator())
    lines = (tmp_path / "whole.jsonl").read_bytes().splitlines(keepends=True)
    out = tmp_path / "a.jsonl"
    out.write_bytes(lines[0] + lines[5] + lines[0] + lines[6][:30])  # rows 0 and 5, a duplicate, a torn line
    inputs = generation_inputs(settings, FakeBias(), HashGenerator.identity, {})
    cards.write_card(out, "generate", inputs, status="partial")
    calls = []
    gen = HashGenerator()
    gen.generate = lambda prompts, seed: calls.append((len(prompts), seed)) or HashGenerator.generate(gen, prompts, seed)
    assert _gen(settings, out, gen) == whole
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert calls[0] == (4, sampling_seed(0, 0, 1)) and (4, sampling_seed(0, 4, 1)) in calls


def test_a_row_its_card_does_not_describe_is_refused(tmp_path):
    settings = GenerationSettings(bias_type=4, count=4, batch_size=2)
    out = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _gen(settings, out, FakeGenerator(die_after_batches=1))
    rows = read_jsonl(out)
    rows[0]["prompt"] = "something else"
    write_jsonl(out, rows)
    with pytest.raises(UserError, match="that its card does not describe"):
        _gen(settings, out, FakeGenerator())


@pytest.mark.parametrize("change,named", [
    ({"temperature": 1.0}, "sampling.temperature"),
    ({"top_p": 0.5}, "sampling.top_p"),
    ({"max_new_tokens": 20}, "sampling.max_new_tokens"),
    ({"batch_size": 3}, "batch_size"),
    ({"count": 6}, "count"),
    ({"seed": 1}, "seed"),
    ({"bias_type": 0}, "bias_type"),
    ({"max_attempts": 1}, "max_attempts"),
    ({"bias": "culture"}, "bias"),
])
def test_changed_input_is_never_resumed_into_the_same_file(tmp_path, change, named):
    """Issue 7 failure 2: after changing a sampling setting, rows of two runs ended up in one file."""
    base = dict(bias_type=4, count=4, batch_size=2)
    out = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt):
        _gen(GenerationSettings(**base), out, FakeGenerator(die_after_batches=1))
    before = out.read_bytes()
    gen = FakeGenerator()
    with pytest.raises(UserError, match=rf"\({named} differ\)"):
        _gen(GenerationSettings(**{**base, **change}), out, gen)
    assert gen.calls == [] and out.read_bytes() == before


def test_changed_options_or_templates_are_never_reused(tmp_path):
    out, settings = tmp_path / "a.jsonl", GenerationSettings(bias_type=4, count=2)
    _gen(settings, out, FakeGenerator())
    with pytest.raises(UserError, match=r"options\.paper_wording differ"):
        _gen(settings, out, FakeGenerator(), options={"paper_wording": True})
    with pytest.raises(UserError, match="prompt_version differ"):
        _gen(settings, out, FakeGenerator(), bias=FakeBias(prompt_version="fake-2"))
    with pytest.raises(UserError, match=r"generator\.hub_id differ"):
        _gen(settings, out, FakeGenerator("org/model-b"))


def test_data_options_enter_the_key_by_content_hash_and_parents_by_their_key(tmp_path):
    """Culture passes its questions (thousands of rows) as an option: the card keeps their hash, not them."""
    questions = [{"question_id": "q1", "question": "Is it?"}, {"question_id": "q2", "question": "Or not?"}]
    prepared = tmp_path / "opinions"
    prepared.mkdir()
    cards.write_card(prepared, "prepare", {"source": "sample"})
    parents = {"questions": cards.parent("questions", prepared)}
    out, settings = tmp_path / "a.jsonl", GenerationSettings(bias="culture", bias_type=4, count=2)
    generate_augmentation(FakeBias("culture"), settings, out, FakeGenerator(), {"questions": questions}, parents=parents)
    card = _card(out)
    assert card["inputs"]["options"] == {"questions": {"rows": 2, "content_sha256": content_hash(questions)}}
    assert card["parents"]["questions"]["key"] == parents["questions"].key
    assert card["key"] == cards.stage_key("generate", card["inputs"], parents)
    changed = [questions[0], {**questions[1], "question": "Or else?"}]
    with pytest.raises(UserError, match=r"options\.questions\.content_sha256 differ"):
        generate_augmentation(FakeBias("culture"), settings, out, FakeGenerator(), {"questions": changed}, parents=parents)
    cards.write_card(prepared, "prepare", {"source": "other"})
    with pytest.raises(UserError, match=r"upstream data \(a parent's key\) differ"):
        generate_augmentation(FakeBias("culture"), settings, out, FakeGenerator(), {"questions": questions},
                              parents={"questions": cards.parent("questions", prepared)})


def test_a_file_without_a_card_is_never_resumed(tmp_path):
    out = tmp_path / "a.jsonl"
    write_jsonl(out, [{"id": "x", "bias_type": 4, "generator": {"seed": 0}}])
    with pytest.raises(UserError, match="has no card"):
        _gen(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())


def test_a_file_edited_after_its_card_is_refused(tmp_path):
    out = tmp_path / "a.jsonl"
    rows = _gen(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())
    rows[0]["text"] = "edited"
    write_jsonl(out, rows)
    with pytest.raises(UserError, match="changed after its card"):
        _gen(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())


def test_a_finished_set_missing_its_audit_gets_it_back_without_generating(tmp_path):
    out = tmp_path / "a.jsonl"
    _gen(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())
    written = audit.audit_path(out).read_text()
    audit.audit_path(out).unlink()
    gen = FakeGenerator()
    _gen(GenerationSettings(bias_type=4, count=2), out, gen)
    assert gen.calls == [] and audit.audit_path(out).read_text() == written


@pytest.mark.parametrize("change,message", [
    ({"bias_type": "sexism"}, "Unknown bias type"), ({"count": 0}, "count must be at least 1"),
    ({"batch_size": 0}, "batch_size"), ({"temperature": -1}, "temperature"), ({"top_p": 0}, "top_p"),
    ({"max_attempts": 0}, "max_attempts"), ({"bias": "religion"}, "Unknown bias 'religion'"),
    ({"bias_type": 2}, "no fake template"),
])
def test_bad_settings_fail_before_generation(tmp_path, change, message):
    gen = FakeGenerator()
    with pytest.raises(UserError, match=message):
        settings = GenerationSettings(**{"bias_type": 0, "count": 2, **change})
        generate_augmentation(FakeBias(), settings, tmp_path / "a.jsonl", gen)
    assert gen.calls == [] and not (tmp_path / "a.jsonl").exists()


@pytest.mark.parametrize("change,message", [
    ({"backend": "tgi"}, "Unknown backend 'tgi'"),
    ({"backend": "openai", "model": "embedded", "base_url": "http://127.0.0.1:9/v1"}, "needs the served model's name"),
])
def test_backend_settings_are_checked_before_anything_is_written(tmp_path, change, message):
    with pytest.raises(UserError, match=message):
        generate_augmentation(FakeBias(), GenerationSettings(bias_type=0, count=2, **change), tmp_path / "a.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_backend_that_cannot_start_leaves_nothing_behind(tmp_path, monkeypatch):
    import generators.backends as backends

    def cannot_start(*args, **kwargs):
        raise UserError("The vLLM backend needs the `vllm` package, which is not installed.")

    monkeypatch.setattr(backends, "generator_identity", lambda *args: {"kind": "hub", "hub_id": "m", "backend": "vllm"})
    monkeypatch.setattr(backends, "make_generator", cannot_start)
    out = tmp_path / "a.jsonl"
    with pytest.raises(UserError, match="needs the `vllm` package"):
        generate_augmentation(FakeBias(), GenerationSettings(bias_type=0, count=2, backend="vllm"), out)
    assert list(tmp_path.iterdir()) == []
    assert len(_gen(GenerationSettings(bias_type=0, count=2), out, FakeGenerator())) == 2  # nothing to refuse


def test_a_bias_may_not_overwrite_the_loops_row_fields(tmp_path):
    class Clashing(FakeBias):
        def interpret(self, request, text):
            return Interpretation({"text": "rewritten"})

    with pytest.raises(ValueError, match=r"row fields the loop owns: \['text'\]"):
        generate_augmentation(Clashing(), GenerationSettings(bias_type=0, count=1), tmp_path / "a.jsonl", FakeGenerator())


def test_full_disk_is_one_line_and_the_file_stays_resumable(tmp_path, monkeypatch):
    settings = GenerationSettings(bias_type=4, count=6, batch_size=2)
    out = tmp_path / "a.jsonl"
    real_write, writes = journal._write, []

    def full_on_second(fd, data):
        writes.append(len(data))
        if len(writes) == 2:
            real_write(fd, data[: len(data) // 2])  # a torn line, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(fd, data)

    monkeypatch.setattr(journal, "_write", full_on_second)
    with pytest.raises(UserError, match=r"^No space left on the device while writing .*a\.jsonl.*Fix: free some disk"):
        _gen(settings, out, FakeGenerator())
    kept = journal.read_journal(out)
    assert len(kept.rows) == 2 and kept.torn_bytes == 0 and _card(out)["status"] == "partial"
    monkeypatch.setattr(journal, "_write", real_write)

    def full_rewrite(path, rows):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(augment, "write_jsonl", full_rewrite)  # the disk fills at the final ordered rewrite
    with pytest.raises(UserError, match="No space left"):
        _gen(settings, out, FakeGenerator())
    assert len(journal.read_journal(out).rows) == 6 and _card(out)["status"] == "partial"
    monkeypatch.undo()
    gen = FakeGenerator()
    assert _gen(settings, out, gen) == _gen(settings, tmp_path / "whole.jsonl", FakeGenerator()) and gen.calls == []


def run_child(out: str, count: int, delay: float) -> None:
    """The generation process the kill test starts (and kills)."""
    generate_augmentation(FakeBias(), GenerationSettings(bias_type=4, count=count, batch_size=3), Path(out),
                          HashGenerator(delay))


def test_sigkilled_generation_process_finishes_with_no_lost_duplicate_or_torn_row(tmp_path):
    """Issue 8: kill a real generating process at random moments, several times, then let it finish."""
    count, delay = 60, 0.01
    whole = run_child(str(tmp_path / "whole.jsonl"), count, 0.0) or read_jsonl(tmp_path / "whole.jsonl")
    by_id = {row["id"]: row for row in whole}
    out, rng = tmp_path / "killed.jsonl", random.Random(8)
    code = f"from tests.test_augment import run_child; run_child({str(out)!r}, {count}, {delay})"

    def start():
        return subprocess.Popen([sys.executable, "-c", code], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    killed_with = []
    for target in [0, *sorted(rng.sample(range(3, count - 3), 5))]:
        process = start()
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline and (
                not out.exists() or out.read_bytes().count(b"\n") < target):
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 2 * delay))
        process.kill()
        assert process.wait() == -9, "the process finished before it was killed"
        contents = journal.read_journal(out)
        assert contents.duplicates == 0 and all(by_id[r["id"]] == r for r in contents.rows)
        killed_with.append(len(contents.rows))
    assert killed_with == sorted(killed_with) and 0 < killed_with[-1] < count
    assert start().wait(timeout=60) == 0
    assert out.read_bytes() == (tmp_path / "whole.jsonl").read_bytes()
    assert read_jsonl(out) == whole and _card(out)["status"] == "complete"


def test_generate_gender_augmentation_is_the_gender_bias_through_the_loop(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "generators.gender", types.SimpleNamespace(GENDER_BIAS=FakeBias()))
    settings = GenerationSettings(bias_type=4, count=3)
    rows = augment.generate_gender_augmentation(settings, tmp_path / "a.jsonl", FakeGenerator())
    assert rows == _gen(settings, tmp_path / "b.jsonl", FakeGenerator())
    with pytest.raises(UserError, match="Unknown bias 'religion'"):
        augment.bias_named("religion")


@pytest.mark.slow
def test_hf_backend_end_to_end_with_the_chat_template(tiny_model_dir, tmp_path, cache_dir):
    from bias_inheritance.identity import model_identity

    out = tmp_path / "a.jsonl"
    settings = GenerationSettings(bias_type=4, count=2, model=str(tiny_model_dir), max_new_tokens=4, device="cpu")
    rows = generate_augmentation(FakeBias(), settings, out)
    card = _card(out)
    assert card["inputs"]["generator"] == model_identity(str(tiny_model_dir)) == rows[0]["generator"]["model"]
    assert card["inputs"]["generator"]["kind"] == "local" and card["environment"]["device"] == "cpu"
    assert rows == generate_augmentation(FakeBias(), settings, tmp_path / "b.jsonl")  # seeded: reproducible


def test_output_must_be_a_file_name(tmp_path):
    with pytest.raises(UserError, match="not a file name"):
        _gen(GenerationSettings(bias_type=4, count=2), tmp_path / "augmented", FakeGenerator())
