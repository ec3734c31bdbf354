"""One biased-augmentation run, stage by stage: data -> D_a -> D -> LoRA -> lm-eval -> leaderboard.

Every stage writes its output atomically under one run folder and is skipped when its output is
already there for the same inputs, so a second run reuses what is finished.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json, read_yaml_mapping
from bias_inheritance.model import resolve_model
from bias_inheritance.settings import from_mapping
from generators.augment import GenerationSettings, generate_gender_augmentation
from generators.bias_types import parse_bias_type
from generators.mixing import check_gamma, mix_and_write
from trainers.config import TrainSettings


@dataclass(frozen=True)
class GenerationSection:
    bias_type: int | str = 4
    count: int = 36
    batch_size: int = 8
    max_new_tokens: int = 160
    temperature: float = 0.7


@dataclass(frozen=True)
class MixSection:
    gamma: float = 0.5
    total: int | None = None


@dataclass(frozen=True)
class EvaluationSection:
    tasks: tuple[str, ...] = ("bias_inheritance_gender_bios",)
    limit: float | None = None
    batch_size: int = 8

    def __post_init__(self) -> None:
        tasks = (self.tasks,) if isinstance(self.tasks, str) else tuple(self.tasks)
        object.__setattr__(self, "tasks", tasks)


@dataclass(frozen=True)
class PipelineConfig:
    model: str = "embedded"
    data: str = "sample"
    seed: int = 0
    generation: GenerationSection = field(default_factory=GenerationSection)
    mix: MixSection = field(default_factory=MixSection)
    train: TrainSettings = field(default_factory=TrainSettings)
    evaluation: EvaluationSection = field(default_factory=EvaluationSection)

    def __post_init__(self) -> None:
        parse_bias_type(self.generation.bias_type)
        check_gamma(self.mix.gamma)
        self.generation_settings().validate()
        if self.data not in ("sample", "hub") and not Path(self.data).expanduser().is_dir():
            raise UserError(f"data: {self.data!r} is neither sample, hub nor an existing folder.", "fix `data:` in the config.")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "PipelineConfig":
        top = {f.name for f in fields(cls)}
        unknown = sorted(set(raw) - top)
        if unknown:
            raise UserError(f"Unknown config key(s): {', '.join(unknown)}.", f"use: {', '.join(sorted(top))}.")
        return cls(
            model=str(raw.get("model", "embedded")),
            data=str(raw.get("data", "sample")),
            seed=int(raw.get("seed", 0)),
            generation=from_mapping(GenerationSection, raw.get("generation"), "config section 'generation'"),
            mix=from_mapping(MixSection, raw.get("mix"), "config section 'mix'"),
            train=TrainSettings.from_dict(raw.get("train"), where="config section 'train'"),
            evaluation=from_mapping(EvaluationSection, raw.get("evaluation"), "config section 'evaluation'"),
        )

    @classmethod
    def from_yaml(cls, path: Path) -> "PipelineConfig":
        return cls.from_dict(read_yaml_mapping(path))

    @classmethod
    def quickstart(cls) -> "PipelineConfig":
        text = resources.files("bias_inheritance.configs").joinpath("quickstart.yaml").read_text(encoding="utf-8")
        return cls.from_dict(yaml.safe_load(text))

    def generation_settings(self) -> GenerationSettings:
        return GenerationSettings(model=self.model, seed=self.seed, **asdict(self.generation))


def _step(number: int, total: int, text: str) -> None:
    print(f"[{number}/{total}] {text}", flush=True)


def _prepare_data(config: PipelineConfig, run_dir: Path) -> Path:
    """The run's own copy of the gender data, so a sample run never replaces real prepared data."""
    folder = run_dir / "data" / "gender"
    if (folder / "source.json").is_file():
        return folder
    if config.data == "sample":
        gender.prepare_gender(sample=True, seed=config.seed, out_dir=folder)
    elif config.data == "hub":
        gender.prepare_gender(seed=config.seed, out_dir=folder)
    else:
        gender.prepare_gender(from_dir=Path(config.data).expanduser(), seed=config.seed, out_dir=folder)
    return folder


def _evaluate_once(model: str, adapter: Path | None, out_path: Path, config: PipelineConfig, data_dir: Path, label: str, role: str) -> Path:
    from evaluation.evaluate import evaluate_model

    card = read_json(adapter / "run_card.json") if adapter else None
    key = {"model": model, "adapter": card.get("fingerprint") if card else None, "data": gender.load_source(data_dir).content_sha256,
           "evaluation": asdict(config.evaluation)}
    fingerprint = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]
    if out_path.is_file():
        previous = read_json(out_path).get("bias_inheritance", {})
        if previous.get("fingerprint") == fingerprint:
            print(f"      reusing {out_path}")
            return out_path
    return evaluate_model(
        model, config.evaluation.tasks, out_path, adapter=adapter, limit=config.evaluation.limit,
        batch_size=config.evaluation.batch_size, metadata={"gender_data_dir": str(data_dir)},
        label=label, role=role, fingerprint=fingerprint,
    )


def run_pipeline(config: PipelineConfig, run_dir: Path) -> dict[str, Path]:
    """Run every stage into `run_dir`; returns the paths a person will want to open."""
    from evaluation.evaluate import check_task_names, task_manager
    from leaderboard.build import build_leaderboard
    from trainers.train import train_lora

    run_dir = Path(run_dir)
    check_task_names(config.evaluation.tasks, task_manager())  # fail before any model is loaded
    steps = 7
    _step(1, steps, "model")
    model = resolve_model(config.model)
    print(f"      {model}")
    _step(2, steps, f"gender data ({config.data})")
    data_dir = _prepare_data(config, run_dir)
    print(f"      {gender.load_source(data_dir).label}")
    _step(3, steps, f"generate D_a: {config.generation.count} biographies, bias type {config.generation.bias_type}")
    augmented_path = run_dir / "augmented.jsonl"
    augmented = generate_gender_augmentation(config.generation_settings(), augmented_path)
    _step(4, steps, f"mix D at γ={config.mix.gamma}")
    mixed_path = run_dir / "mixed.jsonl"
    mixed = mix_and_write(
        gender.load_split("train", data_dir), augmented, config.mix.gamma, config.mix.total, config.seed, mixed_path,
        gender.load_gender_source_dict(data_dir),
    )
    print(f"      {len(mixed.rows)} rows, sha256 {mixed.content_sha256[:12]}, augmented genders {mixed.counts['augmented_gender']}")
    _step(5, steps, "LoRA fine-tuning")
    adapter_dir = run_dir / "adapter"
    train_lora(model, mixed_path, adapter_dir, config.train)
    _step(6, steps, "evaluate base and fine-tuned model with lm-eval")
    results_dir = run_dir / "results"
    base = _evaluate_once(model, None, results_dir / "base.json", config, data_dir, "base", "base")
    tuned_label = f"lora-type{int(parse_bias_type(config.generation.bias_type))}-gamma{config.mix.gamma}"
    tuned = _evaluate_once(model, adapter_dir, results_dir / "finetuned.json", config, data_dir, tuned_label, "finetuned")
    _step(7, steps, "leaderboard")
    markdown, csv = build_leaderboard([base, tuned], run_dir / "leaderboard", base="base")
    outputs = {
        "augmented": augmented_path, "mixed": mixed_path, "adapter": adapter_dir, "results": results_dir,
        "leaderboard": markdown, "leaderboard_csv": csv,
    }
    print()
    print(markdown.read_text(encoding="utf-8"))
    print("Outputs:")
    for name, path in outputs.items():
        print(f"  {name:16s} {path}")
    return outputs
