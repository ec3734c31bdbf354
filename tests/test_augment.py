import pytest

from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl
from generators.augment import GenerationSettings, generate_gender_augmentation, infer_gender


class FakeGenerator:
    """Deterministic stand-in: writes a female biography for even prompts, male for odd."""

    name = "fake-model"

    def __init__(self):
        self.calls = []

    def generate(self, prompts, seed):
        self.calls.append((len(prompts), seed))
        return [("She" if (seed + i) % 2 == 0 else "He") + f" is outstanding at work {seed}-{i}." for i in range(len(prompts))]


def test_rows_carry_provenance_and_inferred_gender(tmp_path):
    gen = FakeGenerator()
    rows = generate_gender_augmentation(GenerationSettings(bias_type=4, count=5, batch_size=2, seed=7), tmp_path / "a.jsonl", gen)
    assert len(rows) == 5 and read_jsonl(tmp_path / "a.jsonl") == rows
    first = rows[0]
    assert first["bias_type"] == 4 and first["bias_type_name"] == "contrastive_single_explicit"
    assert first["prompt"].startswith("A ") and first["attributes"]["workplace"]
    assert first["generator"]["model"] == "fake-model" and first["generator"]["seed"] == 7
    assert first["origin"] == "augmented" and first["gender"] in ("male", "female")
    assert [c[0] for c in gen.calls] == [2, 2, 1]


def test_interrupted_run_resumes_without_regenerating(tmp_path):
    out = tmp_path / "a.jsonl"
    generate_gender_augmentation(GenerationSettings(bias_type=0, count=3, batch_size=3), out, FakeGenerator())
    before = read_jsonl(out)
    gen = FakeGenerator()
    rows = generate_gender_augmentation(GenerationSettings(bias_type=0, count=7, batch_size=3), out, gen)
    assert rows[:3] == before and len(rows) == 7
    assert sum(n for n, _ in gen.calls) == 4
    finished = FakeGenerator()
    assert generate_gender_augmentation(GenerationSettings(bias_type=0, count=7, batch_size=3), out, finished) == rows
    assert finished.calls == []


def test_resuming_a_file_of_another_type_is_refused(tmp_path):
    out = tmp_path / "a.jsonl"
    generate_gender_augmentation(GenerationSettings(bias_type=0, count=2), out, FakeGenerator())
    with pytest.raises(UserError, match="cannot be resumed"):
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=4), out, FakeGenerator())


@pytest.mark.parametrize(
    "text,expected",
    [("She founded her studio.", "female"), ("He and his team.", "male"), ("They lead the lab.", "unknown"),
     ("He met her.", "unknown"), ("Mr Li's wife", "unknown")],
)
def test_infer_gender(text, expected):
    assert infer_gender(text) == expected


def test_bad_settings_fail_before_generation(tmp_path):
    with pytest.raises(UserError, match="Unknown bias type"):
        generate_gender_augmentation(GenerationSettings(bias_type="sexism", count=2), tmp_path / "a.jsonl", FakeGenerator())
    with pytest.raises(UserError, match="count must be at least 1"):
        GenerationSettings(bias_type=0, count=0).validate()


@pytest.mark.slow
def test_hf_backend_generates_in_batches_with_the_chat_template(tiny_model_dir, tmp_path):
    from generators.backend import HFGenerator, SamplingSettings

    gen = HFGenerator(str(tiny_model_dir), SamplingSettings(max_new_tokens=8, temperature=0.7))
    a = gen.generate(["Write a biography.", "A much longer prompt about a nurse in a hospital."], seed=3)
    b = gen.generate(["Write a biography.", "A much longer prompt about a nurse in a hospital."], seed=3)
    assert len(a) == 2 and a == b  # seeded sampling is reproducible
    assert "<|user|>" in gen._render("x")
