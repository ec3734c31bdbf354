from collections import Counter
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from generators.mixing import mix, mix_and_write, mix_many, quota_allocations

GENERATOR = {"kind": "hub", "hub_id": "fake-model", "revision": "main"}


def _original(per_cell: int) -> list[dict]:
    return [
        {"id": f"o-{p}-{g}-{i}", "text": f"bio {i}", "profession": p, "gender": g, "split": "train"}
        for p in vocab.PROFESSIONS for g in vocab.GENDERS for i in range(per_cell)
    ]


def _augmented(per_profession: int, bias_type: int = 4) -> list[dict]:
    """D_a rows as `generate` writes them (gender inferred from the text)."""
    return [
        {"id": f"a-{p}-{i}", "origin": "augmented", "bias": "gender", "bias_type": bias_type, "attributes": {},
         "prompt": f"Write about a {p}.", "text": f"generated {i}", "profession": p,
         "gender": "female" if i % 3 else "male", "usable": True, "unusable_reason": None,
         "generator": {"model": GENERATOR, "name": "fake-model", "seed": 0}}
        for p in vocab.PROFESSIONS for i in range(per_profession)
    ]


def write_augmented(path, rows, **inputs) -> None:
    """A D_a file with a complete `generate` card, as `bias-inheritance generate` leaves it."""
    write_jsonl(path, rows)
    record = {"bias": rows[0]["bias"] if rows else "gender", "bias_type": 4, "count": len(rows), "seed": 0,
              "generator": GENERATOR, "sampling": {"temperature": 0.7}, "prompt_version": "test-prompts-1", **inputs}
    cards.write_card(path, "generate", record, summary={
        "rows": len(rows), "content_sha256": content_hash(rows),
        "provenance": {"bias_type": record["bias_type"], "generator": GENERATOR, "seed": 0}})


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


def test_quotas_by_hand():
    # 7 rows over weights 5:3:2, exact shares 3.5, 2.1, 1.4 -> 4, 2, 1 (as largest remainder here).
    assert quota_allocations({"a": 5, "b": 3, "c": 2}, [7])[7] == {"a": 4, "b": 2, "c": 1}
    # Equal strata: ties go to the stratum that sorts first, one row at a time.
    assert quota_allocations({"y": 1, "x": 1, "z": 1}, [0, 1, 4]) == {
        0: {"x": 0, "y": 0, "z": 0}, 1: {"x": 1, "y": 0, "z": 0}, 4: {"x": 2, "y": 1, "z": 1}}


def _hamilton(weights: list[int], n: int) -> list[int]:
    exact = [Fraction(n * w, sum(weights)) for w in weights]
    quotas = [int(e) for e in exact]
    for i in sorted(range(len(weights)), key=lambda i: -(exact[i] - quotas[i]))[: n - sum(quotas)]:
        quotas[i] += 1
    return quotas


def test_largest_remainder_would_break_nestedness_and_the_quota_method_does_not():
    # The Alabama paradox: with strata 1:3:3, largest remainder takes the only row of stratum 0 away
    # when the total grows from 3 to 4 (γ rising from 0.3 to 0.4 at |D| = 10): shares 3/7, 9/7, 9/7
    # give [1, 1, 1]; shares 4/7, 12/7, 12/7 give [0, 2, 2].
    weights = [1, 3, 3]
    assert _hamilton(weights, 3) == [1, 1, 1] and _hamilton(weights, 4) == [0, 2, 2]
    allocation = quota_allocations(dict(enumerate(weights)), [3, 4])
    assert all(allocation[3][k] <= allocation[4][k] for k in range(3))


@settings(max_examples=60, deadline=None)
@given(weights=st.lists(st.integers(0, 60), min_size=1, max_size=7).filter(lambda w: sum(w) > 0), top=st.integers(1, 150))
def test_quotas_are_house_monotone_and_within_quota(weights, top):
    allocation = quota_allocations(dict(enumerate(weights)), range(top + 1))
    for n in range(top + 1):
        assert sum(allocation[n].values()) == n
        for k, w in enumerate(weights):
            assert abs(Fraction(n * w, sum(weights)) - allocation[n][k]) < 1  # floor or ceiling of its share
            assert n == 0 or allocation[n - 1][k] <= allocation[n][k]  # never falls as the total grows


@pytest.mark.parametrize("gamma", [-0.1, 1.0, 1.5])
def test_gamma_outside_unit_interval_is_rejected(gamma):
    with pytest.raises(UserError, match=r"outside \[0, 1\)"):
        mix(_original(2), _augmented(2), gamma)


def test_too_few_augmented_rows_names_the_cell():
    with pytest.raises(UserError, match=r"Not enough augmented rows for architect at γ=0.5: 5 needed, 1 usable"):
        mix(_original(10), _augmented(1), 0.5, 60)


def test_unusable_rows_are_counted_and_never_mixed():
    augmented = _augmented(4)
    augmented[0].update(usable=False, unusable_reason="refusal")
    augmented[1].update(usable=False, unusable_reason="no_profession", profession=None)
    augmented[2]["text"] = "   "  # a row written before `usable` existed: empty text is unusable
    del augmented[2]["usable"]
    result = mix(_original(4), augmented, 0.25, 24)
    assert result.counts["augmented_unusable"] == {"empty": 1, "no_profession": 1, "refusal": 1}
    assert result.counts["augmented_usable"] == 21 and result.counts["augmented_available"] == 24
    assert not {r["id"] for r in result.rows} & {a["id"] for a in augmented[:3]}
    # Six augmented rows, one per profession: the architect stratum has only one usable row left.
    assert result.counts["by_origin_stratum"]["augmented/architect"] == 1


