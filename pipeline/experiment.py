"""The experiment schema: one YAML file describes a grid of runs (culture × bias type × γ × mitigation × seed × round).

Each axis is a list; a scalar is a one-item list, so a single run and a paper-sized grid share one
schema, and the sweep (pipeline/sweep.py) iterates `cells()`. Everything is validated on load, types
included, and `check_feasible` proves the plan can succeed before any model is loaded.

γ = 0 is the control: its training set holds only D_o rows, the same for every bias type, and token
and mask change nothing without augmented rows. So `cells()` gives one control cell per seed and
culture (and so per preset), with no bias type and mitigation "none", trained once.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat, PositiveInt,
                      ValidationError, ValidationInfo, field_validator)

from bias_inheritance import vocab
from bias_inheritance.device import DEVICES
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_yaml_mapping
from bias_inheritance.schema import EVAL_BACKENDS, FORMAT_CHOICES
from bias_inheritance.settings import describe_validation_error
from generators.backends import BACKENDS
from generators.bias_types import parse_bias_type
from generators.requests import BIASES
from trainers.config import MITIGATIONS, TrainSettings
from trainers.presets import PRESETS

DATA_CHOICES = ("sample", "hub")
CONTROL_MITIGATION = "none"  # with no augmented rows every mitigation trains the same adapter as "none"
DEFAULT_PRESET = "default"  # the key of a `train.preset` mapping that covers every culture not named
# The tasks a bias is evaluated on when `evaluation.tasks` is not set (SPEC §4).
DEFAULT_TASKS: dict[str, list[str]] = {"gender": ["bias_inheritance_gender_bios"], "culture": ["bias-inheritance-culture"]}
# Configs shipped as package data (pipeline/configs/<name>.yaml), named on the command line.
SHIPPED = ("quickstart", "paper-gender", "paper-culture")


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
    backend: Literal[BACKENDS] = "hf"  # hf (transformers), vllm (GPU) or openai (an OpenAI-compatible server)
    base_url: str | None = None  # the server of backend openai

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
    tasks: list[str] | None = None  # default: DEFAULT_TASKS of the experiment's bias
    limit: PositiveFloat | None = None
    batch_size: PositiveInt = 8
    format: Literal[FORMAT_CHOICES] = "auto"
    backend: Literal[EVAL_BACKENDS] = "hf"  # lm-eval's model type; vllm scores on a GPU, adapters as LoRA requests

    @field_validator("tasks", mode="before")
    @classmethod
    def _task_list(cls, value: Any) -> Any:
        return None if value is None else _as_list(value)


class RoundsSection(_Section):
    """Multi-round inheritance (SPEC §3): round r generates with the model trained in round r - 1.

    Defaults follow the paper: unbiased type 0 at γ = 0.5 with |D| held fixed (mix.total, else
    |D_o|), unmitigated, the same D_o rows every round, and each round fine-tuning the base model
    afresh (`continue_adapter: true` continues the previous round's adapter instead). Round 1 is
    the grid's cell of that bias type, γ and mitigation (shared with it when the grid has it).
    """

    count: int = Field(default=0, ge=0)  # rounds to run; 0: none
    bias_type: int | str = 0
    gamma: float = Field(default=0.5, gt=0, lt=1)
    mitigation: str = CONTROL_MITIGATION
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
    bias: Literal[BIASES] = "gender"
    cultures: list[str] | None = None  # culture runs: one adapter per culture (default: all four); gender: unset
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

    @field_validator("cultures", mode="before")
    @classmethod
    def _culture_list(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        if info.data.get("bias") != "culture":
            raise ValueError("only a culture run (bias: culture) trains one adapter per culture")
        cultures = _unique([str(c).lower() for c in _as_list(value)])
        for culture in cultures:
            if culture not in vocab.CULTURES:
                raise ValueError(f"unknown culture {culture!r} (use one of: {', '.join(vocab.CULTURES)})")
        return cultures

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
        presets = _preset_map(value.get("preset"))
        running = set(info.data.get("cultures") or vocab.CULTURES) if info.data.get("bias") == "culture" else set()
        stray = sorted(set(presets) - running - {DEFAULT_PRESET})
        if stray:
            raise ValueError(f"preset names {', '.join(stray)}, which this experiment does not train "
                             f"(use {DEFAULT_PRESET}{''.join(', ' + c for c in sorted(running))})")
        # Type- and value-check the remaining settings now, once per mitigation and preset.
        where = (info.context or {}).get("where", "config")
        for mitigation in mitigations:
            for name in set(presets.values()) or {None}:
                TrainSettings.from_dict({**value, "preset": name, "mitigation": mitigation}, where, prefix="train.")
        return {**value, "mitigation": mitigations}

    @field_validator("rounds")
    @classmethod
    def _rounds_mitigation(cls, value: RoundsSection, info: ValidationInfo) -> RoundsSection:
        """A round trains with settings validated on load: its mitigation must be one of the grid's."""
        mitigations = (info.data.get("train") or {}).get("mitigation") or [CONTROL_MITIGATION]
        if value.count and value.mitigation not in mitigations:
            raise ValueError(f"mitigation {value.mitigation!r} is not on the train.mitigation axis "
                             f"({', '.join(mitigations)}); add it there or pick one of those")
        return value

    @property
    def mitigations(self) -> list[str]:
        return list(self.train["mitigation"])

    @property
    def culture_axis(self) -> list[str | None]:
        """The cultures trained apart (culture runs), or [None] (gender runs)."""
        if self.bias != "culture":
            return [None]
        return list(self.cultures or vocab.CULTURES)

    @property
    def tasks(self) -> list[str]:
        return list(self.evaluation.tasks or DEFAULT_TASKS[self.bias])

    def preset_for(self, culture: str | None) -> str | None:
        """The training preset of a culture's adapters (a mapping names cultures, `default` the rest)."""
        presets = _preset_map(self.train.get("preset"))
        if not presets:
            return None
        return presets.get(culture or DEFAULT_PRESET, presets.get(DEFAULT_PRESET))

    def train_settings(self, mitigation: str, seed: int, culture: str | None = None) -> TrainSettings:
        """The training settings of one cell (its mitigation, seed and culture's preset)."""
        settings = {"device": self.device, **self.train, "preset": self.preset_for(culture),
                    "mitigation": mitigation, "seed": seed}
        return TrainSettings.from_dict(settings, "config section 'train'", prefix="train.")

    def cells(self) -> list["Cell"]:
        """Every run of the grid, in a fixed order; γ = 0 is one control cell per seed and culture.

        With `rounds.count` = R, each seed and culture also has the rounds' cells 2..R (round 1 is
        the grid's cell of the rounds' bias type, γ and mitigation, added if the grid lacks it).
        """
        cells: list[Cell] = []
        rounds = self.rounds
        for s, c in itertools.product(self.seed, self.culture_axis):
            if 0.0 in self.mix.gamma:
                cells.append(Cell(bias_type=None, gamma=0.0, mitigation=CONTROL_MITIGATION, seed=s, culture=c))
            cells += [Cell(bias_type=b, gamma=g, mitigation=m, seed=s, culture=c)
                      for b, g, m in itertools.product(self.generation.bias_type, self.mix.gamma, self.mitigations)
                      if g != 0.0]
            if rounds.count:
                first = Cell(bias_type=int(rounds.bias_type), gamma=rounds.gamma, mitigation=rounds.mitigation,
                             seed=s, culture=c)
                cells += [] if first in cells else [first]
                cells += [replace(first, round=r) for r in range(2, rounds.count + 1)]
        return cells


def _preset_map(value: Any) -> dict[str, str]:
    """`train.preset` as {culture or "default": preset}: a name applies to every culture."""
    if value is None:
        return {}
    mapping = value if isinstance(value, dict) else {DEFAULT_PRESET: value}
    out = {}
    for culture, name in mapping.items():
        culture = str(culture).lower()
        if culture != DEFAULT_PRESET and culture not in vocab.CULTURES:
            raise ValueError(f"preset: unknown culture {culture!r} (use {DEFAULT_PRESET} or one of: {', '.join(vocab.CULTURES)})")
        if name not in PRESETS:
            raise ValueError(f"unknown training preset {name!r} (use one of: {', '.join(PRESETS)})")
        out[culture] = name
    return out


@dataclass(frozen=True)
class Cell:
    """One run of the grid. The control (γ = 0) has no bias type: its training set is D_o rows only."""

    bias_type: int | None
    gamma: float
    mitigation: str
    seed: int
    culture: str | None = None
    round: int = 1  # round r > 1 trains on D_a generated by round r - 1's model (SPEC §3)

    @property
    def is_control(self) -> bool:
        return self.bias_type is None

    @property
    def previous_round(self) -> "Cell | None":
        """The cell whose model generates this round's D_a (None in round 1: the base model)."""
        return replace(self, round=self.round - 1) if self.round > 1 else None

    @property
    def label(self) -> str:
        culture = f"-{self.culture}" if self.culture else ""
        if self.is_control:
            return f"control{culture}-seed{self.seed}"
        round_ = f"-round{self.round}" if self.round > 1 else ""
        return f"type{self.bias_type}-gamma{self.gamma:g}-{self.mitigation}{culture}-seed{self.seed}{round_}"


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


def shipped_experiment(name: str) -> Experiment:
    """A config shipped as package data (`SHIPPED`)."""
    text = resources.files("pipeline.configs").joinpath(f"{name}.yaml").read_text(encoding="utf-8")
    return load_experiment(yaml.safe_load(text), where=f"built-in {name} config")


def load_config(config: str | Path) -> Experiment:
    """A shipped config by name (`quickstart`, `paper-gender`, `paper-culture`) or a YAML file by path."""
    if str(config) in SHIPPED:
        return shipped_experiment(str(config))
    path = Path(config).expanduser()
    if not path.is_file():
        raise UserError(f"No config named {str(config)!r} and no such file.",
                        f"name a shipped config ({', '.join(SHIPPED)}) or pass a YAML file's path.")
    return experiment_from_yaml(path)


def quickstart_experiment() -> Experiment:
    return shipped_experiment("quickstart")
