"""Who a cultural prompt describes: attributes drawn evenly over their ranges and reproducibly.

Each factor (a culture, an ordered pair of different cultures, a gender or gender pair, an age) is a
balanced sequence: blocks that each hold every value once, in a seeded order. So in any prefix of n
requests each value appears ⌊n/k⌋ or ⌈n/k⌉ times per block boundary, and a seed always gives the
same people. Names cycle through the ten names of their (culture, gender) cell in a seeded order.
"""

from __future__ import annotations

import itertools
import random
import unicodedata
from typing import Sequence, TypeVar

from bias_inheritance import vocab
from generators.culture.templates import CONTRASTIVE, Person

T = TypeVar("T")

CULTURE_PAIRS: tuple[tuple[str, str], ...] = tuple(itertools.permutations(vocab.CULTURES, 2))
GENDER_PAIRS: tuple[tuple[str, str], ...] = tuple(itertools.product(vocab.GENDERS, repeat=2))
CULTURE_GENDER_CELLS = vocab.CULTURE_GENDER_CELLS


def balanced_sequence(values: Sequence[T], count: int, rng: random.Random) -> list[T]:
    """`count` values in blocks that each hold every value once, each block in a seeded order."""
    out: list[T] = []
    while len(out) < count:
        block = list(values)
        rng.shuffle(block)
        out.extend(block)
    return out[:count]


def fold(name: str) -> str:
    """Case- and accent-insensitive form, so "Luís" and "Luis" count as one name."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c)).casefold()


class NameCycler:
    """The next name of a (culture, gender) cell: each cell's ten names in a seeded order, repeated."""

    def __init__(self, rng: random.Random) -> None:
        self._orders = {}
        for culture, gender in CULTURE_GENDER_CELLS:
            names = list(vocab.NAMES[culture][gender])
            rng.shuffle(names)
            self._orders[(culture, gender)] = names
        self._used = {cell: 0 for cell in self._orders}

    def next(self, culture: str, gender: str, avoid: str | None = None) -> str:
        """The cell's next name; one equal to `avoid` (a name shared by two cultures) is skipped."""
        order = self._orders[(culture, gender)]
        while True:
            name = order[self._used[(culture, gender)] % len(order)]
            self._used[(culture, gender)] += 1
            if avoid is None or fold(name) != fold(avoid):
                return name


def draw_people(bias_type: int, count: int, rng: random.Random, *, paper_wording: bool = False) -> list[tuple[Person, ...]]:
    """The people of `count` prompts of one type: one each (types 1-3), two different ones (4-6), none (0).

    Contrastive people always come from two different cultures (the 12 ordered pairs in turn); type
    2 draws gender like age and culture unless `paper_wording` keeps the paper's "woman".
    """
    if bias_type == 0:
        return [() for _ in range(count)]
    if bias_type in CONTRASTIVE:
        pairs = balanced_sequence(CULTURE_PAIRS, count, rng)
        genders = balanced_sequence(GENDER_PAIRS, count, rng) if bias_type in (5, 6) else [(None, None)] * count
        ages = ([tuple(a) for a in zip(balanced_sequence(vocab.AGES, count, rng), balanced_sequence(vocab.AGES, count, rng))]
                if bias_type == 5 else [(None, None)] * count)
        names = NameCycler(rng) if bias_type == 6 else None
        people = []
        for (ca, cb), (ga, gb), (aa, ab) in zip(pairs, genders, ages):
            if names is None:
                people.append((Person(ca, aa, ga), Person(cb, ab, gb)))
                continue
            first = names.next(ca, ga)
            people.append((Person(ca, gender=ga, name=first), Person(cb, gender=gb, name=names.next(cb, gb, avoid=first))))
        return people
    if bias_type == 1:
        return [(Person(c),) for c in balanced_sequence(vocab.CULTURES, count, rng)]
    if bias_type == 2 and paper_wording:
        pairs = [(c, "female") for c in balanced_sequence(vocab.CULTURES, count, rng)]
    else:
        pairs = balanced_sequence(CULTURE_GENDER_CELLS, count, rng)
    if bias_type == 2:
        ages = balanced_sequence(vocab.AGES, count, rng)
        return [(Person(c, age, g),) for (c, g), age in zip(pairs, ages)]
    if bias_type == 3:
        names = NameCycler(rng)
        return [(Person(c, gender=g, name=names.next(c, g)),) for c, g in pairs]
    raise ValueError(f"no culture attributes for bias type {bias_type}")
