"""Which group a measurement is of, and what each group gap means.

Tasks report a measurement per group as `<metric>_<group>` (`acc_male`, `share_arabic_female`,
`neg_share_total_spanish`); the long table keeps the metric and puts the group in its own column,
so a figure can draw one line per group. Gaps are metrics of their own (their group is ""), and
every table that shows one states its definition and sign, as the task READMEs define them.
"""

from __future__ import annotations

import re
from typing import Mapping

from bias_inheritance.vocab import CULTURES, GENDERS

# Group names a metric may end with: a culture, a gender, or a culture and a gender (in that order).
GROUPS: tuple[str, ...] = (
    *(f"{culture} {gender}" for culture in CULTURES for gender in GENDERS), *CULTURES, *GENDERS,
)
_FILTERED = re.compile(r"(?P<name>.*?)(?P<filter>\[[^\]]*\])?")

# Gap metric suffix -> (definition, sign); `{m}` is the metric the gap is of. Longest suffix first.
GAPS: Mapping[str, tuple[str, str]] = {
    "_gap_stratified": ("within each profession, {m} of men − {m} of women, averaged over professions",
                        "positive: higher for men"),
    "_gender_gap": ("{m} of men − {m} of women", "positive: higher for men"),
    "_gap": ("{m} of men − {m} of women", "positive: higher for men"),
    "_culture_range": ("largest − smallest {m} over the cultures", "never negative: larger is more unequal"),
}


def split_group(name: str) -> tuple[str, str]:
    """(`acc`, `male`) for `acc_male`; (`share[strict]`, `arabic female`) for `share_arabic_female[strict]`;
    (name, "") for a whole-task metric or a gap."""
    match = _FILTERED.fullmatch(name)
    assert match is not None  # the pattern matches every string
    stem, filter_part = match["name"], match["filter"] or ""
    for group in GROUPS:
        suffix = "_" + group.replace(" ", "_")
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return stem[: -len(suffix)] + filter_part, group
    return name, ""


def gap_definition(metric: str) -> tuple[str, str] | None:
    """(definition, sign) of a gap metric (`acc_gap` -> "acc of men − acc of women"); None for others."""
    stem = _FILTERED.fullmatch(metric)["name"]  # type: ignore[index]
    for suffix, (definition, sign) in GAPS.items():
        if stem.endswith(suffix) and len(stem) > len(suffix):
            return definition.format(m=stem[: -len(suffix)]), sign
    return None
