"""Per-row LoRA gradient features for BiasDiff/LESS attribution, written to a keyed, carded folder.

A row's feature is the gradient of its own training loss (see attribution.per_sample for which
tokens) with respect to the adapter's LoRA parameters, computed for a whole batch at once with
torch.func (vmap of grad) — never one backward pass per row. With the warm-up optimizer's state it
is LESS's Adam feature m' / √(v' + ε) (attribution.adam_features), the feature of training rows;
without, the plain gradient, the feature of probe rows. Either is projected to `projection_dim`
dimensions with the seeded sparse sign projection (attribution.projection), the same matrix on CPU
and GPU, and written in chunks of `chunk_rows` rows (attribution.feature_store).

Why not a library: bergson needs torchvision/torchaudio/bitsandbytes (it cannot be installed
beside this torch) and its per-module normaliser is not LESS's element-wise Adam feature. dattri
0.3.0's projectors pick BasicProjector on CPU and CudaProjector on GPU, each drawing its matrix with
a generator on its own device (other numbers, so other features on CPU and GPU); the GPU dense path
builds the whole d × k matrix, the CPU path regenerates d × block_size random numbers for every
block of every call, and its sparse (sjlt) type needs a CUDA-only extension. None meets the needs.

The folder's key covers the base model's identity, the adapter (its card's key), the examples'
content hash, every setting that changes the features, the optimizer state's sha256 and this
module's version; a folder is reused only under the same key and resumed chunk by chunk.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator

from bias_inheritance import cards
from bias_inheritance.device import DEVICES, pick_device, train_dtype
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import content_hash, sha256_file
from bias_inheritance.lineage import adapter_upstream, provenance
from bias_inheritance.model import resolve_model
from attribution import feature_store
from trainers.tokenise import LOSS_TOKENS
from attribution.projection import PROJECTION_VERSION

STAGE = "features"
# How features are computed (tokenisation, loss, Adam formula, chunk layout); part of the key.
FEATURES_VERSION = 1
DTYPES = ("auto", "float32", "bfloat16", "float16")
_FIX = "pass a new --out folder, or delete that folder."


@dataclass(frozen=True)
class FeatureSettings:
    """How features are taken. `dtype` "auto" is the training rule (bfloat16 on a capable GPU, else
    float32); `max_length` should be the adapter's training max_length (TRL truncates there);
    `batch_size` and `device` do not change the features and stay out of the key."""

    projection_dim: int = 8192
    seed: int = 0
    batch_size: int = 8
    loss_tokens: str = "answer"
    dtype: str = "auto"
    max_length: int = 512
    chunk_rows: int = 1024
    device: str = "auto"

    def __post_init__(self) -> None:
        checks = [
            (self.projection_dim >= 1, "projection_dim must be at least 1"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.chunk_rows >= 1, "chunk_rows must be at least 1"),
            (self.max_length >= 2, "max_length must be at least 2"),
            (self.loss_tokens in LOSS_TOKENS, f"loss_tokens must be one of {', '.join(LOSS_TOKENS)}"),
            (self.dtype in DTYPES, f"dtype must be one of {', '.join(DTYPES)}"),
            (self.device.split(":", 1)[0].lower() in DEVICES, f"device must be one of {', '.join(DEVICES)}"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"Invalid feature settings: {message}.", "fix the value.")

    def key_dict(self, dtype: str) -> dict[str, Any]:
        """The settings that change the features, with `dtype` resolved."""
        out = asdict(self)
        for name in ("batch_size", "device"):
            del out[name]
        return {**out, "dtype": dtype}


def _check_examples(examples: list[dict]) -> None:
    seen: set[str] = set()
    for index, example in enumerate(examples):
        row_id = example.get("id")
        if not isinstance(row_id, str) or not all(isinstance(example.get(f), str) for f in ("prompt", "completion")) \
                or not example["completion"]:
            raise UserError(f"Example {index} ({row_id}) needs a string id, prompt and non-empty completion.",
                            "build examples as {'id', 'prompt', 'completion'}.")
        if row_id in seen:
            raise UserError(f"Example id {row_id} appears twice.", "give every row its own id.")
        seen.add(row_id)
    if not examples:
        raise UserError("There are no rows to take features of.", "pass a non-empty set of rows.")


def write_features(model: str, adapter: Path, examples: list[dict], out: Path, settings: FeatureSettings, *,
                   optimizer_state: Path | None = None) -> Path:
    """Features of `examples` ({"id", "prompt", "completion"}) under the LoRA `adapter` into `out`.

    `optimizer_state` (a folder holding trainers' optimizer_state.safetensors) makes them LESS's
    Adam features; without it they are plain gradients. Returns `out`.
    """
    from trainers.optimizer_state import FILE as OPTIMIZER_FILE

    adapter, out = Path(adapter), Path(out)
    _check_examples(examples)
    resolved = resolve_model(model)
    identity = model_identity(resolved)
    adapter_id, adapter_up = adapter_upstream(adapter)
    state_file = Path(optimizer_state) / OPTIMIZER_FILE if optimizer_state is not None else None
    if state_file is not None and not state_file.is_file():
        raise UserError(f"{optimizer_state} holds no {OPTIMIZER_FILE}.", "train with `save_optimizer_state: true`.")
    device = pick_device(settings.device)
    dtype = train_dtype(device) if settings.dtype == "auto" else settings.dtype
    inputs = {"model": identity, "adapter": adapter_id, "examples_sha256": content_hash(examples),
              "settings": settings.key_dict(dtype), "projection": PROJECTION_VERSION, "version": FEATURES_VERSION,
              "optimizer_state_sha256": sha256_file(state_file) if state_file is not None else None}
    parents = {"adapter": adapter_up.parent} if adapter_up.parent is not None else {}
    key = cards.stage_key(STAGE, inputs, parents)
    reuse = cards.check_reuse(out, STAGE, key, inputs, what="Feature folder", fix=_FIX)
    if reuse == "complete":
        return out
    environment = {"device": device, "dtype": dtype, "batch_size": settings.batch_size}
    described = {"feature": "adam" if state_file is not None else "gradient", "loss_tokens": settings.loss_tokens,
                 "loss": "mean token cross-entropy of the row alone (TRL's tokenisation)",
                 "provenance": provenance({"model": identity}, [adapter_up])}
    cards.write_card(out, STAGE, inputs, parents=parents, status="partial", summary=described, environment=environment)
    summary = _compute(resolved, adapter, examples, out, settings, device, dtype, optimizer_state,
                       resume=reuse == "partial")
    cards.write_card(out, STAGE, inputs, parents=parents, status="complete", summary={**described, **summary},
                     environment=environment)
    return out


def read_features(folder: Path) -> Iterator[tuple[list[str], Any]]:
    """(ids, float32 [n, projection_dim]) per chunk of a complete feature folder, in row order."""
    return feature_store.read_features(folder)


def load_lora(resolved: str, adapter: Path, device: str, dtype: str) -> tuple[Any, Any]:
    """(tokenizer, model): the base with the adapter on `device`, LoRA trainable, dropout off.

    Eager attention: torch has no vmap rule for the fused SDPA kernels, which would fall back to a
    per-row loop inside vmap.
    """
    import warnings

    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(resolved)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    base = AutoModelForCausalLM.from_pretrained(resolved, dtype=getattr(torch, dtype), attn_implementation="eager")
    with warnings.catch_warnings():  # transformers' deprecation notices about its own internals
        warnings.simplefilter("ignore", FutureWarning)
        model = PeftModel.from_pretrained(base, str(adapter), is_trainable=True).to(device)
    return tokenizer, model.eval()


def _compute(resolved: str, adapter: Path, examples: list[dict], out: Path, settings: FeatureSettings, device: str,
             dtype: str, optimizer_state: Path | None, *, resume: bool) -> dict[str, Any]:
    import torch

    from attribution.adam_features import AdamState
    from attribution.per_sample import lora_parameters, per_sample_gradients, to_batch
    from trainers.tokenise import encode
    from attribution.projection import SignSketch

    tokenizer, model = load_lora(resolved, adapter, device, dtype)
    # Every row is tokenised first, so a row cut away by max_length stops the run before any work.
    encoded = [encode(row, tokenizer, settings.max_length, settings.loss_tokens) for row in examples]
    params = lora_parameters(model)
    names = list(params)
    adam = None
    if optimizer_state is not None:
        adam = AdamState.load(Path(optimizer_state), names, {n: p.shape for n, p in params.items()}).to(device)
    sketch = SignSketch(sum(p.numel() for p in params.values()), settings.projection_dim, settings.seed)
    from tqdm.auto import tqdm

    chunks = range(0, len(examples), settings.chunk_rows)
    resumed = 0
    progress = tqdm(total=len(examples), desc=f"features of {out.name}", unit="row")
    for index, start in enumerate(chunks):
        rows = encoded[start:start + settings.chunk_rows]
        ids = [row["id"] for row in examples[start:start + settings.chunk_rows]]
        path = feature_store.chunk_path(out, index)
        if resume and path.is_file() and feature_store.chunk_ids(path) == ids:
            resumed += 1
            progress.update(len(rows))
            continue
        features: list[torch.Tensor] = [torch.empty(0)] * len(rows)
        # Batches of similar length waste little on padding; the chunk keeps the rows' order.
        order = sorted(range(len(rows)), key=lambda i: len(rows[i].input_ids))
        for b in range(0, len(order), settings.batch_size):
            batch = order[b:b + settings.batch_size]
            padded = to_batch([rows[i] for i in batch], tokenizer.pad_token_id, device)
            grads = per_sample_gradients(model, params, padded)
            blocks = (adam.feature(n, grads[n].float()) if adam else grads[n].float() for n in names)
            for i, row in zip(batch, sketch.project(blocks)):
                features[i] = row
            progress.update(len(batch))
        feature_store.write_chunk(path, ids, torch.stack(features))
    progress.close()
    return {"rows": len(examples), "chunks": len(chunks), "resumed_chunks": resumed,
            "dimension": settings.projection_dim, "parameters": sketch.input_dim, "lora_tensors": len(names)}
