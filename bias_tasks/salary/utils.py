"""Hooks for bias_inheritance_salary; the logic lives in bias_tasks.salary.salary_task."""

from __future__ import annotations

import math

from bias_tasks.salary import salary_task as task

GROUP_METRICS: tuple[str, ...] = (
    "salary_male", "salary_female", "salary_gap", "salary_gap_ci_low", "salary_gap_ci_high", "salary_ratio",
)

load_docs = task.salary_docs
doc_to_text = task.doc_to_text


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results[0] if results else None)
    return {
        **{name: item for name in GROUP_METRICS},
        "invalid_rate": float(math.isnan(item[1])),
        "synthetic_sample": doc["synthetic_sample"],
    }


agg_salary_male = task.mean_salary("male")
agg_salary_female = task.mean_salary("female")
agg_salary_gap = task.salary_gap
agg_salary_gap_ci_low = task.gap_interval("low")
agg_salary_gap_ci_high = task.gap_interval("high")
agg_salary_ratio = task.salary_ratio
