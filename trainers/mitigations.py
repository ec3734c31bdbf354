"""Token and mask mitigations (SPEC §6): the text transforms applied to augmented rows before training.

Both act on D_a's rows only (`transform_rows`): the original rows are the reference the model should
not drift from, so they stay as they are. What is transformed is the text the generator wrote: a
gender row's biography (`text`) and a culture row's question with its persona (`question_text`).

- token: a cue ("The following text may contain biases.") put before the text, one space between.
- mask: culture labels (vocab.CULTURE_LABELS) and people's names (vocab.NAMES) become "[MASK]";
  gendered words become neutral forms (vocab.GENDER_NEUTRAL_FORMS, GENDER_POSSESSIVE_FORMS); gendered
  adjectives with no neutral form ("female") are masked; titles before a name ("Mr. ") are dropped.
  In a culture row only the persona, the text before the survey question, is masked: the question
  and its options are GlobalOpinionQA's own words, shared with D_o (masking "China" or "women"
  there would change what is asked, not hide who answers).

Mask rules, and why:
- Whole words only (a name inside a longer word stays: "Alina", "Bali"); a hyphen or an apostrophe
  ends a word, so "Spanish-speaking" -> "[MASK]-speaking" and "mother's" -> "parent's".
- Gendered words match in any case and keep the case of the word they replace ("Her" -> "Their",
  "HE" -> "THEY"). Names and labels are proper nouns: they match as written or in capitals (capitals
  only from three letters, so "NA" and "LI" stay), so "ping" or "china" in lower case stay. Names
  also match without their accents ("Jose" for "José"), as generators often drop them.
- "his"/"her" by the next word: "his" is "theirs" before punctuation, the end of the text, a
  preposition, a conjunction or an auxiliary ("the book is his.") and "their" otherwise; "her" is
  "them" before those, a determiner, a pronoun, an adverb or a common bare verb ("gave her the
  prize", "let her go") and "their" otherwise ("her best student", "her 20 years"). Limits: an
  object "her" before an adjective or an uncommon verb is read as possessive ("made her famous"
  -> "made their famous"), and "her" before a name is too.
- Pairs are one neutral word: "he or she", "he/she", "s/he" -> "they"; "his or her" -> "their";
  "him or her" -> "them"; also with "and" ("his and her careers"; limit: "told her and his
  mother" -> "told their mother").
- Subject agreement: the word right after a replaced "he"/"she" is fixed when it is is, was,
  has, does or their negative contractions ("she was" -> "they were"); "she's" -> "they're"
  ("they've" before been/got/had). Other verbs are left alone: "she works" -> "they works", and an
  adverb in between stops the fix ("she also has" -> "they also has").
- A title (vocab.GENDER_TITLES as written, optional ".") is dropped with the space after it only
  when a capitalised word or a masked word follows ("Mr. Smith" -> "Smith"; "I miss Ana" has no
  title); "Mr. and Mrs. Smith" -> "Mr. and Smith" and "Mr." at the end of a text are limits.
- Known over-masking: place names holding a name ("San Diego" -> "San [MASK]"), "Jun" for June.
The mask is idempotent: nothing it writes is in its vocabulary.
"""

from __future__ import annotations

import re
import unicodedata
from types import MappingProxyType
from typing import Any, Callable, Mapping

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.identity import input_key, short_key

MITIGATIONS: tuple[str, ...] = ("none", "token", "mask", "loss")
DEFAULT_TOKEN_CUE = "The following text may contain biases."
MASK_TOKEN = "[MASK]"
# Which field of a mixed row (generators/mixing.py) holds the text the generator wrote, per bias.
TEXT_FIELDS: Mapping[str, str] = MappingProxyType({"gender": "text", "culture": "question_text"})
# Bump when a rule below changes the output; part of MASK_VOCABULARY_VERSION.
MASK_RULES_VERSION = "mask-1"

# ----------------------------------------------------------------------------- heuristic word sets
_PREPOSITIONS = frozenset(
    "about above across after against along among around as at before behind below beneath beside between "
    "beyond by despite during except for from in into like near of off on onto out over "
    "per since than through throughout till to toward towards under until up upon via with within without "
    "away".split())
_CONJUNCTIONS = frozenset("and or but nor so yet if because when while whereas although though unless whether".split())
_AUXILIARIES = frozenset(
    "is was are were be been being has have had will would can could shall should may might must do does did "
    "not too alone either anyway instead".split())
