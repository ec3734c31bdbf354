import json
from collections import Counter

import pytest

from bias_inheritance import vocab
from bias_inheritance.data import gender
from bias_inheritance.errors import UserError


def test_sample_is_balanced_marked_synthetic_and_interleaved(gender_sample):
    source = gender.load_source()
    assert source.kind == "sample" and source.synthetic and source.rows == {"train": 240, "test": 120}
    test = gender.load_split("test")
    assert Counter((r["profession"], r["gender"]) for r in test) == {
        (p, g): 10 for p in vocab.PROFESSIONS for g in vocab.GENDERS
    }
    # Any prefix is balanced, so lm-eval's --limit keeps both genders: the first 12 rows cover all 12 cells.
    assert len({(r["profession"], r["gender"]) for r in test[:12]}) == 12
    assert "SYNTHETIC SAMPLE" in source.label


def _write_fake_bios(folder, per_cell):
    """A local copy in the hub's raw format: hard_text, profession (0..27), gender (0/1)."""
    folder.mkdir(parents=True)
    for split in ("train", "test"):
        rows = []
        for label in (1, 6, 13, 14, 21, 24, 0, 2):  # six study professions plus two others
            for g in (0, 1):
                for i in range(per_cell):
                    rows.append({"hard_text": f"{split} bio {label}-{g}-{i}", "profession": label, "gender": g})
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_from_dir_selects_the_six_professions_balanced(cache_dir, tmp_path):
    _write_fake_bios(tmp_path / "bios", per_cell=5)
    train_file = tmp_path / "bios" / "train.jsonl"
    train_file.write_text(train_file.read_text() + json.dumps({"hard_text": "  ", "profession": 13, "gender": 1}) + "\n")
    source = gender.prepare_gender(from_dir=tmp_path / "bios", train_per_cell=4, test_per_cell=3)
    assert source.skipped_empty_text == {"train": 1, "test": 0}
    assert source.kind == "dir" and not source.synthetic and source.rows == {"train": 48, "test": 36}
    rows = gender.load_split("train")
    assert {r["profession"] for r in rows} == set(vocab.PROFESSIONS)
    nurse = [r for r in rows if r["profession"] == "nurse"]
    assert all(r["text"].startswith("train bio 13-") for r in nurse)
    assert {r["gender"] for r in rows if r["text"].endswith(("-0-0", "-0-1"))} <= {"male"}


def test_from_dir_reports_short_cells_and_malformed_rows(cache_dir, tmp_path):
    _write_fake_bios(tmp_path / "bios", per_cell=2)
    with pytest.raises(UserError, match="only 2 rows for male architect"):
        gender.prepare_gender(from_dir=tmp_path / "bios", train_per_cell=3, test_per_cell=1)
    bad = tmp_path / "bad"
    bad.mkdir()
    for split in ("train", "test"):
        (bad / f"{split}.jsonl").write_text(json.dumps({"text": "no hard_text", "profession": 1, "gender": 0}) + "\n")
    with pytest.raises(UserError, match="malformed"):
        gender.prepare_gender(from_dir=bad)


def test_missing_folder_and_unprepared_data_are_clear_errors(cache_dir, tmp_path):
    with pytest.raises(UserError, match="is not a folder"):
        gender.prepare_gender(from_dir=tmp_path / "nope")
    with pytest.raises(UserError, match="data prepare gender"):
        gender.load_split("train")
    with pytest.raises(UserError, match="exclude each other"):
        gender.prepare_gender(from_dir=tmp_path, sample=True)


def test_preparation_killed_midway_leaves_no_card_vouching_for_the_old_rows(gender_sample, tmp_path, monkeypatch):
    """Re-preparing over a complete folder and dying after the first split must not leave the old
    complete card (and source.json) beside half-replaced files, where a run would reuse them."""
    from bias_inheritance import cards
    from bias_inheritance.data import source_file

    _write_fake_bios(tmp_path / "bios", per_cell=2)
    assert cards.read_card(cards.card_path(gender_sample))["status"] == "complete"
    written = []

    def dying_write(path, rows):
        if written:
            raise KeyboardInterrupt("killed")
        written.append(path)
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))

    monkeypatch.setattr(source_file, "write_jsonl", dying_write)
    with pytest.raises(KeyboardInterrupt):
        gender.prepare_gender(from_dir=tmp_path / "bios", train_per_cell=1, test_per_cell=1)
    assert len(written) == 1
    assert cards.read_card(cards.card_path(gender_sample)) is None
    assert not (gender_sample / "source.json").exists()
    with pytest.raises(UserError, match="not prepared"):
        gender.load_source()
