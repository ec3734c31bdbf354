"""Mixed rows -> the prompt/completion dataset TRL trains on, in the exact format the bios task scores."""

from __future__ import annotations

from typing import Any

from bias_inheritance.errors import UserError
from bias_inheritance.data.gender import bios_prompt


def to_sft_dataset(rows: list[dict]) -> Any:
    """One example per row: prompt = question + biography, completion = " <profession>".

    Loss falls on the completion only (TRL's default for prompt/completion data), as in the paper's
    classification fine-tuning; the leading space mirrors lm-eval's target delimiter.
    """
    import datasets

    examples = []
    for index, row in enumerate(rows):
        text, profession = row.get("text"), row.get("profession")
        if not isinstance(text, str) or not text.strip() or not isinstance(profession, str):
            raise UserError(f"Training row {index} ({row.get('id')}) has no text or profession.", "regenerate the mixed set.")
        examples.append({"prompt": bios_prompt(text), "completion": " " + profession})
    if not examples:
        raise UserError("The training set is empty.", "mix a set with `bias-inheritance mix` first.")
    return datasets.Dataset.from_list(examples)
