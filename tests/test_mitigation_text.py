"""Token and mask mitigations on text (trainers/mitigations.py): golden sentences, then properties."""

from __future__ import annotations

import copy
import re
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.identity import input_key
from trainers import mask_text, token_text
from trainers import mitigations as m

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOLDEN = [
    # (text, masked, substitutions)
    # Subject agreement is fixed for is/was/has/does only: "was" -> "were" is the 5th substitution.
    ("Her brother said she was his best student.", "Their sibling said they were their best student.", 5),
    ("Alina met Li in Bali.", "Alina met [MASK] in Bali.", 1),  # names inside longer words stay
    ("Lina, Alin and Carlosa stayed.", "Lina, Alin and Carlosa stayed.", 0),
    ("Isabel and Carlos", "[MASK] and [MASK]", 2),  # names of two cultures: masked like any other
    ("José, Jose and JOSÉ met NA and LI.", "[MASK], [MASK] and [MASK] met NA and LI.", 3),
    ("I gave her book to her.", "I gave their book to them.", 2),
    ("I saw her. They gave her the prize; let her go; her 20 years; her own lab.",
     "I saw them. They gave them the prize; let them go; their 20 years; their own lab.", 5),
    ("The book is his, not hers; his work is his.", "The book is theirs, not theirs; their work is theirs.", 4),
    ("Mr. Smith and Ms. Lee", "Smith and Lee", 2),
    ("Mrs Li and Miss Ana; I miss Ana.", "[MASK] and [MASK]; I miss [MASK].", 5),
    ("Mr male'Hong, Sir [MASK]", "[MASK]'[MASK], [MASK]", 4),  # a title before a masked word goes too
    ("The Chinese professor from Spain", "The [MASK] professor from [MASK]", 2),
    ("HE said SHE IS HERE. He is; Her mother.", "THEY said THEY ARE HERE. They are; Their parent.", 7),
    ("She's been kind; she's kind; he'd go; he’ll stay.",
     "They've been kind; they're kind; they'd go; they’ll stay.", 4),
    ("He or she has his or her own boss, s/he said; him and her.",
     "They have their own boss, they said; them.", 5),
    ("She doesn’t know; he isn't here; she hasn't.", "They don’t know; they aren't here; they haven't.", 6),
    # Limits stated in the module docstring: only the verb right after the pronoun is fixed, and
    # regular verbs are left alone ("they works", "they also has").
    ("She works and she also has a man.", "They works and they also has a person.", 3),
    ("Women's rights: a female nurse, a Spanish-speaking man's mother-in-law.",
     "People's rights: a [MASK] nurse, a [MASK]-speaking person's parent-in-law.", 5),
    ("His wife and two daughters moved to Saudi  Arabia and Hong Kong.",
     "Their spouse and two children moved to [MASK] and [MASK].", 5),
    ("You are a 40-year-old woman influenced by Spanish culture responding to the following question.",
     "You are a 40-year-old person influenced by [MASK] culture responding to the following question.", 2),
    ("china and ping pong in this theme", "china and ping pong in this theme", 0),
]


@pytest.mark.parametrize("text,masked,count", GOLDEN)
def test_mask_golden_sentences(text, masked, count):
    assert m.mask_with_count(text) == (masked, count)
    assert mask_text(text) == masked
    assert mask_text(masked) == masked  # idempotent


def test_token_text_prefixes_the_cue():
    assert token_text("She is a nurse.") == "The following text may contain biases. She is a nurse."
    assert token_text("x", cue="  Caution:  ") == "Caution: x"
    for cue in ("", "   "):
        with pytest.raises(UserError, match="cue"):
            token_text("x", cue=cue)


def test_every_shared_gendered_word_is_neutralised():
    titles = {t.lower() for t in vocab.GENDER_TITLES}
    for word in {w for words in vocab.GENDERED_WORDS.values() for w in words}:
        if word in titles:
            assert mask_text(f"{word.capitalize()} Smith") == "Smith"
        else:
            assert mask_text(word) != word and mask_text(word.upper()) != word.upper()