_DETERMINERS = frozenset("a an the this that these those some any no another my your his her its our their".split())
_PRONOUNS = frozenset(
    "it him me us you them herself himself themselves what who whom which how why where whatever".split())
_ADVERBS = frozenset(
    "again also well yesterday today tomorrow once twice always never often still already later soon "
    "immediately personally directly even there here deeply greatly dearly back down".split())
_BARE_VERBS = frozenset(
    "be become go come feel get know see grow realize realise develop excel succeed achieve continue begin "
    "stay think understand explore discover gain earn reach pursue receive create build win learn make take "
    "do find keep give one".split())
# After "his"/"her", these next words select the second ("elsewhere") form of GENDER_POSSESSIVE_FORMS.
_ELSEWHERE_BEFORE: Mapping[str, frozenset[str]] = MappingProxyType({
    "his": _PREPOSITIONS | _CONJUNCTIONS | _AUXILIARIES,
    "her": _PREPOSITIONS | _CONJUNCTIONS | _AUXILIARIES | _DETERMINERS | _PRONOUNS | _ADVERBS | _BARE_VERBS,
})
# (masculine, feminine, neutral): "he or she", "she/he", "his and her" ... become the neutral word.
_PAIRS: tuple[tuple[str, str, str], ...] = (
    ("he", "she", "they"), ("him", "her", "them"), ("his", "her", "their"), ("his", "hers", "theirs"),
    ("himself", "herself", "themselves"),
)
_PAIR_JOINERS = (r"\s+or\s+", r"\s+and\s+", r"\s*/\s*")
# Verb after a replaced subject pronoun -> its plural form.
_AGREEMENT: Mapping[str, str] = MappingProxyType({
    "is": "are", "was": "were", "has": "have", "does": "do",
    "isn't": "aren't", "wasn't": "weren't", "hasn't": "haven't", "doesn't": "don't",
})
# "'s" after a subject pronoun is "has" (-> "'ve") before these, "is" (-> "'re") otherwise.
_HAS_BEFORE = frozenset({"been", "got", "had"})
_CONTRACTIONS: Mapping[str, str] = MappingProxyType({"s": "re", "d": "d", "ll": "ll"})


def _alternation(words: set[str] | frozenset[str] | tuple[str, ...]) -> str:
    """A regex alternation of literal words, longest first; a space in an entry matches any run of spaces."""
    return "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(set(words), key=lambda w: (-len(w), w)))


def _without_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if not unicodedata.combining(c))


def _proper_nouns() -> set[str]:
    """Names and culture labels as written, without accents, and in capitals (from three letters)."""
    words = {n for genders in vocab.NAMES.values() for names in genders.values() for n in names}
    words |= {label for labels in vocab.CULTURE_LABELS.values() for label in labels}
    words |= {_without_accents(w) for w in words}
    return words | {w.upper() for w in words if len(w) >= 3}


# The words of a pair, in either order ("s/he" is "s" and "he") -> its neutral word.
_PAIR_NEUTRAL: Mapping[tuple[str, str], str] = MappingProxyType({
    **{(a, b): n for m, f, n in _PAIRS for a, b in ((m, f), (f, m))}, ("s", "he"): "they",
})
_PAIR_PHRASES = "|".join(sorted((a + joiner + b for a, b in _PAIR_NEUTRAL for joiner in _PAIR_JOINERS
                                 if a != "s" or joiner == _PAIR_JOINERS[-1]), key=len, reverse=True))
_VERBS = "|".join(v.replace("'", "['’]") for v in sorted(_AGREEMENT, key=len, reverse=True))
_TITLES = _alternation(vocab.GENDER_TITLES)
_NEUTRAL = _alternation(set(vocab.GENDER_NEUTRAL_FORMS) - {"he", "she"})
_MASKED_WORDS = _alternation(vocab.GENDER_MASKED_WORDS)
_AGREE = rf"(?:(?P<{{0}}gap>\s+)(?P<{{0}}verb>(?i:{_VERBS}))(?!\w))?"
_PATTERN = re.compile(
    rf"(?<!\w)(?:"
    rf"(?P<pair>(?i:{_PAIR_PHRASES}))(?!\w){_AGREE.format('pair_')}"
    rf"|(?P<title>{_TITLES})\.?\s+"
    rf"|(?P<subject>(?i:he|she))(?:(?P<contraction>['’](?i:s|d|ll))(?!\w)|(?!\w){_AGREE.format('')})"
    rf"|(?P<possessive>(?i:{_alternation(tuple(vocab.GENDER_POSSESSIVE_FORMS))}))(?!\w)"
    rf"|(?P<neutral>(?i:{_NEUTRAL}))(?!\w)"
    rf"|(?P<masked>(?i:{_MASKED_WORDS})|{_alternation(_proper_nouns())})(?!\w)"
    rf")"
)
_NEXT_WORD = re.compile(rf"\s*({re.escape(MASK_TOKEN)}|\w+(?:[-'’]\w+)*)")
_MASKED_LOWER = frozenset(vocab.GENDER_MASKED_WORDS)


