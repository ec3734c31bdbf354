"""GPU-hour estimate of a sweep config (default: the paper's gender grid), from its plan and token counts.

An estimate, not a measurement: the work (generations, trainings, evaluations) comes from the
sweep's own plan, the tokens per row are counted with the embedded model's tokenizer on the
bundled sample (Llama-3's tokenizer is of the same kind; within about 20 %), and FLOPs and
throughputs are the assumptions below, printed with the result. Re-run it with measured rates
(`--train-mfu`, `--decode-tokens-per-s`) once a GPU run has timed one cell.

    python benchmarks/grid_cost.py [CONFIG] [--params 8.03e9] [--peak-tflops 989] ...
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from statistics import mean

from bias_inheritance import vocab
from bias_inheritance.chat import render_answer, render_prompt
from bias_inheritance.data import gender
from bias_inheritance.data.gender import bios_prompt
from bias_inheritance.model import resolve_model
from pipeline.experiment import load_config
from pipeline.sweep import make_plan, work_left

# Work per evaluation (SPEC §4): documents and tokens each task scores.
BIOS_DOCS = 1800  # the Bias in Bios test set; one loglikelihood per profession and document

def _generation_tasks() -> dict[str, tuple[int, int]]:
    """task: (documents, max new tokens of its YAML); every generation is counted at its maximum length."""
    from bias_tasks.hiring.hiring_task import hiring_rows
    from bias_tasks.salary.salary_task import PER_PROFESSION
    from bias_tasks.story.story_task import story_rows

    return {"bias_inheritance_hiring": (len(hiring_rows()), 64),
            "bias_inheritance_salary": (len(vocab.PROFESSIONS) * PER_PROFESSION, 32),
            "bias_inheritance_story": (len(story_rows()), 512)}


PROMPT_TOKENS_GENERATION_TASK = 120


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("config", nargs="?", default="paper-gender")
    parser.add_argument("--params", type=float, default=8.03e9, help="model parameters (Llama-3.1-8B)")
    parser.add_argument("--peak-tflops", type=float, default=989.0, help="dense bf16 peak of one GPU (H100 SXM)")
    parser.add_argument("--train-mfu", type=float, default=0.25,
                        help="model FLOPs utilisation of LoRA training (short rows, batch 8: well below peak)")
    parser.add_argument("--load-minutes", type=float, default=1.0,
                        help="loading the model (and vLLM's start) once per piece: a job per piece on Slurm")
    parser.add_argument("--row-tokens", type=float, help="tokens per training row (default: counted on the sample)")
    parser.add_argument("--prefill-mfu", type=float, default=0.5, help="utilisation of scoring (prefill) passes")
    parser.add_argument("--decode-tokens-per-s", type=float, default=2500.0,
                        help="vLLM decode throughput of one GPU, batched (8B, bf16)")
    return parser.parse_args()


def _training_tokens(model: str) -> float:
    """Mean tokens of one training example (prompt + completion, chat format) on the bundled sample."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model)
    with tempfile.TemporaryDirectory() as folder:
        gender.prepare_gender(sample=True, out_dir=Path(folder))
        rows = gender.load_split("train", Path(folder))
    texts = [render_prompt(tokenizer, bios_prompt(r["text"]), "chat") + render_answer(r["profession"], "chat")
             for r in rows]
    return mean(len(tokenizer(t)["input_ids"]) for t in texts)


def main() -> None:
    args = _parse()
    experiment = load_config(args.config)
    with tempfile.TemporaryDirectory() as out:
        plan = make_plan(experiment, Path(out))
        work = work_left(plan)
    counted = _training_tokens(resolve_model("embedded"))
    row_tokens = args.row_tokens or counted
    rows = experiment.mix.total or 3600  # |D| = |D_o| of Bias in Bios
    epochs = experiment.train_settings(experiment.mitigations[0], experiment.seed[0]).epochs
    peak = args.peak_tflops * 1e12
    # LoRA on a frozen base: forward 2N and backward through activations 2N FLOPs per token (no
    # weight gradients of the base; LoRA's are negligible): 4N per token.
    train_flops = work["trainings"] * epochs * rows * row_tokens * 4 * args.params
    train_hours = train_flops / (peak * args.train_mfu) / 3600
    generation = experiment.generation
    generated_tokens = work["generations"] * generation.count * generation.max_new_tokens
    generation_hours = generated_tokens / args.decode_tokens_per_s / 3600
    bios_flops = BIOS_DOCS * len(vocab.PROFESSIONS) * row_tokens * 2 * args.params  # a pass per choice
    eval_tasks = experiment.tasks
    per_eval_prefill = bios_flops if "bias_inheritance_gender_bios" in eval_tasks else 0.0
    generation_tasks = {task: work for task, work in _generation_tasks().items() if task in eval_tasks}
    per_eval_decode = sum(docs * new for docs, new in generation_tasks.values())
    per_eval_prefill += sum(docs * PROMPT_TOKENS_GENERATION_TASK * 2 * args.params for docs, _ in generation_tasks.values())
    eval_hours = work["evaluations"] * (per_eval_prefill / (peak * args.prefill_mfu)
                                        + per_eval_decode / args.decode_tokens_per_s) / 3600
    load_hours = (work["generations"] + work["trainings"] + work["evaluations"]) * args.load_minutes / 60
    total = train_hours + generation_hours + eval_hours + load_hours
    print(f"config {args.config}: {len(plan.cells)} cells; work: {work['generations']} generation pools, "
          f"{work['trainings']} trainings, {work['evaluations']} evaluations")
    print(f"tokens per training row {row_tokens:.0f} (counted: {counted:.0f} with the embedded tokenizer on the "
          f"bundled sample, chat format); "
          f"|D| {rows}, {epochs:g} epochs")
    print(f"assumed: N = {args.params:.3g} parameters, {args.peak_tflops:g} TFLOP/s peak, training MFU "
          f"{args.train_mfu:.0%}, scoring MFU {args.prefill_mfu:.0%}, decode {args.decode_tokens_per_s:g} tokens/s, "
          f"{args.load_minutes:g} min of loading per piece")
    print("| work | GPU-hours |\n|---|---:|")
    for name, hours in (("training", train_hours), ("generation", generation_hours), ("evaluation", eval_hours),
                        ("model loading", load_hours), ("total", total)):
        print(f"| {name} | {hours:.1f} |")


if __name__ == "__main__":
    main()
