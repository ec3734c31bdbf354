"""Per-row gradients of the LoRA parameters, vectorised with torch.func (vmap of grad), never a loop.

The loss a row's gradient is taken of is the training loss of that row alone: TRL's prompt/completion
tokenisation (EOS appended to the completion, the completion starting where the tokenised prompt and
prompt + completion diverge, truncation keeping the start), and the mean token cross-entropy over
the answer tokens (TRL's completion-only loss), or over every token with loss_tokens="all". A probe
sentence has prompt "" and the sentence as completion, so its loss covers all of its tokens.

Rows of a batch are right-padded and run without an attention mask: under a causal mask a real
token never attends to the padding after it and keeps positions 0..n-1, so each row's loss is
exactly its unpadded loss (the test compares with a per-row autograd loop). Dropout is off.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from bias_inheritance.errors import UserError

IGNORE = -100
LOSS_TOKENS = ("answer", "all")


@dataclass(frozen=True)
class Encoded:
    """One row as the model sees it: token ids and labels (IGNORE where no loss falls)."""

    input_ids: list[int]
    labels: list[int]


def encode(example: Mapping[str, str], tokenizer: Any, max_length: int, loss_tokens: str) -> Encoded:
    """TRL's tokenisation of a prompt/completion example (trl SFTTrainer, non-conversational)."""
    from trl.data_utils import common_prefix_length

    prompt, completion = example["prompt"], example["completion"]
    if tokenizer.eos_token and not completion.endswith(tokenizer.eos_token):
        completion += tokenizer.eos_token
    prompt_ids = tokenizer(prompt)["input_ids"]
    ids = tokenizer(prompt + completion)["input_ids"]
    start = common_prefix_length(prompt_ids, ids) if loss_tokens == "answer" else 0
    labels = [IGNORE] * start + ids[start:]
    ids, labels = ids[:max_length], labels[:max_length]
    if all(label == IGNORE for label in labels[1:]):  # the first token is never predicted
        raise UserError(f"Row {example.get('id')} has no {loss_tokens} token left within max_length {max_length}.",
                        "raise max_length (it should match the one the adapter was trained with).")
    return Encoded(ids, labels)


def pad(rows: list[Encoded], pad_id: int, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor]:
    """[n, L] input ids and labels, right-padded (labels IGNORE on padding)."""
    width = max(len(r.input_ids) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    labels = torch.full((len(rows), width), IGNORE, dtype=torch.long)
    for i, row in enumerate(rows):
        ids[i, :len(row.input_ids)] = torch.tensor(row.input_ids)
        labels[i, :len(row.labels)] = torch.tensor(row.labels)
    return ids.to(device), labels.to(device)


@dataclass(frozen=True)
class Batch:
    """Right-padded rows [n, L] and, per row, the positions whose logits predict a labelled token
    [n, K] with those tokens (IGNORE where a row has fewer than K): only these K positions go
    through the output layer, which for answer-only losses skips nearly all of its vocabulary-wide
    work."""

    input_ids: torch.Tensor
    positions: torch.Tensor
    targets: torch.Tensor


def to_batch(rows: list[Encoded], pad_id: int, device: torch.device | str) -> Batch:
    ids, labels = pad(rows, pad_id, "cpu")
    scored = [(labels[i, 1:] != IGNORE).nonzero().flatten() for i in range(len(rows))]
    keep = max(len(at) for at in scored)
    positions = torch.zeros((len(rows), keep), dtype=torch.long)
    targets = torch.full((len(rows), keep), IGNORE, dtype=torch.long)
    for i, at in enumerate(scored):
        positions[i, :len(at)] = at
        targets[i, :len(at)] = labels[i, at + 1]
    return Batch(ids.to(device), positions.to(device), targets.to(device))


def lora_parameters(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The trainable parameters, in the model's order, which must all be LoRA's."""
    params = {name: p.detach() for name, p in model.named_parameters() if p.requires_grad}
    other = [name for name in params if "lora_" not in name]
    if other or not params:
        raise UserError(f"The adapter trains {'non-LoRA parameters, e.g. ' + other[0] if other else 'no parameters'}.",
                        "pass a LoRA adapter folder written by `bias-inheritance train`.")
    return params


def row_loss(model: torch.nn.Module, params: dict[str, torch.Tensor], input_ids: torch.Tensor,
             positions: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Mean next-token cross-entropy of one row ([L] ids) over its labelled tokens."""
    from torch.func import functional_call

    kwargs = {"use_cache": False, "logits_to_keep": positions}
    logits = functional_call(model, params, (input_ids.unsqueeze(0),), kwargs).logits[0]
    return torch.nn.functional.cross_entropy(logits.float(), targets, ignore_index=IGNORE)


def per_sample_gradients(model: torch.nn.Module, params: dict[str, torch.Tensor],
                         batch: Batch) -> dict[str, torch.Tensor]:
    """{name: [n, *shape]}: each row's gradient of its own loss, in one vectorised pass."""
    from torch.func import grad, vmap

    def one(p: dict[str, torch.Tensor], ids: torch.Tensor, at: torch.Tensor, tokens: torch.Tensor) -> torch.Tensor:
        return row_loss(model, p, ids, at, tokens)

    return vmap(grad(one), in_dims=(None, 0, 0, 0))(params, batch.input_ids, batch.positions, batch.targets)