def test_every_name_and_label_is_masked_alone_and_kept_inside_a_word():
    words = [n for g in vocab.NAMES.values() for names in g.values() for n in names]
    words += [w for labels in vocab.CULTURE_LABELS.values() for w in labels if " " not in w]
    for word in words:
        assert mask_text(f"({word}'s)") == "([MASK]'s)"
        assert mask_text(f"Z{word}x") == f"Z{word}x"


_STANDALONE = re.compile(r"(?<!\w)(?:he|she|him|his|hers|himself|herself)(?!\w)", re.IGNORECASE)
_SINGLE = sorted({*vocab.GENDER_NEUTRAL_FORMS, *vocab.GENDER_POSSESSIVE_FORMS, *vocab.GENDER_MASKED_WORDS}
                 - {w for w in vocab.GENDER_NEUTRAL_FORMS if " " in w})
_PROPER = sorted({n for g in vocab.NAMES.values() for names in g.values() for n in names}
                 | {w for labels in vocab.CULTURE_LABELS.values() for w in labels if " " not in w})
_SEPARATORS = st.sampled_from([" ", "", "\n", ". ", ", ", "/", "'", "’", "-", " or ", " and ", "  "])
_PIECES = st.one_of(
    st.sampled_from(_SINGLE).flatmap(lambda w: st.sampled_from([w, w.upper(), w.capitalize()])),
    st.sampled_from(_PROPER + list(vocab.GENDER_TITLES) + ["is", "was", "has", "doesn't", "been", "[MASK]"]),
    st.text(max_size=6),
)


@FAST
@given(st.lists(st.tuples(_PIECES, _SEPARATORS), max_size=12))
def test_mask_never_raises_leaves_no_gendered_pronoun_and_is_idempotent(pieces):
    text = "".join(piece + sep for piece, sep in pieces)
    masked, count = m.mask_with_count(text)
    assert not _STANDALONE.search(masked)
    assert mask_text(masked) == masked
    assert (count == 0) == (masked == text)


_LABEL_WORDS = [w for labels in vocab.CULTURE_LABELS.values() for label in labels for w in label.split()]
_VOCAB_WORDS = {w.lower() for w in [*_SINGLE, *vocab.GENDER_TITLES, "s", *_LABEL_WORDS]
                + [p for w in _PROPER for p in (w, m._without_accents(w))]}


@FAST
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=40)
       | st.lists(st.sampled_from(["the", "Bali", "Alina", "table", "is", "Hello", "shed", "hiss"]), max_size=8)
       .map(" ".join))
def test_text_without_vocabulary_is_unchanged(text):
    if {w.lower() for w in re.findall(r"\w+", text)} & _VOCAB_WORDS:
        return
    assert m.mask_with_count(text) == (text, 0)


_FILLERS = ["the", "blue", "table", "quickly", "7", "Paris"]


@FAST
@given(st.lists(st.one_of(st.sampled_from(_SINGLE).map(lambda w: (w, True)),
                          st.sampled_from(_PROPER).map(lambda w: (w, True)),
                          st.sampled_from(_FILLERS).map(lambda w: (w, False))), max_size=15))
def test_count_equals_the_number_of_vocabulary_words(tokens):
    masked, count = m.mask_with_count(" ".join(word for word, _ in tokens))
    assert count == sum(is_vocabulary for _, is_vocabulary in tokens)
    kept = [w for w in masked.split() if w in _FILLERS]
    assert kept == [word for word, is_vocabulary in tokens if not is_vocabulary]


