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
from bias_inheritance.model import MARKER
from bias_inheritance.schema import FOLDER_CARD

# Files whose bytes define a local model folder (weights, config, tokenizer, chat template).
_MODEL_FILE_SUFFIXES = (".safetensors", ".bin", ".json", ".model", ".txt", ".jinja", ".gguf")
# Files in a model or adapter folder that describe it rather than define it (left out of its hash;
# `run_card.json` is the card of older versions).
NOTE_FILES = frozenset({FOLDER_CARD, "run_card.json", "README.md"})
_IGNORED_MODEL_FILES = NOTE_FILES | {MARKER}


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


def folder_sha256(folder: Path, suffixes: tuple[str, ...] | None = None, ignored: frozenset[str] = frozenset()) -> str:
    """sha256 over the relative names and contents of a folder's files (hidden files skipped).

    Hashing gigabytes on every run would be slow, so the value is memoised in the cache under the
    files' names, sizes and modification times: any change to a file gives a new value.
    """
    folder = Path(folder)
    files = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and (suffixes is None or p.suffix in suffixes) and p.name not in ignored
        and not any(part.startswith(".") or part.startswith("checkpoint") for part in p.relative_to(folder).parts)
    )
    if not files:
        raise UserError(f"{folder} holds no files to identify.", "pass a folder with the expected files.")
    stats = [(str(p.relative_to(folder)), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    memo_key = hashlib.sha256(canonical_json([str(folder.resolve()), stats]).encode()).hexdigest()
    memo = cache.cache_root() / "identity" / f"{memo_key}.json"
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
        marker = path / MARKER
        if marker.is_file():
            info = read_json(marker)
            return {"kind": "embedded", "hub_id": info.get("hub_id"), "gguf_sha256": info.get("gguf_sha256")}
        return {"kind": "local", "sha256": folder_sha256(path, _MODEL_FILE_SUFFIXES, _IGNORED_MODEL_FILES)}
    return {"kind": "hub", "hub_id": resolved, "revision": revision or "main"}


def describe_identity(identity: Any, digits: int | None = None) -> str | None:
    """A model identity as text (`hub_id@revision`, `local sha256:…`, `hub_id (embedded, gguf sha256:…)`).

    `digits` cuts hashes for a terminal; tables keep them whole. Older files hold a plain string or
    `{"model": ...}`, which pass through.
    """
    if identity is None or isinstance(identity, str):
        return identity
    if not isinstance(identity, Mapping):
        return str(identity)
    cut = (lambda value: str(value)[:digits]) if digits else str
    kind = identity.get("kind")
    if kind == "hub":
        return f"{identity.get('hub_id')}@{identity.get('revision') or 'main'}"
    if kind == "local":
        return f"local sha256:{cut(identity.get('sha256'))}"
    if kind == "embedded":
        return f"{identity.get('hub_id')} (embedded, gguf sha256:{cut(identity.get('gguf_sha256'))})"
    return identity.get("hub_id") or identity.get("model")
