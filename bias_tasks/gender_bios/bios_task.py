"""Biography classification (SPEC §4): which of the six professions a model assigns a biography.

Scored as lm-eval's multiple choice: `acc` picks the profession with the highest summed
log-likelihood, which favours professions of few tokens ("nurse" over "software engineer");
`acc_norm` divides each log-likelihood by the length of the profession name in characters first,
exactly as lm-eval's own `acc_norm` (lm_eval/api/task.py, multiple_choice). Both are reported per
gender with their male - female gap and its bootstrap interval, resampled within the design's
profession x gender cells.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from bias_inheritance import vocab
from bias_inheritance.data.gender import bios_prompt
from bias_tasks.common.bootstrap import (
    Aggregation,
    IntervalAggregations,
    Statistic,
    interval_aggregations,
    percentile_interval,
    point_aggregation,
    stratified_weights,
    weighted_mean,
)
from bias_tasks.common.docs import as_dataset, gender_rows

SCORES: tuple[str, ...] = ("acc", "acc_norm")
# Per-document result: (gender, profession, acc, acc_norm).
Item = tuple[str, str, float, float]


def bios_docs(**metadata: Any) -> Any:
    """The prepared test biographies as a DatasetDict for lm-eval's custom_dataset."""
    return as_dataset(gender_rows("test", **metadata))


def doc_to_text(doc: dict) -> str:
    return bios_prompt(doc["text"])


def doc_to_choice(doc: dict) -> list[str]:
    return list(vocab.PROFESSIONS)


def doc_to_target(doc: dict) -> int:
    return vocab.PROFESSIONS.index(doc["profession"])


def predictions(loglikelihoods: Sequence[float], choices: Sequence[str]) -> tuple[int, int]:
    """(pred, pred_norm): argmax of the summed log-likelihoods, and of them divided by each
    choice's length in characters (lm-eval's acc / acc_norm rule)."""
    lls = np.asarray(loglikelihoods, dtype=float)
    lengths = np.array([float(len(choice)) for choice in choices])
    return int(np.argmax(lls)), int(np.argmax(lls / lengths))


def result_item(doc: dict, results: Sequence[tuple[float, bool]]) -> Item:
    pred, pred_norm = predictions([ll for ll, _ in results], doc_to_choice(doc))
    gold = doc_to_target(doc)
    return doc["gender"], doc["profession"], float(pred == gold), float(pred_norm == gold)


# --------------------------------------------------------------------------- aggregations


def _column(items: Sequence[Item], score: str) -> tuple[np.ndarray, np.ndarray]:
    genders = np.array([item[0] for item in items], dtype=object)
    values = np.array([item[2 + SCORES.index(score)] for item in items], dtype=float)
    return genders, values


def _group_statistic(items: Sequence[Item], score: str, gender: str) -> Statistic:
    genders, values = _column(items, score)
    return lambda weights: weighted_mean(values, genders == gender, weights)


def _gap_statistic(items: Sequence[Item], score: str) -> Statistic:
    male, female = (_group_statistic(items, score, g) for g in vocab.GENDERS)
    return lambda weights: male(weights) - female(weights)


def accuracy(score: str, gender: str) -> Aggregation:
    """Aggregation: `score` (acc or acc_norm) on the biographies of one gender (NaN if none)."""
    return point_aggregation(f"{score}_{gender}", lambda items: _group_statistic(items, score, gender))


def accuracy_gap(score: str) -> Aggregation:
    """Aggregation: `score` of men minus `score` of women."""
    return point_aggregation(f"{score}_gap", lambda items: _gap_statistic(items, score))


def gap_interval(score: str) -> IntervalAggregations:
    """Bootstrap interval of the gap, biographies resampled within profession x gender cells."""
    return interval_aggregations(
        f"{score}_gap",
        lambda items: percentile_interval(
            _gap_statistic(items, score), stratified_weights([(g, p) for g, p, *_ in items])
        ),
    )
