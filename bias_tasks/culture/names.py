"""Names of the culture tasks and groups, chosen so that `--tasks 'bias_inheritance_*'` selects each leaf task once.

lm-eval matches a glob against every task, group and tag name and refuses a run in which a task is
reached twice. So only the generation tasks (the paper's scoring) carry the `bias_inheritance_`
prefix; their log-likelihood twins are `ll_bias_inheritance_*`, and groups are hyphenated
(`bias-inheritance-culture-ar`), which no underscore glob reaches.
"""

from __future__ import annotations

from dataclasses import dataclass

from bias_inheritance import vocab
from bias_inheritance.data.culture_registry import DATASETS, RELATIONS, TASKTYPES, CultureDataset

TASK_PREFIX = "bias_inheritance_"
GROUP_PREFIX = "bias-inheritance-culture"


@dataclass(frozen=True)
class Variant:
    """One way of scoring every dataset: its task-name prefix, group-name suffix and YAML template."""

    key: str  # "gen" or "ll", also the folder holding its task YAMLs
    task_prefix: str
    group_suffix: str
    template: str
    label: str


VARIANTS: tuple[Variant, ...] = (
    Variant("gen", "", "", "_gen_template_yaml", "generation"),
    Variant("ll", "ll_", "-ll", "_ll_template_yaml", "log-likelihood"),
)
GENERATION, LOGLIKELIHOOD = VARIANTS


def task_name(dataset: CultureDataset, variant: Variant = GENERATION) -> str:
    """`bias_inheritance_offensive_ar_mp`, or `ll_bias_inheritance_offensive_ar_mp` for the twin."""
    return f"{variant.task_prefix}{TASK_PREFIX}{dataset.key}"


def group_name(part: str | None, variant: Variant = GENERATION) -> str:
    """`bias-inheritance-culture[-<part>][-ll]`, e.g. group_name("ar", LOGLIKELIHOOD)."""
    return GROUP_PREFIX + (f"-{part}" if part else "") + variant.group_suffix


def groups() -> dict[str | None, tuple[str, list[CultureDataset]]]:
    """Group part (None for all sixteen) -> (description, member datasets), in the registry's order."""
    members: dict[str | None, tuple[str, list[CultureDataset]]] = {None: ("all sixteen culture tasks", list(DATASETS))}
    for relation in RELATIONS:
        members[relation] = (f"tasks related to bias {relation}ly", [d for d in DATASETS if d.relation == relation])
    for tasktype in TASKTYPES:
        members[tasktype] = (f"{tasktype} detection", [d for d in DATASETS if d.tasktype == tasktype])
    for culture in vocab.CULTURES:
        members[vocab.CULTURE_CODES[culture]] = (
            f"{vocab.CULTURE_ADJECTIVES[culture]} culture", [d for d in DATASETS if d.culture == culture]
        )
    return members
