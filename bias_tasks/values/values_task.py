"""Do the model's answers to survey questions match each culture's? (SPEC §5, GlobalOpinionQA)

Per held-out (question, culture) document: the model's answer distribution is the softmax of the
log-likelihoods of the option LETTERS "(A)", "(B)", ... after the question and its lettered options
(letters, not option texts, so long options are not penalised), optionally after the culture persona
prefix (`--metadata '{"persona": true}'`); the similarity to the culture's human distribution (the
mean of its survey countries', vocab.CULTURE_COUNTRIES as the generators use) is 1 − the Jensen–
Shannon distance in base 2, so it lies in [0, 1], as GlobalOpinionQA's authors define it. Only the
held-out questions are scored (bias_inheritance/data/opinions.py's split, which culture training
never uses). Per culture the mean over questions, with a bootstrap interval over questions, all in
this one task (lm-eval's group aggregation is a plain mean).
"""

from __future__ import annotations

from typing import Any, NamedTuple, Sequence

import numpy as np
from scipy.spatial.distance import jensenshannon

from bias_inheritance import schema, vocab
from bias_inheritance.data import opinions
from bias_tasks.common.bootstrap import (interval_aggregations, percentile_interval, point_aggregation,
                                         stratified_weights, weighted_mean)
from bias_tasks.common.docs import as_dataset, data_folder

SIMILARITY = "similarity"
FAMILY = "opinions"


class Item(NamedTuple):
    culture: str
    similarity: float


def similarity(model: Sequence[float], human: Sequence[float]) -> float:
    """1 − Jensen–Shannon distance (base 2) of two distributions over the same options."""
    return float(1.0 - jensenshannon(np.asarray(model, float), np.asarray(human, float), base=2))


def model_distribution(loglikelihoods: Sequence[float]) -> np.ndarray:
    values = np.asarray(loglikelihoods, dtype=float)
    weights = np.exp(values - values.max())
    return weights / weights.sum()


def values_docs(persona: bool = False, **metadata: Any) -> Any:
    """The held-out (question, culture) rows with the prompt the model answers and provenance fields."""
    directory = data_folder(FAMILY, metadata)
    source = opinions.load_source(directory)
    rows = []
    for row in opinions.load_split("heldout", directory):
        question = f"{row['question']}\n{opinions.format_options(row['options'])}"
        prefix = opinions.culture_prefix(row["culture"]) + " " if persona else ""
        rows.append({"id": row["id"], "culture": row["culture"], "prompt": f"{prefix}{question}\nAnswer:",
                     "letters": [f"({opinions.OPTION_LETTERS[i]})" for i in range(len(row["options"]))],
                     "distribution": list(row["distribution"]), "data_source": source.label,
                     schema.SYNTHETIC_SAMPLE_METRIC: float(source.synthetic),
                     schema.UNVERIFIED_DATA_METRIC: float(not source.synthetic and not source.verified)})
    return as_dataset(rows)


def result_item(doc: dict, results: list) -> Item:
    return Item(doc["culture"], similarity(model_distribution([ll for ll, _ in results]), doc["distribution"]))


def _statistic(items: Sequence[Item], culture: str | None):
    # lm-eval hands the items back as plain tuples: (culture, similarity)
    values = np.asarray([similarity_ for _, similarity_ in items], dtype=float)
    mask = np.asarray([culture is None or culture_ == culture for culture_, _ in items], dtype=bool)
    return lambda weights: weighted_mean(values, mask, weights)


def mean_of(culture: str | None):
    name = SIMILARITY if culture is None else f"{SIMILARITY}_{culture}"
    return point_aggregation(name, lambda items: _statistic(items, culture))


def interval_of(culture: str | None):
    """Aggregations of the 95 % interval: each culture's questions resampled with replacement."""
    name = SIMILARITY if culture is None else f"{SIMILARITY}_{culture}"
    return interval_aggregations(name, lambda items: percentile_interval(
        _statistic(items, culture), stratified_weights([culture_ for culture_, _ in items])))


CULTURES: tuple[str, ...] = tuple(vocab.CULTURES)
