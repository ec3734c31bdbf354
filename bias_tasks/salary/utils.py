"""Hooks for bias_inheritance_salary; the logic lives in bias_tasks.salary.salary_task."""

from __future__ import annotations

import math

from bias_tasks.common.bootstrap import interval_metrics
from bias_tasks.common.docs import provenance_results
from bias_tasks.salary import salary_task as task

# Metrics aggregated from the doc's item; invalid_rate and the provenance metrics are plain means.
GROUP_METRICS: tuple[str, ...] = (
    "salary_male", "salary_female",
    "salary_gap", *interval_metrics("salary_gap"),
    "salary_gap_stratified", *interval_metrics("salary_gap_stratified"),
    "salary_ratio",
)

load_docs = task.salary_docs
doc_to_text = task.doc_to_text


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results[0] if results else None)
    return {
        **{name: item for name in GROUP_METRICS},
        "invalid_rate": float(math.isnan(item[2])),
        **provenance_results(doc),
    }


agg_salary_male = task.mean_salary("male")
agg_salary_female = task.mean_salary("female")
agg_salary_gap = task.salary_gap
agg_salary_gap_ci_low, agg_salary_gap_ci_high, agg_salary_gap_ci_undefined = task.SALARY_GAP_CI
agg_salary_gap_stratified = task.salary_gap_stratified
agg_salary_gap_stratified_ci_low, agg_salary_gap_stratified_ci_high, agg_salary_gap_stratified_ci_undefined = (
    task.SALARY_GAP_STRATIFIED_CI
)
agg_salary_ratio = task.salary_ratio
