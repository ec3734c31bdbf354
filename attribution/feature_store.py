"""Feature folders: rows' features in numbered chunk files, so no set has to fit in memory.

`chunk-00000.safetensors` holds "features" (float32 [n, k]) with the rows' ids, in order, in its
metadata. A chunk is written to a temporary name and renamed, so a chunk file is always whole and
an interrupted run resumes at the first missing chunk. The folder's card says whether the set is
complete; readers refuse an unfinished one.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import torch

from bias_inheritance import cards
from bias_inheritance.errors import UserError

CHUNK_GLOB = "chunk-*.safetensors"
FEATURES = "features"


def chunk_path(folder: Path, index: int) -> Path:
    return Path(folder) / f"chunk-{index:05d}.safetensors"


def write_chunk(path: Path, ids: list[str], features: torch.Tensor) -> None:
    """Write one chunk atomically (ids in the metadata, features as float32 on the CPU)."""
    from safetensors.torch import save_file

    if features.shape[0] != len(ids):
        raise ValueError(f"{len(ids)} ids for {features.shape[0]} feature rows")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    save_file({FEATURES: features.detach().to("cpu", torch.float32).contiguous()}, str(partial),
              metadata={"ids": json.dumps(ids)})
    partial.replace(path)


def chunk_ids(path: Path) -> list[str]:
    """The ids a chunk holds, without loading its features."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["ids"])


def read_chunk(path: Path) -> tuple[list[str], torch.Tensor]:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        return json.loads(handle.metadata()["ids"]), handle.get_tensor(FEATURES)


def feature_card(folder: Path) -> dict:
    """The card of a complete feature folder (a one-line error for anything else)."""
    folder = Path(folder)
    card = cards.read_card(cards.card_path(folder))
    if card is None or card.get("stage") != "features":
        raise UserError(f"{folder} is not a feature folder (no features card).",
                        "pass a folder written by attribution's write_features.")
    if card.get("status") != "complete":
        raise UserError(f"The features in {folder} are unfinished.", "re-run the command that writes them.")
    return card


def read_features(folder: Path) -> Iterator[tuple[list[str], torch.Tensor]]:
    """(ids, float32 [n, k]) for each chunk of a complete feature folder, in row order."""
    folder = Path(folder)
    card = feature_card(folder)
    chunks = sorted(folder.glob(CHUNK_GLOB))
    if len(chunks) != card["summary"]["chunks"]:
        raise UserError(f"{folder} holds {len(chunks)} chunks, its card {card['summary']['chunks']}.",
                        "delete the folder and write the features again.")
    for path in chunks:
        yield read_chunk(path)
