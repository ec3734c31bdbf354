"""Mixed rows -> the prompt/completion dataset TRL trains on, in the exact text the tasks score.

Each example also carries the row's origin (`ORIGIN_FLAG`: 1 for D_a, 0 for D_o), which the
alignment loss needs and the other mitigations ignore.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from bias_inheritance.chat import render_answer, render_prompt
from bias_inheritance.data.gender import bios_prompt
from bias_inheritance.data.opinions import answer_label
from bias_inheritance.errors import UserError
from generators.mixing import ORIGINS
from trainers.alignment_sampler import ORIGIN_FLAG

_FIX = "regenerate the mixed set with `bias-inheritance mix`."


def sft_example(text: str, profession: str, tokenizer: Any, fmt: str) -> dict[str, str]:
    """prompt = the bios task's context (doc_to_text, in the run's format), completion = its answer.

    Loss falls on the completion only (TRL's default for prompt/completion data), as in the paper's
    classification fine-tuning. prompt + completion is exactly lm-eval's context + continuation for
    the right choice (tests/test_chat_format.py checks it against lm-eval's own requests).
    """
    return {"prompt": render_prompt(tokenizer, bios_prompt(text), fmt), "completion": render_answer(profession, fmt)}


def opinion_example(question_text: str, answer: str, tokenizer: Any, fmt: str) -> dict[str, str]:
    """A GlobalOpinionQA row: the question with its persona and lettered options, answered "(B) Agree"."""
    return {"prompt": render_prompt(tokenizer, question_text, fmt), "completion": render_answer(answer, fmt)}


def _gender(index: int, row: Mapping[str, Any], tokenizer: Any, fmt: str) -> dict[str, str]:
    text, profession = row.get("text"), row.get("profession")
    if not isinstance(text, str) or not text.strip() or not isinstance(profession, str):
        raise UserError(f"Training row {index} ({row.get('id')}) has no text or profession.", _FIX)
    return sft_example(text, profession, tokenizer, fmt)


def _culture(index: int, row: Mapping[str, Any], tokenizer: Any, fmt: str) -> dict[str, str]:
    text, options, answer = row.get("question_text"), row.get("options"), row.get("answer_index")
    if not isinstance(text, str) or not text.strip() or not isinstance(options, list) or not isinstance(answer, int) \
            or not 0 <= answer < len(options):
        raise UserError(f"Training row {index} ({row.get('id')}) has no question_text, options or answer_index.", _FIX)
    return opinion_example(text, answer_label(options, answer), tokenizer, fmt)


_EXAMPLES = {"gender": _gender, "culture": _culture}


def split_by_ids(rows: list[dict], ids_file: Path, role: str) -> tuple[list[dict], list[dict], str]:
    """(rows whose id `ids_file` lists, the others, the sha256 of the sorted ids). `ids_file` is JSON
    lines with an `id` per row (`attribute`'s selected.jsonl); an id the mix lacks is an error."""
    from bias_inheritance.io import content_hash, read_jsonl

    listed = read_jsonl(Path(ids_file))
    ids = {row.get("id") for row in listed if isinstance(row, dict)}
    if not listed or None in ids or len(ids) != len(listed):
        raise UserError(f"The {role} file {ids_file} needs one distinct `id` per line.",
                        "pass the selected.jsonl written by `bias-inheritance attribute`.")
    known = {row["id"] for row in rows}
    unknown = sorted(ids - known, key=str)
    if unknown:
        raise UserError(f"The {role} file {ids_file} names {len(unknown)} row(s) the mix does not hold, e.g. "
                        f"{unknown[0]}.", "pass the selection made from this mix.")
    chosen = [row for row in rows if row["id"] in ids]
    return chosen, [row for row in rows if row["id"] not in ids], content_hash([{"id": i} for i in sorted(ids)])


def to_sft_dataset(rows: list[dict], tokenizer: Any, fmt: str) -> Any:
    """One example per row; a row without its fields is an error, never silently dropped."""
    import datasets

    examples = []
    for index, row in enumerate(rows):
        bias = row.get("bias", "gender")
        if bias not in _EXAMPLES:
            raise UserError(f"Training row {index} ({row.get('id')}) has unknown bias {bias!r}.", _FIX)
        example = _EXAMPLES[bias](index, row, tokenizer, fmt)
        origin = row.get("origin", "original")
        if origin not in ORIGINS:
            raise UserError(f"Training row {index} ({row.get('id')}) has origin {origin!r}, not one of "
                            f"{', '.join(ORIGINS)}.", _FIX)
        examples.append({**example, ORIGIN_FLAG: int(origin == "augmented")})
    if not examples:
        raise UserError("The training set is empty.", "mix a set with `bias-inheritance mix` first.")
    return datasets.Dataset.from_list(examples)
