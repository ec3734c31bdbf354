"""Which Trainer checkpoints may be resumed: only complete ones.

A process killed while saving leaves a torn `checkpoint-N` (the Trainer writes the adapter, then the
optimizer, scheduler and RNG states, and `trainer_state.json` last, none of them atomically).
A checkpoint counts as complete when `trainer_state.json` parses and names step N, the adapter
weights load, and the optimizer/scheduler/RNG files are whole archives. Each checkpoint's adapter
carries the run's card (written with the adapter, before the states): a run resumes a checkpoint
only when that card's key is its own.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

PREFIX = "checkpoint-"
ADAPTER_WEIGHTS = ("adapter_model.safetensors", "adapter_model.bin")
STATE_FILES = ("optimizer.pt", "scheduler.pt")  # required: resuming without them changes the run
OPTIONAL_STATE_FILES = ("rng_state.pth", "scaler.pt")


@dataclass(frozen=True)
class Resume:
    """The checkpoint to resume from (None: start fresh) and the torn ones passed over, newest first."""

    checkpoint: Path | None
    torn: tuple[tuple[Path, str], ...] = ()


def _step(folder: Path) -> int | None:
    tail = folder.name.removeprefix(PREFIX)
    return int(tail) if folder.name.startswith(PREFIX) and tail.isdigit() else None


def _weights_load(path: Path) -> bool:
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            load_file(str(path))
        else:
            import torch

            torch.load(path, map_location="cpu", weights_only=True)
    except Exception:  # noqa: BLE001 - any failure to load means the file is torn
        return False
    return True


def _card_problem(folder: Path, key: str) -> str | None:
    from bias_inheritance import cards
    from bias_inheritance.errors import UserError

    try:
        card = cards.read_card(cards.card_path(folder))
    except (UserError, ValueError, OSError):
        return "card.json is unreadable"
    if card is None:
        return "no card.json"
    return None if card["key"] == key else "its card is another run's"


def problem(folder: Path, key: str | None = None) -> str | None:
    """Why `folder` cannot be resumed by the run keyed `key`, or None when it is complete and its own."""
    if key is not None and (why := _card_problem(folder, key)):
        return why
    state_file = folder / "trainer_state.json"
    if not state_file.is_file():
        return "no trainer_state.json"
    try:
        step = json.loads(state_file.read_text(encoding="utf-8"))["global_step"]
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return "trainer_state.json is unreadable"
    if step != _step(folder):
        return f"trainer_state.json is at step {step}"
    weights = next((folder / n for n in ADAPTER_WEIGHTS if (folder / n).is_file()), None)
    if weights is None:
        return "no adapter weights"
    if not _weights_load(weights):
        return f"{weights.name} does not load"
    for name in STATE_FILES + OPTIONAL_STATE_FILES:
        path = folder / name
        if name in STATE_FILES and not path.is_file():
            return f"no {name}"
        if path.is_file() and not zipfile.is_zipfile(path):
            return f"{name} is truncated"
    return None


def resumable(checkpoints: Path, key: str | None = None) -> Resume:
    """The newest complete checkpoint of the run keyed `key` under `checkpoints`, with the unusable
    ones newer than it."""
    folders = sorted((p for p in Path(checkpoints).glob(PREFIX + "*") if p.is_dir() and _step(p) is not None),
                     key=_step, reverse=True)
    torn: list[tuple[Path, str]] = []
    for folder in folders:
        why = problem(folder, key)
        if why is None:
            return Resume(folder, tuple(torn))
        torn.append((folder, why))
    return Resume(None, tuple(torn))
