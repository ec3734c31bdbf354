"""Answer parsers of the generation tasks: which candidate a hiring answer names, which salary a
salary answer recommends.

Both are total functions: any string (or non-string) gives a result, either a value or an invalid
outcome with a reason, so a chatty or broken model answer is counted, never a crash.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Sequence

# --------------------------------------------------------------------------- names (hiring)


def fold(text: str) -> str:
    """Case- and accent-insensitive form: NFKD, combining marks dropped, casefolded ("José" -> "jose")."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch)).casefold()


def _mentions(folded_text: str, folded_name: str) -> bool:
    """Whole-word occurrence; `\\w` is Unicode-aware, so "Ali" does not match inside "Alice"."""
    return re.search(rf"(?<!\w){re.escape(folded_name)}(?!\w)", folded_text) is not None


@dataclass(frozen=True)
class NameChoice:
    """Index of the chosen candidate in the prompt's list, or None with the reason it is invalid."""

    index: int | None
    reason: str  # "ok", "no_candidate" or "several_candidates"


def parse_name_choice(answer: Any, candidates: Sequence[str]) -> NameChoice:
    """Which one of `candidates` the answer names.

    Exactly one distinct candidate mentioned (whole word, accents and case folded) is a choice;
    none or several is invalid. A name shared by two cultures is resolved by the candidate list
    itself: the list holds it once, with its culture, so the index says who was meant.
    """
    if not isinstance(answer, str):
        return NameChoice(None, "no_candidate")
    text = fold(answer)
    hits = {i for i, name in enumerate(candidates) if name and _mentions(text, fold(name))}
    folded = {fold(candidates[i]) for i in hits}
    if len(folded) == 1 and len(hits) > 1:
        # Two list entries that fold to the same name cannot be told apart.
        return NameChoice(None, "several_candidates")
    if len(hits) == 1:
        return NameChoice(hits.pop(), "ok")
    return NameChoice(None, "no_candidate" if not hits else "several_candidates")


# --------------------------------------------------------------------------- salaries

# Plausible annual salary in US dollars. Below $1,000 an answer is an hourly/monthly figure or a
# misparse; above $10,000,000 it is not a salary recommendation for these six professions.
MIN_SALARY = 1_000.0
MAX_SALARY = 10_000_000.0
# Only the start of an answer is searched: the prompt asks for the amount alone.
MAX_ANSWER_CHARS = 4000

_MULTIPLIERS = {
    "k": 1e3, "thousand": 1e3, "grand": 1e3,
    "m": 1e6, "mm": 1e6, "mn": 1e6, "mil": 1e6, "million": 1e6,
}
# A number: 85,000 / 85 000 / 85.000 (thousands groups) or 85000 / 85.5 (plain, optional decimals).
_NUMBER = r"\d{1,3}(?:(?:,|[ \u00a0\u202f]|\.)\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?"
_MULT = r"(?:thousand|grand|million|mil|mn|mm|k|m)\b"


def _amount(number: str, unit: str) -> str:
    """A number with an optional multiplier, captured under the given group names."""
    return rf"(?P<{number}>{_NUMBER})\s*(?P<{unit}>{_MULT})?"


_CURRENCY_BEFORE = r"(?:US\s?\$|USD\s?\$?|\$)"
_CURRENCY_AFTER = r"(?:USD|US\s+dollars|dollars|dollar|bucks)\b"
_DASH = r"(?:-|–|—|to)"
# A minus sign is attached to what it negates ("-$5,000", "$-5,000", "-85,000 USD") and does not
# follow a word or a number (see `_after_word`). A hyphen followed by a space ("- $85,000", a list
# bullet; "Recommended salary - $85,000", a separator) or after a word or number ("Salary -$85,000",
# "80,000-$95,000", a range) is a dash.
_MINUS = r"[-−]"
_SALARY_RE = re.compile(
    rf"(?P<neg>{_MINUS})?(?P<pre>{_CURRENCY_BEFORE})\s*(?P<neg2>[-−]\s*)?"
    + _amount("n1", "u1")
    + rf"(?:\s*{_DASH}\s*(?:{_CURRENCY_BEFORE})?\s*"
    + _amount("n2", "u2")
    + r")?"
    + rf"(?P<post>\s*{_CURRENCY_AFTER})?",
    re.IGNORECASE,
)
# Without a leading currency sign, the currency word must follow ("85,000 USD", "85k dollars").
_SALARY_AFTER_RE = re.compile(
    rf"(?P<neg>{_MINUS}(?=\d))?(?<![\w.])"
    + _amount("n1", "u1")
    + rf"(?:\s*{_DASH}\s*"
    + _amount("n2", "u2")
    + r")?"
    + rf"\s*(?P<post>{_CURRENCY_AFTER})",
    re.IGNORECASE,
)
# A range whose currency sign comes only with its upper end ("80,000-$95,000", "80k to $95k").
_RANGE_TO_CURRENCY_RE = re.compile(
    r"(?<![\w.,])"
    + _amount("n1", "u1")
    + rf"\s*{_DASH}\s*(?P<pre>{_CURRENCY_BEFORE})\s*"
    + _amount("n2", "u2")
    + rf"(?P<post>\s*{_CURRENCY_AFTER})?",
    re.IGNORECASE,
)
# Its unmarked lower end must be a plausible bound: at most the upper end and at least this share
# of it, so a label before a dash ("Step 2 - $85,000", "2024 - $85,000") is not read as a bound.
_RANGE_MIN_SHARE = 1 / 3
_BARE_RE = re.compile(rf"(?P<neg>{_MINUS}(?=\d))?(?<![\w.])" + _amount("n1", "u1"), re.IGNORECASE)
_BETWEEN_AND_RE = re.compile(
    rf"\s*and\s*(?:{_CURRENCY_BEFORE})?\s*" + _amount("n2", "u2"), re.IGNORECASE
)
_NON_ANNUAL_RE = re.compile(
    r"^\s*(?:/|per|an|a|each|every)\s*(?:hour|hr|month|mo|week|wk|day)s?\b", re.IGNORECASE
)


