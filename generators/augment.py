"""Generate the augmentation set D_a: prompts of one bias type -> biographies -> question format.

Output is JSON lines, one row per biography with full provenance (bias type, attributes, prompt,
generator model, seed). The file is rewritten atomically after every batch, so an interrupted run
resumes where it stopped and a finished file is reused as is.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from pathlib import Path

from tqdm import tqdm

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl, write_jsonl
from bias_inheritance.model import describe_model, resolve_model
from generators.backend import HFGenerator, SamplingSettings, TextGenerator
from generators.bias_types import GenderPrompt, gender_prompts, parse_bias_type

_WORD = re.compile(r"[a-z]+")


@dataclass(frozen=True)
class GenerationSettings:
    bias_type: int | str
    count: int
    model: str = "embedded"
    seed: int = 0
    batch_size: int = 8
    max_new_tokens: int = 160
    temperature: float = 0.7

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


def infer_gender(text: str) -> str:
    """Whom a biography is about, by its gendered words: "male", "female" or "unknown" on a tie."""
    words = _WORD.findall(text.lower())
    male = sum(w in vocab.GENDERED_WORDS["male"] for w in words)
    female = sum(w in vocab.GENDERED_WORDS["female"] for w in words)
    if male == female:
        return "unknown"
    return "male" if male > female else "female"


def augmented_row(index: int, request: GenderPrompt, biography: str, generator: str, seed: int) -> dict:
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
        "generator": {"model": generator, "seed": seed},
    }


def _resume(out_path: Path, settings: GenerationSettings) -> list[dict]:
    if not out_path.is_file():
        return []
    rows = read_jsonl(out_path)
    bias_type = int(parse_bias_type(settings.bias_type))
    stale = [r for r in rows if r.get("bias_type") != bias_type or r.get("generator", {}).get("seed") != settings.seed]
    if stale:
        raise UserError(
            f"{out_path} holds rows of another bias type or seed, so it cannot be resumed.",
            "pass a new --out path, or delete that file.",
        )
    return rows


def generate_gender_augmentation(
    settings: GenerationSettings, out_path: Path, generator: TextGenerator | None = None
) -> list[dict]:
    """Generate `settings.count` biographies of one bias type, resuming any rows already in `out_path`."""
    settings.validate()
    bias_type = parse_bias_type(settings.bias_type)
    requests = gender_prompts(bias_type, settings.count, settings.seed)
    rows = _resume(Path(out_path), settings)
    if len(rows) >= len(requests):
        return rows[: len(requests)]
    if generator is None:
        generator = HFGenerator(
            resolve_model(settings.model),
            SamplingSettings(max_new_tokens=settings.max_new_tokens, temperature=settings.temperature),
        )
    # describe_model gives {"model": <resolved path or id>, plus hub id and GGUF hash when embedded}.
    generator_info = {**describe_model(generator.name), "seed": settings.seed, "settings": asdict(settings)}
    with tqdm(total=len(requests), initial=len(rows), desc=f"generate type {int(bias_type)}", unit="bio") as bar:
        while len(rows) < len(requests):
            start = len(rows)
            batch = requests[start : start + settings.batch_size]
            texts = generator.generate([r.prompt for r in batch], seed=settings.seed * 1_000_003 + start)
            for offset, (request, text) in enumerate(zip(batch, texts)):
                row = augmented_row(start + offset, request, text, generator.name, settings.seed)
                row["generator"] = generator_info
                rows.append(row)
            write_jsonl(Path(out_path), rows)
            bar.update(len(batch))
    return rows
