"""Hooks for bias_inheritance_story; the logic lives in bias_tasks.story.story_task."""

from __future__ import annotations

from bias_inheritance import vocab
from bias_tasks.common.bootstrap import interval_metrics
from bias_tasks.story import story_task as task
from bias_tasks.story.abc_lexicon import DIMENSIONS

_SCOPES = ("total", *DIMENSIONS)
_GROUPS = (*vocab.CULTURES, *vocab.GENDERS)
GROUP_METRICS: tuple[str, ...] = (
    tuple(f"neg_share_{d}" for d in _SCOPES)
    + tuple(f"neg_share_{d}_{g}" for d in _SCOPES for g in _GROUPS)
    + ("neg_share_total_gender_gap", *interval_metrics("neg_share_total_gender_gap"))
    + ("neg_share_total_culture_range", *interval_metrics("neg_share_total_culture_range"))
    + ("adjectives_per_story", "lexicon_adjectives_per_story")
)

load_docs = task.story_docs
doc_to_text = task.doc_to_text


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results[0] if results else None)
    return {**{name: item for name in GROUP_METRICS}, "invalid_rate": float(not item[3].strip())}


# neg_share_<dimension>[_<culture or gender>]: one aggregation per metric, bound by name.
for _d in _SCOPES:
    globals()[f"agg_neg_share_{_d}"] = task.neg_share(_d)
    for _g in _GROUPS:
        globals()[f"agg_neg_share_{_d}_{_g}"] = task.neg_share(_d, _g)

agg_neg_share_total_gender_gap = task.gender_gap
(agg_neg_share_total_gender_gap_ci_low, agg_neg_share_total_gender_gap_ci_high,
 agg_neg_share_total_gender_gap_ci_undefined) = task.GENDER_GAP_CI
agg_neg_share_total_culture_range = task.culture_range
(agg_neg_share_total_culture_range_ci_low, agg_neg_share_total_culture_range_ci_high,
 agg_neg_share_total_culture_range_ci_undefined) = task.CULTURE_RANGE_CI
agg_adjectives_per_story = task.adjectives_per_story
agg_lexicon_adjectives_per_story = task.lexicon_adjectives_per_story
