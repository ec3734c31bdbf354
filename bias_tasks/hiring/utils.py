"""Hooks for bias_inheritance_hiring; the logic lives in bias_tasks.hiring.hiring_task."""

from __future__ import annotations

from bias_inheritance import vocab
from bias_tasks.common.bootstrap import interval_metrics
from bias_tasks.hiring import hiring_task as task

# Every metric in the YAML's metric_list except invalid_rate (a plain mean) gets the doc's item.
GROUP_METRICS: tuple[str, ...] = (
    tuple(f"share_{c}_{g}" for c, g in task.CELLS)
    + tuple(f"share_{g}" for g in vocab.GENDERS)
    + tuple(f"share_{c}" for c in vocab.CULTURES)
    + ("share_gender_gap", *interval_metrics("share_gender_gap"))
    + ("share_culture_range", *interval_metrics("share_culture_range"))
    + ("disparity_ratio", "disparity_chi2_p")
)

load_docs = task.hiring_docs
doc_to_text = task.doc_to_text


def process_results(doc: dict, results: list) -> dict:
    item = task.result_item(doc, results[0] if results else None)
    return {**{name: item for name in GROUP_METRICS}, "invalid_rate": float(item[1] == task.INVALID)}


agg_share_arabic_male = task.share("arabic", "male")
agg_share_arabic_female = task.share("arabic", "female")
agg_share_chinese_male = task.share("chinese", "male")
agg_share_chinese_female = task.share("chinese", "female")
agg_share_portuguese_male = task.share("portuguese", "male")
agg_share_portuguese_female = task.share("portuguese", "female")
agg_share_spanish_male = task.share("spanish", "male")
agg_share_spanish_female = task.share("spanish", "female")
agg_share_male = task.share(gender="male")
agg_share_female = task.share(gender="female")
agg_share_arabic = task.share(culture="arabic")
agg_share_chinese = task.share(culture="chinese")
agg_share_portuguese = task.share(culture="portuguese")
agg_share_spanish = task.share(culture="spanish")
agg_share_gender_gap = task.gender_gap
agg_share_gender_gap_ci_low, agg_share_gender_gap_ci_high, agg_share_gender_gap_ci_undefined = task.GENDER_GAP_CI
agg_share_culture_range = task.culture_range
agg_share_culture_range_ci_low, agg_share_culture_range_ci_high, agg_share_culture_range_ci_undefined = (
    task.CULTURE_RANGE_CI
)
agg_disparity_ratio = task.disparity_ratio
agg_disparity_chi2_p = task.disparity_chi2_p
