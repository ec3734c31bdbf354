"""An experiment, stage by stage: data -> D_a -> D -> LoRA -> lm-eval, one function per piece of work.

Every check that can fail runs before the first model loads: the config's types and values, the
task names, the data each task reads, and the plan itself (enough generated rows for |D| and γ).
Every stage writes a card keyed by all of its inputs and reuses its output only on an exact match;
an output made from other inputs stops the run with a line naming what differs. The sweep
(pipeline/sweep.py) decides which pieces run where; this module only knows how to make each one.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

from bias_inheritance import cards
from bias_inheritance.data import gender, opinions
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, write_jsonl
from bias_inheritance.model import resolve_model
from bias_inheritance.schema import data_dir_key
from generators.augment import GenerationSettings, augmented_row, bias_named, generate_augmentation
from generators.grid import gamma_text
from generators.mixing import mix, mix_and_write
from generators.requests import Interpretation
from pipeline.experiment import Cell, Experiment

STALE_FIX = "pass another --out for the changed experiment, or delete that output to rebuild it."
# The control's D_a: an empty augmentation set of the experiment's bias, so the γ = 0 mix (and so
# the control's training) depends on no bias type's generations.
CONTROL_VERSION = 1
SELECT_VERSION = 1  # how a culture's D_o rows are selected from the prepared opinions


@dataclass(frozen=True)
class Paths:
    """Where each output of a run folder lives (one fixed place per cell and stage)."""

    root: Path

    def data(self, family: str = "gender") -> Path:
        return self.root / "data" / family

    def original(self, culture: str) -> Path:
        """A culture's D_o: its rows of the prepared opinions (one adapter per culture)."""
        return self.root / "data" / f"opinions-{culture}.jsonl"

    def augmented(self, bias_type: int, seed: int) -> Path:
        return self.root / "augmented" / f"type{bias_type}-seed{seed}.jsonl"

    def pool(self, cell: Cell) -> Path:
        """D_a a cell cuts its D from: round 1 shares its bias type's pool; round r has the pool that
        round r - 1's model of the same seed and culture generated."""
        if cell.round == 1:
            return self.augmented(cell.bias_type, cell.seed)
        culture = f"-{cell.culture}" if cell.culture else ""
        return self.root / "augmented" / f"round{cell.round}" / f"type{cell.bias_type}{culture}-seed{cell.seed}.jsonl"

    @property
    def control_augmented(self) -> Path:
        return self.root / "augmented" / "control-empty.jsonl"

    def mixed(self, cell: Cell) -> Path:
        """D of a cell; shared by the mitigations of one bias type, γ, seed and culture."""
        source = "control" if cell.is_control else f"type{cell.bias_type}"
        culture = f"-{cell.culture}" if cell.culture else ""
        round_ = f"round{cell.round}/" if cell.round > 1 else ""
        return self.root / "mixes" / f"{round_}{source}{culture}-seed{cell.seed}" / f"gamma_{gamma_text(cell.gamma)}.jsonl"

    def cell(self, cell: Cell) -> Path:
        return self.root / "cells" / cell.label

    def adapter(self, cell: Cell) -> Path:
        return self.cell(cell) / "adapter"

    @property
    def results(self) -> Path:
        return self.root / "results"

    @property
    def base_results(self) -> Path:
        return self.results / "base.json"

    def cell_results(self, cell: Cell) -> Path:
        return self.results / f"{cell.label}.json"

    @property
    def evaluations(self) -> Path:
        """One store of per-task results for every evaluation of the run (the base is evaluated once)."""
        return self.root / "evaluations"

    @property
    def leaderboard(self) -> Path:
        return self.root / "leaderboard"


def _say(text: str) -> None:
    print(text, flush=True)


def _source_kind(experiment: Experiment) -> dict[str, Any]:
    return {"sample": {"sample": True}, "hub": {}}.get(experiment.data, {"from_dir": Path(experiment.data).expanduser()})


def _prepared_copy(experiment: Experiment, folder: Path, prepare_inputs: Callable[..., dict],
                   prepare: Callable[..., Any]) -> Path:
    """The run's own copy of a data family, reused only when its card has the same key."""
    kind, seed = _source_kind(experiment), experiment.seed[0]
    inputs = prepare_inputs(**kind, seed=seed)
    state = cards.check_reuse(folder, "prepare", cards.stage_key("prepare", inputs), inputs,
                              what="Prepared data", fix=STALE_FIX)
    if state != "complete":
        prepare(**kind, seed=seed, out_dir=folder)
    return folder


def prepare_data(experiment: Experiment, folder: Path) -> Path:
    """The run's own copy of the gender data (a sample run never replaces real prepared data);
    changing `data:` never keeps the old rows."""
    return _prepared_copy(experiment, folder, gender.prepare_inputs, gender.prepare_gender)


def prepare_opinions(experiment: Experiment, folder: Path) -> Path:
    """The run's own copy of the culture fine-tuning data (GlobalOpinionQA)."""
    return _prepared_copy(experiment, folder, opinions.prepare_inputs, opinions.prepare_opinions)


