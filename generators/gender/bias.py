"""The gender bias (SPEC §2) as a `generators.requests.Bias`: biography prompts and their reading."""

from __future__ import annotations

from typing import Any, Mapping

from bias_inheritance import vocab
from bias_inheritance.identity import canonical_json
from generators.bias_types import parse_bias_type
from generators.gender import interpret as read
from generators.gender.options import CONTRASTIVE_TYPES, GenderOptions, parse_options
from generators.gender.sampling import Draw, sample
from generators.gender.templates import PROMPT_VERSION, render
from generators.requests import GenerationRequest, Interpretation, check_count, request_id

NAME = "gender"


def id_version(options: GenderOptions) -> str:
    """The prompt version as it enters request ids: options that change a prompt are part of it,
    so requests of two option sets never share an id (request_id has no options argument)."""
    key = options.key()
    return PROMPT_VERSION if not key else f"{PROMPT_VERSION}+{canonical_json(key)}"


def _attributes(bias_type: int, draw: Draw) -> dict[str, Any]:
    """Contextual types: the one person's attributes; contrastive: both, and the workplace."""
    if bias_type in CONTRASTIVE_TYPES:
        return {"workplace": vocab.WORKPLACES[draw.profession], "candidates": [dict(p) for p in draw.people]}
    return dict(draw.people[0]) if draw.people else {}


class GenderBias:
    """Biographies of the six professions, one prompt template per bias type (0-6)."""

    name = NAME
    prompt_version = PROMPT_VERSION

    def requests(self, bias_type: int, count: int, seed: int, options: Mapping[str, Any]) -> list[GenerationRequest]:
        """`count` requests; options: professions, genders, ages, cultures (subsets of the shared
        vocabulary, as the type uses them) and paper_wording (types 2 and 3 without a profession)."""
        kind = int(parse_bias_type(bias_type))
        parsed = parse_options(kind, options)
        count = check_count(count)
        version = id_version(parsed)
        return [
            GenerationRequest(
                id=request_id(NAME, kind, seed, index, version), bias=NAME, bias_type=kind, index=index,
                prompt=render(kind, draw.people, draw.profession),
                attributes=_attributes(kind, draw), fields={"profession": draw.profession},
            )
            for index, draw in enumerate(sample(kind, count, seed, parsed))
        ]

    def interpret(self, request: GenerationRequest, text: str) -> Interpretation:
        """Fields "gender" and "profession" (labelled from the text when the prompt named none), and
        "about" (0, 1 or None) for contrastive types; empty, refusing or unlabelled texts are unusable
        (empty and refusing ones are generated again, up to the loop's bound)."""
        gender = read.infer_gender(text)
        fields: dict[str, Any] = {"gender": gender, "profession": request.fields.get("profession")}
        if request.bias_type in CONTRASTIVE_TYPES:
            fields["about"] = read.about(request.bias_type, request.attributes["candidates"], text, gender)
        if not text.strip():
            return Interpretation(fields, usable=False, reason="empty", retry=True)
        if read.is_refusal(text):  # retried like culture's unreadable answers; the audit counts both
            return Interpretation(fields, usable=False, reason="refusal", retry=True)
        if fields["profession"] is None:
            fields["profession"] = read.label_profession(text)
            if fields["profession"] is None:
                return Interpretation(fields, usable=False, reason="no_profession")
        return Interpretation(fields)


GENDER_BIAS = GenderBias()