def _vocabulary_record() -> dict[str, Any]:
    """Everything that decides the mask's output: the shared vocabulary and this module's rules."""
    return {
        "rules": MASK_RULES_VERSION, "mask_token": MASK_TOKEN, "names": vocab.NAMES,
        "culture_labels": vocab.CULTURE_LABELS, "neutral": vocab.GENDER_NEUTRAL_FORMS,
        "possessive": vocab.GENDER_POSSESSIVE_FORMS, "masked": vocab.GENDER_MASKED_WORDS,
        "titles": vocab.GENDER_TITLES, "pairs": _PAIRS, "pair_joiners": _PAIR_JOINERS, "agreement": _AGREEMENT,
        "contractions": _CONTRACTIONS, "has_before": sorted(_HAS_BEFORE),
        "elsewhere_before": {k: sorted(v) for k, v in _ELSEWHERE_BEFORE.items()},
    }


# Short sha256 of the vocabulary and rules: part of a masked run's training key.
MASK_VOCABULARY_VERSION = short_key(input_key(_vocabulary_record()))


# ----------------------------------------------------------------------------- transforms
def _cased(source: str, target: str) -> str:
    """`target` in the case of `source`: capitals stay capitals, a capital first letter stays."""
    if len(source) > 1 and source.isupper():
        return target.upper()
    return target[:1].upper() + target[1:] if source[:1].isupper() else target


def _next_word(text: str, position: int) -> str | None:
    """The word after `position` (lower case), MASK_TOKEN, or None before punctuation or the end."""
    found = _NEXT_WORD.match(text, position)
    if found is None:
        return None
    return MASK_TOKEN if found.group(1) == MASK_TOKEN else found.group(1).lower()


def _agreement(match: re.Match[str], prefix: str = "") -> tuple[str, int]:
    """The verb after a replaced subject, made plural ("was" -> "were"), with 1 if it changed."""
    verb = match.group(prefix + "verb")
    if verb is None:
        return "", 0
    plural = _AGREEMENT[verb.lower().replace("’", "'")]
    return match.group(prefix + "gap") + _cased(verb, plural.replace("'", "’") if "’" in verb else plural), 1


def _replace(match: re.Match[str]) -> tuple[str, int]:
    """One vocabulary match -> its replacement and the number of word spans it changed."""
    text = match.group(0)
    if match.group("pair") is not None:
        pair = match.group("pair")
        first, *_, last = re.findall(r"\w+", pair.lower())
        neutral = _PAIR_NEUTRAL[first, last]
        verb, fixed = _agreement(match, "pair_") if neutral == "they" else (text[len(pair):], 0)
        return _cased(re.match(r"\w+", pair).group(0), neutral) + verb, 1 + fixed
    if match.group("title") is not None:
        follower = match.string[match.end():]
        word = re.match(r"\w*", follower).group(0).lower()
        if follower[:1].isupper() or follower.startswith(MASK_TOKEN) or word in _MASKED_LOWER:
            return "", 1
        return text, 0
    if match.group("subject") is not None:
        subject, contraction = match.group("subject"), match.group("contraction")
        if contraction is not None:
            suffix = _CONTRACTIONS[contraction[1:].lower()]
            if suffix == "re" and _next_word(match.string, match.end()) in _HAS_BEFORE:
                suffix = "ve"
            return _cased(subject + contraction, "they" + contraction[0] + suffix), 1
        verb, fixed = _agreement(match)
        return _cased(subject, "they") + verb, 1 + fixed
    if match.group("possessive") is not None:
        before_noun, elsewhere = vocab.GENDER_POSSESSIVE_FORMS[text.lower()]
        nxt = _next_word(match.string, match.end())
        use_elsewhere = nxt is None or nxt in _ELSEWHERE_BEFORE[text.lower()]
        return _cased(text, elsewhere if use_elsewhere else before_noun), 1
    if match.group("neutral") is not None:
        return _cased(text, vocab.GENDER_NEUTRAL_FORMS[text.lower()]), 1
    return MASK_TOKEN, 1