def test_rows_missing_fields_held_out_rows_and_duplicate_ids_are_rejected():
    with pytest.raises(UserError, match="lacks profession"):
        mix([{"id": "x", "text": "t"}], [], 0.0)
    original = _original(2)
    original[3]["split"] = "test"
    with pytest.raises(UserError, match=r"from the 'test' split"):
        mix(original, [], 0.0)
    augmented = _augmented(2)
    augmented[0]["id"] = _original(2)[0]["id"]
    with pytest.raises(UserError, match="occurs more than once"):
        mix(_original(2), augmented, 0.2, 10)


def _culture_original(per_culture: dict[str, int]) -> list[dict]:
    return [{"id": f"q{i}-{c}", "question_id": f"q{i}", "question": f"Question {i}?", "options": ["Yes", "No"],
             "culture": c, "answer": "Yes", "answer_index": 0, "question_text": f"[{c}] Question {i}?", "split": "train"}
            for c, n in per_culture.items() for i in range(n)]


def _culture_augmented(per_culture: int, bias_type: int = 1, cultures=vocab.CULTURES) -> list[dict]:
    return [{"id": f"ca-{c}-{i}", "origin": "augmented", "bias": "culture", "bias_type": bias_type,
             "question_id": f"q{i}", "question": f"Question {i}?", "options": ["Yes", "No"],
             "culture": c if bias_type in (1, 2, 3) else None, "answer": "No", "answer_index": 1,
             "text": "No.", "usable": True, "generator": {"model": GENERATOR}}
            for c in cultures for i in range(per_culture)]


def test_culture_rows_are_stratified_by_culture():
    original = _culture_original({"arabic": 12, "chinese": 6, "portuguese": 12, "spanish": 10})  # unequal, as prepared
    result = mix(original, _culture_augmented(10), 0.5, 20)
    # 10 rows of each origin over D_o's culture weights 12:6:12:10 (exact 3, 1.5, 3, 2.5), one at a
    # time to the largest weight / (quota + 1) below its share: 3, 1, 3, 3 (within quota).
    by = result.counts["by_origin_stratum"]
    assert by == {"augmented/arabic": 3, "augmented/chinese": 1, "augmented/portuguese": 3, "augmented/spanish": 3,
                  "original/arabic": 3, "original/chinese": 1, "original/portuguese": 3, "original/spanish": 3}
    assert result.bias == "culture" and result.counts["augmented_culture"] == {
        "arabic": 3, "chinese": 1, "portuguese": 3, "spanish": 3}
    row = next(r for r in result.rows if r["origin"] == "original")
    assert set(row) == {"id", "origin", "bias", "bias_type", "generator", "question_id", "question", "question_text",
                        "options", "answer", "answer_index", "culture"}
    # Type 0 rows name no culture: one stratum. A set mixing both kinds is refused.
    unstratified = mix(original, _culture_augmented(3, bias_type=0), 0.5, 20)
    assert unstratified.counts["by_origin_stratum"]["augmented/any"] == 10
    with pytest.raises(UserError, match="Some usable augmented rows have no culture"):
        mix(original, _culture_augmented(3) + [{**_culture_augmented(1, bias_type=0)[0], "id": "type-0"}], 0.2, 20)


def test_one_gamma_equals_its_set_among_many():
    original, augmented = _original(5), _augmented(6)
    many = mix_many(original, augmented, [0.5, 0.0, 0.1], 40, seed=2)
    assert all(many[g].rows == mix(original, augmented, g, 40, 2).rows for g in many)


def _augmented_file(tmp_path, rows=None, name="augmented.jsonl", **inputs):
    path = tmp_path / name
    write_augmented(path, _augmented(4) if rows is None else rows, **inputs)
    return path


def test_mix_card_chains_to_d_a_and_d_o_and_records_realised_gamma(tmp_path, gender_sample):
    augmented = _augmented_file(tmp_path)
    out = tmp_path / "mixed.jsonl"
    result = mix_and_write(augmented, out, gamma=0.05, total=30, seed=3, original=gender_sample)
    rows = read_jsonl(out)
    assert rows == result.rows and len(rows) == 30 and result.path == out
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
    assert {k: card["inputs"][k] for k in ("gamma", "total", "seed", "bias")} == {
        "gamma": 0.05, "total": 30, "seed": 3, "bias": "gender"}
    summary = card["summary"]
    assert summary["gamma"] == 0.05 and summary["gamma_realised"] == 2 / 30 and summary["bias_types"] == [4]
    assert summary["content_sha256"] == content_hash(rows) and summary["counts"]["augmented"] == 2
    assert summary["generation"] == d_a["inputs"] and summary["prompt_version"] == "test-prompts-1"
    assert summary["generator"] == GENERATOR
    prov = summary["provenance"]
    assert prov["data_sha256"] == content_hash(rows) and prov["gamma"] == 0.05 and prov["gamma_realised"] == 2 / 30
    assert prov["bias_type"] == 4 and prov["generator"] == GENERATOR
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
    rows = _augmented(4)
    rows[0]["text"] = "another biography"
    _augmented_file(tmp_path, rows, sampling={"temperature": 1.5})  # same path, other generation inputs and rows
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
