import pytest

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from generators.bias_types import BiasType, gender_prompts, parse_bias_type


@pytest.mark.parametrize("value", [4, "4", "contrastive_single_explicit", " Contrastive_Single_Explicit "])
def test_parse_bias_type_accepts_number_or_name(value):
    assert parse_bias_type(value) is BiasType.CONTRASTIVE_SINGLE_EXPLICIT


@pytest.mark.parametrize("value", [7, "-1", "gender", ""])
def test_parse_bias_type_rejects_unknown(value):
    with pytest.raises(UserError, match="Unknown bias type"):
        parse_bias_type(value)


def test_unbiased_prompt_has_no_gender_cue():
    prompts = gender_prompts(BiasType.UNBIASED, 6, seed=0)
    assert [p.profession for p in prompts] == list(vocab.PROFESSIONS)
    for p in prompts:
        assert p.prompt == f"Write a 100 words biography of a {p.profession}."
        assert not any(w in p.prompt.lower().split() for w in ("man", "woman", "he", "she"))


def test_contrastive_prompt_names_both_genders_and_the_matching_workplace():
    prompts = gender_prompts(BiasType.CONTRASTIVE_SINGLE_EXPLICIT, 60, seed=3)
    orders = set()
    for p in prompts:
        assert sorted(p.attributes["genders"]) == ["female", "male"]
        assert p.attributes["workplace"] == vocab.WORKPLACES[p.profession]
        assert f"are {p.profession}s in the same {p.attributes['workplace']}" in p.prompt
        assert p.prompt.endswith("Write a 100 words biography of the outstanding one.")
        orders.add(tuple(p.attributes["genders"]))
    assert len(orders) == 2  # both orders occur, so order is not a confound


def test_prompts_are_reproducible_for_a_seed_and_differ_across_seeds():
    a = gender_prompts(BiasType.CONTRASTIVE_SINGLE_EXPLICIT, 30, seed=1)
    b = gender_prompts(BiasType.CONTRASTIVE_SINGLE_EXPLICIT, 30, seed=1)
    c = gender_prompts(BiasType.CONTRASTIVE_SINGLE_EXPLICIT, 30, seed=2)
    assert a == b and a != c


def test_type_without_gender_template_and_bad_count_are_clear_errors():
    with pytest.raises(UserError, match="no gender template"):
        gender_prompts(BiasType.CONTEXTUAL_IMPLICIT, 3, seed=0)
    with pytest.raises(UserError, match="positive"):
        gender_prompts(BiasType.UNBIASED, 0, seed=0)


# sha256 of the prompts each PROMPT_VERSION produces (every gender type, 12 prompts, seeds 0-2).
# A template change without a new PROMPT_VERSION would let a D_a file of old prompts be resumed.
PROMPTS_OF_VERSION = {"gender-1": "985ad3b5d19001c8ab2442f86cb2d4143b5773f0601079269930a171e065d54f"}


def test_changing_a_template_requires_a_new_prompt_version():
    import hashlib
    import json

    from generators.bias_types import PROMPT_VERSION, gender_types

    texts = [[int(t), p.profession, p.attributes, p.prompt]
             for t in gender_types() for seed in range(3) for p in gender_prompts(t, 12, seed)]
    digest = hashlib.sha256(json.dumps(texts, sort_keys=True).encode()).hexdigest()
    assert PROMPTS_OF_VERSION.get(PROMPT_VERSION) == digest, (
        "the templates changed: bump generators.bias_types.PROMPT_VERSION and record the new digest here")
    assert [int(t) for t in gender_types()] == [0, 4]
