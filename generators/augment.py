"""Generate the augmentation set D_a of any bias: requests -> generator -> interpreted rows, crash-safe.

The loop knows nothing of genders or cultures: a `Bias` (requests.py) builds the requests and
interprets each text; a `TextGenerator` (backend) turns prompts into texts. The output is JSON lines,
one row per request with full provenance, plus a card (`<name>.card.json`) keyed by every input that
changes the rows, and an audit (`<name>.audit.json`) once complete.

Crash safety: while running, the output file is a journal (journal.py) to which each finished batch
is appended and fsynced, so a process killed at any moment loses at most the batch in flight and
never leaves a duplicate or torn row. Batches are fixed slices of the request list, and each batch's
sampling seed is derived from the run seed, the index of its first request and the attempt, never
from how far an earlier process got: a resumed run generates the same text for the same request as
an uninterrupted one when the backend is deterministic. When every request is done the file is
rewritten atomically in request order, the audit written, and only then the card marked "complete".
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from tqdm import tqdm

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from bias_inheritance.lineage import file_output, provenance, verify_rows
from generators import audit
from generators.backends.base import SamplingSettings, TextGenerator
from generators.backends.openai_compat import ApiOptions
from generators.bias_types import parse_bias_type
from generators.journal import Journal, disk_errors
from generators.requests import BIASES, Bias, GenerationRequest, Interpretation, check_counts

STAGE = "generate"
_FIX = "pass a new --out path, or delete that file and its .card.json."
# Row keys the loop writes; a bias's request or interpretation fields may not overwrite them.
ROW_KEYS = ("id", "origin", "bias", "bias_type", "bias_type_name", "attributes", "prompt", "text",
            "usable", "unusable_reason", "attempts", "generator")


@dataclass(frozen=True)
class GenerationSettings:
    bias_type: int | str
    count: int
    bias: str = "gender"
    model: str = "embedded"
    backend: str = "hf"  # which TextGenerator runs `model`; its identity, not this name, enters the key
    base_url: str | None = None  # an OpenAI-compatible server; not in the key (the generator's identity is)
    seed: int = 0
    batch_size: int = 8
    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.9
    max_attempts: int = 3  # generations per request while its interpretation asks for a retry
    device: str = "auto"  # where the generator runs; recorded in the card, not part of its key
    api: ApiOptions = field(default_factory=ApiOptions)  # how an API backend sends requests; not in the key
    adapter: str | None = None  # a LoRA adapter on `model` (a later round's generator); in the key via the identity

    def validate(self) -> None:
        if self.bias not in BIASES:
            raise UserError(f"Unknown bias {self.bias!r}.", f"use one of: {', '.join(BIASES)}.")
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
        if self.max_attempts < 1:
            raise UserError(f"max_attempts must be at least 1 (got {self.max_attempts}).", "pass --max-attempts 1 or more.")

    @property
    def sampling(self) -> SamplingSettings:
        return SamplingSettings(max_new_tokens=self.max_new_tokens, temperature=self.temperature, top_p=self.top_p)


def generation_inputs(settings: GenerationSettings, bias: Bias, generator_identity: Mapping[str, Any],
                      options: Mapping[str, Any]) -> dict[str, Any]:
    """The input record of D_a's card: everything that changes its rows."""
    return {
        "bias": bias.name,
        "bias_type": int(parse_bias_type(settings.bias_type)),
        "count": settings.count,
        "seed": settings.seed,
        "generator": dict(generator_identity),
        "sampling": {"max_new_tokens": settings.max_new_tokens, "temperature": settings.temperature,
                     "top_p": settings.top_p},
        "batch_size": settings.batch_size,  # a batch's seed and composition depend on where it starts
        "prompt_version": bias.prompt_version,
        "options": keyed_options(options),
        "max_attempts": settings.max_attempts,
    }


def keyed_options(options: Mapping[str, Any]) -> dict[str, Any]:
    """Options as they enter the key: data rows (a list of mappings, e.g. culture's questions) by their sha256."""
    def keyed(value: Any) -> Any:
        if isinstance(value, (list, tuple)) and value and all(isinstance(v, Mapping) for v in value):
            return {"rows": len(value), "content_sha256": content_hash(value)}
        return value

    return {name: keyed(value) for name, value in options.items()}


