"""The culture tasks' prompt: CultureLLM's "just say X, otherwise say Y" question, and the paper's persona cue.

The wording lives with the task (the registry holds only data facts). `TASK_VERSION` is the task
YAMLs' `metadata.version` (written by scripts/make_culture_tasks.py), part of every result's key:
bump it whenever a prompt's text changes, so results computed with another wording never match
(tests/test_culture_tasks.py pins the prompts of each version).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Mapping

from bias_inheritance.data.culture_registry import BY_KEY, SCHEMES, CultureDataset
from bias_inheritance.data.opinions import culture_prefix

TASK_VERSION = "1.0"

# What each question asks about the sentence, in CultureLLM's words ("is spam tweet", "has improper
# speech"). CDial-Bias and BiasFignews, which CultureLLM phrases ungrammatically or not at all, ask
# whether the sentence "expresses bias on gender" / "expresses bias against a party or group".
CONDITIONS: Mapping[str, str] = MappingProxyType(
    {
        "offensive_ar_mp": "is offensive",
        "offensive_pt_offcombr": "is offensive",
        "offensive_es_ami": "is offensive",
        "hate_ar_osact4": "has hate speech",
        # HateBR's file in the collection carries its offensive layer (OFF/NOT), so it is asked as such.
        "hate_pt_hatebr": "is offensive",
        "hate_es_hateval2019": "has hate speech",
        "spam_ar_asht": "is spam tweet",
        "spam_zh_ccs": "is spam tweet",
        "vulgar_ar_mp": "has vulgar speech",
        "bias_ar_biasfignews": "expresses bias against a party or group",
        "bias_zh_cdialbias": "expresses bias on gender",
        "bias_pt_toldbr_homophobia": "has homophobia speech",
        "bias_pt_toldbr_misogyny": "has misogyny speech",
        "bias_es_detoxis_improper": "has improper speech",
        "abusive_pt_toldbr_insult": "has insult speech",
        "abusive_es_detoxis_insult": "has insult speech",
    }
)
if set(CONDITIONS) != set(BY_KEY):  # a dataset without a question would fail only at evaluation time
    raise ValueError(f"CONDITIONS and the registry differ: {sorted(set(CONDITIONS) ^ set(BY_KEY))}")

# What follows the question; the answer (generated or scored) comes after it.
ANSWER_CUE = "\nAnswer:"


def instruction(dataset: CultureDataset, text: str, persona: bool = False) -> str:
    """CultureLLM-style question asking for one label word, optionally after the culture persona."""
    scheme = SCHEMES[dataset.scheme]
    pos, neg = scheme.words[scheme.positive], scheme.words[scheme.negative]
    body = (f'if the following sentence {CONDITIONS[dataset.key]}, just say "{pos}", otherwise, say "{neg}" '
            f"without explanation: {text.strip()}")
    return f"{culture_prefix(dataset.culture)} {body[0].upper()}{body[1:]}" if persona else body
