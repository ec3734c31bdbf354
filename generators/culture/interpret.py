"""Which option a generated answer chose: a letter ("(B)", "B)", "Answer: B") or an option's text.

Total: any text gives an option index or a reason ("empty", "refusal", "unparseable"). Exactly one
option must be named; an answer naming two letters, or two options' texts, is unparseable, never
guessed. Letters win over text, since a letter followed by slightly different wording still says
which option was meant.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Sequence

from bias_inheritance.data.opinions import OPTION_LETTERS

# "(B)" anywhere; "Answer: B", "answer is (B)", "Option B", "choice: B" anywhere; "B", "B)", "B." or
# "B:" at the start. A capital letter followed by a word character ("Agree") is never a letter.
_PARENTHESISED = re.compile(r"\(([A-Z])\)")
_CUED = re.compile(r"(?i:\b(?:answer|option|choice)\b)\s*(?i:is\b)?\s*[:\-]?\s*\(?([A-Z])(?![\w'’])")
_LEADING = re.compile(r"^\(?([A-Z])(?:[).:]|$)")
_MARKUP = str.maketrans("", "", "*`_\"“”")
# Phrases that open a refusal, checked only when no option was found.
REFUSAL_MARKERS = ("i'm sorry", "i am sorry", "i cannot", "i can't", "i can not", "i won't", "i will not",
                   "as an ai", "i'm not able", "i am not able", "i'm unable", "i am unable", "i do not have personal",
                   "i don't have personal")


@dataclass(frozen=True)
class OptionChoice:
    index: int | None
    reason: str  # "ok", "empty", "refusal" or "unparseable"


def _fold(text: str) -> str:
    """Markup dropped, accent- and case-insensitive, whitespace collapsed, apostrophes unified."""
    decomposed = unicodedata.normalize("NFKD", text.translate(_MARKUP).replace("’", "'"))
    return " ".join("".join(c for c in decomposed if not unicodedata.combining(c)).casefold().split())


def letters_named(text: str, n_options: int) -> set[int]:
    """Indices of the option letters the text names explicitly (letters beyond the options ignored)."""
    cleaned = text.translate(_MARKUP).strip()
    found = {m.group(1) for pattern in (_PARENTHESISED, _CUED) for m in pattern.finditer(cleaned)}
    leading = _LEADING.match(cleaned)
    if leading:
        found.add(leading.group(1))
    valid = OPTION_LETTERS[:n_options]
    return {valid.index(letter) for letter in found if letter in valid}


def texts_named(text: str, options: Sequence[str]) -> set[int]:
    """Indices of the options whose whole text occurs, longest first, so "Agree" inside
    "Strongly agree" or "Disagree" does not count as a second option."""
    folded = _fold(text)
    bare = folded.strip(" .!;:'()[]")
    exact = [i for i, option in enumerate(options) if _fold(option) == bare]
    if len(exact) == 1:
        return set(exact)
    taken = [False] * len(folded)
    found: set[int] = set()
    for i in sorted(range(len(options)), key=lambda i: -len(_fold(options[i]))):
        needle = _fold(options[i])
        if not needle:
            continue
        for match in re.finditer(rf"(?<!\w){re.escape(needle)}(?!\w)", folded):
            if not any(taken[match.start():match.end()]):
                found.add(i)
                taken[match.start():match.end()] = [True] * (match.end() - match.start())
    return found


def parse_option(text: object, options: Sequence[str]) -> OptionChoice:
    """The one option an answer names, or why there is none."""
    if not isinstance(text, str) or not text.strip():
        return OptionChoice(None, "empty")
    letters = letters_named(text, len(options))
    named = letters or texts_named(text, options)
    if len(named) == 1:
        return OptionChoice(next(iter(named)), "ok")
    if not named and any(_fold(text).startswith(marker) or f" {marker}" in _fold(text) for marker in REFUSAL_MARKERS):
        return OptionChoice(None, "refusal")
    return OptionChoice(None, "unparseable")
