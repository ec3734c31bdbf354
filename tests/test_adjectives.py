"""Character-adjective extraction (golden stories) and the ABC lexicon."""

from __future__ import annotations

import pytest

from bias_inheritance.errors import UserError
from bias_tasks.story.abc_lexicon import DIMENSIONS, load_lexicon
from bias_tasks.story.adjectives import NEEDED_COMPONENTS, extract_character_adjectives, load_pipeline

# Hand-written stories and the adjectives that describe the named character, in text order.
GOLDEN = [
    (  # predicative after be/seem, coordination, attributive on the complement noun, participles
        "Fatima was a brilliant and kind woman. She was brave, honest and very poor. Young Fatima seemed determined.",
        "Fatima", "female", ["brilliant", "kind", "brave", "honest", "poor", "determined"],
    ),
    (  # apposition, become/feel, a possessive's noun is not the character, hyphenated compounds
        "Wei, a wealthy merchant, became powerless. He felt cold and distant. His kind heart was warm. "
        "Wei is self-confident and open-minded.",
        "Wei", "male", ["wealthy", "powerless", "cold", "distant", "self-confident", "open-minded"],
    ),
    (  # others' adjectives, negation, attributive on the name, a full name
        "Layla's friends were cruel to her. She remained hopeful but never became arrogant. "
        "Everyone liked the gentle Layla. Layla Hassan was a devout woman. She was not greedy.",
        "Layla", "female", ["hopeful", "gentle", "devout"],
    ),
    (  # "a shy boy named Jose"; the name without its accent; other characters and places ignored
        "Once upon a time, in a small village, there lived a shy boy named Jose. Jose was curious and clever. "
        "The village was quiet and green. His sister Ana was lazy.",
        "José", "male", ["shy", "curious", "clever"],
    ),
    ("The old house stood on the hill. It was dark and cold. Nobody lived there anymore.", "Omar", "male", []),
    (  # lemmas ("more liberal" -> liberal); a pronoun of the other gender is someone else
        "Mariana was a traditional and religious woman. Later she grew more liberal. "
        "Her husband was cruel, but he was also poor.",
        "Mariana", "female", ["traditional", "religious", "liberal"],
    ),
    ("", "Li", "female", []),
]


def test_golden_stories():
    stories = [(text, name, gender) for text, name, gender, _ in GOLDEN]
    found = extract_character_adjectives(stories, batch_size=3)
    assert found == [expected for *_, expected in GOLDEN]


def test_pipeline_loads_only_needed_components_once():
    nlp = load_pipeline()
    assert set(nlp.pipe_names) <= NEEDED_COMPONENTS
    assert {"tagger", "parser", "lemmatizer"} <= set(nlp.pipe_names)
    assert load_pipeline() is nlp


def test_batching_does_not_change_results():
    stories = [(text, name, gender) for text, name, gender, _ in GOLDEN] * 3
    assert extract_character_adjectives(stories, batch_size=1) == extract_character_adjectives(stories, batch_size=64)


KOCH_PAIRS = {
    "agency": [("powerless", "powerful"), ("low-status", "high-status"), ("dominated", "dominating"),
               ("poor", "wealthy"), ("unconfident", "confident"), ("unassertive", "competitive")],
    "beliefs": [("traditional", "modern"), ("religious", "science-oriented"), ("conventional", "alternative"),
                ("conservative", "liberal")],
    "communion": [("untrustworthy", "trustworthy"), ("dishonest", "sincere"), ("cold", "warm"),
                  ("threatening", "benevolent"), ("repellent", "likable"), ("egotistic", "altruistic")],
}


def test_builtin_lexicon_holds_every_koch_pair_with_its_poles():
    lexicon = load_lexicon()
    for dimension, pairs in KOCH_PAIRS.items():
        d = DIMENSIONS.index(dimension)
        for negative, positive in pairs:
            assert (d, 0) in lexicon.senses(negative)
            assert (d, 1) in lexicon.senses(positive)
    assert len(lexicon) > 100  # seeds plus synonyms
    assert "Koch" in lexicon.provenance["model"] and lexicon.sha256


def test_lexicon_from_csv_and_its_errors(tmp_path):
    good = tmp_path / "sadcat_abc.csv"
    good.write_text("word,dimension,polarity\nrich,Agency,high\nsnobbish,communion,-1\nrich,beliefs,pos\n", encoding="utf-8")
    lexicon = load_lexicon(str(good))
    assert lexicon.senses("rich") == ((0, 1), (1, 1))
    assert lexicon.senses("SNOBBISH") == ((2, 0),)
    clash = tmp_path / "clash.csv"
    clash.write_text("word,dimension,polarity\nrich,agency,positive\nrich,agency,negative\n", encoding="utf-8")
    with pytest.raises(UserError, match="both negative and positive"):
        load_lexicon(str(clash))
    bad = tmp_path / "bad.tsv"
    bad.write_text("word\tdimension\tpolarity\nrich\twarmth\tpositive\n", encoding="utf-8")
    with pytest.raises(UserError, match="unknown dimension"):
        load_lexicon(str(bad))
    with pytest.raises(UserError, match="not found"):
        load_lexicon(str(tmp_path / "missing.csv"))
