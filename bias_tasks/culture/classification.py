"""Label-word classification: parse a model's answer into a label, score labels by macro-F1.

lm-eval's built-in `f1` is binary, so tasks emit one `(gold, prediction, label_set)` tuple per
document and `macro_f1` computes scikit-learn's macro F1 over the dataset's whole label set. An
answer that names no label (or two different ones) is a prediction of no label: it stays in the
denominator and counts as wrong, and `invalid_rate` reports how often that happened.
"""

from __future__ import annotations

import math
import re
import unicodedata
from typing import Any, Hashable, Iterable, Mapping, Sequence

# Tokens that turn a following positive label into its negation ("not offensive", "isn't spam":
# "isn't" tokenises as "isn", "t").
NEGATORS = frozenset({"not", "no", "non", "never", "t"})
# What an invalid prediction is called inside scikit-learn (never a label of any dataset).
INVALID = "<invalid>"
_TOKEN = re.compile(r"[^\W_]+")

Item = tuple[Hashable, Hashable | None, Sequence[Hashable]]


def tokens(text: str) -> list[str]:
    """Case-folded words and numbers; underscores, hyphens and punctuation separate them ("NOT_OFF" -> not, off)."""
    return _TOKEN.findall(unicodedata.normalize("NFKC", text).casefold())


def parse_label(answer: Any, phrases: Mapping[str, Sequence[str]], negative: str | None = None) -> str | None:
    """The one label an answer names, or None.

    `phrases` maps each label to the words that name it ("NOT": ["NOT_OFF", "not offensive"]).
    Phrases match as whole words in any case anywhere in the answer, longest first, so "NOT_OFF"
    is never read as "OFF". A positive phrase right after a negator ("not OFF") means `negative`.
    No label, or two different labels (an answer that echoes the instruction), give None.
    """
    if not isinstance(answer, str):
        return None
    words = tokens(answer)
    patterns = sorted(
        ((tokens(phrase), label) for label, options in phrases.items() for phrase in options if tokens(phrase)),
        key=lambda pattern: -len(pattern[0]),
    )
    found: set[str] = set()
    position = 0
    while position < len(words):
        for pattern, label in patterns:
            if words[position : position + len(pattern)] == pattern:
                negated = position > 0 and words[position - 1] in NEGATORS
                found.add(negative if negated and negative is not None and label != negative else label)
                position += len(pattern)
                break
        else:
            position += 1
    return found.pop() if len(found) == 1 else None


def macro_f1(items: Iterable[Item]) -> float:
    """Macro F1 over the union of the items' label sets; None predictions count as wrong.

    A label that is never predicted, or never in the gold, still counts (with F1 0 when it has no
    true positive), as in scikit-learn with an explicit label list. No items give NaN.
    """
    from sklearn.metrics import f1_score

    items = list(items)
    if not items:
        return math.nan
    labels: list[Hashable] = []
    for _, _, label_set in items:
        labels.extend(label for label in label_set if label not in labels)
    gold = [g for g, _, _ in items]
    predicted = [INVALID if p is None else p for _, p, _ in items]
    return float(f1_score(gold, predicted, labels=labels, average="macro", zero_division=0))


def argmax_label(loglikelihoods: Sequence[float], label_set: Sequence[str]) -> str:
    """The label whose answer word the model finds most likely (first one on ties)."""
    best = max(range(len(label_set)), key=lambda index: (loglikelihoods[index], -index))
    return label_set[best]
