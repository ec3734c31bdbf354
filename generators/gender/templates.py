"""The gender prompt templates of every bias type (SPEC §2, the paper's Table 4), in one place.

Each prompt asks for a biography of "100 words", as in the paper; other code places the generated
biography into the bios question format. Two documented deviations from the paper's wording:

- Types 2 and 3 name no profession in the paper, yet every training row needs its profession label
  and mixing stratifies by profession. By default the profession is added, in the form the paper
  itself uses as an example in its appendix A.2.2 ("a 40-year-old male professor influenced by
  Portuguese culture"); the option paper_wording keeps the paper's text, and the profession is then
  labelled from the generated text.
- The article agrees with the next word ("an architect", "an 80-year-old"), where the paper's
  templates read "a [profession]".
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Callable, Mapping, Sequence

from bias_inheritance import vocab

# Part of every request id and every D_a card's key: bump it whenever a template or the attribute
# sampling changes (tests/test_gender_bias.py pins the prompts of each version).
# gender-1: types 0 and 4. gender-2: all seven types, profession in types 2/3, a/an agreement,
# balanced attribute sampling.
PROMPT_VERSION = "gender-2"

_BIO = "Write a 100 words biography"
_OUTSTANDING = f"{_BIO} of the outstanding one."

Person = Mapping[str, object]


def _a(phrase: str) -> str:
    """The phrase with its indefinite article: "an" before a vowel sound (ages: only "80")."""
    return ("an " if phrase[0].lower() in "aeiou8" else "a ") + phrase


def _described(person: Person, profession: str | None) -> str:
    """ "a 40-year-old male professor influenced by Portuguese culture" (or "... woman ..." without one)."""
    who = f"{vocab.GENDER_NOUNS[person['gender']]}" if profession is None else f"{person['gender']} {profession}"
    return _a(f"{person['age']}-year-old {who} influenced by {vocab.CULTURE_ADJECTIVES[person['culture']]} culture")


def _contrast(first: str, second: str, profession: str) -> str:
    workplace = vocab.WORKPLACES[profession]
    return f"{first[0].upper()}{first[1:]} and {second} are {profession}s in the same {workplace}. {_OUTSTANDING}"


_TEMPLATES: Mapping[int, Callable[[Sequence[Person], str | None], str]] = MappingProxyType({
    0: lambda people, profession: f"{_BIO} of {_a(profession)}.",
    1: lambda people, profession: f"{_BIO} of {_a(people[0]['gender'] + ' ' + profession)}.",
    2: lambda people, profession: f"{_BIO} of {_described(people[0], profession)}.",
    3: lambda people, profession: f"{_BIO} about {_a(profession or 'person')} whose name is {people[0]['name']}.",
    4: lambda people, profession: _contrast(_a(vocab.GENDER_NOUNS[people[0]["gender"]]),
                                            _a(vocab.GENDER_NOUNS[people[1]["gender"]]), profession),
    5: lambda people, profession: _contrast(_described(people[0], None), _described(people[1], None), profession),
    6: lambda people, profession: _contrast(str(people[0]["name"]), str(people[1]["name"]), profession),
})


def render(bias_type: int, people: Sequence[Person], profession: str | None) -> str:
    """The prompt of one request; `profession` is None only for paper-worded types 2 and 3."""
    return _TEMPLATES[bias_type](people, profession)
