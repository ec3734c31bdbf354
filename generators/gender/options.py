"""The settings a gender request list accepts, checked against the shared vocabulary.

Options narrow an attribute's range (e.g. only nurses) or keep the paper's wording for types 2 and
3. They are validated per bias type: an option the type does not use is an error rather than
silently ignored, so a user never believes a setting took effect when it did not.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from types import MappingProxyType
from typing import Any, Mapping

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from generators.requests import check_option_names

# Types whose prompt in the paper (Table 4) names no profession; we add it unless paper_wording.
PROFESSIONLESS_IN_PAPER: frozenset[int] = frozenset({2, 3})
CONTRASTIVE_TYPES: frozenset[int] = frozenset({4, 5, 6})

# The attribute ranges each type samples (besides the cycled profession).
_RANGES_USED: Mapping[int, frozenset[str]] = MappingProxyType({
    0: frozenset(),
    1: frozenset({"genders"}),
    2: frozenset({"genders", "ages", "cultures"}),
    3: frozenset({"genders", "cultures"}),
    4: frozenset(),  # always a man and a woman
    5: frozenset({"genders", "ages", "cultures"}),
    6: frozenset({"genders", "cultures"}),
})


@dataclass(frozen=True)
class GenderOptions:
    """Validated options, each range in vocabulary order (so option order never changes a prompt)."""

    professions: tuple[str, ...] = vocab.PROFESSIONS
    genders: tuple[str, ...] = vocab.GENDERS
    ages: tuple[int, ...] = vocab.AGES
    cultures: tuple[str, ...] = vocab.CULTURES
    paper_wording: bool = False

    def key(self) -> dict[str, Any]:
        """The options that differ from the defaults: what must enter a request's id."""
        default = GenderOptions()
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) != getattr(default, f.name)}


def names_profession(bias_type: int, options: GenderOptions) -> bool:
    """Whether the prompt of this type names a profession (all but paper-worded types 2 and 3)."""
    return not (options.paper_wording and bias_type in PROFESSIONLESS_IN_PAPER)


def _subset(name: str, given: Any, allowed: tuple, convert) -> tuple:
    values = [given] if isinstance(given, (str, int)) else list(given) if isinstance(given, (list, tuple)) else None
    choices = ", ".join(str(v) for v in allowed)
    if not values:
        raise UserError(f"Option {name} must be a non-empty list (got {given!r}).", f"use some of: {choices}.")
    chosen = set()
    for value in values:
        converted = convert(value)
        if converted not in allowed:
            raise UserError(f"Unknown value {value!r} in option {name}.", f"use some of: {choices}.")
        chosen.add(converted)
    return tuple(v for v in allowed if v in chosen)


def _text(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


def _age(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


_CONVERT = {"professions": _text, "genders": _text, "ages": _age, "cultures": _text}


def parse_options(bias_type: int, options: Mapping[str, Any] | None) -> GenderOptions:
    """Check `options` for one bias type; every problem is a UserError naming the allowed values."""
    options = dict(options or {})
    known = ("professions", *sorted(_RANGES_USED[2]), "paper_wording")
    wording = check_option_names("gender", options, known)
    options.pop("paper_wording", None)
    default = GenderOptions()
    for name in options:
        if name != "professions" and name not in _RANGES_USED[bias_type]:
            used = ", ".join(["professions", *sorted(_RANGES_USED[bias_type])])
            raise UserError(f"Option {name} does not apply to gender bias type {bias_type}.",
                            f"this type samples only: {used}.")
    if "professions" in options and not names_profession(bias_type, GenderOptions(paper_wording=wording)):
        raise UserError(f"Option professions does not apply to gender bias type {bias_type} with paper_wording: "
                        "its prompt names no profession.", "drop professions, or drop paper_wording.")
    ranges = {name: _subset(name, value, getattr(default, name), _CONVERT[name]) for name, value in options.items()}
    parsed = GenderOptions(**ranges, paper_wording=wording and bias_type in PROFESSIONLESS_IN_PAPER)
    _check_two_candidates(bias_type, parsed)
    return parsed


def _check_two_candidates(bias_type: int, options: GenderOptions) -> None:
    """A contrastive prompt needs two different people; some narrowed ranges leave only one."""
    if bias_type == 5 and len(options.genders) * len(options.ages) * len(options.cultures) < 2:
        raise UserError("Gender bias type 5 needs two different people, but the options leave one.",
                        "allow at least two genders, ages or cultures.")
