"""Run identity: a stage's key is the hash of *all* of its inputs, in one canonical form.

Two runs share a key only when every input that changes the output is equal: upstream content
hashes, the model's identity, every setting and the version of the prompts/templates used. Keys are
what decides reuse and resume, so they must never depend on dict order, paths of the same content,
or Python object identity.
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from typing import Any, Mapping

from bias_inheritance import cache
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, read_json, sha256_file

# Files whose bytes define a local model folder (weights, config, tokenizer, chat template).
_MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt", ".jinja", ".gguf")
_IGNORED_MODEL_FILES = frozenset({"bias_inheritance_model.json", "card.json", "run_card.json", "README.md"})


def _canonical(value: Any) -> Any:
    """JSON-ready form: mappings with string keys, tuples as lists, paths as text, floats checked."""
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_canonical(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    raise TypeError(f"cannot key a value of type {type(value).__name__}: {value!r}")


def canonical_json(value: Any) -> str:
    """One text for one value: sorted keys, no whitespace, UTF-8 kept."""
    return json.dumps(_canonical(value), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def input_key(inputs: Mapping[str, Any]) -> str:
    """The full sha256 of a stage's input record."""
    return hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()


def short_key(key: str) -> str:
    """The first 12 hex digits: enough to name a folder, never used to decide reuse."""
    return key[:12]


def differing_inputs(old: Mapping[str, Any], new: Mapping[str, Any], prefix: str = "") -> list[str]:
    """Dotted names of the inputs that differ between two input records (for one-line errors)."""
    names: list[str] = []
    for name in sorted(set(old) | set(new)):
        dotted = f"{prefix}{name}"
        a, b = old.get(name, "<absent>"), new.get(name, "<absent>")
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            names.extend(differing_inputs(a, b, dotted + "."))
        elif canonical_json(a) != canonical_json(b):
            names.append(dotted)
    return names


def _folder_fingerprint(folder: Path) -> str:
    """sha256 over the names and contents of a local model folder's defining files, cached by stat."""
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.suffix in _MODEL_FILE_SUFFIXES and p.name not in _IGNORED_MODEL_FILES
        and not any(part.startswith(".") or part.startswith("checkpoint") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise UserError(f"{folder} holds no model files.", "pass a folder written by save_pretrained.")
    stats = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    memo = cache.cache_root() / "identity" / (hashlib.sha256(canonical_json([str(folder.resolve()), stats]).encode()).hexdigest() + ".json")
    if memo.is_file():
        return str(read_json(memo)["sha256"])
    digest = hashlib.sha256()
    for path, _, _ in stats:
        digest.update(path.encode("utf-8") + b"\0" + sha256_file(folder / path).encode("ascii") + b"\n")
    value = digest.hexdigest()
    atomic_write_json(memo, {"folder": str(folder.resolve()), "sha256": value})
    return value


def model_identity(resolved: str, revision: str | None = None) -> dict[str, Any]:
    """What names a model's weights: hub id and revision, or the sha256 of a local folder's files.

    The embedded model is named by its hub id plus the sha256 of the GGUF it was converted from, so
    the same converted weights give the same identity on every machine.
    """
    path = Path(resolved)
    if path.is_dir():
        marker = path / "bias_inheritance_model.json"
        if marker.is_file():
            info = read_json(marker)
            return {"kind": "embedded", "hub_id": info.get("hub_id"), "gguf_sha256": info.get("gguf_sha256")}
        return {"kind": "local", "sha256": _folder_fingerprint(path)}
    return {"kind": "hub", "hub_id": resolved, "revision": revision or "main"}
