"""The bias types of the generation framework (SPEC §2), by number or by name.

The seven types are shared by both biases (gender 0-6, culture 1-6); each bias keeps its own prompt
templates and sampling (generators/gender/, generators/culture/).
"""

from __future__ import annotations

from enum import IntEnum

from bias_inheritance.errors import UserError


class BiasType(IntEnum):
    UNBIASED = 0
    CONTEXTUAL_SINGLE_EXPLICIT = 1
    CONTEXTUAL_INTERSECTIONAL_EXPLICIT = 2
    CONTEXTUAL_IMPLICIT = 3
    CONTRASTIVE_SINGLE_EXPLICIT = 4
    CONTRASTIVE_INTERSECTIONAL_EXPLICIT = 5
    CONTRASTIVE_IMPLICIT = 6

    @property
    def slug(self) -> str:
        return self.name.lower()


def parse_bias_type(value: int | str) -> BiasType:
    """Accept 4, "4" or "contrastive_single_explicit"; anything else is a UserError."""
    text = str(value).strip().lower()
    for member in BiasType:
        if text in (str(int(member)), member.slug):
            return member
    choices = ", ".join(f"{int(m)} ({m.slug})" for m in BiasType)
    raise UserError(f"Unknown bias type {value!r}.", f"use one of: {choices}.")
