"""Which accelerator a stage runs on, and in which dtype: one rule for training, generation and eval."""

from __future__ import annotations

from bias_inheritance.errors import UserError

DEVICES = ("auto", "cuda", "mps", "cpu")


def pick_device(requested: str | None = "auto") -> str:
    """cuda, then mps, then cpu for "auto"/None; an explicit device must be available."""
    import torch

    requested = (requested or "auto").strip().lower()
    base = requested.split(":", 1)[0]
    if base not in DEVICES:
        raise UserError(f"Unknown device {requested!r}.", f"use one of: {', '.join(DEVICES)} (or cuda:N).")
    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if base == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    if base == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda was asked for, but torch sees no CUDA device.", "pass --device cpu or auto.")
    if base == "mps" and not has_mps:
        raise UserError("--device mps was asked for, but torch sees no MPS device.", "pass --device cpu or auto.")
    return requested


def train_dtype(device: str) -> str:
    """bfloat16 on a GPU that supports it (the base weights are frozen under LoRA), else float32."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bfloat16"
    return "float32"
