import pytest

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from generators import augment
from generators.augment import GenerationSettings, generate_gender_augmentation, generation_inputs, infer_gender


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


def _card(path):
    return cards.read_card(cards.card_path(path))


def test_rows_and_card_by_hand(tmp_path):
    gen, out = FakeGenerator(), tmp_path / "a.jsonl"
    settings = GenerationSettings(bias_type=4, count=5, batch_size=2, seed=7)
    rows = generate_gender_augmentation(settings, out, gen)
    # Batches start at 0, 2, 4, seeded 7 * 1_000_003 + start = 7000021 (odd), 7000023, 7000025.
    assert gen.calls == [(2, 7000021), (2, 7000023), (1, 7000025)]
    assert [r["gender"] for r in rows] == ["male", "female", "male", "female", "male"]
    assert [r["id"] for r in rows] == [f"aug-4-7-00000{i}" for i in range(5)]
    assert rows[1]["text"] == "She is outstanding at work 7000021-1."
    assert read_jsonl(out) == rows
    sampling = {"max_new_tokens": 160, "temperature": 0.7, "top_p": 0.9}
    assert rows[0]["generator"] == {"model": gen.identity, "name": "fake-model", "seed": 7, "sampling": sampling}
    card = _card(out)
    assert card["stage"] == "generate" and card["status"] == "complete"
    assert card["inputs"] == {"bias_type": 4, "count": 5, "seed": 7, "generator": gen.identity, "sampling": sampling,
                              "batch_size": 2, "prompt_version": augment.PROMPT_VERSION}
    assert card["key"] == cards.stage_key("generate", generation_inputs(settings, gen.identity))
    assert card["summary"]["rows"] == 5 and card["summary"]["content_sha256"] == content_hash(rows)
    assert card["summary"]["gender"] == {"female": 2, "male": 3}
    prov = card["summary"]["provenance"]
    assert prov["bias_type"] == 4 and prov["generator"] == gen.identity and prov["seed"] == 7 and prov["gamma"] is None


def test_killed_run_resumes_from_its_partial_card_and_matches_an_uninterrupted_run(tmp_path):
    settings = GenerationSettings(bias_type=0, count=7, batch_size=3)
    out = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_gender_augmentation(settings, out, FakeGenerator(die_after_batches=1))
    assert len(read_jsonl(out)) == 3 and _card(out)["status"] == "partial"
    gen = FakeGenerator()
    rows = generate_gender_augmentation(settings, out, gen)
    assert gen.calls == [(3, 3), (1, 6)]  # only the missing batches, seeded as in one run
    assert rows == generate_gender_augmentation(settings, tmp_path / "whole.jsonl", FakeGenerator())
    finished = FakeGenerator()
    assert generate_gender_augmentation(settings, out, finished) == rows and finished.calls == []
    assert _card(out)["status"] == "complete"


@pytest.mark.parametrize("change,named", [
    ({"temperature": 1.0}, "sampling.temperature"),
    ({"top_p": 0.5}, "sampling.top_p"),
    ({"max_new_tokens": 20}, "sampling.max_new_tokens"),
    ({"batch_size": 3}, "batch_size"),
    ({"count": 6}, "count"),
    ({"seed": 1}, "seed"),
    ({"bias_type": 0}, "bias_type"),
])
def test_changed_input_is_never_resumed_into_the_same_file(tmp_path, change, named):
    """Issue failure 2: after changing a sampling setting, rows of two runs ended up in one file."""
    base = dict(bias_type=4, count=4, batch_size=2)
    out = tmp_path / "a.jsonl"
    with pytest.raises(KeyboardInterrupt):
        generate_gender_augmentation(GenerationSettings(**base), out, FakeGenerator(die_after_batches=1))
    before = out.read_bytes()
    gen = FakeGenerator()
    with pytest.raises(UserError, match=rf"\({named} differ\)"):
        generate_gender_augmentation(GenerationSettings(**{**base, **change}), out, gen)
    assert gen.calls == [] and out.read_bytes() == before


def test_another_generator_model_is_never_resumed_into_the_same_file(tmp_path):
    out = tmp_path / "a.jsonl"
    generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator("org/model-a"))
    with pytest.raises(UserError, match=r"generator\.hub_id differ"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator("org/model-b"))


def test_changed_templates_are_never_reused(tmp_path, monkeypatch):
    out = tmp_path / "a.jsonl"
    generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())
    monkeypatch.setattr(augment, "PROMPT_VERSION", "gender-next")
    with pytest.raises(UserError, match="prompt_version differ"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())


def test_a_file_without_a_card_is_never_resumed(tmp_path):
    out = tmp_path / "a.jsonl"
    write_jsonl(out, [{"id": "aug-4-0-000000", "bias_type": 4, "generator": {"seed": 0}}])
    with pytest.raises(UserError, match="has no card"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())


def test_a_file_edited_after_its_card_is_refused(tmp_path):
    out = tmp_path / "a.jsonl"
    rows = generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())
    rows[0]["text"] = "edited"
    write_jsonl(out, rows)
    with pytest.raises(UserError, match="changed after its card"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), out, FakeGenerator())


@pytest.mark.parametrize(
    "text,expected",
    [("She founded her studio.", "female"), ("He and his team.", "male"), ("They lead the lab.", "unknown"),
     ("He met her.", "unknown"), ("Mr Li's wife", "unknown")],
)
def test_infer_gender(text, expected):
    assert infer_gender(text) == expected


@pytest.mark.parametrize("change,message", [
    ({"bias_type": "sexism"}, "Unknown bias type"), ({"count": 0}, "count must be at least 1"),
    ({"batch_size": 0}, "batch_size"), ({"temperature": -1}, "temperature"), ({"top_p": 0}, "top_p"),
])
def test_bad_settings_fail_before_generation(tmp_path, change, message):
    gen = FakeGenerator()
    with pytest.raises(UserError, match=message):
        generate_gender_augmentation(GenerationSettings(**{"bias_type": 0, "count": 2, **change}), tmp_path / "a.jsonl", gen)
    assert gen.calls == [] and not (tmp_path / "a.jsonl").exists()


@pytest.mark.slow
def test_hf_backend_end_to_end_with_the_chat_template(tiny_model_dir, tmp_path, cache_dir):
    from bias_inheritance.identity import model_identity
    from generators.backend import HFGenerator, SamplingSettings

    gen = HFGenerator(str(tiny_model_dir), SamplingSettings(max_new_tokens=8, temperature=0.7), {"kind": "test"}, device="cpu")
    prompts = ["Write a biography.", "A much longer prompt about a nurse in a hospital."]
    assert gen.generate(prompts, seed=3) == gen.generate(prompts, seed=3)  # seeded sampling is reproducible
    assert gen._render("x") == "<|user|>x<|end|><|assistant|>"  # tests/conftest.py CHAT_TEMPLATE by hand
    out = tmp_path / "a.jsonl"
    settings = GenerationSettings(bias_type=4, count=2, model=str(tiny_model_dir), max_new_tokens=4, device="cpu")
    rows = generate_gender_augmentation(settings, out)
    card = _card(out)
    assert card["inputs"]["generator"] == model_identity(str(tiny_model_dir)) == rows[0]["generator"]["model"]
    assert card["inputs"]["generator"]["kind"] == "local" and card["environment"]["device"] == "cpu"


def test_output_must_be_a_file_name(tmp_path):
    with pytest.raises(UserError, match="not a file name"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=2), tmp_path / "augmented", FakeGenerator())
