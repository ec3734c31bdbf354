"""The one place that renders a prompt (and an answer) for a model, in the format lm-eval scores.

lm-eval applies a chat template to a whole run (`--apply_chat_template`), so a model is trained,
asked to generate and scored in one format: "chat" when its tokenizer has a chat template, "plain"
otherwise. The renderings below copy lm-eval 0.4.13 exactly, so the text a model is trained on is
the text it is scored on:
- `HFLM.apply_chat_template` renders a one-turn user message (no system prompt) with
  `add_generation_prompt=True`;
- `ConfigurableTask.construct_requests` puts `target_delimiter` (" " by default) before a
  multiple-choice continuation in the plain format, and nothing in the chat format (the assistant
  turn begins right after the generation prompt).
"""

from __future__ import annotations

from typing import Any

from bias_inheritance.errors import UserError
from bias_inheritance.schema import CHAT_FORMAT, PLAIN_FORMAT, PROMPT_FORMATS

# lm-eval's default `target_delimiter`, used before an answer in the plain format.
PLAIN_TARGET_DELIMITER = " "


def prompt_format(tokenizer: Any) -> str:
    """"chat" when the tokenizer has a chat template, else "plain"."""
    return CHAT_FORMAT if getattr(tokenizer, "chat_template", None) else PLAIN_FORMAT


def _check(fmt: str) -> None:
    if fmt not in PROMPT_FORMATS:
        raise ValueError(f"unknown prompt format {fmt!r}; known: {', '.join(PROMPT_FORMATS)}")


def render_prompt(tokenizer: Any, text: str, fmt: str) -> str:
    """`text` as the model sees it: a one-turn user message in its chat template, or unchanged."""
    _check(fmt)
    if fmt == PLAIN_FORMAT:
        return text
    if not getattr(tokenizer, "chat_template", None):
        raise UserError("The chat format was asked for, but the model's tokenizer has no chat template.",
                        "use the plain format for this model.")
    return tokenizer.apply_chat_template([{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True)


def render_answer(answer: str, fmt: str) -> str:
    """The continuation lm-eval scores after a rendered prompt: " answer" (plain) or "answer" (chat)."""
    _check(fmt)
    return (PLAIN_TARGET_DELIMITER if fmt == PLAIN_FORMAT else "") + answer
