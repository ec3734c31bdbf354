"""Each row's training loss under a fine-tuned adapter: the loss-based baseline of attribution.

The loss is the one the features differentiate (attribution.per_sample: TRL's tokenisation, mean
cross-entropy over the answer tokens), taken in batches without gradients.
"""

from __future__ import annotations

from typing import Any, Sequence

import torch

from trainers.tokenise import IGNORE, encode, pad


def row_losses(model: Any, tokenizer: Any, examples: Sequence[dict], *, max_length: int, batch_size: int,
               loss_tokens: str = "answer") -> dict[str, float]:
    """{row id: its mean token cross-entropy}, in the examples' order."""
    device = next(model.parameters()).device
    encoded = [encode(example, tokenizer, max_length, loss_tokens) for example in examples]
    losses: dict[str, float] = {}
    with torch.no_grad():
        for start in range(0, len(examples), batch_size):
            batch = encoded[start:start + batch_size]
            input_ids, labels = pad(batch, tokenizer.pad_token_id, device)
            logits = model(input_ids=input_ids, use_cache=False).logits[:, :-1].float()
            targets = labels[:, 1:]
            tokens = torch.nn.functional.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE,
                                                       reduction="none")
            counted = (targets != IGNORE).sum(dim=1).clamp(min=1)
            for example, loss in zip(examples[start:start + batch_size], (tokens.sum(dim=1) / counted).tolist()):
                losses[example["id"]] = loss
    return losses
