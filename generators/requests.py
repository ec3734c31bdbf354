"""What a generation run asks for and what each bias contributes: the contract between stages of D_a.

A bias ("gender", "culture") builds `GenerationRequest`s from its prompt templates and attribute
sampling, and interprets each generated text into the fields its training row keeps. The generation
loop (augment.py) only moves requests through a backend and writes rows, so adding a bias or a bias
type never touches the loop, and adding a backend never touches a bias.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from numbers import Integral
from typing import Any, Mapping, Protocol, Sequence

from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json

BIASES: tuple[str, ...] = ("gender", "culture")


def request_id(bias: str, bias_type: int, seed: int, index: int, prompt_version: str) -> str:
    """A stable id from everything that decides the request: the same inputs give the same id."""
    record = {"bias": bias, "bias_type": bias_type, "seed": seed, "index": index, "prompt_version": prompt_version}
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class GenerationRequest:
    """One prompt, with the attributes it was built from and the row fields known before generating.

    `fields` are copied into the row (gender: `profession`; culture: `question_id`, `question`,
    `options`, `culture`, ...); `attributes` record what was sampled (genders, ages, cultures,
    names, workplace, candidates of a contrastive prompt).
    """

    id: str
    bias: str
    bias_type: int
    index: int
    prompt: str
    attributes: Mapping[str, Any] = field(default_factory=dict)
    fields: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Interpretation:
    """What a generated text means for its row: fields to add, and whether the row is usable.

    An unusable row (a refusal, an unparseable answer, an unlabelled profession) is kept in D_a and
    counted by the audit, never used for training; `retry` asks the loop to generate again (up to
    its bound) before accepting the row as unusable.
    """

    fields: Mapping[str, Any]
    usable: bool = True
    reason: str | None = None  # why not usable: "empty", "refusal", "unparseable", "no_profession", ...
    retry: bool = False


class Bias(Protocol):
    """One kind of social bias: its prompt templates, and how a generated text becomes a row."""

    name: str
    prompt_version: str

    def requests(self, bias_type: int, count: int, seed: int, options: Mapping[str, Any]) -> list[GenerationRequest]:
        """`count` requests of one type, attributes covering every range evenly, reproducible for `seed`."""
        ...

    def interpret(self, request: GenerationRequest, text: str) -> Interpretation:
        """The row fields a generated text gives (e.g. inferred gender, parsed option)."""
        ...


def check_counts(requests: Sequence[GenerationRequest]) -> None:
    """Ids must be unique: two requests with one id would overwrite each other on resume."""
    ids = [r.id for r in requests]
    if len(set(ids)) != len(ids):
        raise ValueError("generation requests with duplicate ids")


def check_count(count: Any) -> int:
    """The number of requests asked of a bias: a positive integer (a bool is not a count)."""
    if isinstance(count, bool) or not isinstance(count, Integral) or count < 1:
        raise UserError(f"The number of prompts must be a positive integer (got {count!r}).", "pass --count 1 or more.")
    return int(count)


def check_option_names(bias: str, options: Mapping[str, Any], known: Sequence[str]) -> bool:
    """Refuse options `bias` does not read (never silently ignored); returns `paper_wording` (default False),
    the option every bias shares: keep the paper's prompt wording instead of this harness's deviation."""
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise UserError(f"Unknown {bias} option(s): {', '.join(unknown)}.", f"use some of: {', '.join(known)}.")
    wording = options.get("paper_wording", False)
    if not isinstance(wording, bool):
        raise UserError(f"Option paper_wording must be true or false (got {wording!r}).", "pass true or false.")
    return wording
