"""Balanced, reproducible attribute sampling for the gender bias types.

Independent random draws would leave, in a few hundred prompts, some ages, cultures or names rare
and some profession x gender cells lopsided, which the study would then misread as the
generator's bias. Attributes are therefore drawn by minimization (Taves 1974; Pocock & Simon
1975): each request takes, among the candidate people, one whose values are used least so far, and
a seeded RNG breaks ties, so runs are random yet reproducible for a seed, and request i depends
only on requests 0..i-1 (a longer run extends a shorter one).

The first person's gender is the design variable (mixing stratifies by profession x gender), so
it is not left to chance or to a greedy rule: professions cycle in vocabulary order, and in round r
the profession at position p gets gender (p + r) mod 2, the two genders relabelled at random every
two rounds. Genders are then balanced overall and within every profession at every prefix.

Everything else is drawn per candidate slot (first and second person of a contrastive prompt
separately, so mention order is never confounded with an attribute), by priority:
1. every attribute's overall count (gender, age, culture, the culture x gender cell, and the name
   drawn for its culture and gender), so counts differ by at most one; only when a contrastive
   prompt's two slots would otherwise name the same person can a count differ by two;
2. the gender count within the request's profession;
3. the other counts within the profession.
A contrastive prompt's workplace is its profession's.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Hashable, Sequence

from bias_inheritance import vocab
from generators.gender.options import GenderOptions, names_profession

Person = dict  # {"gender": ...} plus "age"/"culture"/"name" as the type uses
Cost = tuple[int, int, int]


@dataclass(frozen=True)
class Draw:
    """What one request was built from: its profession (None if the prompt names none) and people."""

    profession: str | None
    people: tuple[Person, ...]


def fold(name: str) -> str:
    """A name without accents: models often drop them ("Jose"), and "Maria"/"María" read alike."""
    return "".join(c for c in unicodedata.normalize("NFKD", name) if not unicodedata.combining(c))


def candidates(bias_type: int, options: GenderOptions) -> list[Person]:
    """The people one slot of a prompt of this type can name (empty for type 0)."""
    if bias_type == 0:
        return []
    if bias_type in (1, 4):
        return [{"gender": g} for g in options.genders]  # type 4 takes no genders option: both
    if bias_type in (2, 5):
        return [{"age": a, "gender": g, "culture": c}
                for g in options.genders for a in options.ages for c in options.cultures]
    return [{"name": n, "gender": g, "culture": c}
            for c in options.cultures for g in options.genders for n in vocab.NAMES[c][g]]


def _identity(bias_type: int) -> Callable[[Person], Hashable]:
    """What must differ between the two people of a contrastive prompt."""
    if bias_type == 4:
        return lambda person: person["gender"]
    if bias_type == 6:  # the text must tell the two names apart
        return lambda person: fold(person["name"])
    return lambda person: tuple(sorted(person.items()))


def _margins(person: Person) -> list[tuple[str, Hashable]]:
    """The (attribute, value) counts a person adds to; a name is counted per culture it was drawn for."""
    keys: list[tuple[str, Hashable]] = [("gender", person["gender"])]  # first: see _Slot.costs
    keys += [(k, v) for k, v in person.items() if k not in ("gender", "name")]
    if "culture" in person:
        keys.append(("cell", (person["culture"], person["gender"])))
    if "name" in person:
        keys.append(("name", (person["culture"], person["name"])))
    return keys


class _Slot:
    """Counts of the values drawn so far for one candidate slot, overall and per profession."""

    def __init__(self, space: Sequence[Person], identity: Callable[[Person], Hashable]) -> None:
        self.space = list(space)
        self.identities = [identity(p) for p in self.space]
        self.margins = [_margins(p) for p in self.space]
        self.domains: dict[str, set] = {}
        for keys in self.margins:
            for name, value in keys:
                self.domains.setdefault(name, set()).add(value)
        self.counts: Counter = Counter()

    def costs(self, profession: str | None) -> list[Cost]:
        """Each candidate's excess over the least-used value of each attribute (see module doc)."""
        overall, within = self._excess(()), self._excess((profession,))
        return [(sum(map(overall.__getitem__, keys)), within[keys[0]], sum(map(within.__getitem__, keys)))
                for keys in self.margins]

    def _excess(self, stratum: tuple) -> dict[tuple[str, Hashable], int]:
        excess = {}
        for m, values in self.domains.items():
            counts = {v: self.counts[(*stratum, m, v)] for v in values}
            low = min(counts.values())
            excess.update({(m, v): n - low for v, n in counts.items()})
        return excess

    def add(self, index: int, profession: str | None) -> None:
        for m, v in self.margins[index]:
            self.counts[(m, v)] += 1
            self.counts[(profession, m, v)] += 1


def _lowest(costs: list[Cost], allowed: Sequence[int]) -> list[int]:
    best = min(costs[i] for i in allowed)
    return [i for i in allowed if costs[i] == best]


def _pick_pair(first: _Slot, second: _Slot, allowed: list[int], profession: str | None,
               rng: random.Random) -> tuple[int, int]:
    """Two different people, each least used in its slot; if none such exists (the second slot's
    only least-used person is the first's), the different pair of lowest summed cost."""
    costs_a, costs_b = first.costs(profession), second.costs(profession)
    low_a, low_b = _lowest(costs_a, allowed), _lowest(costs_b, range(len(costs_b)))
    for i in rng.sample(low_a, len(low_a)):
        options = [j for j in low_b if second.identities[j] != first.identities[i]]
        if options:
            return i, rng.choice(options)
    total = {(i, j): tuple(x + y for x, y in zip(costs_a[i], costs_b[j]))
             for i in allowed for j in range(len(costs_b)) if second.identities[j] != first.identities[i]}
    best = min(total.values())
    return rng.choice([pair for pair, cost in total.items() if cost == best])


class _FirstGender:
    """Gender (p + r) mod k for the profession at position p in round r, relabelled every k rounds."""

    def __init__(self, genders: Sequence[str], professions: int, rng: random.Random) -> None:
        self.genders, self.professions, self.rng = list(genders), professions, rng
        self.order: list[str] = []

    def __call__(self, index: int) -> str:
        position, round_ = index % self.professions, index // self.professions
        k = len(self.genders)
        if position == 0 and round_ % k == 0:
            self.order = self.rng.sample(self.genders, k)
        return self.order[(position + round_) % k]


def sample(bias_type: int, count: int, seed: int, options: GenderOptions) -> list[Draw]:
    """`count` draws of one type; the same arguments always give the same draws."""
    rng = random.Random(f"gender-{bias_type}-{seed}")
    professions: Sequence[str | None] = options.professions if names_profession(bias_type, options) else (None,)
    space = candidates(bias_type, options)
    slots = [_Slot(space, _identity(bias_type)), _Slot(space, _identity(bias_type))]
    first_gender = _FirstGender(options.genders, len(professions), rng)
    draws = []
    for index in range(count):
        profession = professions[index % len(professions)]
        chosen: tuple[int, ...] = ()
        if space:
            gender = first_gender(index)
            allowed = [i for i, person in enumerate(space) if person["gender"] == gender]
            if bias_type in (4, 5, 6):
                chosen = _pick_pair(slots[0], slots[1], allowed, profession, rng)
            else:
                chosen = (rng.choice(_lowest(slots[0].costs(profession), allowed)),)
        for slot, i in zip(slots, chosen):
            slot.add(i, profession)
        draws.append(Draw(profession, tuple(dict(space[i]) for i in chosen)))
    return draws
