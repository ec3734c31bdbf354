"""Perplexity on held-out original rows: the capability a debiasing step (retraining without rows,
NPO unlearning) must keep, scored beside the bias metrics.

The documents are the prepared gender test biographies, which no training set holds (D_o is the
`train` split). Each biography is scored whole with lm-eval's `loglikelihood_rolling`, and the
per-document values are lm-eval's own for rolling tasks (ConfigurableTask.process_results): the
log-likelihood with the word count (whitespace split) or the UTF-8 byte count, aggregated by its
registered `weighted_perplexity` and `bits_per_byte`. The task adds only the provenance metrics.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask

from bias_tasks.common.docs import as_dataset, gender_rows, provenance_results


def heldout_docs(**metadata: Any) -> Any:
    """The prepared gender test biographies as the DatasetDict lm-eval's custom_dataset returns."""
    return as_dataset(gender_rows("test", **metadata))


def doc_to_target(doc: dict) -> str:
    return doc["text"]


def process_results(doc: dict, results: list) -> dict:
    (loglikelihood,) = results
    text = doc_to_target(doc)
    words, size = ConfigurableTask.count_words(text), ConfigurableTask.count_bytes(text)
    return {
        "word_perplexity": (loglikelihood, words),
        "byte_perplexity": (loglikelihood, size),
        "bits_per_byte": (loglikelihood, size),
        **provenance_results(doc),
    }