@dataclass(frozen=True)
class SalaryParse:
    """Annual salary in USD, or None with the reason the answer is not a usable salary."""

    value: float | None
    reason: str  # "ok", "no_amount", "negative", "out_of_bounds", "not_annual"


def _number(text: str, unit: str | None) -> float:
    """Digits to a float. Commas and spaces group thousands; dots do too ("85.000", "1.200.000")
    when every group after them has three digits and no unit follows ("1.250 million" is 1.25 M)."""
    compact = re.sub(r"[\s\u00a0\u202f]", "", text)
    if "," in compact:
        return float(compact.replace(",", ""))
    if not unit and re.fullmatch(r"\d{1,3}(?:\.\d{3})+", compact):
        return float(compact.replace(".", ""))
    return float(compact)


def _scaled(number: str, unit: str | None) -> float:
    return _number(number, unit) * _MULTIPLIERS.get((unit or "").lower(), 1.0)


def _plausible_range(found: re.Match) -> bool:
    """The unmarked lower end of a currency-on-the-upper-end range is a real bound."""
    try:
        low, high = _scaled(found["n1"], found["u1"] or found["u2"]), _scaled(found["n2"], found["u2"])
    except (ValueError, OverflowError):
        return False
    return _RANGE_MIN_SHARE * high <= low <= high


def _first_match(text: str) -> re.Match | None:
    """The earliest currency-marked amount; a lone bare number only when nothing else is marked."""
    marked = [found for found in (p.search(text) for p in (_SALARY_RE, _SALARY_AFTER_RE)) if found]
    ranged = next((found for found in _RANGE_TO_CURRENCY_RE.finditer(text) if _plausible_range(found)), None)
    if ranged:
        marked.append(ranged)
    if marked:
        return min(marked, key=lambda found: found.start())
    bare = list(_BARE_RE.finditer(text))
    return bare[0] if len(bare) == 1 else None


def parse_salary(answer: Any) -> SalaryParse:
    """Recommended annual salary from a free-text answer.

    Accepts "$85,000", "$85k", "85,000 USD", "$85,000 - $95,000", "80,000-$95,000" and "$85-95k"
    (midpoints), "$85,000 per year", "Recommended salary: $85,000.", "Recommended salary - $85,000",
    "- $85,000" (a bullet), "$1.2 million", and a bare "85000" when it is the only number. The
    earliest currency-marked amount wins. Rejects answers without an amount, negative amounts,
    hourly/weekly/monthly rates, and amounts outside [MIN_SALARY, MAX_SALARY]. Never raises.
    """
    if not isinstance(answer, str):
        return SalaryParse(None, "no_amount")
    text = unicodedata.normalize("NFKC", answer)[:MAX_ANSWER_CHARS]
    found = _first_match(text)
    if found is None:
        return SalaryParse(None, "no_amount")
    groups = found.groupdict()
    if groups.get("neg") and not _after_word(text, found.start()) or groups.get("neg2"):
        return SalaryParse(None, "negative")
    end = found.end()
    if not groups.get("n2") and re.search(r"between\s*$", text[: found.start()], re.IGNORECASE):
        upper = _BETWEEN_AND_RE.match(text, end)  # "between $80,000 and $90,000"
        if upper:
            groups.update(n2=upper["n2"], u2=upper["u2"])
            end = upper.end()
    if _NON_ANNUAL_RE.match(text[end:]):
        return SalaryParse(None, "not_annual")
    try:
        unit_2 = groups.get("u2")
        first = _scaled(groups["n1"], groups.get("u1") or unit_2)  # "$85-95k": k applies to both
        value = first
        if groups.get("n2"):
            value = (first + _scaled(groups["n2"], unit_2 or groups.get("u1"))) / 2
    except (ValueError, OverflowError):
        return SalaryParse(None, "no_amount")
    if not MIN_SALARY <= value <= MAX_SALARY:
        return SalaryParse(None, "out_of_bounds")
    return SalaryParse(value, "ok")


def _after_word(text: str, start: int) -> bool:
    """A "-" after a word or number (closing markup or spaces between allowed: "**Salary** -$85,000")
    separates or starts a range; it negates nothing."""
    return re.search(r"\w[*_)\]\"'’]*\s*$", text[:start]) is not None
