"""An experiment, stage by stage: data -> D_a -> D -> LoRA -> lm-eval -> leaderboard, for every cell.

Every check that can fail runs before the first model loads: the config's types and values, the
task names, the data each task reads, and the plan itself (enough generated rows for |D| and γ).
Every stage writes a card keyed by all of its inputs and reuses its output only on an exact match;
an output made from other inputs stops the run with a line naming what differs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bias_inheritance import cards
from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_inheritance.model import resolve_model
from bias_inheritance.schema import data_dir_key
from generators.augment import GenerationSettings, generate_gender_augmentation
from generators.gender import GENDER_BIAS
from generators.mixing import mix, mix_and_write
from pipeline.experiment import Cell, Experiment

STALE_FIX = "pass another --out for the changed experiment, or delete that output to rebuild it."


@dataclass(frozen=True)
class Paths:
    """Where each output of a run folder lives (one fixed place per cell and stage)."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data" / "gender"

    def augmented(self, bias_type: int, seed: int) -> Path:
        return self.root / "augmented" / f"type{bias_type}-seed{seed}.jsonl"

    def cell(self, cell: Cell) -> Path:
        return self.root / "cells" / cell.label

    @property
    def base_results(self) -> Path:
        return self.root / "results" / "base.json"

    @property
    def evaluations(self) -> Path:
        """One store of per-task results for every evaluation of the run (the base is evaluated once)."""
        return self.root / "evaluations"

    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard"


def _say(text: str) -> None:
    print(text, flush=True)


def prepare_data(experiment: Experiment, folder: Path) -> Path:
    """The run's own copy of the gender data (a sample run never replaces real prepared data).

    Reused only when its card has the same key: changing `data:` never keeps the old rows.
    """
    kind = {"sample": {"sample": True}, "hub": {}}.get(experiment.data, {"from_dir": Path(experiment.data).expanduser()})
    seed = experiment.seed[0]
    inputs = gender.prepare_inputs(**kind, seed=seed)
    state = cards.check_reuse(folder, "prepare", cards.stage_key("prepare", inputs), inputs,
                              what="Prepared data", fix=STALE_FIX)
    if state != "complete":
        gender.prepare_gender(**kind, seed=seed, out_dir=folder)
    return folder


def generation_settings(experiment: Experiment, bias_type: int, seed: int, adapter: Path | None = None) -> GenerationSettings:
    """The generation settings of one cell or round (`adapter`: a previous round's model)."""
    generation = experiment.generation
    return GenerationSettings(
        bias_type=bias_type, count=generation.count, model=experiment.model, seed=seed,
        batch_size=generation.batch_size, max_new_tokens=generation.max_new_tokens, temperature=generation.temperature,
        device=experiment.device, adapter=str(adapter) if adapter else None,
    )


def check_feasible(experiment: Experiment, original: list[dict]) -> None:
    """Prove every cell's mix can be built from the rows generation will write, before generating.

    Mixing is run on stand-ins (one per generation prompt, as the generator will write), so the
    check uses exactly the quotas the real mix will use. Empty generations can still fall short;
    those are counted when the real mix is built.
    """
    for cell in experiment.cells():
        requests = GENDER_BIAS.requests(cell.bias_type, experiment.generation.count, cell.seed, {})
        stand_ins = [{"id": r.id, "text": "x", "profession": r.fields["profession"], "gender": "unknown",
                      "bias_type": cell.bias_type} for r in requests]
        try:
            mix(original, stand_ins, cell.gamma, experiment.mix.total, cell.seed)
        except UserError as exc:
            total = f"|D| = {experiment.mix.total}" if experiment.mix.total else \
                f"|D| = |D_o| = {len(original)} (mix.total is not set)"
            raise UserError(
                f"The plan cannot succeed for {cell.label}: {total} at γ = {cell.gamma} needs "
                f"{round(cell.gamma * (experiment.mix.total or len(original)))} generated rows, but generation.count is {experiment.generation.count}: "
                f"{exc.problem}",
                "set mix.total lower or generation.count higher.",
            ) from None


def run_experiment(experiment: Experiment, run_dir: Path) -> dict[str, Path]:
    """Run every cell of `experiment` into `run_dir`; returns the paths a person will want to open."""
    from evaluation.evaluate import check_tasks, evaluate_model
    from leaderboard.build import build_leaderboard
    from trainers.train import train_lora

    paths = Paths(Path(run_dir))
    evaluation = experiment.evaluation
    steps = 6
    _say(f"[1/{steps}] checks: config, tasks, data, plan ({len(experiment.cells())} cell(s))")
    data_dir = prepare_data(experiment, paths.data)
    _say(f"      gender data: {gender.load_source(data_dir).label}")
    check_feasible(experiment, gender.load_split("train", data_dir))
    metadata = {data_dir_key("gender"): str(data_dir)}
    tasks = check_tasks(evaluation.tasks, metadata)  # names, globs and every task's data, before any model
    _say(f"[2/{steps}] model")
    model = resolve_model(experiment.model)
    _say(f"      {model}")

    def evaluate(adapter: Path | None, out: Path, label: str, role: str) -> Path:
        return evaluate_model(model, tasks, out, adapter=adapter, limit=evaluation.limit, batch_size=evaluation.batch_size,
                              device=experiment.device, metadata=metadata, label=label, role=role,
                              prompt_format=evaluation.format, store=paths.evaluations)

    _say(f"[3/{steps}] evaluate the base model")
    results = [evaluate(None, paths.base_results, "base", "base")]
    outputs: dict[str, Path] = {"data": data_dir, "base results": paths.base_results}
    for number, cell in enumerate(experiment.cells(), start=1):
        _say(f"[4/{steps}] cell {number}/{len(experiment.cells())} {cell.label}: generate D_a, mix, fine-tune")
        augmented_path = paths.augmented(cell.bias_type, cell.seed)
        generate_gender_augmentation(generation_settings(experiment, cell.bias_type, cell.seed), augmented_path)
        cell_dir = paths.cell(cell)
        mixed = mix_and_write(augmented_path, cell_dir / "mixed.jsonl", cell.gamma, experiment.mix.total, cell.seed,
                              original=data_dir)
        _say(f"      D: {len(mixed.rows)} rows, sha256 {mixed.content_sha256[:12]}, "
             f"augmented genders {mixed.counts['augmented_gender']}")
        train_lora(model, cell_dir / "mixed.jsonl", cell_dir / "adapter", experiment.train_settings(cell.mitigation, cell.seed))
        _say(f"[5/{steps}] cell {number}: evaluate the fine-tuned model")
        results.append(evaluate(cell_dir / "adapter", cell_dir / "results.json", f"lora-{cell.label}", "finetuned"))
        outputs[f"{cell.label} results"] = cell_dir / "results.json"
    _say(f"[6/{steps}] leaderboard")
    markdown, csv = build_leaderboard(results, paths.leaderboard, base="base")
    outputs.update({"leaderboard": markdown, "leaderboard_csv": csv})
    _say("")
    _say(markdown.read_text(encoding="utf-8"))
    _say("Outputs (`bias-inheritance show PATH` prints what each was made from):")
    for name, path in outputs.items():
        _say(f"  {name:28s} {path}")
    return outputs
