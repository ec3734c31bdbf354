"""Names shared by every stage and every task, written once.

lm-eval passes `--metadata` keys to each task's `custom_dataset` loader: the data-folder key of each
data family is named here, and the tasks, the evaluator and the pipeline all use these constants,
so no task can read one key while the evaluator records another.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

# Data families and the `--metadata` key that points a task at another prepared folder.
DATA_FAMILIES: tuple[str, ...] = ("gender", "culture")
DATA_DIR_KEYS: Mapping[str, str] = MappingProxyType({family: f"{family}_data_dir" for family in DATA_FAMILIES})

# The block this harness adds to lm-eval's results JSON.
PROVENANCE_KEY = "bias_inheritance"

# Metric names reserved for provenance. They are the only provenance a plain `lm_eval` run keeps
# (its results hold metric values only), so every task reports them and the leaderboard turns them
# into marks on a row instead of metric columns.
SYNTHETIC_SAMPLE_METRIC = "synthetic_sample"  # share of documents from data written for this project
UNVERIFIED_DATA_METRIC = "unverified_data"  # share of documents from data whose checksums did not match
PROVENANCE_METRICS: tuple[str, ...] = (SYNTHETIC_SAMPLE_METRIC, UNVERIFIED_DATA_METRIC)

# Prompt formats. A run uses one for every task (lm-eval applies the chat template to a whole run),
# and training uses the same one, so a model is scored in the format it learned.
CHAT_FORMAT = "chat"
PLAIN_FORMAT = "plain"
PROMPT_FORMATS: tuple[str, ...] = (CHAT_FORMAT, PLAIN_FORMAT)


def data_dir_key(family: str) -> str:
    """The `--metadata` key naming the prepared folder of `family` (e.g. "gender_data_dir")."""
    try:
        return DATA_DIR_KEYS[family]
    except KeyError:
        raise ValueError(f"unknown data family {family!r}; known: {', '.join(DATA_FAMILIES)}") from None
