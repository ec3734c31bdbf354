from bias_inheritance import vocab


def test_attribute_ranges_match_the_spec():
    assert len(vocab.PROFESSIONS) == 6 and set(vocab.WORKPLACES) == set(vocab.PROFESSIONS)
    assert vocab.WORKPLACES["software engineer"] == "tech company"
    assert vocab.AGES == (20, 30, 40, 50, 60, 70, 80)
    assert set(vocab.CULTURES) == set(vocab.NAMES) == set(vocab.CULTURE_ADJECTIVES)
    for culture in vocab.CULTURES:
        for gender in vocab.GENDERS:
            names = vocab.NAMES[culture][gender]
            assert len(names) == 10 and len(set(names)) == 10


def test_names_shared_across_cultures_are_kept_per_culture():
    assert "Isabel" in vocab.NAMES["portuguese"]["female"] and "Isabel" in vocab.NAMES["spanish"]["female"]
    assert "João" in vocab.NAMES["portuguese"]["male"]  # accents preserved


def test_bios_label_order_puts_the_study_professions_where_the_dataset_does():
    ids = {p: vocab.BIOS_ALL_PROFESSIONS.index(p) for p in ("architect", "dentist", "nurse", "painter", "professor", "software_engineer")}
    assert ids == {"architect": 1, "dentist": 6, "nurse": 13, "painter": 14, "professor": 21, "software_engineer": 24}
    assert len(vocab.BIOS_ALL_PROFESSIONS) == 28


def test_vocabulary_cannot_be_mutated():
    import pytest

    with pytest.raises(TypeError):
        vocab.NAMES["arabic"] = {}  # type: ignore[index]
