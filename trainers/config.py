"""Training settings: one dataclass, loadable from YAML, validated on load."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bias_inheritance.device import DEVICES
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_yaml_mapping
from bias_inheritance.settings import from_mapping

MITIGATIONS = ("none",)


@dataclass(frozen=True)
class TrainSettings:
    """LoRA SFT hyperparameters. Defaults follow the paper's gender setting (lr 1e-5, 3 epochs)
    and BiasDiff's LoRA shape (r=16, alpha=32, q_proj/v_proj, dropout 0.05)."""

    learning_rate: float = 1e-5
    epochs: float = 3.0
    batch_size: int = 8
    gradient_accumulation_steps: int = 1
    max_length: int = 512
    lora_r: int = 16
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    target_modules: tuple[str, ...] = ("q_proj", "v_proj")
    mitigation: str = "none"
    seed: int = 0
    save_steps: int = 50
    logging_steps: int = 5
    # Where to train: "auto" (cuda, then mps, then cpu), "cuda", "mps" or "cpu". Not part of the run's
    # key (the dtype it implies is), so a run may resume on another machine of the same kind.
    device: str = "auto"

    def __post_init__(self) -> None:
        object.__setattr__(self, "target_modules", tuple(self.target_modules))
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
            (isinstance(self.device, str) and self.device.split(":", 1)[0].lower() in DEVICES,
             f"device must be one of {', '.join(DEVICES)} (got {self.device!r})"),
        ]
        for ok, message in checks:
            if not ok:
                raise UserError(f"Invalid training settings: {message}.", "fix the value in the training config.")
        if self.mitigation not in MITIGATIONS:
            raise UserError(f"Unknown mitigation {self.mitigation!r}.", f"use one of: {', '.join(MITIGATIONS)}.")

    @classmethod
    def from_dict(cls, raw: dict[str, Any] | None, where: str = "training config") -> "TrainSettings":
        return from_mapping(cls, raw, where)

    @classmethod
    def from_yaml(cls, path: Path) -> "TrainSettings":
        return cls.from_dict(read_yaml_mapping(path), where=str(path))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["target_modules"] = list(self.target_modules)
        return out

    def key_dict(self) -> dict[str, Any]:
        """The settings that change the adapter: all but `device`."""
        out = self.to_dict()
        del out["device"]
        return out