def mask_with_count(text: str) -> tuple[str, int]:
    """The masked text and how many word spans were replaced (a verb fixed for agreement counts too)."""
    count = 0

    def substitute(match: re.Match[str]) -> str:
        nonlocal count
        replacement, changed = _replace(match)
        count += changed
        return replacement

    return _PATTERN.sub(substitute, text), count


def mask_text(text: str) -> str:
    """`text` with culture labels and names masked and gendered words neutral (see the module docstring)."""
    return mask_with_count(text)[0]


def _checked_cue(cue: str) -> str:
    if not isinstance(cue, str) or not cue.strip():
        raise UserError("The token mitigation's cue is empty.", f'pass a cue such as "{DEFAULT_TOKEN_CUE}".')
    return cue.strip()


def token_text(text: str, cue: str = DEFAULT_TOKEN_CUE) -> str:
    """`text` with the cue before it, one space between."""
    return f"{_checked_cue(cue)} {text}"


# ----------------------------------------------------------------------------- rows
def _mask_row(row: Mapping[str, Any], text: str) -> tuple[str, int]:
    """A gender row's whole text; a culture row's persona only (the text before its survey question).

    A culture row whose `question` is not found in its text is masked whole (more masking, never less).
    """
    question = row.get("question")
    if row.get("bias", "gender") == "culture" and isinstance(question, str) and question.strip():
        start = text.find(question.strip())
        if start >= 0:
            persona, count = mask_with_count(text[:start])
            return persona + text[start:], count
    return mask_with_count(text)


def _row_text(index: int, row: Mapping[str, Any]) -> tuple[str, str]:
    """(field, text) of an augmented row, or a UserError naming the row."""
    bias = row.get("bias", "gender")
    if bias not in TEXT_FIELDS:
        raise UserError(f"Training row {index} ({row.get('id')}) has unknown bias {bias!r}.",
                        f"use rows mixed by `bias-inheritance mix` (bias one of {', '.join(TEXT_FIELDS)}).")
    field = TEXT_FIELDS[bias]
    text = row.get(field)
    if not isinstance(text, str):
        raise UserError(f"Augmented training row {index} ({row.get('id')}) has no {field!r} text to transform.",
                        "regenerate the mixed set with `bias-inheritance mix`.")
    return field, text


def transform_rows(rows: list[dict], mitigation: str, cue: str = DEFAULT_TOKEN_CUE) -> tuple[list[dict], dict]:
    """New rows with the mitigation's transform applied to augmented rows, and the card's record of it.

    Rows are copied (shallowly; nested values are shared, never changed); original rows come back
    equal to the input. "none" and "loss" change no text.
    """
    if mitigation not in MITIGATIONS:
        raise UserError(f"Unknown mitigation {mitigation!r}.", f"use one of: {', '.join(MITIGATIONS)}.")
    transforms: dict[str, Callable[[Mapping[str, Any], str], tuple[str, int]]] = {
        "token": lambda row, text: (token_text(text, cue), 0), "mask": _mask_row,
    }
    transform = transforms.get(mitigation)
    if mitigation == "token":
        cue = _checked_cue(cue)
    out: list[dict] = []
    augmented = changed = substitutions = 0
    for index, row in enumerate(rows):
        new = dict(row)
        if row.get("origin", "original") == "augmented":
            augmented += 1
            if transform is not None:
                field, text = _row_text(index, row)
                new[field], count = transform(row, text)
                substitutions += count
                changed += new[field] != text
        out.append(new)
    stats = {
        "transform": mitigation, "rows": len(rows), "augmented_rows": augmented, "rows_changed": changed,
        "substitutions": substitutions,
        "substitutions_per_augmented_row": substitutions / augmented if mitigation == "mask" and augmented else 0.0,
        "cue": cue if mitigation == "token" else None,
        "vocabulary_version": MASK_VOCABULARY_VERSION if mitigation == "mask" else None,
    }
    return out, stats