def sampling_seed(seed: int, first_index: int, attempt: int) -> int:
    """The seed of the batch starting at request `first_index`, at `attempt` (1 = first generation).

    A per-attempt base from a hash plus the request index: request j of attempt a always gets
    base(a) + j, however the run was interrupted, and backends that seed prompts one by one
    (`seed + i`, backends.base.prompt_seeds) give each request of a run its own seed. 30-bit bases
    keep every seed below 2**31, which every backend accepts.
    """
    record = canonical_json({"seed": seed, "attempt": attempt})
    base = int.from_bytes(hashlib.sha256(record.encode("utf-8")).digest()[:4], "big") >> 2
    return base + first_index


@dataclass(frozen=True)
class _Pending:
    """A generator known by its identity, built only once there is something to generate."""

    identity: dict[str, Any]
    build: Callable[[], TextGenerator]


def default_generator(settings: GenerationSettings) -> _Pending:
    """The generator `settings` name (backend, model, base URL), identified now and loaded later.

    Keying needs only the identity, so a finished set is reused, and a set of other inputs refused,
    without loading weights or calling a server.
    """
    from generators.backends import generator_identity, make_generator

    identity = generator_identity(settings.backend, settings.model, settings.base_url, settings.adapter)
    return _Pending(identity, lambda: make_generator(settings.backend, settings.model, settings.sampling,
                                                     device=settings.device, base_url=settings.base_url,
                                                     api=settings.api, adapter=settings.adapter))


def augmented_row(bias: Bias, request: GenerationRequest, text: str, interpretation: Interpretation,
                  attempts: int, generator: Mapping[str, Any]) -> dict:
    """One row of D_a, as it will read back from JSON (tuples become lists)."""
    extra = {**request.fields, **interpretation.fields}
    clash = sorted(set(extra) & set(ROW_KEYS))
    if clash:
        raise ValueError(f"bias {bias.name!r} sets row fields the loop owns: {clash}")
    usable = interpretation.usable and not interpretation.retry
    reason = None if usable else (interpretation.reason or "retries_exhausted")
    row = {
        "id": request.id, "origin": "augmented", "bias": bias.name, "bias_type": request.bias_type,
        "bias_type_name": parse_bias_type(request.bias_type).slug, "attributes": dict(request.attributes),
        "prompt": request.prompt, "text": text, **extra,
        "usable": usable, "unusable_reason": reason, "attempts": attempts, "generator": dict(generator),
    }
    return json.loads(json.dumps(row, ensure_ascii=False))


def _generate_batch(bias: Bias, batch: Sequence[GenerationRequest], first_index: int, generator: TextGenerator,
                    settings: GenerationSettings, record: Mapping[str, Any]) -> list[dict]:
    """Rows of one batch, regenerating the requests whose interpretation asks for it (same seeds on resume)."""
    results: dict[int, tuple[str, Interpretation, int]] = {}
    pending = list(range(len(batch)))
    for attempt in range(1, settings.max_attempts + 1):
        seed = sampling_seed(settings.seed, first_index, attempt)
        texts = generator.generate([batch[i].prompt for i in pending], seed=seed)
        if len(texts) != len(pending) or not all(isinstance(t, str) for t in texts):
            raise RuntimeError(f"generator returned {len(texts)} values for {len(pending)} prompts (texts expected)")
        for i, text in zip(pending, texts):
            results[i] = (text, bias.interpret(batch[i], text), attempt)
        pending = [i for i in pending if results[i][1].retry]
        if not pending:
            break
    return [augmented_row(bias, batch[i], *results[i], record) for i in range(len(batch))]


def _check_journal(out_path: Path, journal: Journal, requests: Sequence[GenerationRequest]) -> None:
    """Rows already journaled must be rows of this run's requests (the card said so; check it)."""
    prompts = {r.id: r.prompt for r in requests}
    for row in journal.rows:
        if prompts.get(row["id"]) != row.get("prompt"):
            raise UserError(f"{out_path} holds a row ({row['id']}) that its card does not describe.", _FIX)


def _summary(out_path: Path, rows: list[dict], inputs: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "rows": len(rows),
        "usable": sum(bool(r["usable"]) for r in rows),
        "content_sha256": content_hash(rows),
        "audit": audit.audit_path(out_path).name,
        "provenance": provenance({"bias_type": inputs["bias_type"], "generator": inputs["generator"],
                                  "seed": inputs["seed"]}, []),
    }


