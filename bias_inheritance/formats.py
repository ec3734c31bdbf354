"""Text formats shared by training and evaluation, so a model is tested in the format it learned."""

from __future__ import annotations

BIOS_QUESTION = "What is the profession of the person in the following text?"


def bios_question(biography: str) -> str:
    """The gender fine-tuning data's question format (SPEC §2): question, then the biography."""
    return f"{BIOS_QUESTION} {biography.strip()}"


def bios_prompt(biography: str) -> str:
    """The prompt scored by the bios task and trained on by the trainer (answer follows after a space)."""
    return bios_question(biography) + "\nAnswer:"
