"""Did training move the model? The card flags a run whose loss or adapter barely changed.

At the paper's culture learning rate (1e-6) a LoRA adapter may hardly move in 3 epochs: its scores
would then measure the base model, not inheritance. Two measures, each with a documented floor:
- the loss: |last − first| / first over the logged training losses (needs two logged steps);
- the adapter: ‖ΔW_end − ΔW_start‖ / ‖W_base‖ over every LoRA layer, ΔW = the layer's LoRA update
  (B·A·scale), so a fresh adapter (B = 0) and a continued one are measured alike.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

# Below these relative changes a run is flagged as barely moved.
LOSS_MOVED_MIN = 0.01
ADAPTER_MOVED_MIN = 1e-4


def lora_layers(model: Any) -> list[Any]:
    from peft.tuners.lora import LoraLayer

    return [module for module in model.modules() if isinstance(module, LoraLayer)]


def lora_deltas(model: Any) -> list[Any]:
    """Each LoRA layer's current update ΔW for its active adapter (detached, on the CPU, float32)."""
    import torch

    out = []
    with torch.no_grad():
        for layer in lora_layers(model):
            for name in layer.active_adapters:
                if name in layer.lora_A:
                    out.append(layer.get_delta_weight(name).detach().float().cpu())
    return out


def base_norm(model: Any) -> float:
    """‖W_base‖ over the LoRA layers' frozen weights: the scale ΔW is judged against."""
    import torch

    with torch.no_grad():
        return math.sqrt(sum(float(layer.get_base_layer().weight.float().pow(2).sum()) for layer in lora_layers(model)))


def movement(before: Sequence[Any], after: Sequence[Any], weight_norm: float,
             losses: Sequence[float]) -> dict[str, Any]:
    """The card's record: both measures, their floors, and the flags they raise."""
    change = math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in zip(after, before, strict=True)))
    adapter = change / weight_norm if weight_norm > 0 else 0.0
    loss = abs(losses[-1] - losses[0]) / abs(losses[0]) if len(losses) >= 2 and losses[0] else None
    flags = []
    if loss is not None and loss < LOSS_MOVED_MIN:
        flags.append("loss_barely_moved")
    if adapter < ADAPTER_MOVED_MIN:
        flags.append("adapter_barely_moved")
    return {"loss_first": losses[0] if losses else None, "loss_last": losses[-1] if losses else None,
            "loss_relative_change": loss, "adapter_delta_norm": change, "adapter_relative_change": adapter,
            "floors": {"loss_relative_change": LOSS_MOVED_MIN, "adapter_relative_change": ADAPTER_MOVED_MIN},
            "flags": flags}


def logged_losses(log_history: Sequence[dict]) -> list[float]:
    """The training losses the Trainer logged, in order (not the final mean `train_loss`)."""
    return [float(entry["loss"]) for entry in log_history if "loss" in entry]
