"""Names shared by every stage and every task, written once.

lm-eval passes `--metadata` keys to each task's `custom_dataset` loader: the data-folder key of each
data family is named here, and the tasks, the evaluator and the pipeline all use these constants,
so no task can read one key while the evaluator records another.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

# Data families and the `--metadata` key that points a task at another prepared folder.
DATA_FAMILIES: tuple[str, ...] = ("gender", "culture", "opinions", "crows_pairs")
DATA_DIR_KEYS: Mapping[str, str] = MappingProxyType({family: f"{family}_data_dir" for family in DATA_FAMILIES})

# Card file names: `card.json` inside a folder output, `<name>.card.json` beside a file output.
FOLDER_CARD = "card.json"
CARD_SUFFIX = ".card.json"

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
# What a user may ask for: "auto" is the chat format when the model has a chat template, else plain.
AUTO_FORMAT = "auto"
FORMAT_CHOICES: tuple[str, ...] = (AUTO_FORMAT, *PROMPT_FORMATS)


def data_dir_key(family: str) -> str:
    """The `--metadata` key naming the prepared folder of `family` (e.g. "gender_data_dir")."""
    try:
        return DATA_DIR_KEYS[family]
    except KeyError:
        raise ValueError(f"unknown data family {family!r}; known: {', '.join(DATA_FAMILIES)}") from None

# The provenance every card carries in `summary["provenance"]` and every leaderboard row shows.
# A stage fills what it knows and copies the rest from its parents' cards; None means "not known".
RUN_PROVENANCE_FIELDS: tuple[str, ...] = (
    "model",  # identity of the base model (see identity.model_identity)
    "data_sha256",  # content hash of the training set D (or of the evaluated data)
    "data_source",  # label of D_o's source; "(SYNTHETIC SAMPLE)" marks bundled sample data
    "bias",  # the bias family of D: "gender" or "culture"
    "culture",  # a culture run's culture: the one whose D_o rows the adapter trains on (None for gender)
    "bias_type",  # bias type number of D_a (None for D_o only)
    "gamma",  # requested bias ratio
    "gamma_realised",  # |D_a| / |D| after rounding
    "mitigation",
    "round",
    "continued",  # True when training continued an earlier adapter (a previous round's) instead of a fresh LoRA
    "seed",
    "format",  # prompt format, one of PROMPT_FORMATS
    "generator",  # identity of the model that generated D_a
)

# lm-eval model types an evaluation may use: transformers, or vLLM on a GPU (adapters as LoRA requests).
EVAL_BACKENDS: tuple[str, ...] = ("hf", "vllm")

# The `metadata:` key in a task YAML naming the data family the task reads (absent: none).
TASK_DATA_FAMILY_KEY = "data_family"

# Bootstrap intervals of group statistics are reported as extra metrics (lm-eval prints "N/A" as the
# stderr of custom aggregations): `<metric>_ci_low`, `<metric>_ci_high`, and `<metric>_ci_undefined`,
# the number of resamples where the statistic was undefined.
CI_LOW_SUFFIX = "_ci_low"
CI_HIGH_SUFFIX = "_ci_high"
CI_UNDEFINED_SUFFIX = "_ci_undefined"
INTERVAL_SUFFIXES: tuple[str, ...] = (CI_LOW_SUFFIX, CI_HIGH_SUFFIX, CI_UNDEFINED_SUFFIX)
