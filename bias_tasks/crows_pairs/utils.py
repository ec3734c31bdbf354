"""Hooks for bias_inheritance_crows_pairs; the logic lives in bias_tasks.crows_pairs.crows_task."""

from __future__ import annotations

from bias_tasks.common.docs import provenance_results
from bias_tasks.crows_pairs import crows_task as task

load_docs = task.crows_docs
doc_to_choice = task.doc_to_choice


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results)
    return {
        task.DIFF: item.likelihood_diff,
        task.STEREOTYPE: item.stereotype,
        **{name: item for name in task.BREAKDOWNS},
        **provenance_results(doc),
    }


agg_pct_stereotype_stereo = task.breakdown("pct_stereotype_stereo")
agg_pct_stereotype_antistereo = task.breakdown("pct_stereotype_antistereo")
agg_pct_stereotype_race_color = task.breakdown("pct_stereotype_race_color")
agg_likelihood_diff_race_color = task.breakdown("likelihood_diff_race_color")
agg_pct_stereotype_socioeconomic = task.breakdown("pct_stereotype_socioeconomic")
agg_likelihood_diff_socioeconomic = task.breakdown("likelihood_diff_socioeconomic")
agg_pct_stereotype_gender = task.breakdown("pct_stereotype_gender")
agg_likelihood_diff_gender = task.breakdown("likelihood_diff_gender")
agg_pct_stereotype_disability = task.breakdown("pct_stereotype_disability")
agg_likelihood_diff_disability = task.breakdown("likelihood_diff_disability")
agg_pct_stereotype_nationality = task.breakdown("pct_stereotype_nationality")
agg_likelihood_diff_nationality = task.breakdown("likelihood_diff_nationality")
agg_pct_stereotype_sexual_orientation = task.breakdown("pct_stereotype_sexual_orientation")
agg_likelihood_diff_sexual_orientation = task.breakdown("likelihood_diff_sexual_orientation")
agg_pct_stereotype_physical_appearance = task.breakdown("pct_stereotype_physical_appearance")
agg_likelihood_diff_physical_appearance = task.breakdown("likelihood_diff_physical_appearance")
agg_pct_stereotype_religion = task.breakdown("pct_stereotype_religion")
agg_likelihood_diff_religion = task.breakdown("likelihood_diff_religion")
agg_pct_stereotype_age = task.breakdown("pct_stereotype_age")
agg_likelihood_diff_age = task.breakdown("likelihood_diff_age")
