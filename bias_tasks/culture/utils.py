"""Hooks for the culture tasks' YAMLs; the logic lives in documents.py (data, provenance), prompts.py
and classification.py (parsing, macro-F1)."""

from __future__ import annotations

from bias_inheritance import schema
from bias_inheritance.data.culture_registry import SCHEMES, get_dataset
from bias_tasks.culture.classification import argmax_label, macro_f1, parse_label
from bias_tasks.culture.documents import load_docs
from bias_tasks.culture.prompts import ANSWER_CUE

__all__ = ["load_docs", "doc_to_text", "doc_to_choice", "doc_to_target", "doc_to_target_index",
           "process_results_gen", "process_results_ll", "agg_macro_f1"]


def _scheme(doc: dict):
    return SCHEMES[get_dataset(doc["dataset"]).scheme]


def doc_to_text(doc: dict) -> str:
    return doc["prompt"] + ANSWER_CUE


def doc_to_choice(doc: dict) -> list[str]:
    words = _scheme(doc).words
    return [words[label] for label in doc["label_set"]]


def doc_to_target(doc: dict) -> str:
    return _scheme(doc).words[doc["label"]]


def doc_to_target_index(doc: dict) -> int:
    return list(doc["label_set"]).index(doc["label"])


def _scores(doc: dict, predicted: str | None) -> dict:
    return {
        "macro_f1": (doc["label"], predicted, tuple(doc["label_set"])),
        "invalid_rate": float(predicted is None),
        **{metric: doc[metric] for metric in schema.PROVENANCE_METRICS},
    }


def process_results_gen(doc: dict, results: list) -> dict:
    scheme = _scheme(doc)
    return _scores(doc, parse_label(results[0], scheme.phrases(), scheme.negative))


def process_results_ll(doc: dict, results: list) -> dict:
    return _scores(doc, argmax_label([ll for ll, _ in results], doc["label_set"]))


def agg_macro_f1(items) -> float:
    return macro_f1(items)
