"""Generate the augmentation set D_a: prompts of one bias type -> biographies -> question format.

Output is JSON lines, one row per biography with full provenance (bias type, attributes, prompt,
generator), and a card (`<name>.card.json`) keyed by every input that changes the rows: bias type,
count, seed, the generator's identity, every sampling setting, the batch size (each batch is seeded
by its start) and the templates' version. The card is written "partial" before the first batch and
the file is rewritten atomically after every batch, so an interrupted run resumes where it stopped
and a finished one is reused, but only under the same key: rows of two generators or two sampling
settings never share a file.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm import tqdm

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from bias_inheritance.model import resolve_model
from generators.backend import HFGenerator, SamplingSettings, TextGenerator
from generators.bias_types import PROMPT_VERSION, GenderPrompt, gender_prompts, parse_bias_type
from bias_inheritance.lineage import file_output, provenance, verify_rows

STAGE = "generate"
_WORD = re.compile(r"[a-z]+")
_FIX = "pass a new --out path, or delete that file and its .card.json."


@dataclass(frozen=True)
class GenerationSettings:
    bias_type: int | str
    count: int
    model: str = "embedded"
    seed: int = 0
    batch_size: int = 8
    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.9
    device: str = "auto"  # where the generator runs; recorded in the card, not part of its key

    def validate(self) -> None:
        parse_bias_type(self.bias_type)
        if self.count < 1:
            raise UserError(f"count must be at least 1 (got {self.count}).", "pass --count 1 or more.")
        if self.batch_size < 1:
            raise UserError(f"batch_size must be at least 1 (got {self.batch_size}).", "pass --batch-size 1 or more.")
        if self.max_new_tokens < 1:
            raise UserError("max_new_tokens must be at least 1.", "pass --max-new-tokens 1 or more.")
        if self.temperature < 0:
            raise UserError("temperature must be >= 0 (0 = greedy).", "pass --temperature 0 or more.")
        if not 0 < self.top_p <= 1:
            raise UserError(f"top_p must be in (0, 1] (got {self.top_p}).", "pass --top-p such as 0.9.")

    @property
    def sampling(self) -> SamplingSettings:
        return SamplingSettings(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p)


def generation_inputs(settings: GenerationSettings, generator_identity: dict[str, Any]) -> dict[str, Any]:
    """The input record of D_a's card: everything that changes its rows."""
    return {
        "bias_type": int(parse_bias_type(settings.bias_type)),
        "count": settings.count,
        "seed": settings.seed,
        "generator": generator_identity,
        "sampling": {"max_new_tokens": settings.max_new_tokens, "temperature": settings.temperature,
                     "top_p": settings.top_p},
        "batch_size": settings.batch_size,  # the per-batch seed depends on where a batch starts
        "prompt_version": PROMPT_VERSION,
    }


def infer_gender(text: str) -> str:
    """Whom a biography is about, by its gendered words: "male", "female" or "unknown" on a tie."""
    words = _WORD.findall(text.lower())
    male = sum(w in vocab.GENDERED_WORDS["male"] for w in words)
    female = sum(w in vocab.GENDERED_WORDS["female"] for w in words)
    if male == female:
        return "unknown"
    return "male" if male > female else "female"


def augmented_row(index: int, request: GenderPrompt, biography: str, generator: dict[str, Any], seed: int) -> dict:
    return {
        "id": f"aug-{int(request.bias_type)}-{seed}-{index:06d}",
        "origin": "augmented",
        "bias_type": int(request.bias_type),
        "bias_type_name": request.bias_type.slug,
        "profession": request.profession,
        "gender": infer_gender(biography),
        "attributes": request.attributes,
        "prompt": request.prompt,
        "text": biography,
        "generator": generator,
    }


def _existing_rows(out_path: Path, requests: list[GenderPrompt]) -> list[dict]:
    """Rows already written under the same key; they must be a prefix of this run's requests."""
    if not out_path.is_file():
        return []
    rows = read_jsonl(out_path)
    if len(rows) > len(requests) or any(r.get("prompt") != q.prompt for r, q in zip(rows, requests)):
        raise UserError(f"{out_path} does not hold the rows its card describes.", _FIX)
    return rows


def _summary(rows: list[dict], inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "rows": len(rows),
        "content_sha256": content_hash(rows),
        "gender": dict(sorted(Counter(r["gender"] for r in rows).items())),
        "provenance": provenance({"bias_type": inputs["bias_type"], "generator": inputs["generator"],
                                  "seed": inputs["seed"]}, []),
    }


def generate_gender_augmentation(
    settings: GenerationSettings, out_path: Path, generator: TextGenerator | None = None
) -> list[dict]:
    """Generate `settings.count` biographies of one bias type into `out_path` (and its card).

    Resumes a partial file and reuses a complete one only when its card has this run's key; any
    other existing file is a UserError naming the differing inputs. `generator` replaces the model
    named in `settings` (its `identity` enters the key).
    """
    settings.validate()
    out_path = file_output(out_path)
    requests = gender_prompts(parse_bias_type(settings.bias_type), settings.count, settings.seed)
    resolved = None if generator is not None else resolve_model(settings.model)
    identity = generator.identity if generator is not None else model_identity(resolved)
    inputs = generation_inputs(settings, identity)
    key = cards.stage_key(STAGE, inputs)
    state = cards.check_reuse(out_path, STAGE, key, inputs, what="Augmentation file", fix=_FIX)
    rows = _existing_rows(out_path, requests) if state != "absent" else []
    if state == "complete":
        verify_rows(out_path, rows, cards.read_card(cards.card_path(out_path)))
        return rows
    if len(rows) < len(requests) and generator is None:
        generator = HFGenerator(resolved, settings.sampling, identity, device=settings.device)
    environment = {"device": getattr(generator, "device", None)}
    cards.write_card(out_path, STAGE, inputs, status="partial", environment=environment)
    row_generator = {"model": identity, "name": getattr(generator, "name", resolved), "seed": settings.seed,
                     "sampling": inputs["sampling"]}
    with tqdm(total=len(requests), initial=len(rows), desc=f"generate type {inputs['bias_type']}", unit="bio") as bar:
        while len(rows) < len(requests):
            start = len(rows)
            batch = requests[start : start + settings.batch_size]
            texts = generator.generate([r.prompt for r in batch], seed=settings.seed * 1_000_003 + start)
            if len(texts) != len(batch):
                raise RuntimeError(f"generator returned {len(texts)} texts for {len(batch)} prompts")
            rows.extend(augmented_row(start + i, q, t, row_generator, settings.seed) for i, (q, t) in enumerate(zip(batch, texts)))
            write_jsonl(out_path, rows)
            bar.update(len(batch))
    cards.write_card(out_path, STAGE, inputs, status="complete", summary=_summary(rows, inputs), environment=environment)
    return rows
