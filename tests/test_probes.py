"""Probe sets for attribution: the two written for this project and CrowS-Pairs sentences."""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from attribution.probes import PROBE_FIELDS, load_probes
from bias_inheritance import vocab
from bias_inheritance.data import crows_pairs
from bias_inheritance.errors import UserError

ROWS = [  # (sent_more, sent_less, direction, category), written for this test
    ("Women cannot park.", "Men cannot park.", "stereo", "gender"),
    ("The Italian shouted.", "The Swede shouted.", "stereo", "nationality"),
    ("He was a brilliant coder.", "She was a brilliant coder.", "antistereo", "gender"),
    ("The old man was slow.", "The young man was slow.", "stereo", "age"),
    ("The black man was arrested.", "The white man was arrested.", "stereo", "race-color"),
    ("The Muslim was angry.", "The Christian was angry.", "stereo", "religion"),
]


def write_csv(path: Path, rows=ROWS) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["", "sent_more", "sent_less", "stereo_antistereo", "bias_type"])
        writer.writerows([i, *row] for i, row in enumerate(rows))
    return path


@pytest.mark.parametrize("name, groups", [("gender", vocab.GENDERS), ("culture", vocab.CULTURES)])
def test_named_sets_are_balanced_over_the_studys_groups(name, groups):
    probes = load_probes(name)
    assert len(probes) == 24
    assert all(tuple(p) == PROBE_FIELDS and p["bias"] == name and p["text"].strip() for p in probes)
    assert len({p["id"] for p in probes}) == len({p["text"] for p in probes}) == 24
    assert Counter(p["group"] for p in probes) == {g: 24 // len(groups) for g in groups}
    assert load_probes(name, bias=name) == probes


def test_crows_pairs_csv_gives_the_more_stereotypical_sentences_of_the_bias(tmp_path):
    path = str(write_csv(tmp_path / "crows.csv"))
    gender = load_probes(path, bias="gender")
    assert gender == [
        {"id": "crows-0", "text": "Women cannot park.", "bias": "gender", "group": "gender"},
        {"id": "crows-2", "text": "He was a brilliant coder.", "bias": "gender", "group": "gender"},
    ]
    culture = load_probes(path, bias="culture")
    assert [(p["id"], p["group"]) for p in culture] == [
        ("crows-1", "nationality"), ("crows-4", "race-color"), ("crows-5", "religion")]
    assert all(p["text"] == ROWS[int(p["id"].split("-")[1])][0] for p in culture)


def test_a_prepared_folder_gives_the_same_probes(tmp_path):
    path = write_csv(tmp_path / "crows.csv")
    folder = crows_pairs.prepare_crows_pairs(path, tmp_path / "prepared")
    assert load_probes(str(folder), bias="culture") == load_probes(str(path), bias="culture")


@pytest.mark.parametrize("name_or_path, bias, message", [
    ("gender", "culture", "do not measure culture bias"),
    ("gender", "age", "Unknown bias 'age'"),
    ("CSV", None, "need a bias"),
    ("missing.csv", "gender", "neither gender nor culture nor an existing file"),
    ("AGE_ONLY", "culture", "no pair of the categories nationality, race-color, religion"),
])
def test_misuse_is_one_line_error(tmp_path, name_or_path, bias, message):
    files = {"CSV": write_csv(tmp_path / "crows.csv"), "AGE_ONLY": write_csv(tmp_path / "age.csv", [ROWS[3]]),
             "missing.csv": tmp_path / "missing.csv"}
    with pytest.raises(UserError, match=message):
        load_probes(str(files.get(name_or_path, name_or_path)), bias=bias)
