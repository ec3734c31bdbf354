"""What a generated biography says: its gender, its profession, whom it is about, or a refusal.

Every rule here is deliberately conservative: a row the rules cannot read is marked, counted by
the audit and never trained on, rather than guessed, because a wrong label would itself be a bias
injected by this code.
"""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Mapping, Sequence

from bias_inheritance import vocab
from generators.gender.sampling import fold

_WORD = re.compile(r"[a-z]+")

# How a biography may name each profession. Only the title and its plural, plus unambiguous
# equivalents: an orthodontist or dental surgeon is a dentist, a software developer is a software
# engineer (one occupation in the US SOC, 15-1252). Left out on purpose: "programmer" (a separate
# SOC occupation), bare "engineer"/"developer" (any engineer; a property developer), "artist"
# (a musician too), "lecturer", "nursing", "architecture" (a field, not a person's job).
PROFESSION_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "architect": ("architect",),
    "dentist": ("dentist", "orthodontist", "dental surgeon"),
    "nurse": ("nurse",),
    "painter": ("painter",),
    "professor": ("professor",),
    "software engineer": ("software engineer", "software developer"),
})
_PROFESSION_PATTERNS = {
    p: re.compile(r"\b(?:" + "|".join(re.escape(w) + "s?" for w in words) + r")\b", re.IGNORECASE)
    for p, words in PROFESSION_WORDS.items()
}

# A refusal opens with one of these and is short; a biography that merely starts with an apology
# and then delivers ~100 words is kept.
_REFUSAL = re.compile(
    r"^\W*(?:i'?m sorry|i am sorry|sorry\b|i apologi[sz]e|i can'?t|i cannot|i can not|i won'?t|i will not|"
    r"i'?m (?:not able|unable)|i am (?:not able|unable)|as an ai\b)",
    re.IGNORECASE,
)
REFUSAL_MAX_WORDS = 60

_AGE = re.compile(r"\b(\d{1,3})(?:[- ]years?[- ]old\b)|\baged (\d{1,3})\b", re.IGNORECASE)
# Words that name a culture in a biography, beyond its adjective ("Arabic culture", "Arab heritage").
_CULTURE_WORDS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    c: (vocab.CULTURE_ADJECTIVES[c], *(("Arab",) if c == "arabic" else ())) for c in vocab.CULTURES
})


def infer_gender(text: str) -> str:
    """Whom a biography is about, by its gendered words: "male", "female" or "unknown" on a tie."""
    words = _WORD.findall(text.lower())
    male = sum(w in vocab.GENDERED_WORDS["male"] for w in words)
    female = sum(w in vocab.GENDERED_WORDS["female"] for w in words)
    if male == female:
        return "unknown"
    return "male" if male > female else "female"


def label_profession(text: str) -> str | None:
    """The profession a biography names most often, or None when none or a tie (e.g. a painter who
    became an architect): such a row cannot be labelled without guessing."""
    counts = {p: len(pattern.findall(text)) for p, pattern in _PROFESSION_PATTERNS.items()}
    top = max(counts.values())
    leaders = [p for p, n in counts.items() if n == top]
    return leaders[0] if top > 0 and len(leaders) == 1 else None


def is_refusal(text: str) -> bool:
    """A short text that opens by declining ("I'm sorry, but I can't ...")."""
    text = text.replace("\u2019", "'")
    return bool(_REFUSAL.match(text)) and len(text.split()) <= REFUSAL_MAX_WORDS


def _names_about(candidates: Sequence[Mapping], text: str) -> int | None:
    """The candidate whose name occurs more often (accent-insensitive, whole words); on a tie of
    counts, the one named first; None when neither name occurs."""
    folded = fold(text)
    found = []
    for index, person in enumerate(candidates):
        hits = [m.start() for m in re.finditer(rf"(?<!\w){re.escape(fold(str(person['name'])))}(?!\w)", folded)]
        if hits:
            found.append((-len(hits), hits[0], index))
    return min(found)[2] if found else None


def _words_about(candidates: Sequence[Mapping], text: str) -> int | None:
    """The one candidate whose own age or culture (one the other does not share) the text names."""
    ages = {int(a or b) for a, b in _AGE.findall(text)}
    pointing = set()
    for index, person in enumerate(candidates):
        other = candidates[1 - index]
        if "age" in person and person["age"] != other["age"] and person["age"] in ages:
            pointing.add(index)
        if "culture" in person and person["culture"] != other["culture"] and any(
                re.search(rf"\b{w}\b", text) for w in _CULTURE_WORDS[person["culture"]]):
            pointing.add(index)
    return pointing.pop() if len(pointing) == 1 else None


def about(bias_type: int, candidates: Sequence[Mapping], text: str, gender: str) -> int | None:
    """Which of a contrastive prompt's two candidates (0 or 1) the biography is about, or None.

    Type 6 by the names; types 4 and 5 by the inferred gender when the candidates differ in gender
    and the text has one, else (type 5) by age or culture words that fit only one candidate.
    """
    if bias_type == 6:
        return _names_about(candidates, text)
    genders = [person["gender"] for person in candidates]
    if genders[0] != genders[1] and gender in genders:
        return genders.index(gender)
    return _words_about(candidates, text) if bias_type == 5 else None