def prepare_run_data(experiment: Experiment, paths: Paths) -> dict[str, Any]:
    """Prepare the data the run trains on; returns the lm-eval metadata pointing the tasks at it."""
    if experiment.bias == "gender":
        return {data_dir_key("gender"): str(prepare_data(experiment, paths.data("gender")))}
    folder = prepare_opinions(experiment, paths.data("opinions"))
    for culture in experiment.culture_axis:
        select_culture(folder, culture, paths.original(culture))
    metadata: dict[str, Any] = {}
    if experiment.data == "sample":  # the culture tasks' bundled sample, in the run folder
        from bias_inheritance.data import culture

        target = paths.data("culture")
        if (cards.read_card(cards.card_path(target)) or {}).get("status") != "complete":
            culture.prepare_culture(sample=True, out_dir=target)
        metadata[data_dir_key("culture")] = str(target)
    return metadata


def select_culture(folder: Path, culture: str, out: Path) -> Path:
    """A culture's D_o: its training rows of the prepared opinions, carded (stage "select") so the
    mix and the adapter keep the source's label (a synthetic sample stays marked) and the culture."""
    inputs = {"culture": culture, "split": "train", "version": SELECT_VERSION}
    parents = {"opinions": cards.parent("opinions", folder)}
    key = cards.stage_key("select", inputs, parents)
    if cards.check_reuse(out, "select", key, inputs, what="Culture selection", fix=STALE_FIX) == "complete":
        return out
    rows = [r for r in opinions.load_split("train", folder) if r["culture"] == culture]
    sha = content_hash(rows)
    cards.write_card(out, "select", inputs, parents=parents, status="partial")
    write_jsonl(out, rows)
    cards.write_card(out, "select", inputs, parents=parents, summary={
        "rows": len(rows), "content_sha256": sha, "culture": culture,
        "provenance": {"data_sha256": sha, "data_source": opinions.load_source(folder).label, "bias": "culture",
                       "culture": culture}})
    return out


def _read_rows(path: Path) -> list[dict]:
    from bias_inheritance.io import read_jsonl

    return read_jsonl(path)


def generation_settings(experiment: Experiment, bias_type: int, seed: int, adapter: Path | None = None) -> GenerationSettings:
    """The generation settings of one pool or round (`adapter`: a previous round's model)."""
    generation = experiment.generation
    return GenerationSettings(
        bias=experiment.bias, bias_type=bias_type, count=generation.count, model=experiment.model, seed=seed,
        batch_size=generation.batch_size, max_new_tokens=generation.max_new_tokens, temperature=generation.temperature,
        backend=generation.backend, base_url=generation.base_url, device=experiment.device,
        adapter=str(adapter) if adapter else None,
    )


def generation_options(experiment: Experiment, paths: Paths) -> tuple[dict[str, Any], dict[str, cards.Parent] | None]:
    """The options and parents a bias's requests are built from (culture: the prepared questions)."""
    if experiment.bias != "culture":
        return {}, None
    folder = paths.data("opinions")
    return {"questions": opinions.load_split("train", folder)}, {"questions": cards.parent("questions", folder)}


def generate_pool(experiment: Experiment, paths: Paths, bias_type: int, seed: int, adapter: Path | None = None,
                  out: Path | None = None) -> Path:
    """D_a of one bias type and seed: one pool that every γ, mitigation and culture of the sweep cuts from."""
    out = out or paths.augmented(bias_type, seed)
    options, parents = generation_options(experiment, paths)
    generate_augmentation(bias_named(experiment.bias), generation_settings(experiment, bias_type, seed, adapter), out,
                          options=options, parents=parents)
    return out


def control_augmented(experiment: Experiment, paths: Paths) -> Path:
    """The control's D_a: no rows, with a card naming only the bias, so γ = 0 shares no bias type's key."""
    out = paths.control_augmented
    inputs = {"bias": experiment.bias, "count": 0, "control": True, "version": CONTROL_VERSION}
    key = cards.stage_key("generate", inputs)
    if cards.check_reuse(out, "generate", key, inputs, what="Control set", fix=STALE_FIX) != "complete":
        out.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(out, [])
        cards.write_card(out, "generate", inputs, status="complete",
                         summary={"rows": 0, "usable": 0, "content_sha256": content_hash([]),
                                  "note": "the γ = 0 control: D holds D_o rows only"})
    return out


def mix_cell(experiment: Experiment, paths: Paths, cell: Cell) -> Path:
    """D of a cell, cut from its pool (the control: from the empty set) at its γ."""
    augmented = control_augmented(experiment, paths) if cell.is_control else paths.pool(cell)
    original = paths.original(cell.culture) if cell.culture else paths.data("gender")
    out = paths.mixed(cell)
    mixed = mix_and_write(augmented, out, cell.gamma, experiment.mix.total, cell.seed, original=original)
    _say(f"      D {cell.label}: {len(mixed.rows)} rows, sha256 {mixed.content_sha256[:12]}")
    return out


