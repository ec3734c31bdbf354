"""The culture bias: GenerationRequests from GlobalOpinionQA rows, and the option each answer chose.

`requests` reads its questions from `options["questions"]`: prepared opinion rows (the generation
loop passes `bias_inheritance.data.opinions.load_split("train")`, never the held-out split).
Contextual types (1-3) take a (question, culture) row of the person's culture, so every persona
answer has the culture's human answer beside it in the data; type 0 and the contrastive types draw
questions evenly from the distinct questions. Optional `options["paper_wording"]` (default False)
keeps the paper's type-2 descriptor, which always says "woman".
"""

from __future__ import annotations

import random
from typing import Any, Mapping, Sequence

from bias_inheritance import vocab
from bias_inheritance.data.opinions import PREPARE_COMMAND
from bias_inheritance.errors import UserError
from generators.culture.attributes import balanced_sequence, draw_people
from generators.culture.interpret import parse_option
from generators.culture.templates import (
    CONTEXTUAL,
    PROMPT_VERSION,
    TYPES,
    Person,
    descriptor,
    generation_prompt,
    question_text,
    row_options,
)
from generators.requests import GenerationRequest, Interpretation, check_count, check_option_names, request_id

NAME = "culture"
OPTION_KEYS = ("questions", "paper_wording")
TYPE_CHOICES = "0 (unbiased: the question alone), 1-3 (contextual: one persona), 4-6 (contrastive: two people)"


def check_type(bias_type: Any) -> int:
    if isinstance(bias_type, bool) or not isinstance(bias_type, int) or bias_type not in TYPES:
        raise UserError(f"Unknown culture bias type {bias_type!r}.", f"use one of {TYPE_CHOICES}.")
    return bias_type


def question_pool(rows: Any) -> list[Mapping[str, Any]]:
    """The prepared opinion rows to draw from, checked, in a fixed order (by id) whatever order they came in."""
    fix = f"pass options['questions'] = opinions.load_split('train') (prepare it with `{PREPARE_COMMAND}`)."
    if not isinstance(rows, Sequence) or isinstance(rows, (str, bytes)) or not rows:
        raise UserError("The culture bias needs prepared GlobalOpinionQA rows to draw questions from.", fix)
    for row in rows:
        ok = (isinstance(row, Mapping) and isinstance(row.get("question_id"), str) and isinstance(row.get("question"), str)
              and isinstance(row.get("options"), list) and row["options"] and row.get("culture") in vocab.CULTURES)
        if not ok:
            raise UserError(f"Not a prepared opinion row: {str(row)[:120]}.", fix)
    return sorted(rows, key=lambda r: (r["question_id"], r["culture"]))


def draw_questions(bias_type: int, people: list[tuple[Person, ...]], pool: list[Mapping[str, Any]],
                   rng: random.Random) -> list[Mapping[str, Any]]:
    """One row per request: of the person's culture (contextual), or any distinct question (others)."""
    if bias_type not in CONTEXTUAL:
        distinct = list({row["question_id"]: row for row in pool}.values())
        return balanced_sequence(distinct, len(people), rng)
    by_culture = {c: [row for row in pool if row["culture"] == c] for c in vocab.CULTURES}
    needed = {persons[0].culture for persons in people}
    missing = sorted(c for c in needed if not by_culture[c])
    if missing:
        raise UserError(f"The opinion rows hold no question for {', '.join(missing)}.",
                        f"prepare the opinions data with countries for every culture (`{PREPARE_COMMAND}`).")
    cycles = {c: balanced_sequence(by_culture[c], sum(p[0].culture == c for p in people), rng) for c in sorted(needed)}
    used = {c: 0 for c in cycles}
    drawn = []
    for persons in people:
        culture = persons[0].culture
        drawn.append(cycles[culture][used[culture]])
        used[culture] += 1
    return drawn


def attributes_of(people: Sequence[Person]) -> dict[str, list]:
    """What was sampled, person A first: the attributes this type uses, as lists."""
    out: dict[str, list] = {}
    for key in ("culture", "age", "gender", "name"):
        values = [getattr(p, key) for p in people]
        if any(v is not None for v in values):
            out[f"{key}s"] = values
    return out


class CultureBias:
    """Cultural bias types 0-6 over GlobalOpinionQA questions (implements generators.requests.Bias)."""

    name = NAME
    prompt_version = PROMPT_VERSION
    types = TYPES

    def requests(self, bias_type: int, count: int, seed: int, options: Mapping[str, Any]) -> list[GenerationRequest]:
        bias_type = check_type(bias_type)
        count = check_count(count)
        paper_wording = check_option_names(NAME, options, OPTION_KEYS)
        pool = question_pool(options.get("questions"))
        rng = random.Random(f"{NAME}-{bias_type}-{seed}")
        people = draw_people(bias_type, count, rng, paper_wording=paper_wording)
        questions = draw_questions(bias_type, people, pool, rng)
        requests = []
        for index, (persons, row) in enumerate(zip(people, questions)):
            text = question_text(bias_type, persons, row["question"], row["options"])
            requests.append(GenerationRequest(
                id=request_id(NAME, bias_type, seed, index, PROMPT_VERSION),
                bias=NAME,
                bias_type=bias_type,
                index=index,
                prompt=generation_prompt(text),
                attributes=attributes_of(persons),
                fields={
                    "question_id": row["question_id"],
                    "question": row["question"],
                    "options": row_options(bias_type, row["options"]),
                    "culture": persons[0].culture if bias_type in CONTEXTUAL else None,
                    "cultures": [p.culture for p in persons],
                    "descriptor": descriptor(bias_type, persons),
                    "question_text": text,
                },
            ))
        return requests

    def interpret(self, request: GenerationRequest, text: str) -> Interpretation:
        """{"answer": option text, "answer_index": i}; no single option: unusable, retried by the loop."""
        options = request.fields["options"]
        choice = parse_option(text, options)
        if choice.index is None:
            return Interpretation({}, usable=False, reason=choice.reason, retry=True)
        return Interpretation({"answer": options[choice.index], "answer_index": choice.index})
