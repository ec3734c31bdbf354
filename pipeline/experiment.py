"""The experiment schema: one YAML file describes a grid of runs (bias type × γ × mitigation × seed).

Each axis is a list; a scalar is a one-item list, so the quickstart's single run and a paper-sized
grid share one schema, and the grid runner iterates `cells()`. Everything is validated on load,
types included, and `check_feasible` proves the plan can succeed before any model is loaded.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat, PositiveInt,
                      ValidationError, ValidationInfo, field_validator)

from bias_inheritance.device import DEVICES
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_yaml_mapping
from bias_inheritance.schema import FORMAT_CHOICES
from bias_inheritance.settings import describe_validation_error
from generators.bias_types import parse_bias_type
from trainers.config import MITIGATIONS, TrainSettings

DATA_CHOICES = ("sample", "hub")


def _as_list(value: Any) -> Any:
    """A scalar axis value is a one-item list."""
    return value if isinstance(value, (list, tuple)) else [value]


def _unique(values: list[Any], key: str = "") -> list[Any]:
    """At least one value, none twice; `key` names a list inside a larger value in the message."""
    named = f"{key}: " if key else ""
    if len(set(values)) != len(values):
        raise ValueError(f"{named}a value is listed twice")
    if not values:
        raise ValueError(f"{named}at least one value is needed")
    return values


# A grid axis: a scalar is a one-item list; at least one value, none twice (errors name the key).
IntAxis = Annotated[list[int], BeforeValidator(_as_list), AfterValidator(_unique)]
FloatAxis = Annotated[list[float], BeforeValidator(_as_list), AfterValidator(_unique)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GenerationSection(_Section):
    bias_type: list[int | str] = Field(default_factory=lambda: [4])
    count: PositiveInt = 36
    batch_size: PositiveInt = 8
    max_new_tokens: PositiveInt = 160
    temperature: float = Field(default=0.7, ge=0)

    @field_validator("bias_type", mode="before")
    @classmethod
    def _bias_types(cls, value: Any) -> list[int]:
        types = []
        for item in _as_list(value):
            try:
                types.append(int(parse_bias_type(item)))
            except UserError as exc:
                raise ValueError(exc.problem) from None
        return _unique(types)


class MixSection(_Section):
    gamma: FloatAxis = Field(default_factory=lambda: [0.5])
    total: PositiveInt | None = None

    @field_validator("gamma")
    @classmethod
    def _gamma_range(cls, values: list[float]) -> list[float]:
        for gamma in values:
            if not 0.0 <= gamma < 1.0:
                raise ValueError(f"bias ratio γ={gamma} is outside [0, 1)")
        return values


class EvaluationSection(_Section):
    tasks: list[str] = Field(default_factory=lambda: ["bias_inheritance_gender_bios"])
    limit: PositiveFloat | None = None
    batch_size: PositiveInt = 8
    format: Literal[FORMAT_CHOICES] = "auto"

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_list(cls, value: Any) -> Any:
        return _as_list(value)


class RoundsSection(_Section):
    """Multi-round inheritance (SPEC §3): round r generates with the model trained in round r - 1.

    Defaults follow the paper: unbiased type 0 at γ = 0.5 with |D| held fixed (mix.total, else
    |D_o|), the same D_o rows every round, and each round fine-tuning the base model afresh
    (`continue_adapter: true` continues the previous round's adapter instead).
    """

    count: int = Field(default=0, ge=0)  # rounds to run; 0: none
    bias_type: int | str = 0
    gamma: float = Field(default=0.5, ge=0, lt=1)
    continue_adapter: bool = False

    @field_validator("bias_type")
    @classmethod
    def _known_type(cls, value: int | str) -> int:
        try:
            return int(parse_bias_type(value))
        except UserError as exc:
            raise ValueError(exc.problem) from None


class Experiment(_Section):
    """A validated experiment file. `train` holds TrainSettings fields; its `mitigation` is an axis."""

    model: str = "embedded"
    data: str = "sample"
    device: Literal[DEVICES] = "auto"  # for generation, training and evaluation
    seed: IntAxis = Field(default_factory=lambda: [0])
    generation: GenerationSection = Field(default_factory=GenerationSection)
    mix: MixSection = Field(default_factory=MixSection)
    train: dict[str, Any] = Field(default_factory=dict, validate_default=True)
    evaluation: EvaluationSection = Field(default_factory=EvaluationSection)
    rounds: RoundsSection = Field(default_factory=RoundsSection)

    @field_validator("data")
    @classmethod
    def _data_source(cls, value: str) -> str:
        if value not in DATA_CHOICES and not Path(value).expanduser().is_dir():
            raise ValueError(f"{value!r} is neither {' nor '.join(DATA_CHOICES)} nor an existing folder")
        return value

    @field_validator("train", mode="before")
    @classmethod
    def _train_settings(cls, value: Any, info: ValidationInfo) -> dict[str, Any]:
        value = dict(value or {}) if isinstance(value, dict) or value is None else value
        if not isinstance(value, dict):
            raise ValueError("must be a mapping of training settings")
        mitigations = _unique(list(_as_list(value.get("mitigation", "none"))), "mitigation")
        for mitigation in mitigations:
            if mitigation not in MITIGATIONS:
                raise ValueError(f"unknown mitigation {mitigation!r} (use one of: {', '.join(MITIGATIONS)})")
        # Type- and value-check the remaining settings now, once per mitigation.
        where = (info.context or {}).get("where", "config")
        for mitigation in mitigations:
            TrainSettings.from_dict({**value, "mitigation": mitigation}, where, prefix="train.")
        return {**value, "mitigation": mitigations}

    @property
    def mitigations(self) -> list[str]:
        return list(self.train["mitigation"])

    def train_settings(self, mitigation: str, seed: int) -> TrainSettings:
        """The training settings of one cell (its mitigation and seed)."""
        settings = {"device": self.device, **self.train, "mitigation": mitigation, "seed": seed}
        return TrainSettings.from_dict(settings, "config section 'train'", prefix="train.")

    def cells(self) -> list["Cell"]:
        """Every run of the grid, in a fixed order."""
        return [
            Cell(bias_type=b, gamma=g, mitigation=m, seed=s)
            for s, b, g, m in itertools.product(self.seed, self.generation.bias_type, self.mix.gamma, self.mitigations)
        ]


@dataclass(frozen=True)
class Cell:
    """One run of the grid."""

    bias_type: int
    gamma: float
    mitigation: str
    seed: int

    @property
    def label(self) -> str:
        return f"type{self.bias_type}-gamma{self.gamma:g}-{self.mitigation}-seed{self.seed}"


def load_experiment(raw: Any, where: str = "config") -> Experiment:
    """Validate a mapping as an experiment; every problem is one line naming its key."""
    if not isinstance(raw, dict):
        raise UserError(f"The {where} must hold a mapping of settings.", "write it as `key: value` lines.")
    unknown = sorted(set(raw) - set(Experiment.model_fields))
    if unknown:
        raise UserError(f"Unknown config key(s) in the {where}: {', '.join(unknown)}.",
                        f"use: {', '.join(sorted(Experiment.model_fields))}.")
    try:
        return Experiment.model_validate(raw, context={"where": where})
    except ValidationError as exc:
        raise describe_validation_error(exc, where) from None


def experiment_from_yaml(path: Path) -> Experiment:
    return load_experiment(read_yaml_mapping(Path(path)), where=str(path))


def quickstart_experiment() -> Experiment:
    text = resources.files("pipeline.configs").joinpath("quickstart.yaml").read_text(encoding="utf-8")
    return load_experiment(yaml.safe_load(text), where="built-in quickstart config")