def generate_augmentation(bias: Bias, settings: GenerationSettings, out_path: Path,
                          generator: TextGenerator | None = None, options: Mapping[str, Any] | None = None,
                          *, parents: Mapping[str, cards.Parent] | None = None) -> list[dict]:
    """Generate `settings.count` rows of `bias` into `out_path` (with its card and audit); returns them in order.

    Resumes a partial file and reuses a complete one only when its card has this run's key; any other
    existing file is a UserError naming the differing inputs. `generator` replaces the backend and model
    named in `settings` (its `identity` enters the key); `options` go to `bias.requests` and into the key;
    `parents` are the cards of data the requests were built from (culture: the prepared opinions).
    """
    settings.validate()
    if settings.bias != bias.name:
        raise ValueError(f"settings are for bias {settings.bias!r}, the bias given is {bias.name!r}")
    out_path = file_output(out_path)
    options = dict(options or {})
    requests = bias.requests(int(parse_bias_type(settings.bias_type)), settings.count, settings.seed, options)
    check_counts(requests)
    if len(requests) != settings.count:
        raise ValueError(f"bias {bias.name!r} built {len(requests)} requests for a count of {settings.count}")
    chosen = generator if generator is not None else default_generator(settings)
    inputs = generation_inputs(settings, bias, chosen.identity, options)
    key = cards.stage_key(STAGE, inputs, parents)
    state = cards.check_reuse(out_path, STAGE, key, inputs, what="Augmentation file", fix=_FIX)
    if state == "complete":
        rows = read_jsonl(out_path)
        verify_rows(out_path, rows, cards.read_card(cards.card_path(out_path)))
        if not audit.audit_path(out_path).is_file():
            audit.write_audit(out_path, rows, requested=settings.count, complete=True)
        return rows

    # Built before the card is written: a backend that cannot start leaves nothing behind to refuse later.
    generator = chosen.build() if isinstance(chosen, _Pending) else chosen
    with disk_errors(out_path, "the rows already generated are kept"):
        cards.write_card(out_path, STAGE, inputs, parents=parents, status="partial")
        with Journal.open(out_path) as journal:
            _check_journal(out_path, journal, requests)
            _fill(journal, bias, requests, generator, settings, inputs)
            by_id = {row["id"]: row for row in journal.rows}
        rows = [by_id[r.id] for r in requests]
        write_jsonl(out_path, rows)  # atomic: the journal is replaced by the same rows in request order
        audit.write_audit(out_path, rows, requested=settings.count, complete=True)
        cards.write_card(out_path, STAGE, inputs, parents=parents, status="complete",
                         summary=_summary(out_path, rows, inputs), environment={"device": getattr(generator, "device", None)})
    return rows


def _fill(journal: Journal, bias: Bias, requests: Sequence[GenerationRequest], generator: TextGenerator,
          settings: GenerationSettings, inputs: Mapping[str, Any]) -> None:
    """Generate every fixed batch that still misses a row, appending its new rows to the journal."""
    record = {"model": inputs["generator"], "name": generator.name, "seed": settings.seed, "sampling": inputs["sampling"]}
    desc = f"generate {bias.name} type {inputs['bias_type']}"
    with tqdm(total=len(requests), initial=len(journal.ids), desc=desc, unit="row") as bar:
        for start in range(0, len(requests), settings.batch_size):
            batch = requests[start:start + settings.batch_size]
            if any(r.id not in journal.ids for r in batch):
                rows = _generate_batch(bias, batch, start, generator, settings, record)
                bar.update(len(journal.append(rows)))


def bias_named(name: str) -> Bias:
    """The Bias registered under `name`, imported only when asked for (each pulls its own vocabulary)."""
    if name == "gender":
        from generators.gender import GENDER_BIAS

        return GENDER_BIAS
    if name == "culture":
        from generators.culture import CULTURE_BIAS

        return CULTURE_BIAS
    raise UserError(f"Unknown bias {name!r}.", f"use one of: {', '.join(BIASES)}.")


def generate_gender_augmentation(
    settings: GenerationSettings, out_path: Path, generator: TextGenerator | None = None
) -> list[dict]:
    """The gender bias through `generate_augmentation` (kept for callers written before other biases)."""
    return generate_augmentation(bias_named("gender"), settings, out_path, generator)
