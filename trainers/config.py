"""Training settings: one dataclass, loadable from YAML, validated on load."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bias_inheritance.device import DEVICES
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_yaml_mapping
from bias_inheritance.settings import from_mapping
from trainers import presets
from trainers.mitigations import DEFAULT_TOKEN_CUE, MITIGATIONS

ALIGN_SCALES = ("sum", "mean")
# transformers' learning-rate schedules that need no extra arguments.
SCHEDULES = ("linear", "cosine", "constant", "constant_with_warmup", "cosine_with_restarts", "polynomial",
             "inverse_sqrt")
FLOAT_FIELDS = ("learning_rate", "epochs", "lora_dropout", "warmup_ratio", "align_lambda", "align_momentum")
# Settings that only matter under one mitigation: left out of the key under the others, so changing
# λ never retrains a `mask` run.
ONLY_UNDER: dict[str, str] = {"align_lambda": "loss", "align_scale": "loss", "align_detach_original": "loss",
                              "align_momentum": "loss", "token_cue": "token"}


@dataclass(frozen=True)
class TrainSettings:
    """LoRA SFT hyperparameters and the mitigation. Defaults are the `paper-gender` preset (lr 1e-5,
    3 epochs; BiasDiff's LoRA shape r=16, alpha=32, q_proj/v_proj, dropout 0.05); `preset` names
    the preset a config started from (trainers/presets.py), recorded but not part of the key."""

    learning_rate: float = 1e-5
    epochs: float = 3.0
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_length: int = 512
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    lr_scheduler_type: str = "linear"
    warmup_ratio: float = 0.0
    # none | token (cue before augmented texts) | mask (names, culture labels, gendered words in
    # augmented texts) | loss (SFT + align_lambda · L_align); SPEC §6.
    mitigation: str = "none"
    align_lambda: float = 1.0
    # Spread D_a's rows over the batches (no row repeated); applies to every mitigation, so a sweep
    # keeps one sampler.
    align_balanced_batches: bool = False
    align_scale: str = "sum"  # L_align summed over hidden dimensions (the paper) or their mean
    align_detach_original: bool = False
    align_momentum: float = 0.9  # running mean of a kind missing from a batch
    token_cue: str = DEFAULT_TOKEN_CUE
    # Keep the optimizer's Adam moments beside the adapter (gradient attribution needs them).
    save_optimizer_state: bool = False
    preset: str | None = None
    seed: int = 0
    save_steps: int = 50
    logging_steps: int = 5
    # Where to train: "auto" (cuda, then mps, then cpu), "cuda", "mps" or "cpu". Not part of the run's
    # key (the dtype it implies is), so a run may resume on another machine of the same kind.
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
        for name in FLOAT_FIELDS:  # `epochs=1` in code and `epochs: 1.0` in YAML are one run, one key
            value = getattr(self, name)
            if isinstance(value, int) and not isinstance(value, bool):
                object.__setattr__(self, name, float(value))
        object.__setattr__(self, "token_cue", self.token_cue.strip())  # the cue as it is written before texts
        checks = [
            (self.learning_rate > 0, "learning_rate must be positive"),
            (self.epochs > 0, "epochs must be positive"),
            (self.batch_size >= 1, "batch_size must be at least 1"),
            (self.gradient_accumulation_steps >= 1, "gradient_accumulation_steps must be at least 1"),
            (self.max_length >= 16, "max_length must be at least 16"),
            (self.lora_r >= 1 and self.lora_alpha >= 1, "lora_r and lora_alpha must be at least 1"),
            (0 <= self.lora_dropout < 1, "lora_dropout must be in [0, 1)"),
            (len(self.target_modules) > 0, "target_modules must name at least one module"),
            (self.save_steps >= 1 and self.logging_steps >= 1, "save_steps and logging_steps must be at least 1"),
            (self.lr_scheduler_type in SCHEDULES, f"lr_scheduler_type must be one of {', '.join(SCHEDULES)}"),
            (0 <= self.warmup_ratio < 1, "warmup_ratio must be in [0, 1)"),
            (math.isfinite(self.align_lambda) and self.align_lambda >= 0, "align_lambda must be 0 or more (and finite)"),
            (self.align_scale in ALIGN_SCALES, f"align_scale must be one of {', '.join(ALIGN_SCALES)}"),
            (0 <= self.align_momentum < 1, "align_momentum must be in [0, 1)"),
            (bool(self.token_cue.strip()), "token_cue must not be empty"),
            (isinstance(self.device, str) and self.device.split(":", 1)[0].lower() in DEVICES,
             f"device must be one of {', '.join(DEVICES)} (got {self.device!r})"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"Invalid training settings: {message}.", "fix the value in the training config.")
        if self.mitigation not in MITIGATIONS:
            raise UserError(f"Unknown mitigation {self.mitigation!r}.", f"use one of: {', '.join(MITIGATIONS)}.")
        if self.preset is not None:
            presets.preset(self.preset)

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None, where: str = "training config", prefix: str = "") -> "TrainSettings":
        """Settings from a mapping; a `preset` fills what the mapping leaves out."""
        if isinstance(raw, dict):
            raw = presets.expand(raw)
        return from_mapping(cls, raw, where, prefix=prefix)

    @classmethod
    def from_yaml(cls, path: Path) -> "TrainSettings":
        return cls.from_dict(read_yaml_mapping(path), where=str(path))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["target_modules"] = list(self.target_modules)
        return out

    def key_dict(self) -> dict[str, Any]:
        """The settings that change the adapter: all but `device`, `preset` (a label for values
        that are all here) and the settings of another mitigation."""
        out = self.to_dict()
        for name in ("device", "preset"):
            del out[name]
        for name, mitigation in ONLY_UNDER.items():
            if self.mitigation != mitigation:
                del out[name]
        return out

    def assumptions(self) -> dict[str, Any]:
        """The settings holding a value the preset filled in because the paper does not report it."""
        return presets.assumptions(self.preset, self.to_dict())

