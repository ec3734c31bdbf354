"""File IO with two guarantees: writes are atomic, and malformed input fails with its location."""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable, Iterator

from bias_inheritance.errors import UserError


def atomic_write_text(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename, so readers never see half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=False) + "\n")


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    """Write all rows atomically (one JSON object per line)."""
    atomic_write_text(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))


def parse_jsonl_lines(lines: Iterable[str], origin: str, fix: str) -> Iterator[tuple[int, Any]]:
    """(line number, value) for each non-blank line; a bad line is a UserError naming origin and line."""
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            raise UserError(f"{origin} line {number}: malformed JSON ({exc.msg}).", fix) from None


def iter_jsonl(path: Path) -> Iterator[dict]:
    """Yield the objects of a JSON-lines file; a bad line raises a UserError naming file and line."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"File not found: {path}.", "check the path, or prepare the data first.")
    fix = "repair or regenerate that file."
    with path.open(encoding="utf-8") as handle:
        for number, row in parse_jsonl_lines(handle, str(path), fix):
            if not isinstance(row, dict):
                raise UserError(f"{path} line {number} is not a JSON object.", fix)
            yield row


def read_jsonl(path: Path) -> list[dict]:
    return list(iter_jsonl(path))


def read_json(path: Path) -> Any:
    path = Path(path)
    if not path.is_file():
        raise UserError(f"File not found: {path}.", "check the path.")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}).", "repair or regenerate that file.") from None


def content_hash(rows: Iterable[dict]) -> str:
    """sha256 of rows in canonical JSON: the same data gives the same hash whatever the key order."""
    digest = hashlib.sha256()
    for row in rows:
        digest.update(json.dumps(row, sort_keys=True, ensure_ascii=False).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with Path(path).open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """Read a YAML config that must hold a mapping; errors name the file."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise UserError(f"Config file {path} does not exist.", "check the path.")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise UserError(f"{path} is not valid YAML ({exc.__class__.__name__}).", "fix the YAML syntax.") from None
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise UserError(f"{path} must hold a mapping of settings.", "write it as `key: value` lines.")
    return raw
