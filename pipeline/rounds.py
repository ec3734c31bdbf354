"""Multi-round runs (SPEC §3): round r generates with the model trained in round r - 1.

Round 0 is the base model. Each round generates D_a with the previous round's model (the base
plus its LoRA adapter), mixes it with the same D_o rows at the rounds' γ and |D|, fine-tunes (the
base afresh, or the previous adapter continued), and is evaluated; every output is keyed and carded
like any other, the round number recorded in the training card. Generators only take the round's
model: this loop is the one place that knows about rounds.
"""

from __future__ import annotations

from pathlib import Path

from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_inheritance.model import resolve_model
from bias_inheritance.schema import data_dir_key
from generators.augment import generate_gender_augmentation
from generators.mixing import mix_and_write
from pipeline.experiment import Cell, Experiment
from pipeline.run import check_feasible, generation_settings, prepare_data


def run_rounds(experiment: Experiment, run_dir: Path) -> dict[str, Path]:
    """Run `experiment.rounds.count` rounds into `run_dir/rounds/round<r>/`; returns the results files."""
    from evaluation.evaluate import check_tasks, evaluate_model
    from leaderboard.build import build_leaderboard
    from trainers.train import train_lora

    rounds = experiment.rounds
    if rounds.count < 1:
        raise UserError("The config runs no rounds (rounds.count is 0).", "set rounds.count to 1 or more.")
    run_dir, seed = Path(run_dir), experiment.seed[0]
    data_dir = prepare_data(experiment, run_dir / "data" / "gender")
    round_cell = Cell(bias_type=int(rounds.bias_type), gamma=rounds.gamma, mitigation=experiment.mitigations[0], seed=seed)
    check_feasible(experiment.model_copy(update={"generation": experiment.generation.model_copy(
        update={"bias_type": [round_cell.bias_type]}), "mix": experiment.mix.model_copy(
        update={"gamma": [round_cell.gamma]}), "seed": [seed]}), gender.load_split("train", data_dir))
    metadata = {data_dir_key("gender"): str(data_dir)}
    tasks = check_tasks(experiment.tasks, metadata)
    model = resolve_model(experiment.model)
    evaluation = experiment.evaluation

    def evaluate(adapter: Path | None, out: Path, label: str) -> Path:
        return evaluate_model(model, tasks, out, adapter=adapter, limit=evaluation.limit, batch_size=evaluation.batch_size,
                              device=experiment.device, metadata=metadata, label=label,
                              role="finetuned" if adapter else "base", prompt_format=evaluation.format,
                              store=run_dir / "evaluations")

    print("[round 0] evaluate the base model", flush=True)
    results = {"round 0": evaluate(None, run_dir / "rounds" / "round0" / "results.json", "round0")}
    previous: Path | None = None
    settings = experiment.train_settings(round_cell.mitigation, seed)
    for number in range(1, rounds.count + 1):
        folder = run_dir / "rounds" / f"round{number}"
        generator = "the base model" if previous is None else f"round {number - 1}'s model"
        print(f"[round {number}] generate with {generator}, mix at γ={rounds.gamma}, fine-tune, evaluate", flush=True)
        generate_gender_augmentation(generation_settings(experiment, round_cell.bias_type, seed, previous),
                                     folder / "augmented.jsonl")
        mix_and_write(folder / "augmented.jsonl", folder / "mixed.jsonl", rounds.gamma, experiment.mix.total, seed,
                      original=data_dir)  # the same seed keeps the same D_o rows in every round
        train_lora(model, folder / "mixed.jsonl", folder / "adapter", settings, round_number=number,
                   init_adapter=previous if rounds.continue_adapter else None)
        results[f"round {number}"] = evaluate(folder / "adapter", folder / "results.json", f"round{number}")
        previous = folder / "adapter"
    markdown, _ = build_leaderboard(list(results.values()), run_dir / "leaderboard", base="round0")
    print(markdown.read_text(encoding="utf-8"))
    return results
