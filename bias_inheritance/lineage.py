"""What a stage was made from: each upstream output's card, or a card-less file's content hash.

A data input enters a stage's key twice over: by its card's key (a parent, so the card chain can be
walked back to the generator and the prepared data) and by the sha256 of its rows (so an error can
name *which* data differ). A file without a card has only the latter, which still identifies it
exactly. The provenance a card carries is filled by the stage and completed from its parents'.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import NOTE_FILES, folder_sha256
from bias_inheritance.io import content_hash
from bias_inheritance.schema import RUN_PROVENANCE_FIELDS

# Stages whose card summary holds `content_sha256` = io.content_hash of the rows of their output.
ROW_STAGES = ("generate", "mix", "select")  # stages whose output is rows checked against their card


@dataclass(frozen=True)
class Upstream:
    """One data input of a stage: the sha256 of its rows and, when it has one, its complete card."""

    role: str
    content_sha256: str
    parent: cards.Parent | None = None
    card: Mapping[str, Any] | None = None

    @property
    def provenance(self) -> Mapping[str, Any]:
        return (self.card or {}).get("summary", {}).get("provenance", {})


def upstream(role: str, output: Path, rows: list[dict]) -> Upstream:
    """The upstream record of `output` (a file or a prepared folder) whose rows are `rows`.

    A card must be complete; a file changed after its card was written is refused, since its card
    would then describe other rows.
    """
    path = cards.card_path(Path(output))
    card = cards.read_card(path)
    sha = content_hash(rows)
    if card is None:
        return Upstream(role, sha)
    found = cards.parent(role, Path(output))
    if card.get("stage") in ROW_STAGES:
        _verify_sha(Path(output), sha, card)
    return Upstream(role, sha, found, card)


def verify_rows(output: Path, rows: list[dict], card: Mapping[str, Any]) -> None:
    """Refuse a file changed after its card was written: the card would describe other rows."""
    _verify_sha(output, content_hash(rows), card)


def _verify_sha(output: Path, sha: str, card: Mapping[str, Any]) -> None:
    if sha != card.get("summary", {}).get("content_sha256"):
        raise UserError(f"{output} was changed after its card ({cards.card_path(output).name}) was written.",
                        "re-run the stage that wrote it (delete the file and its card), or restore the file.")


def file_output(path: Path) -> Path:
    """A JSON-lines output path; without a suffix its card would be looked for inside it."""
    path = Path(path)
    if not path.suffix or path.is_dir():
        raise UserError(f"{path} is not a file name (its card would be {cards.card_path(path)}).",
                        "pass a path ending in .jsonl.")
    return path


def parents_of(inputs: Iterable[Upstream]) -> dict[str, cards.Parent]:
    return {u.role: u.parent for u in inputs if u.parent is not None}


def provenance(own: Mapping[str, Any], inputs: Iterable[Upstream]) -> dict[str, Any]:
    """RUN_PROVENANCE_FIELDS: what this stage knows, the rest copied from its parents' cards."""
    merged: dict[str, Any] = {name: None for name in RUN_PROVENANCE_FIELDS}
    for item in inputs:
        for name in RUN_PROVENANCE_FIELDS:
            if merged[name] is None and item.provenance.get(name) is not None:
                merged[name] = item.provenance[name]
    merged.update({k: v for k, v in own.items() if k in merged and v is not None})
    return merged


def adapter_identity(adapter: Path) -> dict[str, str]:
    """What names a LoRA adapter: its training card's key, or the sha256 of its files without one.

    A card that is not complete is a one-line error: an unfinished adapter is never used.
    """
    adapter = Path(adapter)
    if not (adapter / "adapter_config.json").is_file():
        raise UserError(f"{adapter} holds no LoRA adapter (adapter_config.json).", "pass the folder written by `train`.")
    if cards.read_card(cards.card_path(adapter)) is None:
        return {"sha256": folder_sha256(adapter, ignored=NOTE_FILES)}
    return {"card_key": cards.parent("adapter", adapter).key}


def adapter_upstream(adapter: Path) -> tuple[dict[str, str], Upstream]:
    """An adapter read as an input: its identity, and its upstream record (its card, whose provenance
    the reading stage inherits; no parent when the adapter has no card)."""
    identity = adapter_identity(adapter)
    card = cards.read_card(cards.card_path(adapter))
    found = cards.parent("adapter", adapter) if card is not None else None
    return identity, Upstream("adapter", next(iter(identity.values())), found, card)
