"""Each training row's score: cosine similarity of its feature to the probe set's features.

As LESS scores a training point against a validation set: both sides are L2-normalised, so a
score is a cosine; a row's score is the mean over probes (or the max, `reduce="max"`: the one
probe it resembles most). Training features are streamed chunk by chunk; probe sets are small and
held whole. A zero feature (a row whose loss has no gradient) scores 0.
"""

from __future__ import annotations

from pathlib import Path

import torch

from bias_inheritance.errors import UserError
from attribution.feature_store import feature_card, read_features

REDUCTIONS = ("mean", "max")
# What both sides must share for their cosines to mean anything: the same model, adapter and projection.
_SHARED = ("model", "adapter", "projection")
_SHARED_SETTINGS = ("projection_dim", "seed")


def _check_comparable(train_features: Path, probe_features: Path) -> None:
    train, probe = feature_card(train_features)["inputs"], feature_card(probe_features)["inputs"]
    differ = [n for n in _SHARED if train.get(n) != probe.get(n)]
    differ += [f"settings.{n}" for n in _SHARED_SETTINGS if train["settings"].get(n) != probe["settings"].get(n)]
    if differ:
        raise UserError(f"{train_features} and {probe_features} were taken differently ({', '.join(differ)} differ).",
                        "take training and probe features with the same model, adapter, projection_dim and seed.")


def score_rows(train_features: Path, probe_features: Path, reduce: str = "mean") -> dict[str, float]:
    """{training row id: its mean (or max) cosine similarity to the probes}, in row order."""
    if reduce not in REDUCTIONS:
        raise UserError(f"Unknown reduction {reduce!r}.", f"use one of: {', '.join(REDUCTIONS)}.")
    _check_comparable(train_features, probe_features)
    probes = torch.cat([chunk for _, chunk in read_features(probe_features)]).double()
    probes = torch.nn.functional.normalize(probes, dim=1)
    scores: dict[str, float] = {}
    for ids, chunk in read_features(train_features):
        cosines = torch.nn.functional.normalize(chunk.double(), dim=1) @ probes.T
        reduced = cosines.mean(dim=1) if reduce == "mean" else cosines.amax(dim=1)
        scores.update(zip(ids, reduced.tolist()))
    return scores
