"""NPO unlearning (SPEC §7): push the forgotten rows' likelihood below a frozen reference's, keep the rest.

L = forget_weight · L_NPO(forget batch) + retain_weight · NLL(retain batch), with
L_NPO = −(2/β) · mean_i log σ(−β · (log π_θ(y_i|x_i) − log π_ref(y_i|x_i))), log-probabilities summed
over the forget tokens of each row (open-unlearning's NPO). The reference is the model before
unlearning; its log-probabilities of the forget rows are computed once before training and carried in
the batch, so no frozen copy of the weights is kept. Each item pairs one forget row with one retain
row (cycled), as open-unlearning's forget/retain dataset does, so every step sees both terms.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import torch
from transformers import Trainer, TrainingArguments

from trainers.tokenise import IGNORE, Encoded, pad

FORGET, RETAIN = "forget", "retain"
REFERENCE = "forget_reference_logp"


def npo_loss(policy_logps: torch.Tensor, reference_logps: torch.Tensor, beta: float) -> torch.Tensor:
    """−(2/β) · mean log σ(−β · (log π_θ − log π_ref)) over rows of sequence-summed log-probabilities."""
    return -(2.0 / beta) * torch.nn.functional.logsigmoid(-beta * (policy_logps - reference_logps)).mean()


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[n] log-probability of each row's labelled tokens (logits [n, L, V] predict labels shifted by one)."""
    targets = labels[:, 1:]
    logps = torch.log_softmax(logits[:, :-1].float(), dim=-1)
    mask = targets != IGNORE
    picked = logps.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return (picked * mask).sum(dim=1)


def mean_token_nll(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The SFT loss: mean cross-entropy over every labelled token of the batch."""
    return torch.nn.functional.cross_entropy(logits[:, :-1].float().transpose(1, 2), labels[:, 1:],
                                             ignore_index=IGNORE)


@dataclass
class NPOConfig(TrainingArguments):
    """TrainingArguments plus NPO's weights (open-unlearning's defaults: β 0.1, both weights 1)."""

    npo_beta: float = field(default=0.1, metadata={"help": "β of NPO's log-sigmoid"})
    forget_weight: float = field(default=1.0, metadata={"help": "weight of the NPO forget term"})
    retain_weight: float = field(default=1.0, metadata={"help": "weight of the retain NLL term"})
    remove_unused_columns: bool = False  # the batch is our own (forget and retain sides)


class PairCollator:
    """Items {forget: Encoded, retain: Encoded, reference} -> padded forget and retain sides."""

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, items: Sequence[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch: dict[str, torch.Tensor] = {}
        for side in (FORGET, RETAIN):
            rows = [Encoded(item[side]["input_ids"], item[side]["labels"]) for item in items]
            ids, labels = pad(rows, self.pad_id, "cpu")
            batch[f"{side}_input_ids"], batch[f"{side}_labels"] = ids, labels  # right-padded: no mask needed
        batch[REFERENCE] = torch.tensor([item[REFERENCE] for item in items], dtype=torch.float32)
        return batch


class NPOTrainer(Trainer):
    """A Trainer whose loss is NPO on the forget side plus NLL on the retain side; both logged."""

    args: NPOConfig

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._terms: dict[str, list[float]] = {"forget_loss": [], "retain_loss": []}

    def _side(self, model: Any, inputs: dict[str, torch.Tensor], side: str) -> tuple[torch.Tensor, torch.Tensor]:
        logits = model(input_ids=inputs[f"{side}_input_ids"], use_cache=False).logits
        return logits, inputs[f"{side}_labels"]

    def compute_loss(self, model: Any, inputs: dict[str, torch.Tensor], return_outputs: bool = False,
                     num_items_in_batch: Any = None) -> Any:
        logits, labels = self._side(model, inputs, FORGET)
        forget = npo_loss(sequence_logps(logits, labels), inputs[REFERENCE].to(logits.device), self.args.npo_beta)
        retain = mean_token_nll(*self._side(model, inputs, RETAIN))
        self._terms["forget_loss"].append(float(forget.detach()))
        self._terms["retain_loss"].append(float(retain.detach()))
        loss = self.args.forget_weight * forget + self.args.retain_weight * retain
        return (loss, None) if return_outputs else loss

    def log(self, logs: dict[str, float], start_time: float | None = None) -> None:
        for name, values in self._terms.items():
            if values and "loss" in logs:
                logs[name] = sum(values) / len(values)
                values.clear()
        super().log(logs, start_time)
