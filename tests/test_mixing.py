from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json, read_jsonl
from generators.mixing import meta_path, mix, mix_and_write


def _original(per_cell: int) -> list[dict]:
    return [
        {"id": f"o-{p}-{g}-{i}", "text": f"bio {i}", "profession": p, "gender": g}
        for p in vocab.PROFESSIONS for g in vocab.GENDERS for i in range(per_cell)
    ]


def _augmented(per_profession: int) -> list[dict]:
    return [
        {"id": f"a-{p}-{i}", "text": f"generated {i}", "profession": p, "gender": "female" if i % 3 else "male", "bias_type": 4}
        for p in vocab.PROFESSIONS for i in range(per_profession)
    ]


@settings(max_examples=40, deadline=None)
@given(gamma=st.sampled_from([0.0, 0.05, 0.1, 0.2, 0.5, 0.9]), total=st.integers(12, 120), seed=st.integers(0, 5))
def test_mix_keeps_size_ratio_and_balance(gamma, total, seed):
    original, augmented = _original(10), _augmented(20)
    result = mix(original, augmented, gamma, total, seed)
    origins = Counter(r["origin"] for r in result.rows)
    assert len(result.rows) == total
    assert origins["augmented"] == round(gamma * total)
    cells = Counter((r["profession"], r["gender"]) for r in result.rows if r["origin"] == "original")
    counts = [cells.get((p, g), 0) for p in vocab.PROFESSIONS for g in vocab.GENDERS]
    assert max(counts) - min(counts) <= 1  # D_o's profession x gender balance is kept
    professions = Counter(r["profession"] for r in result.rows if r["origin"] == "augmented")
    per_prof = [professions.get(p, 0) for p in vocab.PROFESSIONS]
    assert max(per_prof) - min(per_prof) <= 1
    assert len({r["id"] for r in result.rows}) == total  # no row twice


def test_mix_is_deterministic_per_seed():
    original, augmented = _original(10), _augmented(20)
    assert mix(original, augmented, 0.2, 60, 1).content_sha256 == mix(original, augmented, 0.2, 60, 1).content_sha256
    assert mix(original, augmented, 0.2, 60, 1).content_sha256 != mix(original, augmented, 0.2, 60, 2).content_sha256


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma):
    with pytest.raises(UserError, match=r"outside \[0, 1\)"):
        mix(_original(2), _augmented(2), gamma)


def test_too_few_augmented_rows_names_the_cell():
    with pytest.raises(UserError, match="Not enough augmented rows"):
        mix(_original(10), _augmented(1), 0.5, 60)


def test_empty_generations_are_counted_not_silently_used():
    augmented = _augmented(4)
    augmented[0]["text"] = "   "
    result = mix(_original(4), augmented, 0.25, 24)
    assert result.counts["augmented_empty_skipped"] == 1
    assert all(r["text"].strip() for r in result.rows)


def test_rows_missing_fields_are_rejected():
    with pytest.raises(UserError, match="lacks profession"):
        mix([{"id": "x", "text": "t"}], [], 0.0)


def test_mix_and_write_records_hash_gamma_and_source(tmp_path):
    out = tmp_path / "mixed.jsonl"
    result = mix_and_write(_original(4), _augmented(4), 0.5, 24, 0, out, {"kind": "sample"})
    meta = read_json(meta_path(out))
    assert read_jsonl(out) == result.rows
    assert meta["content_sha256"] == result.content_sha256 and meta["gamma"] == 0.5
    assert meta["bias_types"] == [4] and meta["original_source"] == {"kind": "sample"}
