import json
from collections import Counter
from pathlib import Path

import datasets
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl
from generators import grid
from generators.grid import gamma_folder, gamma_text, mix_grid, parse_gammas, write_mix
from generators.mixing import mix, mix_and_write, mix_many
from tests.test_mixing import GENERATOR, _augmented, _culture_augmented, write_augmented

GAMMAS = [0.0, 0.05, 0.1, 0.2, 0.5]


def _ids(result, origin):
    return {r["id"] for r in result.rows if r["origin"] == origin}


@settings(max_examples=30, deadline=None)
@given(cells=st.lists(st.integers(1, 12), min_size=12, max_size=12),
       gammas=st.lists(st.sampled_from([0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.45, 0.5]), min_size=2, max_size=5, unique=True),
       seed=st.integers(0, 3))
def test_grid_is_nested_with_fixed_size_even_for_unequal_strata(cells, gammas, seed):
    keys = [(p, g) for p in vocab.PROFESSIONS for g in vocab.GENDERS]
    original = [{"id": f"o-{p}-{g}-{i}", "text": "bio", "profession": p, "gender": g}
                for (p, g), n in zip(keys, cells) for i in range(n)]
    total = len(original)
    augmented = _augmented(total // 2)  # enough for any profession's share of half of |D|
    results = mix_many(original, augmented, gammas, total, seed)
    ordered = sorted(gammas)
    for low, high in zip(ordered, ordered[1:]):
        assert _ids(results[low], "augmented") <= _ids(results[high], "augmented")
        assert _ids(results[low], "original") >= _ids(results[high], "original")
    for gamma in gammas:
        assert len(results[gamma].rows) == total and len({r["id"] for r in results[gamma].rows}) == total
        assert len(_ids(results[gamma], "augmented")) == round(gamma * total)
        assert results[gamma].rows == mix(original, augmented, gamma, total, seed).rows


def test_realised_gamma_by_hand_and_strata_balance():
    original = [{"id": f"o-{p}-{g}-{i}", "text": "bio", "profession": p, "gender": g}
                for p in vocab.PROFESSIONS for g in vocab.GENDERS for i in range(5)]
    results = mix_many(original, _augmented(4), GAMMAS, total=30)
    # |D| = 30: round(0.05 * 30) = 2, round(0.1 * 30) = 3, round(0.2 * 30) = 6, round(0.5 * 30) = 15.
    assert {g: r.gamma_realised for g, r in results.items()} == {0.0: 0, 0.05: 2 / 30, 0.1: 3 / 30, 0.2: 6 / 30, 0.5: 15 / 30}
    assert all(r.rows[0]["origin"] in ("original", "augmented") for r in results.values())
    assert {r["origin"] for r in results[0.0].rows} == {"original"}
    for result in results.values():
        cells = Counter((r["profession"], r["gender"]) for r in result.rows if r["origin"] == "original")
        counts = [cells.get((p, g), 0) for p in vocab.PROFESSIONS for g in vocab.GENDERS]
        professions = Counter(r["profession"] for r in result.rows if r["origin"] == "augmented")
        per_prof = [professions.get(p, 0) for p in vocab.PROFESSIONS]
        assert max(counts) - min(counts) <= 1 and max(per_prof) - min(per_prof) <= 1


def test_gamma_names_without_trailing_zeros():
    assert [gamma_folder(Path("g"), x).name for x in GAMMAS] == [
        "gamma_0", "gamma_0.05", "gamma_0.1", "gamma_0.2", "gamma_0.5"]
    assert gamma_text(0.30000000000000004) == "0.30000000000000004" and gamma_text(1e-05) == "0.00001"


@pytest.mark.parametrize("text, message", [("0,1", r"outside \[0, 1\)"), ("0.1,-0.2", "outside"),
                                           ("0.1,0.10", "given twice"), ("0.1,x", "not a list of numbers"), ("", "No bias ratio")])
def test_bad_gamma_lists_are_one_line_errors(text, message):
    with pytest.raises(UserError, match=message):
        parse_gammas(text)


@pytest.fixture
def gender_grid(tmp_path, gender_sample):
    rows = _augmented(4)
    rows[0].update(usable=False, unusable_reason="refusal")
    augmented = tmp_path / "augmented.jsonl"
    write_augmented(augmented, rows)
    return augmented, tmp_path / "grid", mix_grid(augmented, tmp_path / "grid", GAMMAS, total=30, seed=1,
                                                   original=gender_sample)


def test_grid_folders_round_trip_with_cards_and_listing(gender_grid, gender_sample):
    augmented, out, results = gender_grid
    listing = json.loads((out / "grid.json").read_text())
    assert [s["folder"] for s in listing["sets"]] == ["gamma_0", "gamma_0.05", "gamma_0.1", "gamma_0.2", "gamma_0.5"]
    d_a, d_o = cards.read_card(cards.card_path(augmented)), cards.read_card(gender_sample / "card.json")
    for gamma, result in results.items():
        folder = out / f"gamma_{gamma_text(gamma)}"
        loaded = datasets.load_from_disk(str(folder)).to_list()
        assert loaded == result.rows and content_hash(loaded) == result.content_sha256 and result.path == folder
        assert all(r["origin"] in ("original", "augmented") and r["id"] for r in loaded)
        assert "a-architect-0" not in {r["id"] for r in loaded}  # the unusable row
        card = cards.read_card(folder / "card.json")
        assert card == result.card and card["stage"] == "mix" and card["status"] == "complete"
        assert card["output"] == str(folder.resolve())
        assert card["parents"]["augmented"]["key"] == d_a["key"] and card["parents"]["original"]["key"] == d_o["key"]
        s = card["summary"]
        assert s["bias"] == "gender" and s["gamma"] == gamma and s["gamma_realised"] == round(gamma * 30) / 30
        assert s["bias_types"] == ([4] if gamma else []) and s["generator"] == GENERATOR
        assert s["generation"] == d_a["inputs"] and s["prompt_version"] == "test-prompts-1"
        assert "SYNTHETIC" in s["data_source"] and s["content_sha256"] == content_hash(loaded)
        assert s["counts"]["augmented_unusable"] == {"refusal": 1} and sum(s["counts"]["by_origin_stratum"].values()) == 30
        assert listing["sets"][GAMMAS.index(gamma)] == {
            "gamma": gamma, "folder": folder.name, "key": card["key"], "gamma_realised": s["gamma_realised"],
            "rows": 30, "content_sha256": result.content_sha256}
    assert results[0.05].counts["by_origin_stratum"]["augmented/architect"] == 1  # 2 augmented rows, one per profession
    added = [r for r in results[0.5].rows if r["origin"] == "augmented"]
    assert added[0]["generator"] == {"model": GENERATOR, "name": "fake-model", "seed": 0}  # the generator record is kept
    assert not list(out.glob(".*"))  # no temporary folder left


def test_a_single_mix_is_the_grids_set_at_that_gamma(gender_grid, gender_sample, tmp_path):
    augmented, _, results = gender_grid
    single = mix_and_write(augmented, tmp_path / "single.jsonl", 0.1, 30, 1, gender_sample)
    assert [r["id"] for r in read_jsonl(tmp_path / "single.jsonl")] == [r["id"] for r in results[0.1].rows]
    assert single.content_sha256 == results[0.1].content_sha256 and single.card["key"] == results[0.1].card["key"]


def test_grid_is_reused_extended_and_refused_for_other_inputs(gender_grid, gender_sample):
    augmented, out, results = gender_grid
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = mix_grid(augmented, out, GAMMAS, total=30, seed=1, original=gender_sample)
    assert {g: r.card for g, r in again.items()} == {g: r.card for g, r in results.items()}
    assert {p: p.stat().st_mtime_ns for p in stamps if p.name != "grid.json"} == {
        p: t for p, t in stamps.items() if p.name != "grid.json"}
    added = mix_grid(augmented, out, [0.3], total=30, seed=1, original=gender_sample)
    assert _ids(results[0.2], "augmented") <= _ids(added[0.3], "augmented") <= _ids(results[0.5], "augmented")
    listing = json.loads((out / "grid.json").read_text())
    assert [s["gamma"] for s in listing["sets"]] == [0.0, 0.05, 0.1, 0.2, 0.3, 0.5]
    with pytest.raises(UserError, match=r"made from other inputs \(total differ\)"):
        mix_grid(augmented, out, GAMMAS, total=24, seed=1, original=gender_sample)
    (out / "grid.json").unlink()  # without the listing, each γ folder still refuses other inputs by its card
    with pytest.raises(UserError, match=r"gamma_0.*other inputs \(seed differ\)"):
        mix_grid(augmented, out, [0.0], total=30, seed=2, original=gender_sample)


def test_a_failed_write_leaves_no_folder_and_a_partial_set_is_rebuilt(tmp_path, gender_sample, monkeypatch):
    augmented, out = tmp_path / "augmented.jsonl", tmp_path / "grid"
    write_augmented(augmented, _augmented(4))

    def disk_full(self, path, **kwargs):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr(datasets.Dataset, "save_to_disk", disk_full)
        with pytest.raises(OSError):
            mix_grid(augmented, out, [0.1], total=30, original=gender_sample)
    assert list(out.iterdir()) == []
    done = mix_grid(augmented, out, [0.1], total=30, original=gender_sample)[0.1]
    card = cards.read_card(out / "gamma_0.1" / "card.json")
    cards.write_card(out / "gamma_0.1", "mix", card["inputs"], parents={
        role: cards.parent(role, augmented if role == "augmented" else gender_sample) for role in card["parents"]},
        status="partial")  # as if killed between the rename and the complete card
    assert mix_grid(augmented, out, [0.1], total=30, original=gender_sample)[0.1].rows == done.rows
    assert cards.read_card(out / "gamma_0.1" / "card.json")["status"] == "complete"


def test_culture_grid_from_the_prepared_opinions_data(tmp_path, cache_dir):
    from bias_inheritance.data import opinions

    opinions.prepare_opinions(sample=True)
    prepared = opinions.load_split("train")
    available = Counter(r["culture"] for r in prepared)
    augmented = tmp_path / "culture.jsonl"
    write_augmented(augmented, _culture_augmented(8), bias="culture", bias_type=1)
    total = 40
    results = mix_grid(augmented, tmp_path / "grid", [0.0, 0.5], total=total)  # D_o: the prepared opinions data
    half = results[0.5]
    assert half.card["summary"]["data_source"] == opinions.load_source().label
    assert half.card["parents"]["original"]["stage"] == "prepare" and half.bias == "culture"
    by = half.counts["by_origin_stratum"]
    for origin in ("original", "augmented"):  # each origin within one row of its share of D_o's cultures
        for culture, n in available.items():
            assert abs(by[f"{origin}/{culture}"] - 20 * n / len(prepared)) < 1
    loaded = datasets.load_from_disk(str(tmp_path / "grid" / "gamma_0.5")).to_list()
    assert {r["origin"] for r in loaded} == {"original", "augmented"} and all(r["options"] and r["answer"] for r in loaded)
    assert {r["id"] for r in results[0.0].rows} <= {r["id"] for r in prepared}


def test_mix_command_writes_one_file_or_a_grid(tmp_path, gender_sample):
    augmented = tmp_path / "augmented.jsonl"
    write_augmented(augmented, _augmented(4))
    with pytest.raises(UserError, match="one JSON-lines file, but 2 values"):
        write_mix(augmented, tmp_path / "m.jsonl", [0.1, 0.2], 30, 0, gender_sample)
    single = write_mix(augmented, tmp_path / "m.jsonl", [0.1], 30, 0, gender_sample)
    assert single[0.1].path == tmp_path / "m.jsonl" and (tmp_path / "m.jsonl").is_file()
    folder = write_mix(augmented, tmp_path / "g", [0.1], 30, 0, gender_sample)
    assert folder[0.1].path == tmp_path / "g" / "gamma_0.1" and folder[0.1].rows == single[0.1].rows
    with pytest.raises(UserError, match="given twice"):
        mix_grid(augmented, tmp_path / "g2", [0.1, 0.1], 30, 0, gender_sample)
    with pytest.raises(UserError, match=r"outside \[0, 1\)"):
        mix_grid(augmented, tmp_path / "g2", [0.1, 1.0], 30, 0, gender_sample)
    assert not (tmp_path / "g2").exists() and grid.GRID_FILE == "grid.json"


def test_culture_rows_with_gender_data_as_d_o_is_a_one_line_error(tmp_path, gender_sample):
    """Bad input of issue 8: a culture set mixed into prepared gender data."""
    from bias_inheritance.io import write_jsonl
    from generators.grid import mix_grid

    augmented = tmp_path / "culture.jsonl"
    write_jsonl(augmented, [{"id": "a1", "origin": "augmented", "bias": "culture", "bias_type": 1, "text": "x",
                             "usable": True, "culture": "arabic"}])
    with pytest.raises(UserError, match="needs opinions data as D_o, but .* holds prepared gender data"):
        mix_grid(augmented, tmp_path / "grid", [0.5], 4, original=gender_sample)
