"""Step time and peak memory of the alignment loss against plain TRL SFTTrainer (target ratio ≤ 1.05).

Both variants train the same LoRA (BiasDiff's shape) on the same model, rows and batches: the
embedded SmolLM2-135M-Instruct (or --model), bios rows in the chat format from the bundled
sample, every other one flagged augmented, batches of --batch-size (batches of 8 nearly always
hold both kinds). "plain" is trl's SFTTrainer itself; "align" is
trainers.alignment.AlignmentSFTTrainer with λ = 1 (φ captured by a hook, per-kind sums, the
squared distance).
- Time: one process builds both trainers (each on its own copy of the model) and runs their
  `training_step` (forward + backward, what the alignment term changes; the optimizer step is the
  same for both) on the same --steps batches, alternating which goes first, --rounds times over;
  figures are medians over all steps, and the median of the per-batch ratios. Timing both in one
  process, batch by batch, cancels the drift of a shared 2-core machine, which is larger than 5 %.
- Memory: each variant trains --steps optimizer steps in its own child process (--repeats times):
  CUDA: the allocator's peak during training; CPU: the child's peak resident set size during
  training (Linux: the peak is reset through /proc/self/clear_refs once the model is loaded).
Usage: python benchmarks/bench_alignment.py [--steps 8] [--rounds 3] [--batch-size 8] [--repeats 2]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VARIANTS = ("plain", "align")


def _reset_peak_rss() -> None:
    with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
        handle.write("5")


def _peak_rss_mib() -> float:
    with open("/proc/self/status", encoding="ascii") as handle:
        line = next(line for line in handle if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def build(variant: str, model: str, steps: int, batch_size: int, max_length: int, device: str,
          callbacks: list) -> object:
    """The variant's trainer on a fresh copy of the model, over steps × batch_size rows."""
    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    from bias_inheritance.cache import CACHE_ENV
    from bias_inheritance.chat import prompt_format
    from bias_inheritance.data import gender
    from bias_inheritance.model import resolve_model
    from trainers.alignment import AlignmentSFTConfig, AlignmentSFTTrainer
    from trainers.alignment_sampler import ORIGIN_FLAG
    from trainers.data import to_sft_dataset
    from trainers.presets import BIASDIFF_LORA

    resolved = resolve_model(model)
    tokenizer = AutoTokenizer.from_pretrained(resolved)
    tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
    saved = os.environ.get(CACHE_ENV)
    with tempfile.TemporaryDirectory() as cache:  # the bundled sample, prepared apart from the user's cache
        os.environ[CACHE_ENV] = cache
        gender.prepare_gender(sample=True)
        rows = gender.load_split("train")
    if saved is None:
        del os.environ[CACHE_ENV]
    else:
        os.environ[CACHE_ENV] = saved
    n_rows = steps * batch_size
    rows = [{**rows[i % len(rows)], "origin": "augmented" if i % 2 else "original"} for i in range(n_rows)]
    dataset = to_sft_dataset(rows, tokenizer, prompt_format(tokenizer))
    if variant == "plain":
        dataset = dataset.remove_columns(ORIGIN_FLAG)
    common = dict(output_dir=tempfile.mkdtemp(), per_device_train_batch_size=batch_size, max_length=max_length,
                  max_steps=steps, learning_rate=1e-4, logging_steps=steps, save_strategy="no", report_to=[],
                  use_cpu=device == "cpu", bf16=device == "cuda", seed=0, data_seed=0, dataset_num_proc=None,
                  disable_tqdm=True)
    config = (SFTConfig(**common) if variant == "plain"
              else AlignmentSFTConfig(**common, align_lambda=1.0))
    base = AutoModelForCausalLM.from_pretrained(resolved, dtype=torch.bfloat16 if device == "cuda" else torch.float32)
    lora = LoraConfig(r=BIASDIFF_LORA["lora_r"], lora_alpha=BIASDIFF_LORA["lora_alpha"],
                      lora_dropout=BIASDIFF_LORA["lora_dropout"], target_modules=list(BIASDIFF_LORA["target_modules"]),
                      task_type="CAUSAL_LM")
    trainer_class = SFTTrainer if variant == "plain" else AlignmentSFTTrainer
    return trainer_class(model=base, args=config, train_dataset=dataset, processing_class=tokenizer,
                         peft_config=lora, callbacks=callbacks)


