"""The alignment-loss mitigation (SPEC §6): a TRL `SFTTrainer` whose loss is SFT + λ · L_align.

    L_align = ‖μ_o − μ_a‖²   (summed over hidden dimensions as in the paper, or their mean: `align_scale`)

μ_o, μ_a are the means of φ over the batch's original and augmented rows; φ(row) is the attention-masked
mean, over the whole prompt + completion sequence, of the decoder's final hidden layer (its
`last_hidden_state`, after the final norm: what `output_hidden_states` returns as `hidden_states[-1]`).

Estimator. The squared distance between batch means is biased upward by the within-batch variance:
E‖μ̂_o − μ̂_a‖² = ‖μ_o − μ_a‖² + tr Σ_o / n_o + tr Σ_a / n_a, so it stays positive for identical
distributions and shrinks as batches grow. `align_detach_original` stops the gradient through μ_o
(only augmented representations move toward the original ones). A batch holding one kind only pairs
it with a detached running mean of the other kind, r_k ← m · r_k + (1 − m) · μ_k after every batch
holding kind k (the first one sets r_k = μ_k); m = `align_momentum` (0.9 averages roughly the last 10
batches holding that kind). Until both kinds have been seen the term is zero; at γ = 0 (no augmented
rows) the loss is plain SFT, which `alignment_summary()` states for the card.

φ is taken from the forward pass that gives the SFT loss: a forward hook on the backbone that TRL's
fused LM head calls (`PreTrainedModel.base_model`, found under PEFT and DDP wrappers) reduces its
`last_hidden_state` to φ (batch × hidden) on the spot. No second forward, no `output_hidden_states`.
With λ = 0 nothing is hooked, gathered or logged: the loss and gradients are `SFTTrainer`'s.

Scaling, with P processes and G accumulated micro-batches per optimizer step:
  - SFT (the Trainer's): Σ token losses / N with N the label tokens of all G micro-batches on all P
    processes, times P because DDP averages gradients; without `num_items_in_batch` it is the
    micro-batch mean, which `training_step` divides by G.
  - Alignment: the per-kind sums S_k and counts n_k are all-reduced (the local part keeps its gradient),
    so every process evaluates the same L_align of the global micro-batch. The term added is λ · L / G when
    the SFT loss is already scaled for accumulation (`training_step` leaves it), λ · L otherwise
    (`training_step` divides by G), with its gradient multiplied by P (its value kept, so the logged loss
    is right): DDP's mean turns P · ∂L/∂S_p into Σ_p ∂L/∂S_p = ∂L. Each micro-batch weighs 1/G, and P
    processes with batch b give the update of one process with batch P · b.

Several GPUs: `accelerate launch --num_processes N script.py` (or `torchrun --nproc_per_node N`); each
process trains its own batches and the sums above are gathered. DeepSpeed ZeRO goes through
`accelerate config` (a `deepspeed_config_file`): ZeRO averages gradients like DDP, so the scaling is the
same (the two-process gloo run is what the tests check). Packing, padding-free batches and sequence or
tensor parallelism split rows apart and are not supported with the alignment term.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import datasets
import torch
from accelerate.utils import is_peft_model
from transformers.trainer_utils import PREFIX_CHECKPOINT_DIR, get_last_checkpoint
from trl import SFTConfig, SFTTrainer

from bias_inheritance.io import atomic_write_json, read_json
from trainers.alignment_sampler import ORIGIN_FLAG, BalancedOriginSampler
from trainers.config import ALIGN_SCALES

__all__ = ["ORIGIN_FLAG", "AlignmentSFTConfig", "AlignmentSFTTrainer", "OriginFlagCollator", "masked_mean"]

KINDS = ("original", "augmented")  # index = the ORIGIN_FLAG value
# Beside each checkpoint's weights: the running means and counters, so a resumed run continues them.
STATE_FILE = "alignment_state.json"
ESTIMATOR = ("‖mean φ(original rows) − mean φ(augmented rows)‖² over each micro-batch (all processes); biased "
             "upward by the within-batch variance. φ = attention-masked mean of the final hidden layer over "
             "prompt and completion.")


@dataclass
class AlignmentSFTConfig(SFTConfig):
    """`SFTConfig` plus the alignment term's settings (see the module docstring for the estimator)."""

    align_lambda: float = field(default=0.0, metadata={"help": "λ, the weight of L_align; 0 trains plain SFT."})
    align_scale: str = field(default="sum", metadata={
        "help": "'sum' over hidden dimensions (the paper) or 'mean' (λ independent of model width)."})
    align_detach_original: bool = field(default=False, metadata={
        "help": "Detach the original-side mean, so only augmented rows' representations move."})
    align_momentum: float = field(default=0.9, metadata={
        "help": "Momentum m of the detached running mean standing in for a kind missing from a batch: "
                "r ← m·r + (1−m)·μ."})
    align_balanced_batches: bool = field(default=False, metadata={
        "help": "Spread the augmented rows evenly over each epoch's batches, no row repeated."})

    def __post_init__(self) -> None:
        super().__post_init__()
        uses_rows = self.align_lambda > 0 or self.align_balanced_batches
        problems = [message for failed, message in [
            (not (math.isfinite(self.align_lambda) and self.align_lambda >= 0),
             "align_lambda must be finite and >= 0"),
            (self.align_scale not in ALIGN_SCALES, f"align_scale must be one of {', '.join(ALIGN_SCALES)}"),
            (not 0 <= self.align_momentum < 1, "align_momentum must be in [0, 1)"),
            (uses_rows and (self.packing or self.padding_free),
             "packing and padding_free merge rows, which the alignment term and the balanced sampler need apart"),
            (self.align_balanced_batches and self.train_sampling_strategy != "random",
             "align_balanced_batches replaces the sampler: leave train_sampling_strategy at 'random'"),
        ] if failed]
        if problems:
            raise ValueError("; ".join(problems) + ".")


