"""Text generation backends behind one interface (base.TextGenerator), and the factory that picks one.

  hf      transformers in this process: batched, left padding, the chat template, seeded per batch
  vllm    vLLM in this process (optional extra `bias-inheritance[vllm]`, for GPUs), same prompts
  openai  any OpenAI-compatible chat-completions endpoint, key from OPENAI_API_KEY

To use another generator, implement base.TextGenerator (its docstring shows how) and hand an
instance to the generation loop instead of a backend name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.lineage import adapter_identity
from bias_inheritance.model import EMBEDDED_ALIASES, resolve_model
from generators.backends.base import SamplingSettings, TextGenerator, prompt_seeds
from generators.backends.hf import HFGenerator
from generators.backends.openai_compat import API_KEY_ENV, ApiOptions, OpenAICompatGenerator, api_identity
from generators.backends.vllm import VLLMGenerator

BACKENDS: tuple[str, ...] = ("hf", "vllm", "openai")

__all__ = ["API_KEY_ENV", "BACKENDS", "ApiOptions", "HFGenerator", "OpenAICompatGenerator", "SamplingSettings",
           "TextGenerator", "VLLMGenerator", "generator_identity", "make_generator", "prompt_seeds"]


def _check_backend(backend: str, model: str, base_url: str | None) -> None:
    if backend not in BACKENDS:
        raise UserError(f"Unknown backend {backend!r}.", f"use one of: {', '.join(BACKENDS)}.")
    if backend == "openai" and model.strip().lower() in EMBEDDED_ALIASES:
        raise UserError("The openai backend needs the served model's name, not the embedded model.",
                        "pass --model as the server names it (GET <base-url>/models lists them).")
    if backend != "openai" and base_url:
        raise UserError(f"--base-url is for --backend openai only (got --backend {backend}).",
                        "drop --base-url, or pass --backend openai.")


def generator_identity(backend: str, model: str, base_url: str | None = None,
                       adapter: str | None = None) -> dict[str, Any]:
    """The identity a backend's generator will have, without loading it (to key and reuse outputs).

    hf keeps the plain model identity (keys written before backends existed stay valid); vllm adds
    "backend" because its sampler draws other texts from the same weights and seed. A LoRA
    `adapter` (a round's fine-tuned model) adds its card key, or its files' sha256 without a card.
    """
    _check_backend(backend, model, base_url)
    if adapter is not None and backend != "hf":
        raise UserError(f"--adapter is supported by --backend hf only (got --backend {backend}).",
                        "pass --backend hf, or serve the fine-tuned model and use --backend openai.")
    if backend == "openai":
        return api_identity(base_url, model.strip())  # type: ignore[arg-type]  # checked there
    identity = _local_identity(backend, resolve_model(model))
    return identity if adapter is None else {**identity, "adapter": adapter_identity(Path(adapter))}



def _local_identity(backend: str, resolved: str) -> dict[str, Any]:
    identity = model_identity(resolved)
    return identity if backend == "hf" else {**identity, "backend": backend}


def make_generator(backend: str, model: str, sampling: SamplingSettings, device: str | None = "auto",
                   base_url: str | None = None, api: ApiOptions = ApiOptions(),
                   adapter: str | None = None) -> TextGenerator:
    """Build the generator a user asked for. `device` is for hf/vllm, `base_url` and `api` for openai,
    `adapter` (hf) for the fine-tuned model of an earlier round."""
    identity = generator_identity(backend, model, base_url, adapter)
    if backend == "openai":
        return OpenAICompatGenerator(base_url, model, sampling, api)
    resolved = resolve_model(model)
    if backend == "hf":
        return HFGenerator(resolved, sampling, identity, device=device, adapter=adapter)
    return VLLMGenerator(resolved, sampling, identity, device=device)
