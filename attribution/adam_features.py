"""LESS's Adam feature of a training row: one more Adam step with the row's own gradient, m' / √(v' + ε).

Formula (LESS, less/data_selection/collect_grad_reps.py, `obtain_gradients_with_adam`; SPEC §7):
    m' = β1 · m + (1 − β1) · g,   v' = β2 · v + (1 − β2) · g²,   feature = m' / √(v' + ε)
with m, v the warm-up optimizer's `exp_avg`/`exp_avg_sq`. ε sits *inside* the square root and no
bias correction is applied, exactly as LESS does (torch's Adam step itself uses m̂ / (√v̂ + ε)).
β1, β2 and ε are the ones the warm-up optimizer ran with (saved beside its moments; LESS
hard-codes 0.9, 0.999 and 1e-8, the AdamW defaults our trainer uses). The feature is element-wise,
which is why a per-module normaliser (bergson's) does not reproduce it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import torch

from bias_inheritance.errors import UserError

# LESS's values, used when the saved state does not name its own.
LESS_BETAS = (0.9, 0.999)
LESS_EPS = 1e-8


def adam_feature(grad: torch.Tensor, exp_avg: torch.Tensor, exp_avg_sq: torch.Tensor,
                 betas: tuple[float, float] = LESS_BETAS, eps: float = LESS_EPS) -> torch.Tensor:
    """m' / √(v' + ε) element-wise; `grad` may carry leading row dimensions ([n, *shape])."""
    beta1, beta2 = betas
    m = beta1 * exp_avg + (1 - beta1) * grad
    v = beta2 * exp_avg_sq + (1 - beta2) * grad.square()
    return m / torch.sqrt(v + eps)


@dataclass(frozen=True)
class AdamState:
    """The warm-up optimizer's moments of the parameters features are taken for, by name."""

    exp_avg: Mapping[str, torch.Tensor]
    exp_avg_sq: Mapping[str, torch.Tensor]
    betas: tuple[float, float]
    eps: float

    @classmethod
    def load(cls, folder: Path, names: list[str], shapes: Mapping[str, torch.Size]) -> "AdamState":
        """The moments of exactly `names` from trainers' optimizer_state.safetensors in `folder`."""
        from trainers.optimizer_state import load_adam_moments

        moments, meta = load_adam_moments(Path(folder))
        missing = [n for n in names if n not in moments or set(moments[n]) != {"exp_avg", "exp_avg_sq"}]
        if missing:
            raise UserError(f"{folder} holds no Adam moments for {len(missing)} LoRA parameters (e.g. {missing[0]}).",
                            "pass the optimizer state saved with this adapter (train with save_optimizer_state).")
        wrong = [n for n in names if moments[n]["exp_avg"].shape != shapes[n]]
        if wrong:
            raise UserError(f"The Adam moments in {folder} do not fit the adapter (e.g. {wrong[0]}).",
                            "pass the optimizer state saved with this adapter.")
        betas = tuple(float(b) for b in meta.get("betas") or LESS_BETAS)
        eps = float(meta["eps"]) if meta.get("eps") is not None else LESS_EPS
        return cls({n: moments[n]["exp_avg"].float() for n in names},
                   {n: moments[n]["exp_avg_sq"].float() for n in names}, (betas[0], betas[1]), eps)

    def to(self, device: torch.device | str) -> "AdamState":
        return AdamState({n: t.to(device) for n, t in self.exp_avg.items()},
                         {n: t.to(device) for n, t in self.exp_avg_sq.items()}, self.betas, self.eps)

    def feature(self, name: str, grad: torch.Tensor) -> torch.Tensor:
        """The Adam feature of parameter `name` for a batch of per-row gradients [n, *shape]."""
        return adam_feature(grad, self.exp_avg[name], self.exp_avg_sq[name], self.betas, self.eps)
