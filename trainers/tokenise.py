"""Rows tokenised exactly as TRL's SFTTrainer tokenises prompt/completion examples, with labels.

Shared by the trainers that build their own batches (NPO unlearning) and by attribution, whose
per-row losses must be the training loss: EOS appended to the completion, the completion starting
where the tokenised prompt and prompt + completion diverge, truncation keeping the start. Labels are
IGNORE where no loss falls: the prompt (loss_tokens "answer", TRL's completion-only loss) or nothing
("all": every token, e.g. a probe sentence or a whole forgotten row).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

import torch

from bias_inheritance.errors import UserError

def load_tokenizer(resolved: str) -> tuple[Any, str]:
    """The model's tokenizer (padding with EOS where it has no pad token) and the prompt format
    training renders rows in (the chat template when the model has one)."""
    from transformers import AutoTokenizer

    from bias_inheritance.chat import prompt_format

    tokenizer = AutoTokenizer.from_pretrained(resolved)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer, prompt_format(tokenizer)


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