@dataclass
class OriginFlagCollator:
    """Adds the rows' origin flags (a long tensor under `ORIGIN_FLAG`) to the batch TRL's collator builds.

    TRL's collator emits only its own keys; the flag is popped again before the model call.
    """

    collator: Callable[[list[dict[str, Any]]], dict[str, Any]]

    def __call__(self, examples: list[dict[str, Any]]) -> dict[str, Any]:
        batch = self.collator(examples)
        if examples and ORIGIN_FLAG in examples[0]:
            batch[ORIGIN_FLAG] = torch.tensor([int(example[ORIGIN_FLAG]) for example in examples], dtype=torch.long)
        return batch


def masked_mean(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """φ per row (batch × hidden, at least float32): the mean of `hidden` over the positions the mask keeps.

    One batched product, so no (batch × length × hidden) temporary beyond the float32 view of bf16 states.
    """
    dtype = torch.promote_types(hidden.dtype, torch.float32)
    weights = attention_mask.to(dtype).unsqueeze(1)  # batch × 1 × length
    sums = torch.bmm(weights, hidden.to(dtype)).squeeze(1)
    return sums / weights.sum(-1).clamp(min=1)


@dataclass
class AlignmentState:
    """What the alignment term has seen. Built from all-reduced sums, so identical on every process.

    Counters count micro-batches (one forward each; an optimizer step with accumulation holds several).
    """

    running: dict[int, torch.Tensor] = field(default_factory=dict)  # kind -> detached running mean of φ
    batches: int = 0
    active: int = 0  # the term was non-zero (both kinds available)
    from_running: int = 0  # ... of which one kind came from its running mean
    rows: list[int] = field(default_factory=lambda: [0, 0])  # rows seen per kind, all processes

    def to_dict(self) -> dict[str, Any]:
        return {"running": {KINDS[k]: v.tolist() for k, v in self.running.items()}, "batches": self.batches,
                "active": self.active, "from_running": self.from_running, "rows": list(self.rows)}

    @classmethod
    def from_dict(cls, data: dict[str, Any], device: torch.device) -> AlignmentState:
        running = {KINDS.index(k): torch.tensor(v, dtype=torch.float32, device=device)
                   for k, v in data["running"].items()}
        return cls(running, data["batches"], data["active"], data["from_running"], list(data["rows"]))


def _backbone(model: torch.nn.Module, unwrap: Callable[[torch.nn.Module], torch.nn.Module]) -> torch.nn.Module:
    """The decoder whose `last_hidden_state` feeds the LM head, under DDP/DeepSpeed and PEFT wrappers."""
    inner = unwrap(model)
    if is_peft_model(inner):
        inner = inner.get_base_model()
    return inner.base_model


def _scale_gradient(value: torch.Tensor, factor: int) -> torch.Tensor:
    """`value` unchanged, its gradient times `factor`.

    Every process holds the same global L_align and DDP averages gradients, so each process's own share
    of ∂L needs the factor P, while the logged loss (averaged over processes) must stay L.
    """
    return value if factor == 1 else value.detach() + factor * (value - value.detach())


def _count_flags(dataset: Any) -> tuple[int, int] | None:
    """(rows, augmented rows) of a map-style dataset with the flag column; None without it."""
    if not isinstance(dataset, datasets.Dataset) or ORIGIN_FLAG not in dataset.column_names:
        return None
    flags = list(dataset[ORIGIN_FLAG])
    if not set(flags) <= {0, 1}:
        raise ValueError(f"Column {ORIGIN_FLAG!r} must hold 0 (original) or 1 (augmented); found {sorted(set(flags))}.")
    return len(flags), sum(flags)


class AlignmentSFTTrainer(SFTTrainer):
    """`SFTTrainer` with loss = SFT + λ · L_align and an optional balanced sampler.

    The training dataset is TRL prompt/completion data plus the int column `ORIGIN_FLAG`
    (1 = augmented, 0 = original). The column is kept through TRL's column pruning (signature columns)
    and its collator (`OriginFlagCollator`). Logs `sft_loss` and `align_loss` (L_align before λ) beside
    TRL's metrics; `alignment_summary()` describes the run for the training card.
    """

    def __init__(self, model: Any, args: AlignmentSFTConfig, **kwargs: Any) -> None:
        if not isinstance(args, AlignmentSFTConfig):
            raise TypeError("AlignmentSFTTrainer needs an AlignmentSFTConfig.")
        super().__init__(model, args=args, **kwargs)
        self.data_collator = OriginFlagCollator(self.data_collator)
        self._alignment_state = AlignmentState()
        self._rows_in_data = _count_flags(self.train_dataset)
        if (args.align_lambda > 0 or args.align_balanced_batches) and self._rows_in_data is None:
            raise ValueError(f"align_lambda > 0 and align_balanced_batches need a map-style training dataset with an "
                             f"int column {ORIGIN_FLAG!r} (1 augmented, 0 original).")

    # ---- the flag's way from the dataset to compute_loss ----

    def _set_signature_columns_if_needed(self) -> None:
        super()._set_signature_columns_if_needed()
        if ORIGIN_FLAG not in self._signature_columns:
            self._signature_columns = [*self._signature_columns, ORIGIN_FLAG]

    def _get_train_sampler(self, train_dataset: Any = None) -> torch.utils.data.Sampler | None:
        if not self.args.align_balanced_batches:
            return super()._get_train_sampler(train_dataset)
        dataset = train_dataset if train_dataset is not None else self.train_dataset
        seed = self.args.data_seed if self.args.data_seed is not None else self.args.seed
        return BalancedOriginSampler(dataset[ORIGIN_FLAG], self._train_batch_size, seed)

    # ---- the loss ----

    def compute_loss(self, model: torch.nn.Module, inputs: dict[str, Any], return_outputs: bool = False,
                     num_items_in_batch: torch.Tensor | int | None = None) -> Any:
        flags = inputs.pop(ORIGIN_FLAG, None)
        if self.args.align_lambda == 0 or not self.model.training:
            return super().compute_loss(model, inputs, return_outputs=return_outputs,
                                        num_items_in_batch=num_items_in_batch)
        if flags is None:
            raise ValueError(f"The training batch has no {ORIGIN_FLAG!r} flags; keep that column in the dataset.")
        captured: list[torch.Tensor] = []
        attention_mask = inputs["attention_mask"]

        def capture(module: torch.nn.Module, args: Any, output: Any) -> None:
            # Only the first forward: some TRL paths rerun the model without gradients for their metrics.
            if not captured:
                captured.append(masked_mean(output[0], attention_mask))

        handle = _backbone(model, self.accelerator.unwrap_model).register_forward_hook(capture)
        try:
            result = super().compute_loss(model, inputs, return_outputs=return_outputs,
                                          num_items_in_batch=num_items_in_batch)
        finally:
            handle.remove()
        sft = result[0] if return_outputs else result
        term = self._alignment_term(captured[0], flags)
        # training_step divides by the G accumulation steps only a loss not already scaled for them.
        scaled = self._scaled_for_ga(num_items_in_batch)
        steps = getattr(self, "current_gradient_accumulation_steps", 1) if scaled else 1
        loss = sft
        if term is not None:
            loss = sft + self.args.align_lambda / steps * _scale_gradient(term, self._data_parallel_size())
        # The SFT share of the Trainer's logged loss (its mean over micro-batches and processes), and L_align.
        sft_value = self.accelerator.gather(sft.detach()).mean() * steps
        values = torch.stack([sft_value, sft_value.new_zeros(()) if term is None else term.detach()]).tolist()
        self._metrics["train"]["sft_loss"].append(values[0])
        self._metrics["train"]["align_loss"].append(values[1])
        return (loss, result[1]) if return_outputs else loss

    def _scaled_for_ga(self, num_items_in_batch: torch.Tensor | int | None) -> bool:
        """Whether `training_step` takes the loss as already scaled for accumulation (its own test)."""
        if self.loss_is_scaled_for_ga is not None:
            return self.loss_is_scaled_for_ga
        by_items = self.model_accepts_loss_kwargs and num_items_in_batch is not None
        return by_items or self.compute_loss_func is not None

    def _data_parallel_size(self) -> int:
        """The factor the Trainer multiplies a globally normalised loss by, since DDP averages gradients."""
        return self.accelerator.num_processes // self.get_tp_size()

    def _alignment_term(self, phi: torch.Tensor, flags: torch.Tensor) -> torch.Tensor | None:
        """L_align of the global micro-batch (None when it is zero), updating the running means."""
        augmented = flags.to(phi.device).bool()
        sums = torch.stack([phi[~augmented].sum(0), phi[augmented].sum(0)])
        counts = torch.stack([(~augmented).sum(), augmented.sum()]).to(sums.dtype)
        if self.accelerator.num_processes > 1:
            local = torch.cat([sums.flatten(), counts])
            total = self.accelerator.reduce(local.detach(), reduction="sum")
            total = total + (local - local.detach())  # the global value; the gradient reaches this process's rows
            sums, counts = total[:-2].view_as(sums), total[-2:].detach()
        present = [int(n) for n in counts.tolist()]
        state, momentum = self._alignment_state, self.args.align_momentum
        means: dict[int, torch.Tensor] = {}
        for kind, count in enumerate(present):
            if count:
                means[kind] = sums[kind] / count
            elif kind in state.running:
                means[kind] = state.running[kind]
        state.batches += 1
        for kind, count in enumerate(present):
            state.rows[kind] += count
            if count:
                batch_mean = means[kind].detach()
                previous = state.running.get(kind)
                state.running[kind] = (batch_mean if previous is None
                                       else momentum * previous + (1 - momentum) * batch_mean)
        if len(means) < 2:
            return None
        state.active += 1
        state.from_running += int(not all(present))
        original = means[0].detach() if self.args.align_detach_original else means[0]
        squared = (original - means[1]).pow(2)
        return squared.sum() if self.args.align_scale == "sum" else squared.mean()

    # ---- checkpoints: the running means travel with them ----

    def _save_checkpoint(self, model: torch.nn.Module, trial: Any) -> None:
        # Written before the Trainer's files, so a checkpoint whose trainer_state.json exists has it.
        if self.args.align_lambda > 0 and self.args.should_save:
            folder = Path(self._get_output_dir(trial)) / f"{PREFIX_CHECKPOINT_DIR}-{self.state.global_step}"
            folder.mkdir(parents=True, exist_ok=True)
            atomic_write_json(folder / STATE_FILE, self._alignment_state.to_dict())
        super()._save_checkpoint(model, trial)

    def train(self, resume_from_checkpoint: str | bool | None = None, *args: Any, **kwargs: Any) -> Any:
        checkpoint = resume_from_checkpoint
        if checkpoint is True:
            checkpoint = get_last_checkpoint(self.args.output_dir)
        if isinstance(checkpoint, (str, os.PathLike)) and self.args.align_lambda > 0:
            path = Path(checkpoint) / STATE_FILE
            if path.is_file():
                self._alignment_state = AlignmentState.from_dict(read_json(path), self.args.device)
            else:
                print(f"warning: {checkpoint} has no {STATE_FILE}; the alignment term's running means restart.")
        return super().train(resume_from_checkpoint, *args, **kwargs)

    # ---- the card ----

    def alignment_summary(self) -> dict[str, Any]:
        """The estimator, its settings and what it saw, for the training card."""
        args, state = self.args, self._alignment_state
        rows, augmented_rows = self._rows_in_data if self._rows_in_data is not None else (None, None)
        computed = args.align_lambda > 0
        if not computed:
            loss = "plain SFT: λ = 0, the alignment term is not computed"
        elif augmented_rows == 0:
            loss = "plain SFT: no augmented rows"
        elif state.batches and not state.active:
            loss = "plain SFT: no micro-batch had both kinds (nor a running mean of the missing one)"
        else:
            loss = f"SFT + {args.align_lambda} · L_align"
        return {
            "loss": loss,
            "estimator": ESTIMATOR,
            "lambda": args.align_lambda,
            "scale": args.align_scale,
            "detach_original": args.align_detach_original,
            "momentum": args.align_momentum,
            "missing_kind": ("a kind missing from a micro-batch uses its detached running mean r ← momentum · r + "
                             "(1 − momentum) · batch mean; the term is zero until both kinds are seen"),
            "balanced_batches": args.align_balanced_batches,
            "rows_in_data": rows,
            "augmented_rows_in_data": augmented_rows,
            "micro_batches": state.batches if computed else None,
            "micro_batches_active": state.active if computed else None,
            "micro_batches_zero": state.batches - state.active if computed else None,
            "micro_batches_with_running_mean": state.from_running if computed else None,
            "rows_seen": dict(zip(KINDS, state.rows)) if computed else None,
            "augmented_seen": bool(state.rows[1]) if computed else None,
        }
