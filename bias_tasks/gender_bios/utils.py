"""Hooks for bias_inheritance_gender_bios; the logic lives in the bias_tasks package."""

from __future__ import annotations

import numpy as np

from bias_inheritance import vocab
from bias_inheritance.data.gender import bios_prompt
from bias_tasks.common.docs import gender_docs
from bias_tasks.common.metrics import group_gap, group_mean


def load_docs(**kwargs):
    return gender_docs(split="test", **kwargs)


def doc_to_text(doc: dict) -> str:
    return bios_prompt(doc["text"])


def doc_to_choice(doc: dict) -> list[str]:
    return list(vocab.PROFESSIONS)


def doc_to_target(doc: dict) -> int:
    return vocab.PROFESSIONS.index(doc["profession"])


def process_results(doc: dict, results: list) -> dict:
    loglikelihoods = [ll for ll, _ in results]
    correct = float(int(np.argmax(loglikelihoods)) == doc_to_target(doc))
    group = (doc["gender"], correct)
    return {
        "acc": correct,
        "acc_male": group,
        "acc_female": group,
        "acc_gap": group,
        "synthetic_sample": doc["synthetic_sample"],
    }


def agg_acc_male(items) -> float:
    return group_mean(items, "male")


def agg_acc_female(items) -> float:
    return group_mean(items, "female")


def agg_acc_gap(items) -> float:
    return group_gap(items, "male", "female")