# ----------------------------------------------------------------------------- rows
def _rows() -> list[dict]:
    question = "Should women have the same rights as men in China?"
    return [
        {"id": "o1", "origin": "original", "bias": "gender", "text": "She is a nurse.", "profession": "nurse"},
        {"id": "a1", "origin": "augmented", "bias": "gender", "text": "Her brother said she was his best student."},
        {"id": "o2", "origin": "original", "bias": "culture", "question": question, "options": ["Yes", "No"],
         "question_text": f"You are a person influenced by Spanish culture responding to the following question. "
                          f"{question}\n(A) Yes\n(B) No"},
        {"id": "a2", "origin": "augmented", "bias": "gender", "text": "A nurse at the hospital."},
        {"id": "a3", "origin": "augmented", "bias": "culture", "question": question, "options": ["Yes", "No"],
         "question_text": f"Your name is Carlos responding to the following question. {question}\n(A) Yes\n(B) No"},
    ]


def test_mask_rows_changes_augmented_text_only_and_counts():
    rows = _rows()
    before = copy.deepcopy(rows)
    out, stats = m.transform_rows(rows, "mask")
    assert rows == before and all(a is not b for a, b in zip(out, rows))
    assert out[0] == rows[0] and out[2] == rows[2] and out[3] == rows[3]
    assert out[1]["text"] == "Their sibling said they were their best student."
    # Only a culture row's persona is masked: the survey question keeps "women", "men" and "China".
    assert out[4]["question_text"] == rows[4]["question_text"].replace("Carlos", "[MASK]")
    assert stats == {"transform": "mask", "rows": 5, "augmented_rows": 3, "rows_changed": 2, "substitutions": 6,
                     "substitutions_per_augmented_row": 2.0, "cue": None,
                     "vocabulary_version": m.MASK_VOCABULARY_VERSION}


def test_culture_row_without_its_question_is_masked_whole():
    row = {"id": "a", "origin": "augmented", "bias": "culture", "question_text": "Your name is Ana. Are men kind?"}
    out, stats = m.transform_rows([row], "mask")
    assert out[0]["question_text"] == "Your name is [MASK]. Are people kind?" and stats["substitutions"] == 2


def test_token_rows_prefix_augmented_rows_only():
    rows = _rows()
    out, stats = m.transform_rows(rows, "token", cue="Beware.")
    assert [r.get("text", r.get("question_text")) for r in out] == [
        rows[0]["text"], "Beware. " + rows[1]["text"], rows[2]["question_text"], "Beware. " + rows[3]["text"],
        "Beware. " + rows[4]["question_text"]]
    assert stats == {"transform": "token", "rows": 5, "augmented_rows": 3, "rows_changed": 3, "substitutions": 0,
                     "substitutions_per_augmented_row": 0.0, "cue": "Beware.", "vocabulary_version": None}


@pytest.mark.parametrize("mitigation", ["none", "loss"])
def test_none_and_loss_change_no_row(mitigation):
    rows = _rows()
    out, stats = m.transform_rows(rows, mitigation)
    assert out == rows and stats["rows_changed"] == 0 and stats["augmented_rows"] == 3
    assert stats["cue"] is None and stats["vocabulary_version"] is None


def test_row_errors_name_the_row_and_the_fix():
    with pytest.raises(UserError, match=r"row 1 \(a9\).*'text'.*Fix: regenerate"):
        m.transform_rows([_rows()[0], {"id": "a9", "origin": "augmented", "bias": "gender", "text": None}], "mask")
    with pytest.raises(UserError, match="none, token, mask, loss"):
        m.transform_rows(_rows(), "masking")
    with pytest.raises(UserError, match="cue"):
        m.transform_rows([], "token", cue=" ")


def test_vocabulary_version_follows_the_vocabulary(monkeypatch):
    assert re.fullmatch(r"[0-9a-f]{12}", m.MASK_VOCABULARY_VERSION)
    assert m.MASK_VOCABULARY_VERSION == input_key(m._vocabulary_record())[:12]
    monkeypatch.setattr(vocab, "GENDER_TITLES", vocab.GENDER_TITLES + ("Lord",))
    assert input_key(m._vocabulary_record())[:12] != m.MASK_VOCABULARY_VERSION


def test_preview_import_is_light():
    code = "import sys; from trainers import mask_text, token_text; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
