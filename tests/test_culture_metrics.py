"""Label parsing and macro-F1 of the classification tasks, by hand, against scikit-learn, and by property."""

from __future__ import annotations

import math
import string

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import f1_score

from bias_inheritance.data.culture_registry import SCHEMES
from bias_tasks.culture.classification import NEGATORS, argmax_label, macro_f1, parse_label, tokens

OFF = SCHEMES["offensive"]


def _parse(answer, scheme=OFF):
    return parse_label(answer, scheme.phrases(), scheme.negative)


# --------------------------------------------------------------------------- macro-F1


def test_macro_f1_by_hand_with_a_label_never_predicted():
    gold = ["OFF", "OFF", "NOT", "NOT"]
    pred = ["NOT", "NOT", "NOT", "NOT"]  # OFF is never predicted
    items = [(g, p, ("OFF", "NOT")) for g, p in zip(gold, pred)]
    # NOT: precision 2/4, recall 2/2 -> F1 2/3; OFF: no true positive -> 0. Mean 1/3.
    assert macro_f1(items) == pytest.approx(1 / 3)
    assert macro_f1(items) == pytest.approx(f1_score(gold, pred, labels=["OFF", "NOT"], average="macro", zero_division=0))


def test_macro_f1_by_hand_with_a_label_never_in_gold():
    gold = ["0", "0", "0", "0"]
    pred = ["0", "1", "0", "0"]  # "1" never occurs in the gold
    items = [(g, p, ("1", "0")) for g, p in zip(gold, pred)]
    # "0": precision 3/3, recall 3/4 -> 6/7; "1": no true positive -> 0. Mean 3/7.
    assert macro_f1(items) == pytest.approx(3 / 7)
    assert macro_f1(items) == pytest.approx(f1_score(gold, pred, labels=["1", "0"], average="macro", zero_division=0))


def test_invalid_answers_count_as_wrong_and_are_not_dropped():
    items = [("OFF", "OFF", ("OFF", "NOT")), ("OFF", None, ("OFF", "NOT")), ("NOT", "NOT", ("OFF", "NOT")),
             ("NOT", None, ("OFF", "NOT"))]
    # OFF: P 1/1, R 1/2 -> 2/3; NOT: P 1/1, R 1/2 -> 2/3. Dropping the invalid rows would give 1.0.
    assert macro_f1(items) == pytest.approx(2 / 3)


def test_macro_f1_of_no_items_is_nan():
    assert math.isnan(macro_f1([]))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["HS", "NOT_HS"]), st.sampled_from(["HS", "NOT_HS", None])), min_size=1, max_size=40))
def test_macro_f1_equals_scikit_learn(pairs):
    items = [(g, p, ("HS", "NOT_HS")) for g, p in pairs]
    expected = f1_score([g for g, _ in pairs], [p or "<none>" for _, p in pairs], labels=["HS", "NOT_HS"],
                        average="macro", zero_division=0)
    assert macro_f1(items) == pytest.approx(expected)


def test_argmax_label_takes_the_most_likely_word_and_the_first_on_ties():
    assert argmax_label([-3.0, -1.0], ["OFF", "NOT"]) == "NOT"
    assert argmax_label([-1.0, -1.0], ["OFF", "NOT"]) == "OFF"


# --------------------------------------------------------------------------- parser, by example


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("OFF", "OFF"), ("off", "OFF"), ("  Off.", "OFF"), ("Answer: OFF", "OFF"), ("The answer is **OFF**!", "OFF"),
        ("NOT_OFF", "NOT"), ("not_off", "NOT"), ("NOT OFF", "NOT"), ("not offensive", "NOT"), ("Not offensive.", "NOT"),
        ("It isn't offensive", "NOT"), ("non-offensive", "NOT"), ("This is offensive", "OFF"),
        ("OFF. It is offensive.", "OFF"), ("NOT_OFF, not offensive", "NOT"),
        ('just say "OFF", otherwise, say "NOT_OFF"', None),  # echoes both labels: no answer
        ("", None), ("I cannot tell", None), ("offside", None), ("NOT", None), (None, None), (3, None),
    ],
)
def test_offensive_answers(answer, expected):
    assert _parse(answer) == expected


@pytest.mark.parametrize(
    ("scheme", "answer", "expected"),
    [
        ("hate", "HS", "HS"), ("hate", "NOT_HS", "NOT_HS"), ("hate", "no hate speech here", "NOT_HS"),
        ("hate", "contains hate speech", "HS"), ("hate", "hs", "HS"),
        ("vulgar", "Vulgar", "V"), ("vulgar", "NOT_Vulgar", "-"), ("vulgar", "not vulgar", "-"), ("vulgar", "V", None),
        ("spam", "Spam", "Spam"), ("spam", "NOT_Spam", "Ham"), ("spam", "ham", "Ham"), ("spam", "spammy", None),
        ("binary", "1", "1"), ("binary", "0", "0"), ("binary", "Answer: 1", "1"), ("binary", "10", None),
        ("binary", "1 or 0", None), ("binary", "not 1", "0"),
    ],
)
def test_other_schemes(scheme, answer, expected):
    assert _parse(answer, SCHEMES[scheme]) == expected


# --------------------------------------------------------------------------- parser, by property

RESERVED = frozenset(
    word for scheme in SCHEMES.values() for options in scheme.phrases().values() for phrase in options
    for word in tokens(phrase)
) | NEGATORS
noise_word = st.text(alphabet=string.ascii_letters + "éñç", min_size=1, max_size=8).filter(
    lambda w: tokens(w) and not set(tokens(w)) & RESERVED
)
noise = st.lists(noise_word, max_size=6).map(" ".join)
separator = st.sampled_from([" ", "\n", ": ", ". ", ' "', " (", " **"])
case = st.sampled_from([str.lower, str.upper, str.title, lambda s: s])


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SCHEMES)), st.data(), noise, noise, separator, case)
def test_a_label_word_in_any_text_and_case_is_found(scheme_name, data, before, after, sep, change_case):
    scheme = SCHEMES[scheme_name]
    label = data.draw(st.sampled_from(sorted(scheme.words)))
    answer = before + sep + change_case(scheme.words[label]) + sep + after
    assert _parse(answer, scheme) == label


@settings(max_examples=150, deadline=None)
@given(noise, noise, separator, st.sampled_from(["NOT_OFF", "not offensive", "NOT OFF", "not_OFF", "Not Offensive",
                                                 "non-offensive", "not OFF"]))
def test_negation_trap_never_reads_as_positive(before, after, sep, negative):
    assert _parse(before + sep + negative + sep + after) == "NOT"


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(SCHEMES)), st.text(max_size=60))
def test_any_answer_gives_a_label_or_invalid(scheme_name, answer):
    scheme = SCHEMES[scheme_name]
    assert _parse(answer, scheme) in (*scheme.words, None)


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(sorted(SCHEMES)), st.text(alphabet=string.printable, max_size=60))
def test_case_never_changes_the_reading(scheme_name, answer):
    scheme = SCHEMES[scheme_name]
    assert _parse(answer, scheme) == _parse(answer.upper(), scheme) == _parse(answer.lower(), scheme)
