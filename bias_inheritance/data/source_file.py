"""`source.json`: the record, written beside every prepared data family, of where its rows came from."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, Mapping, TypeVar

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, read_json, write_jsonl

SOURCE_FILE = "source.json"
T = TypeVar("T")


def source_label(kind: str, location: str, *, synthetic: bool = False, unverified: str | None = None) -> str:
    """How every prepared family names its source: `kind:location`, tagged "(SYNTHETIC SAMPLE)" for
    bundled sample data or "(UNVERIFIED: why)" for data whose checksums did not hold."""
    if synthetic:
        return f"{kind}:{location} (SYNTHETIC SAMPLE)"
    return f"{kind}:{location}" + (f" (UNVERIFIED: {unverified})" if unverified is not None else "")


def read_source(directory: Path, record: type[T], what: str, prepare: str, routes: str) -> T:
    """The source record of a prepared folder, or a one-line error saying how to prepare it.

    `what` names the data ("Gender data"), `prepare` is the command that rewrites it, `routes` the
    fix for a folder that was never prepared.
    """
    path = Path(directory) / SOURCE_FILE
    if not path.is_file():
        raise UserError(f"{what} is not prepared (no {path}).", routes)
    try:
        return record(**read_json(path))
    except TypeError:
        raise UserError(f"{path} is malformed.", f"re-run `{prepare}`.") from None


def write_prepared(out_dir: Path, files: Mapping[str, list[dict]], source: Any, inputs: Mapping[str, Any]) -> None:
    """Write a prepared folder: `<name>.jsonl` per entry of `files`, `source.json`, then its card.

    The old `source.json` and card go first, so neither can vouch for files half replaced by a
    preparation killed midway; the card, written last, marks the folder complete. `source` is a
    dataclass with `content_sha256` and `label`.
    """
    out_dir = Path(out_dir)
    for stale in (out_dir / SOURCE_FILE, cards.card_path(out_dir)):
        stale.unlink(missing_ok=True)
    for name, rows in files.items():
        write_jsonl(out_dir / f"{name}.jsonl", rows)
    atomic_write_json(out_dir / SOURCE_FILE, asdict(source))
    cards.write_card(out_dir, "prepare", inputs, summary={
        "source": asdict(source),
        "provenance": {"data_sha256": source.content_sha256, "data_source": source.label},
    })
