"""Hooks for the bias_inheritance culture tasks; the logic lives in bias_inheritance.data.culture*
(data, prompts) and bias_tasks.culture.classification (parsing, macro-F1)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bias_inheritance.data import culture
from bias_inheritance.data.culture_registry import SCHEMES, get_dataset, instruction
from bias_tasks.culture.classification import argmax_label, macro_f1, parse_label


def _flag(value: Any) -> bool:
    """A metadata switch given as JSON (true) or as text ("true", "1", "yes")."""
    return value.strip().lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)


def load_docs(dataset: str, culture_data_dir: str | None = None, persona: Any = False, **_metadata: Any):
    """Prepared rows of one dataset (named by the task's dataset_kwargs) with their prompt."""
    import datasets

    rows, source = culture.load_rows(dataset, Path(culture_data_dir) if culture_data_dir else None)
    spec, use_persona = get_dataset(dataset), _flag(persona)
    for row in rows:
        row["prompt"] = instruction(spec, row["text"], persona=use_persona)
        row["data_source"] = source.label
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(rows)})


def _scheme(doc: dict):
    return SCHEMES[get_dataset(doc["dataset"]).scheme]


def doc_to_text(doc: dict) -> str:
    return doc["prompt"] + "\nAnswer:"


def doc_to_choice(doc: dict) -> list[str]:
    words = _scheme(doc).words
    return [words[label] for label in doc["label_set"]]


def doc_to_target(doc: dict) -> str:
    return _scheme(doc).words[doc["label"]]


def doc_to_target_index(doc: dict) -> int:
    return list(doc["label_set"]).index(doc["label"])


def _scores(doc: dict, predicted: str | None) -> dict:
    return {"macro_f1": (doc["label"], predicted, tuple(doc["label_set"])), "invalid_rate": float(predicted is None)}


def process_results_gen(doc: dict, results: list) -> dict:
    scheme = _scheme(doc)
    return _scores(doc, parse_label(results[0], scheme.phrases(), scheme.negative))


def process_results_ll(doc: dict, results: list) -> dict:
    return _scores(doc, argmax_label([ll for ll, _ in results], doc["label_set"]))


def agg_macro_f1(items) -> float:
    return macro_f1(items)
