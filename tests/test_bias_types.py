import pytest

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from generators.bias_types import BiasType, parse_bias_type
from generators.gender import GENDER_BIAS


@pytest.mark.parametrize("value", [4, "4", "contrastive_single_explicit", " Contrastive_Single_Explicit "])
def test_parse_bias_type_accepts_number_or_name(value):
    assert parse_bias_type(value) is BiasType.CONTRASTIVE_SINGLE_EXPLICIT


@pytest.mark.parametrize("value", [7, "-1", "gender", ""])
def test_parse_bias_type_rejects_unknown(value):
    with pytest.raises(UserError, match="Unknown bias type"):
        parse_bias_type(value)


def test_bias_types_are_numbered_as_in_the_paper():
    assert [(int(t), t.slug) for t in BiasType] == [
        (0, "unbiased"), (1, "contextual_single_explicit"), (2, "contextual_intersectional_explicit"),
        (3, "contextual_implicit"), (4, "contrastive_single_explicit"), (5, "contrastive_intersectional_explicit"),
        (6, "contrastive_implicit")]


@pytest.mark.parametrize("bias_type", list(BiasType))
def test_every_gender_type_cycles_the_professions(bias_type):
    requests = GENDER_BIAS.requests(bias_type, 12, 3, {})
    assert [r.fields["profession"] for r in requests] == list(vocab.PROFESSIONS) * 2
    assert all(r.bias_type == int(bias_type) for r in requests)


def test_gender_requests_are_reproducible_and_reject_a_bad_count():
    assert GENDER_BIAS.requests(BiasType.CONTRASTIVE_SINGLE_EXPLICIT, 30, 1, {}) == GENDER_BIAS.requests(4, 30, 1, {})
    assert GENDER_BIAS.requests(4, 30, 1, {}) != GENDER_BIAS.requests(4, 30, 2, {})
    with pytest.raises(UserError, match="positive"):
        GENDER_BIAS.requests(BiasType.UNBIASED, 0, 0, {})
