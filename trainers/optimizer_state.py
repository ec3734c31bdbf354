"""The Adam moments beside a saved adapter, by parameter name.

Gradient attribution (BiasDiff, SPEC §7) preconditions training-sample gradients with Adam's state,
m / (√v + ε); the Trainer's checkpoints hold it, but they are deleted when training ends, and a
torch optimizer's state is keyed by position, not name. This keeps `exp_avg` and `exp_avg_sq` of
every trainable parameter under its name, with the hyperparameters, in one safetensors file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bias_inheritance.errors import UserError

FILE = "optimizer_state.safetensors"
MOMENTS = ("exp_avg", "exp_avg_sq")


def adam_moments(model: Any, optimizer: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """({"<param>.exp_avg": tensor, ...}, hyperparameters) for the trainable parameters of `model`."""
    inner = getattr(optimizer, "optimizer", optimizer)  # accelerate wraps the torch optimizer
    group_of = {id(p): group for group in inner.param_groups for p in group["params"]}
    tensors: dict[str, Any] = {}
    steps = set()
    for name, param in model.named_parameters():
        state = inner.state.get(param, {})
        if not param.requires_grad or not all(m in state for m in MOMENTS):
            continue
        for moment in MOMENTS:
            tensors[f"{name}.{moment}"] = state[moment].detach().cpu().contiguous()
        steps.add(int(state["step"]) if "step" in state else 0)
    if not tensors:
        raise UserError("The optimizer holds no Adam moments to save.", "use an Adam-type optimizer, or leave "
                        "save_optimizer_state off.")
    group = group_of[id(next(p for _, p in model.named_parameters() if p.requires_grad))]
    meta = {"optimizer": type(inner).__name__, "betas": list(group.get("betas", ())), "eps": group.get("eps"),
            "weight_decay": group.get("weight_decay"), "step": max(steps), "parameters": len(tensors) // len(MOMENTS)}
    return tensors, meta


def save_adam_moments(model: Any, optimizer: Any, folder: Path) -> dict[str, Any]:
    """Write FILE into `folder` (atomically) and return its hyperparameters for the card."""
    from safetensors.torch import save_file

    tensors, meta = adam_moments(model, optimizer)
    target = Path(folder) / FILE
    partial = target.with_name(target.name + ".partial")
    save_file(tensors, str(partial), metadata={"meta": json.dumps(meta)})
    partial.replace(target)
    return {"file": FILE, **meta}


def load_adam_moments(folder: Path) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    """({param name: {"exp_avg": tensor, "exp_avg_sq": tensor}}, hyperparameters) from `folder`."""
    from safetensors import safe_open

    path = Path(folder) / FILE
    if not path.is_file():
        raise UserError(f"{folder} holds no {FILE}.", "train with `save_optimizer_state: true`.")
    moments: dict[str, dict[str, Any]] = {}
    with safe_open(str(path), framework="pt") as handle:
        meta = json.loads(handle.metadata()["meta"])
        for key in handle.keys():
            name, moment = key.rsplit(".", 1)
            moments.setdefault(name, {})[moment] = handle.get_tensor(key)
    return moments, meta
