from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from generators.augment import GenerationSettings, generate_gender_augmentation
from generators.mixing import mix, mix_and_write
from tests.test_augment import FakeGenerator


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
    assert result.gamma == gamma and result.gamma_realised == round(gamma * total) / total
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


def _augmented_file(tmp_path, **change):
    path = tmp_path / "augmented.jsonl"
    generate_gender_augmentation(GenerationSettings(bias_type=4, count=12, batch_size=4, **change), path, FakeGenerator())
    return path


def test_mix_card_chains_to_d_a_and_d_o_and_records_realised_gamma(tmp_path, gender_sample):
    augmented = _augmented_file(tmp_path)
    out = tmp_path / "mixed.jsonl"
    result = mix_and_write(augmented, out, gamma=0.05, total=30, seed=3, original=gender_sample)
    rows = read_jsonl(out)
    assert rows == result.rows and len(rows) == 30
    added = [r for r in rows if r["origin"] == "augmented"]
    assert len(added) == 2 and result.gamma_realised == 2 / 30  # round(0.05 * 30) = round(1.5) = 2
    by_id = {r["id"]: r for r in read_jsonl(augmented)}
    assert all(r["generator"] == by_id[r["id"]]["generator"] for r in added)  # the generator field is kept
    assert all(r["generator"] is None and r["bias_type"] is None for r in rows if r["origin"] == "original")
    card = cards.read_card(cards.card_path(out))
    assert card == result.card and card["stage"] == "mix" and card["status"] == "complete"
    d_a, d_o = cards.read_card(cards.card_path(augmented)), cards.read_card(gender_sample / "card.json")
    assert card["parents"]["augmented"]["key"] == d_a["key"] and card["parents"]["original"]["key"] == d_o["key"]
    assert card["inputs"]["augmented_sha256"] == content_hash(read_jsonl(augmented))
    assert card["inputs"]["original_sha256"] == content_hash(read_jsonl(gender_sample / "train.jsonl"))
    assert {k: card["inputs"][k] for k in ("gamma", "total", "seed")} == {"gamma": 0.05, "total": 30, "seed": 3}
    summary = card["summary"]
    assert summary["gamma"] == 0.05 and summary["gamma_realised"] == 2 / 30 and summary["bias_types"] == [4]
    assert summary["content_sha256"] == content_hash(rows) and summary["counts"]["augmented"] == 2
    prov = summary["provenance"]
    assert prov["data_sha256"] == content_hash(rows) and prov["gamma"] == 0.05 and prov["gamma_realised"] == 2 / 30
    assert prov["bias_type"] == 4 and prov["generator"] == FakeGenerator().identity
    assert prov["data_source"] == d_o["summary"]["provenance"]["data_source"] and "SYNTHETIC" in prov["data_source"]
    assert [c["stage"] for c in cards.chain(out)["parents_cards"].values()] == ["generate", "prepare"]


def test_same_inputs_reuse_and_a_changed_gamma_is_refused(tmp_path, gender_sample):
    augmented, out = _augmented_file(tmp_path), tmp_path / "mixed.jsonl"
    first = mix_and_write(augmented, out, 0.2, 30, 0, gender_sample)
    written = out.stat().st_mtime_ns
    assert mix_and_write(augmented, out, 0.2, 30, 0, gender_sample).card == first.card
    assert out.stat().st_mtime_ns == written
    with pytest.raises(UserError, match=r"\(gamma differ\)"):
        mix_and_write(augmented, out, 0.1, 30, 0, gender_sample)
    other = mix_and_write(augmented, tmp_path / "other.jsonl", 0.1, 30, 0, gender_sample)
    assert other.gamma_realised == 0.1 and other.content_sha256 != first.content_sha256


def test_regenerated_d_a_is_not_reused_by_an_old_mix(tmp_path, gender_sample):
    augmented, out = _augmented_file(tmp_path), tmp_path / "mixed.jsonl"
    mix_and_write(augmented, out, 0.2, 30, 0, gender_sample)
    augmented.unlink()
    cards.card_path(augmented).unlink()
    _augmented_file(tmp_path, temperature=1.5)  # same path, other generation inputs (and rows)
    with pytest.raises(UserError, match="augmented_sha256"):
        mix_and_write(augmented, out, 0.2, 30, 0, gender_sample)


def test_card_less_original_file_is_keyed_by_its_content(tmp_path, gender_sample):
    original = tmp_path / "d_o.jsonl"
    write_jsonl(original, _original(3))
    result = mix_and_write(_augmented_file(tmp_path), tmp_path / "m.jsonl", 0.5, 12, 0, original)
    assert set(result.card["parents"]) == {"augmented"}
    assert result.card["inputs"]["original_sha256"] == content_hash(_original(3))
    assert result.card["summary"]["provenance"]["data_source"] == f"file:{original.resolve()}"


def test_an_existing_file_without_a_card_is_not_overwritten(tmp_path, gender_sample):
    out = tmp_path / "mixed.jsonl"
    out.write_text("{}\n")
    with pytest.raises(UserError, match="has no card"):
        mix_and_write(_augmented_file(tmp_path), out, 0.2, 30, 0, gender_sample)
    assert out.read_text() == "{}\n"


def test_d_a_edited_after_its_card_is_refused(tmp_path, gender_sample):
    augmented = _augmented_file(tmp_path)
    rows = read_jsonl(augmented)
    rows[0]["gender"] = "male" if rows[0]["gender"] == "female" else "female"
    write_jsonl(augmented, rows)
    with pytest.raises(UserError, match="changed after its card"):
        mix_and_write(augmented, tmp_path / "m.jsonl", 0.2, 30, 0, gender_sample)
