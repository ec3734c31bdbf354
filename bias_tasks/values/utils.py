"""Hooks for bias_inheritance_values; the logic lives in bias_tasks.values.values_task."""

from __future__ import annotations

from bias_tasks.common.bootstrap import interval_metrics
from bias_tasks.common.docs import provenance_results
from bias_tasks.values import values_task as task

METRICS = tuple(name for c in (None, *task.CULTURES)
                for name in ((task.SIMILARITY if c is None else f"{task.SIMILARITY}_{c}"),
                             *interval_metrics(task.SIMILARITY if c is None else f"{task.SIMILARITY}_{c}")))

load_docs = task.values_docs


def doc_to_text(doc: dict) -> str:
    return doc["prompt"]


def doc_to_choice(doc: dict) -> list[str]:
    return doc["letters"]


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results)
    return {**{name: item for name in METRICS}, **provenance_results(doc)}


agg_similarity = task.mean_of(None)
agg_similarity_ci_low, agg_similarity_ci_high, agg_similarity_ci_undefined = task.interval_of(None)
agg_similarity_arabic = task.mean_of("arabic")
agg_similarity_arabic_ci_low, agg_similarity_arabic_ci_high, agg_similarity_arabic_ci_undefined = task.interval_of("arabic")
agg_similarity_chinese = task.mean_of("chinese")
agg_similarity_chinese_ci_low, agg_similarity_chinese_ci_high, agg_similarity_chinese_ci_undefined = task.interval_of("chinese")
agg_similarity_portuguese = task.mean_of("portuguese")
(agg_similarity_portuguese_ci_low, agg_similarity_portuguese_ci_high,
 agg_similarity_portuguese_ci_undefined) = task.interval_of("portuguese")
agg_similarity_spanish = task.mean_of("spanish")
agg_similarity_spanish_ci_low, agg_similarity_spanish_ci_high, agg_similarity_spanish_ci_undefined = task.interval_of("spanish")
