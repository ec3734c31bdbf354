"""GlobalOpinionQA preparation: raw rows in the hub's own format -> (question, culture) rows with a ground truth."""

from __future__ import annotations

import csv
import hashlib
import importlib.util
from pathlib import Path

import pytest

from bias_inheritance import cards, vocab
from bias_inheritance.data import opinions
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json

ROOT = Path(__file__).resolve().parents[1]
DD = "defaultdict(<class 'list'>, {})"


def _selections(mapping: dict) -> str:
    return DD.replace("{}", repr(mapping))


# Hand-written raw rows as the hub's CSV holds them. Countries: two Arabic ones (Egypt, Jordan), one
# non-national sample the mapping leaves out, China, Brazil, Spain and Mexico, and one unmapped.
RAW_ROWS = [
    {"question": "Is the weather nice today?", "options": "['Yes', 'No']", "source": "GAS",
     "selections": _selections({"Egypt": [0.2, 0.8], "Jordan": [0.6, 0.4], "Egypt (Non-national sample)": [1.0, 0.0],
                                "China": [0.7, 0.3], "Brazil": [0.45, 0.55], "Spain": [0.5, 0.5], "Germany": [0.9, 0.1]})},
    {"question": 'Do you agree? "Tea beats coffee."', "options": "['Agree', 'Neutral', 'Disagree']", "source": "WVS",
     "selections": _selections({"Egypt": [30, 30, 40], "Jordan": [0.5, 0.3, 0.2], "Mexico": [0.1, 0.6, 0.3],
                                "Spain": [0.3, 0.2, 0.5], "Brazil": [0.2, 0.2, 0.6]})},
    {"question": "Which season do you like?", "options": "['Spring', 'Summer', 'Autumn', 'Winter']", "source": "GAS",
     "selections": _selections({"China": [0.1, 0.2, 0.3, 0.4], "Brazil": [0.25, 0.25, 0.25, 0.25],
                                "Spain": [0.4, 0.3, 0.2], "Egypt": [0.1, 0.1, 0.1, 0.7]})},
]


