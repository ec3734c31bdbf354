"""Shared pieces of the alignment-loss tests, and the worker the two-process test launches.

`python -m torch.distributed.run --nproc_per_node 2 tests/alignment_ddp_worker.py MODEL_DIR OUT BATCH`
trains one SGD step on `ROWS[:2 * BATCH]` (each process its own consecutive BATCH rows) and rank 0
saves the LoRA update to OUT; tests/test_alignment_ddp.py runs `one_step` in-process with batch
2 * BATCH on the same rows and compares.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import torch

from trainers.alignment import ORIGIN_FLAG, AlignmentSFTConfig, AlignmentSFTTrainer

# (prompt, completion, augmented). Lengths differ so batches are padded. The halves are unbalanced
# (3 original + 1 augmented, then 1 + 3), so per-process means differ from the global ones.
ROWS = [
    ("Bio: He repairs old engines in a small garage.\nProfession:", " mechanic", 0),
    ("Bio: She teaches children to read.\nProfession:", " teacher", 0),
    ("Bio: He writes software for banks and shops every day.\nProfession:", " engineer", 1),
    ("Bio: She treats patients at night.\nProfession:", " nurse", 0),
    ("Bio: He designs houses.\nProfession:", " architect", 1),
    ("Bio: She defends clients in court and writes long briefs.\nProfession:", " lawyer", 1),
    ("Bio: He bakes bread before dawn.\nProfession:", " baker", 0),
    ("Bio: She flies planes across the ocean.\nProfession:", " pilot", 1),
]


def dataset(rows: list[tuple[str, str, int]], flag: bool = True) -> Any:
    """TRL prompt/completion data, with the origin flag column unless `flag` is False."""
    import datasets

    return datasets.Dataset.from_list([
        {"prompt": p, "completion": c, **({ORIGIN_FLAG: a} if flag else {})} for p, c, a in rows
    ])


def lora_model(model_dir: Path, dtype: torch.dtype = torch.float32) -> Any:
    """The tiny Llama with a LoRA adapter whose A and B are both random (B = 0 would hide A's gradient)."""
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    base = AutoModelForCausalLM.from_pretrained(model_dir, dtype=dtype)
    config = LoraConfig(r=4, lora_alpha=8, lora_dropout=0.0, target_modules=["q_proj", "v_proj"],
                        task_type="CAUSAL_LM", init_lora_weights=False)
    return get_peft_model(base, config)


def settings(output_dir: Path, **overrides: Any) -> dict[str, Any]:
    """Sensitive defaults: plain SGD, no clipping, no schedule, rows in order, one step, λ = 1."""
    return {
        "output_dir": str(output_dir), "per_device_train_batch_size": 4, "max_length": 64, "learning_rate": 0.1,
        "optim": "sgd", "lr_scheduler_type": "constant", "max_grad_norm": 0.0, "max_steps": 1,
        "train_sampling_strategy": "sequential", "logging_steps": 1, "save_strategy": "no", "report_to": [],
        "use_cpu": True, "seed": 0, "dataset_num_proc": None, "ddp_find_unused_parameters": False,
        "disable_tqdm": True, "align_lambda": 1.0, **overrides,
    }


def config(output_dir: Path, **overrides: Any) -> AlignmentSFTConfig:
    return AlignmentSFTConfig(**settings(output_dir, **overrides))


def tokenizer(model_dir: Path) -> Any:
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model_dir)


def lora_weights(model: Any) -> dict[str, torch.Tensor]:
    return {name: p.detach().clone() for name, p in model.named_parameters() if "lora_" in name}


def make_trainer(model_dir: Path, output_dir: Path, rows: list[tuple[str, str, int]] = ROWS,
                 dtype: torch.dtype = torch.float64, **overrides: Any) -> AlignmentSFTTrainer:
    """The alignment trainer on a fresh LoRA model (float64 by default: rounding far below the tolerances)."""
    return AlignmentSFTTrainer(lora_model(model_dir, dtype), args=config(output_dir, **overrides),
                               train_dataset=dataset(rows), processing_class=tokenizer(model_dir))


def one_step(model_dir: Path, batch_size: int, output_dir: Path,
             align_lambda: float = 1.0) -> tuple[dict[str, torch.Tensor], AlignmentSFTTrainer]:
    """One SGD step on ROWS in order: the LoRA update (after − before) and the trainer.

    With P processes and batch b the step covers rows [0, P·b), process p rows [p·b, (p + 1)·b).
    """
    trainer = make_trainer(model_dir, output_dir, per_device_train_batch_size=batch_size, align_lambda=align_lambda)
    before = lora_weights(trainer.model)
    trainer.train()
    after = lora_weights(trainer.model)
    return {name: after[name] - before[name] for name in before}, trainer


if __name__ == "__main__":
    model_dir, out, batch = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    update, trainer = one_step(model_dir, batch, out.parent / "checkpoints")
    if trainer.args.process_index == 0:
        torch.save({"update": update, "summary": trainer.alignment_summary(),
                    "world_size": trainer.args.world_size, "log": trainer.state.log_history}, out)
