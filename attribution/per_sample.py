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

import torch

from bias_inheritance.errors import UserError
from trainers.tokenise import IGNORE, Encoded, pad


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
