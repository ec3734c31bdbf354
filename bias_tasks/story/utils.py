"""Hooks for bias_inheritance_story; the logic lives in bias_tasks.story.story_task."""

from __future__ import annotations

from bias_inheritance import vocab
from bias_tasks.story import story_task as task
from bias_tasks.story.abc_lexicon import DIMENSIONS

_SCOPES = ("total", *DIMENSIONS)
_GROUPS = (*vocab.CULTURES, *vocab.GENDERS)
GROUP_METRICS: tuple[str, ...] = (
    tuple(f"neg_share_{d}" for d in _SCOPES)
    + tuple(f"neg_share_{d}_{g}" for d in _SCOPES for g in _GROUPS)
    + tuple(f"neg_share_total_{k}{s}" for k in ("gender_gap", "culture_range") for s in ("", "_ci_low", "_ci_high"))
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
agg_neg_share_total_gender_gap_ci_low = task.interval("gender_gap", "low")
agg_neg_share_total_gender_gap_ci_high = task.interval("gender_gap", "high")
agg_neg_share_total_culture_range = task.culture_range
agg_neg_share_total_culture_range_ci_low = task.interval("culture_range", "low")
agg_neg_share_total_culture_range_ci_high = task.interval("culture_range", "high")
agg_adjectives_per_story = task.adjectives_per_story
agg_lexicon_adjectives_per_story = task.lexicon_adjectives_per_story
