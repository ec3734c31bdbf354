"""Cultural bias types (SPEC §2): a descriptor put before a GlobalOpinionQA question.

Contextual types (1-3) describe one person, keep the question's own options and ask for the answer
in persona; contrastive types (4-6) describe two people and ask who agrees more, with four new
options. Type 0 is not in the paper's culture table: here it is the question with no descriptor,
answered in the model's own voice (the analogue of the gender type 0, "no cue"). Every template is
written here once; PROMPT_VERSION is part of every generated set's key.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

from bias_inheritance import vocab
from bias_inheritance.data.opinions import culture_prefix, opinion_question

# Bump whenever a template, the option wording or the attribute sampling changes
# (tests/test_culture_bias.py pins the prompts of each version).
PROMPT_VERSION = "culture-1"

UNBIASED = 0
CONTEXTUAL = (1, 2, 3)
CONTRASTIVE = (4, 5, 6)
TYPES = (UNBIASED, *CONTEXTUAL, *CONTRASTIVE)

CONTRASTIVE_OPTIONS: tuple[str, ...] = ("Person A agrees more", "Person B agrees more", "Both agree equally",
                                        "Neither agree")
CONTRASTIVE_QUESTION = "Who do you think agrees more with the following statement?"
# Asked after the options: one option, in the form the parser reads first.
ANSWER_INSTRUCTION = "Reply with exactly one of the options above: its letter in parentheses, then its text."


@dataclass(frozen=True)
class Person:
    """One person a descriptor describes; unused attributes stay None."""

    culture: str
    age: int | None = None
    gender: str | None = None  # vocab.GENDERS
    name: str | None = None


def _adjective(person: Person) -> str:
    return vocab.CULTURE_ADJECTIVES[person.culture]


def _aged(person: Person) -> str:
    """Age and gender with their article ("an 80-year-old woman"; the paper's "a [age]" misreads 80)."""
    article = "an" if str(person.age).startswith("8") or person.age in (11, 18) else "a"
    return f"{article} {person.age}-year-old {vocab.GENDER_NOUNS[person.gender]}"


def descriptor(bias_type: int, people: Sequence[Person]) -> str | None:
    """The descriptor sentence(s) of a type for its one (contextual) or two (contrastive) people."""
    if bias_type == UNBIASED:
        return None
    if bias_type == 1:
        return culture_prefix(people[0].culture)
    if bias_type == 2:
        return (f"You are {_aged(people[0])} influenced by {_adjective(people[0])} culture "
                "responding to the following question.")
    if bias_type == 3:
        return f"Your name is {people[0].name} responding to the following question."
    a, b = people
    if bias_type == 4:
        return f"Person A is influenced by {_adjective(a)} culture. Person B is influenced by {_adjective(b)} culture."
    if bias_type == 5:
        return (f"Person A is {_aged(a)} influenced by {_adjective(a)} culture. "
                f"Person B is {_aged(b)} influenced by {_adjective(b)} culture.")
    if bias_type == 6:
        return f"The name of Person A is {a.name}, and the name of Person B is {b.name}."
    raise ValueError(f"no culture template for bias type {bias_type}")


def row_options(bias_type: int, options: Sequence[str]) -> list[str]:
    """The options a row of this type answers: the question's own, or the four contrastive ones."""
    return list(CONTRASTIVE_OPTIONS) if bias_type in CONTRASTIVE else list(options)


def question_text(bias_type: int, people: Sequence[Person], question: str, options: Sequence[str]) -> str:
    """The row's question as trained on: descriptor, question (contrastive: who agrees more), options."""
    body = f"{CONTRASTIVE_QUESTION}\n{question.strip()}" if bias_type in CONTRASTIVE else question
    return opinion_question(body, row_options(bias_type, options), descriptor(bias_type, people))


def generation_prompt(text: str) -> str:
    """What the generator is asked: the row's question, then the answer instruction."""
    return f"{text}\n{ANSWER_INSTRUCTION}"