def memory(variant: str, model: str, steps: int, batch_size: int, max_length: int, device: str) -> dict:
    """Peak memory of one variant's training run (this process is a fresh child)."""
    import torch

    trainer = build(variant, model, steps, batch_size, max_length, device, [])
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    _reset_peak_rss()
    trainer.train()
    out = {"variant": variant, "train_peak_rss_mib": _peak_rss_mib()}
    if device == "cuda":
        out["cuda_peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
    return out


def paired_times(model: str, steps: int, rounds: int, batch_size: int, max_length: int, device: str) -> dict:
    """Seconds per training_step of each variant on the same batches, alternating, and their ratios."""
    import torch

    from trainers.alignment_sampler import ORIGIN_FLAG

    trainers = {v: build(v, model, steps, batch_size, max_length, device, []) for v in VARIANTS}
    batches = list(trainers["align"].get_train_dataloader())[:steps]
    times: dict[str, list[float]] = {v: [] for v in VARIANTS}
    ratios = []
    for trainer in trainers.values():
        trainer.model.train()
        trainer.current_gradient_accumulation_steps = 1
    for index, batch in enumerate(batches * (rounds + 1)):
        order = VARIANTS if index % 2 == 0 else VARIANTS[::-1]
        step = {}
        for variant in order:
            inputs = {k: v for k, v in batch.items() if variant == "align" or k != ORIGIN_FLAG}
            trainer = trainers[variant]
            if device == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
            trainer.training_step(trainer.model, inputs)
            if device == "cuda":
                torch.cuda.synchronize()
            step[variant] = time.perf_counter() - start
            trainer.model.zero_grad(set_to_none=True)
        if index >= len(batches):  # the first pass over the batches is the warm-up
            for variant in VARIANTS:
                times[variant].append(step[variant])
            ratios.append(step["align"] / step["plain"])
    return {"plain_step_s": statistics.median(times["plain"]), "align_step_s": statistics.median(times["align"]),
            "median_ratio": statistics.median(ratios), "steps_timed": len(ratios)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(memory(args.child, args.model, args.steps, args.batch_size, args.max_length, args.device)))
        return
    import torch

    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"torch {torch.__version__}, device {args.device}; model {args.model}, batch {args.batch_size}, "
          f"max_length {args.max_length}, {args.steps} batches")
    timed = paired_times(args.model, args.steps, args.rounds, args.batch_size, args.max_length, args.device)
    print(f"step time (training_step, {timed['steps_timed']} paired steps after one warm-up pass): "
          f"plain {timed['plain_step_s']:.3f} s, align {timed['align_step_s']:.3f} s, "
          f"ratio of medians {timed['align_step_s'] / timed['plain_step_s']:.3f}x, "
          f"median per-batch ratio {timed['median_ratio']:.3f}x")
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS}
    for repeat in range(args.repeats):
        for variant in VARIANTS:
            command = [sys.executable, __file__, "--child", variant, *sys.argv[1:]]
            done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, check=False)
            if done.returncode != 0:
                sys.exit(f"{variant} run failed:\n{done.stderr[-3000:]}")
            runs[variant].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(f"  repeat {repeat + 1} {variant:5}: {runs[variant][-1]}")
    keys = ["train_peak_rss_mib"] + (["cuda_peak_mib"] if args.device == "cuda" else [])
    print(f"{'figure (median of repeats)':32} {'plain':>10} {'align':>10} {'align/plain':>12}")
    for key in keys:
        plain, align = (statistics.median(r[key] for r in runs[v]) for v in VARIANTS)
        ratio = f"{align / plain:.3f}x" if plain else "–"
        print(f"{key:32} {plain:10.3f} {align:10.3f} {ratio:>12}")


if __name__ == "__main__":
    main()
