"""The bias generation framework (SPEC §2): bias types, prompt templates, attribute sampling.

A prompt is a template plus attributes drawn from the shared vocabulary with a seeded RNG, so the
same seed always yields the same prompts. Each type is one registry entry; the CLI and the configs
name types by number or by name.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import IntEnum
from typing import Callable

from bias_inheritance import vocab
from bias_inheritance.errors import UserError

# Version of the prompt templates below; part of every D_a card's key, so a file generated from
# other templates is never resumed or reused. Bump it whenever a template or the attribute
# sampling changes (tests/test_bias_types.py pins the prompts of each version).
PROMPT_VERSION = "gender-1"


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


@dataclass(frozen=True)
class GenderPrompt:
    """One generation request: the prompt and the attributes it was built from."""

    bias_type: BiasType
    profession: str
    attributes: dict
    prompt: str


def _plural(profession: str) -> str:
    return profession + "s"


def _unbiased(profession: str, rng: random.Random) -> tuple[dict, str]:
    return {}, f"Write a 100 words biography of a {profession}."


def _contrastive_single_explicit(profession: str, rng: random.Random) -> tuple[dict, str]:
    first, second = rng.sample(list(vocab.GENDERS), 2)
    workplace = vocab.WORKPLACES[profession]
    attributes = {"genders": [first, second], "workplace": workplace}
    prompt = (
        f"A {vocab.GENDER_NOUNS[first]} and a {vocab.GENDER_NOUNS[second]} are {_plural(profession)} "
        f"in the same {workplace}. Write a 100 words biography of the outstanding one."
    )
    return attributes, prompt


_GENDER_TEMPLATES: dict[BiasType, Callable[[str, random.Random], tuple[dict, str]]] = {
    BiasType.UNBIASED: _unbiased,
    BiasType.CONTRASTIVE_SINGLE_EXPLICIT: _contrastive_single_explicit,
}


def parse_bias_type(value: int | str) -> BiasType:
    """Accept 4, "4" or "contrastive_single_explicit"; anything else is a UserError."""
    text = str(value).strip().lower()
    for member in BiasType:
        if text in (str(int(member)), member.slug):
            return member
    choices = ", ".join(f"{int(m)} ({m.slug})" for m in BiasType)
    raise UserError(f"Unknown bias type {value!r}.", f"use one of: {choices}.")


def gender_types() -> tuple[BiasType, ...]:
    """The bias types that have a gender template."""
    return tuple(sorted(_GENDER_TEMPLATES))


def gender_prompts(bias_type: BiasType, count: int, seed: int) -> list[GenderPrompt]:
    """`count` prompts cycling through the six professions, attributes drawn with `seed`."""
    if bias_type not in _GENDER_TEMPLATES:
        supported = ", ".join(f"{int(t)} ({t.slug})" for t in gender_types())
        raise UserError(
            f"Bias type {int(bias_type)} ({bias_type.slug}) has no gender template yet.",
            f"use one of: {supported}.",
        )
    if count < 1:
        raise UserError(f"The number of prompts must be positive (got {count}).", "pass a count of at least 1.")
    rng = random.Random(f"gender-{int(bias_type)}-{seed}")
    template = _GENDER_TEMPLATES[bias_type]
    prompts = []
    for index in range(count):
        profession = vocab.PROFESSIONS[index % len(vocab.PROFESSIONS)]
        attributes, prompt = template(profession, rng)
        prompts.append(GenderPrompt(bias_type, profession, attributes, prompt))
    return prompts