# The answer a generated row would carry if the model answered perfectly: the stand-ins of the
# feasibility check are real rows of D_a (augmented_row), so the check runs the real mix.
_IDEAL_ANSWER: dict[str, Callable[[Any], Interpretation]] = {
    "gender": lambda request: Interpretation({"gender": "unknown", "profession": request.fields["profession"]}),
    "culture": lambda request: Interpretation({"answer": request.fields["options"][0], "answer_index": 0}),
}


def check_feasible(experiment: Experiment, paths: Paths) -> None:
    """Prove every cell's mix can be built from the rows generation will write, before generating.

    Mixing is run on stand-ins (one per generation prompt, as the generator will write, each
    answered usably), so the check uses exactly the quotas the real mix will use: per culture for a
    culture run, whose D_a rows are shared by the cultures. Unusable generations can still fall
    short; those are counted when the real mix is built.
    """
    bias = bias_named(experiment.bias)
    options, _ = generation_options(experiment, paths)
    for cell in experiment.cells():
        if cell.is_control:
            continue
        requests = bias.requests(cell.bias_type, experiment.generation.count, cell.seed, options)
        stand_ins = [augmented_row(bias, r, "x", _IDEAL_ANSWER[experiment.bias](r), 1, {}) for r in requests]
        original = _read_rows(paths.original(cell.culture)) if cell.culture else gender.load_split("train", paths.data("gender"))
        try:
            mix(original, stand_ins, cell.gamma, experiment.mix.total, cell.seed)
        except UserError as exc:
            total = f"|D| = {experiment.mix.total}" if experiment.mix.total else \
                f"|D| = |D_o| = {len(original)} (mix.total is not set)"
            raise UserError(
                f"The plan cannot succeed for {cell.label}: {total} at γ = {cell.gamma} needs "
                f"{round(cell.gamma * (experiment.mix.total or len(original)))} generated rows, but generation.count "
                f"is {experiment.generation.count}{' across the cultures' if cell.culture else ''}: {exc.problem}",
                "set mix.total lower or generation.count higher.",
            ) from None


@dataclass
class Stages:
    """Everything one process needs to make any piece of a run; checks once, loads the model once."""

    experiment: Experiment
    paths: Paths

    @cached_property
    def metadata(self) -> dict[str, Any]:
        metadata = prepare_run_data(self.experiment, self.paths)
        check_feasible(self.experiment, self.paths)
        return metadata

    @cached_property
    def tasks(self) -> list[str]:
        from evaluation.evaluate import check_tasks

        return check_tasks(self.experiment.tasks, self.metadata)  # names, globs and every task's data

    @cached_property
    def model(self) -> str:
        return resolve_model(self.experiment.model)

    def generate(self, bias_type: int, seed: int) -> Path:
        _ = self.metadata
        return generate_pool(self.experiment, self.paths, bias_type, seed)

    def generate_round(self, cell: Cell) -> Path:
        """Round r's D_a, generated by round r - 1's model (the base plus that round's adapter)."""
        _ = self.metadata
        previous = cell.previous_round
        if previous is None:
            return self.generate(cell.bias_type, cell.seed)
        return generate_pool(self.experiment, self.paths, cell.bias_type, cell.seed,
                             adapter=self.paths.adapter(previous), out=self.paths.pool(cell))

    def evaluate(self, adapter: Path | None, out: Path, label: str, role: str) -> Path:
        from evaluation.evaluate import evaluate_model

        evaluation = self.experiment.evaluation
        return evaluate_model(self.model, self.tasks, out, adapter=adapter, limit=evaluation.limit,
                              batch_size=evaluation.batch_size, device=self.experiment.device, metadata=self.metadata,
                              label=label, role=role, prompt_format=evaluation.format, store=self.paths.evaluations,
                              backend=evaluation.backend)

    def base(self) -> Path:
        return self.evaluate(None, self.paths.base_results, "base", "base")

    def mix(self, cell: Cell) -> Path:
        """D of one cell (its pool must exist: the sweep makes it first)."""
        _ = self.metadata
        return mix_cell(self.experiment, self.paths, cell)

    def train(self, cell: Cell) -> Path:
        """Fine-tune one cell on its D (made by `mix`)."""
        from trainers.train import train_lora

        previous = cell.previous_round
        continued = self.paths.adapter(previous) if previous and self.experiment.rounds.continue_adapter else None
        train_lora(self.model, self.paths.mixed(cell), self.paths.adapter(cell),
                   self.experiment.train_settings(cell.mitigation, cell.seed, cell.culture),
                   round_number=cell.round, init_adapter=continued)
        return self.paths.adapter(cell)

    def evaluate_cell(self, cell: Cell) -> Path:
        role = "control" if cell.is_control else "finetuned"
        return self.evaluate(self.paths.adapter(cell), self.paths.cell_results(cell), f"lora-{cell.label}", role)