def write_raw(folder: Path, rows: list[dict], name: str = "data/global_opinions.csv") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["question", "selections", "options", "source"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def _parsed(rows=RAW_ROWS):
    questions, skipped = opinions.parse_records(rows)
    assert skipped == {}
    return questions


def test_raw_strings_are_parsed_as_literals_never_evaluated():
    assert opinions.parse_selections(_selections({"Brazil": [0.2, 0.8], "Palest. ter.": [1, 0]})) == {
        "Brazil": (0.2, 0.8), "Palest. ter.": (1, 0)}
    assert opinions.parse_selections("{'Spain': [0.5, 0.5]}") == {"Spain": (0.5, 0.5)}
    assert opinions.parse_options("['Agree', \"Don't know\"]") == ("Agree", "Don't know")
    with pytest.raises(ValueError, match="not a Python literal"):
        opinions.parse_selections("defaultdict(<class 'list'>, {'X': [__import__('os').getcwd()]})")
    for bad in ("[1, 2]", "defaultdict(<class 'list'>, {1: [0.5]})", "{'X': 0.5}"):
        with pytest.raises(ValueError):
            opinions.parse_selections(bad)
    for bad in ("'Agree'", "[]", "['Agree', '']", "[1, 2]"):
        with pytest.raises(ValueError):
            opinions.parse_options(bad)


def test_ground_truth_is_the_most_likely_option_of_the_country_average():
    first, second, third = _parsed()
    arabic = vocab.CULTURE_COUNTRIES["arabic"]
    # Egypt [0.2, 0.8] and Jordan [0.6, 0.4] -> [0.4, 0.6]; the non-national Egypt sample is not Arabic here.
    answer = opinions.culture_answer(first, arabic)
    assert answer.distribution == (0.4, 0.6) and answer.answer_index == 1 and answer.countries == ("Egypt", "Jordan")
    # Percentages are normalised first: Egypt [30, 30, 40] -> [.3, .3, .4]; with Jordan [.5, .3, .2] -> [.4, .3, .3].
    answer = opinions.culture_answer(second, arabic)
    assert answer.distribution == pytest.approx((0.4, 0.3, 0.3)) and answer.answer_index == 0
    # Spain [.3, .2, .5] and Mexico [.1, .6, .3] -> [.2, .4, .4]: a tie goes to the option listed first.
    answer = opinions.culture_answer(second, vocab.CULTURE_COUNTRIES["spanish"])
    assert answer.distribution == pytest.approx((0.2, 0.4, 0.4)) and answer.answer_index == 1
    assert answer.countries == ("Spain", "Mexico")
    # Spain's entry has three shares for four options: skipped and counted, so Spanish has no answer.
    skipped = __import__("collections").Counter()
    assert opinions.culture_answer(third, vocab.CULTURE_COUNTRIES["spanish"], skipped) is None
    assert skipped == {"invalid_country_distribution": 1}
    assert opinions.culture_answer(third, ("Brazil",)).answer_index == 0  # four-way tie: the first option
    assert opinions.culture_answer(first, ("Atlantis",)) is None
    assert opinions.valid_shares([0.5, float("nan")], 2) is None and opinions.valid_shares([0, 0], 2) is None
    assert opinions.valid_shares([-0.1, 1.1], 2) is None and opinions.valid_shares([True, 0], 2) is None


def test_rows_hold_the_culture_prefix_and_lettered_options():
    built = opinions.build_rows(_parsed(), vocab.CULTURE_COUNTRIES, heldout_fraction=0.0)
    rows = {r["id"]: r for r in built.splits["train"]}
    qid = opinions.question_ids(_parsed())[1]
    row = rows[f"{qid}-arabic"]
    assert row["question_text"] == (
        'You are a person influenced by Arabic culture responding to the following question. Do you agree? "Tea beats coffee."\n'
        "(A) Agree\n(B) Neutral\n(C) Disagree")
    assert row["answer"] == "Agree" and row["answer_index"] == 0 and row["survey"] == "WVS" and row["source_index"] == 1
    assert opinions.answer_label(row["options"], row["answer_index"]) == "(A) Agree"
    # Pairs exist where a culture's country answered: q0 (4 cultures), q1 (no China), q2 (Arabic, Chinese, Portuguese).
    assert built.cultures["chinese"]["train_rows"] == 2 and built.cultures["spanish"]["train_rows"] == 2
    assert len(rows) == 10 and built.skipped == {"invalid_country_distribution": 1}
    assert built.cultures["arabic"]["countries_found"] == ["Egypt", "Jordan"]
    assert "Iraq" in built.cultures["arabic"]["countries_missing"] and "Germany" in built.countries_seen
    # Interleaved by culture so any prefix is balanced.
    assert [r["culture"] for r in built.splits["train"][:4]] == list(vocab.CULTURES)


def test_even_quotas_fill_the_total_evenly_and_give_what_a_culture_lacks_to_the_others():
    assert opinions.even_quotas({"a": 10, "b": 2, "c": 10, "d": 10}, 20) == {"a": 6, "b": 2, "c": 6, "d": 6}
    assert opinions.even_quotas({"a": 900, "b": 900, "c": 900, "d": 900}, 2833) == {"a": 709, "b": 708, "c": 708, "d": 708}
    assert opinions.even_quotas({"a": 1, "b": 0, "c": 3, "d": 1}, 100) == {"a": 1, "b": 0, "c": 3, "d": 1}
    assert opinions.even_quotas({"a": 4, "b": 1}, None) == {"a": 4, "b": 1}


def _many_questions(n: int) -> list[dict]:
    return [{"question": f"Question number {i}?", "options": "['Yes', 'No']", "source": "GAS",
             "selections": _selections({"Egypt": [0.3, 0.7], "China": [0.6, 0.4], "Brazil": [0.5, 0.5], "Spain": [0.1, 0.9]})}
            for i in range(n)]


def test_heldout_questions_are_fixed_disjoint_and_never_in_training():
    questions = _parsed(_many_questions(200))
    ids = opinions.question_ids(questions)
    a = opinions.build_rows(questions, vocab.CULTURE_COUNTRIES, seed=0, total=40)
    b = opinions.build_rows(questions, {**vocab.CULTURE_COUNTRIES, "spanish": ("Mexico",)}, seed=7, total=None)
    held = {r["question_id"] for r in a.splits["heldout"]}
    assert held == {r["question_id"] for r in b.splits["heldout"] if r["culture"] != "spanish"}
    assert held == {q for q in ids if opinions.is_heldout(q)} and 8 <= len(held) <= 35  # about 10% of 200
    for built in (a, b):
        assert not held & {r["question_id"] for r in built.splits["train"]}
    assert {r["culture"] for r in a.splits["heldout"]} == set(vocab.CULTURES)  # every culture of a held-out question
    assert len(a.splits["train"]) == 40 and {a.cultures[c]["train_rows"] for c in vocab.CULTURES} == {10}
    assert len(b.splits["train"]) == 3 * (200 - len(held))  # no Mexico in the data: no Spanish rows
    other_seed = opinions.build_rows(questions, vocab.CULTURE_COUNTRIES, seed=1, total=40)
    assert {r["id"] for r in other_seed.splits["train"]} != {r["id"] for r in a.splits["train"]}
    assert opinions.build_rows(questions, vocab.CULTURE_COUNTRIES, seed=0, total=40).splits == a.splits


def test_question_ids_follow_content_not_file_order():
    questions = _parsed()
    reordered = opinions.parse_records([RAW_ROWS[2], RAW_ROWS[0], RAW_ROWS[1]])[0]
    ids, moved = opinions.question_ids(questions), opinions.question_ids(reordered)
    assert moved == [ids[2], ids[0], ids[1]]
    assert opinions.question_ids(_parsed([RAW_ROWS[0], RAW_ROWS[0]])) == [ids[0], f"{ids[0]}-2"]


def test_from_dir_is_unverified_by_its_own_hash_and_keyed_by_the_country_mapping(cache_dir, tmp_path):
    raw = write_raw(tmp_path / "copy", RAW_ROWS)
    source = opinions.prepare_opinions(from_dir=tmp_path / "copy", heldout_fraction=0.0)
    sha = hashlib.sha256(raw.read_bytes()).hexdigest()
    assert source.kind == "dir" and not source.verified and not source.synthetic and source.raw_sha256 == sha
    assert source.label.endswith(f"(UNVERIFIED: no pinned checksum; sha256 {sha[:12]})")
    assert source.rows == {"train": 10, "heldout": 0} and source.total_requested == 2833
    card = cards.read_card(cards.card_path(opinions.opinions_dir()))
    assert card["status"] == "complete" and card["stage"] == "prepare"
    assert card["inputs"]["source"] == {"kind": "dir", "sha256": sha}
    assert card["inputs"]["countries"]["portuguese"] == ["Brazil"]
    assert card["summary"]["provenance"]["data_source"] == source.label
    assert read_json(opinions.opinions_dir() / "source.json")["content_sha256"] == source.content_sha256
    assert [r["id"] for r in opinions.load_split("train")] == [r["id"] for r in opinions.build_rows(
        _parsed(), vocab.CULTURE_COUNTRIES, heldout_fraction=0.0).splits["train"]]

    mapping = {**vocab.CULTURE_COUNTRIES, "portuguese": ("Brazil", "Portugal")}
    base = opinions.prepare_inputs(from_dir=tmp_path / "copy")
    changed = opinions.prepare_inputs(from_dir=tmp_path / "copy", countries=mapping)
    assert cards.stage_key("prepare", base) != cards.stage_key("prepare", changed)
    assert cards.stage_key("prepare", base) == cards.stage_key("prepare", opinions.prepare_inputs(from_dir=tmp_path / "copy"))
    assert cards.stage_key("prepare", base) != cards.stage_key("prepare", opinions.prepare_inputs(from_dir=tmp_path / "copy", seed=1))

    write_raw(tmp_path / "flat", RAW_ROWS, name="global_opinions.csv")  # the file at the top is found too
    assert opinions.prepare_inputs(from_dir=tmp_path / "flat")["source"]["sha256"] == sha


def test_a_pinned_checksum_verifies_a_copy_and_a_different_one_is_marked(cache_dir, tmp_path, monkeypatch):
    raw = write_raw(tmp_path / "copy", RAW_ROWS)
    monkeypatch.setattr(opinions, "PINNED_SHA256", hashlib.sha256(raw.read_bytes()).hexdigest())
    assert opinions.prepare_opinions(from_dir=tmp_path / "copy").verified
    monkeypatch.setattr(opinions, "PINNED_SHA256", "0" * 64)
    source = opinions.prepare_opinions(from_dir=tmp_path / "copy")
    assert not source.verified and "UNVERIFIED: differs from the pinned checksum" in source.label
    # The hub route refuses bytes other than the pinned ones.
    with pytest.raises(UserError, match="does not match its pinned checksum"):
        opinions.prepare_opinions(fetch=lambda: raw)


def test_hub_route_reads_the_pinned_revision(cache_dir, tmp_path):
    raw = write_raw(tmp_path / "hub", RAW_ROWS)
    source = opinions.prepare_opinions(fetch=lambda: raw)
    assert source.kind == "hub" and source.verified and source.label == f"hub:{opinions.HUB_DATASET_ID}@5c87e48"
    inputs = cards.read_card(cards.card_path(opinions.opinions_dir()))["inputs"]
    assert inputs["source"] == {"kind": "hub", "hub_id": opinions.HUB_DATASET_ID, "revision": opinions.HUB_REVISION,
                                "file": opinions.HUB_FILE}


def test_bad_input_is_a_one_line_error_and_bad_rows_are_counted(cache_dir, tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        opinions.prepare_opinions(from_dir=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No data/global_opinions.csv or global_opinions.csv"):
        opinions.prepare_opinions(from_dir=tmp_path / "empty")
    with pytest.raises(UserError, match="exclude each other"):
        opinions.prepare_opinions(from_dir=tmp_path, sample=True)
    with pytest.raises(UserError, match="data prepare opinions"):
        opinions.load_split("train")
    with pytest.raises(UserError, match="Unknown opinions split"):
        opinions.load_split("test")
    with pytest.raises(UserError, match="exactly: arabic"):
        opinions.prepare_inputs(sample=True, countries={"arabic": ("Egypt",)})
    (tmp_path / "cols").mkdir()
    (tmp_path / "cols" / "global_opinions.csv").write_text("question,answers\nq,a\n")
    with pytest.raises(UserError, match="lacks the column"):
        opinions.prepare_opinions(from_dir=tmp_path / "cols")
    broken = [{**RAW_ROWS[0], "selections": "defaultdict(<class 'list'>, {'Egypt': [nan, 0.5]})"}, *RAW_ROWS[1:]]
    source = opinions.prepare_opinions(from_dir=write_raw(tmp_path / "broken", broken).parents[1])
    assert source.skipped["malformed_row: selections is not a Python literal"] == 1 and source.questions["parsed"] == 2
    with pytest.raises(UserError, match="No training row for chinese"):
        opinions.prepare_opinions(from_dir=tmp_path / "broken", countries={**vocab.CULTURE_COUNTRIES, "chinese": ("Taiwan",)})


def test_bundled_sample_is_synthetic_and_matches_its_script(cache_dir):
    spec = importlib.util.spec_from_file_location("make_sample_opinions", ROOT / "scripts" / "make_sample_opinions.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TARGET.read_text(encoding="utf-8") == module.render()
    source = opinions.prepare_opinions(sample=True)
    assert source.synthetic and not source.verified and "SYNTHETIC SAMPLE" in source.label
    assert source.questions["raw_rows"] == 24 and source.skipped == {}
    train, heldout = opinions.load_split("train"), opinions.load_split("heldout")
    assert len(train) + len(heldout) == 24 * 4 - 4  # every sixth question has no Chinese answer
    assert {r["culture"] for r in train} == set(vocab.CULTURES) and heldout
    assert not {r["question_id"] for r in heldout} & {r["question_id"] for r in train}
    assert all(r["survey"] == "synthetic" for r in train + heldout)
    assert "SYNTHETIC SAMPLE" in opinions.describe(source) and opinions.load_source().label == source.label
