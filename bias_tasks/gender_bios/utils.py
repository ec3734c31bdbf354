"""Hooks for bias_inheritance_gender_bios; the logic lives in bias_tasks.gender_bios.bios_task."""

from __future__ import annotations

from bias_inheritance import vocab
from bias_tasks.common.bootstrap import interval_metrics
from bias_tasks.common.docs import provenance_results
from bias_tasks.gender_bios import bios_task as task

# Metrics aggregated from the doc's item (acc and acc_norm are plain means of the doc's score).
GROUP_METRICS: tuple[str, ...] = tuple(
    name
    for score in task.SCORES
    for name in (*(f"{score}_{g}" for g in vocab.GENDERS), f"{score}_gap", *interval_metrics(f"{score}_gap"))
)

load_docs = task.bios_docs
doc_to_text = task.doc_to_text
doc_to_choice = task.doc_to_choice
doc_to_target = task.doc_to_target


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results)
    return {
        **dict(zip(task.SCORES, item[2:])),
        **{name: item for name in GROUP_METRICS},
        **provenance_results(doc),
    }


agg_acc_male = task.accuracy("acc", "male")
agg_acc_female = task.accuracy("acc", "female")
agg_acc_gap = task.accuracy_gap("acc")
agg_acc_gap_ci_low, agg_acc_gap_ci_high, agg_acc_gap_ci_undefined = task.gap_interval("acc")
agg_acc_norm_male = task.accuracy("acc_norm", "male")
agg_acc_norm_female = task.accuracy("acc_norm", "female")
agg_acc_norm_gap = task.accuracy_gap("acc_norm")
agg_acc_norm_gap_ci_low, agg_acc_norm_gap_ci_high, agg_acc_norm_gap_ci_undefined = task.gap_interval("acc_norm")
