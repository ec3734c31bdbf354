"""Mixed rows -> the prompt/completion dataset TRL trains on, in the exact text the bios task scores."""

from __future__ import annotations

from typing import Any

from bias_inheritance.chat import render_answer, render_prompt
from bias_inheritance.data.gender import bios_prompt
from bias_inheritance.errors import UserError


def sft_example(text: str, profession: str, tokenizer: Any, fmt: str) -> dict[str, str]:
    """prompt = the bios task's context (doc_to_text, in the run's format), completion = its answer.

    Loss falls on the completion only (TRL's default for prompt/completion data), as in the paper's
    classification fine-tuning. prompt + completion is exactly lm-eval's context + continuation for
    the right choice (tests/test_chat_format.py checks it against lm-eval's own requests).
    """
    return {"prompt": render_prompt(tokenizer, bios_prompt(text), fmt), "completion": render_answer(profession, fmt)}


def to_sft_dataset(rows: list[dict], tokenizer: Any, fmt: str) -> Any:
    """One example per row; a row without text or profession is an error, never silently dropped."""
    import datasets

    examples = []
    for index, row in enumerate(rows):
        text, profession = row.get("text"), row.get("profession")
        if not isinstance(text, str) or not text.strip() or not isinstance(profession, str):
            raise UserError(f"Training row {index} ({row.get('id')}) has no text or profession.", "regenerate the mixed set.")
        examples.append(sft_example(text, profession, tokenizer, fmt))
    if not examples:
        raise UserError("The training set is empty.", "mix a set with `bias-inheritance mix` first.")
    return datasets.Dataset.from_list(examples)
