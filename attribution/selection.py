"""Top p % selection and how well it finds the planted rows: coverage and precision (SPEC §7).

coverage(p) = |selected ∩ planted| / |planted|, precision(p) = |selected ∩ planted| / |selected|,
with the top ⌈p · n⌉ rows by score selected. A mixed dataset knows its planted rows (origin
"augmented"), so any ranking can be scored against them; the random baseline is exact (the
hypergeometric expectation and its 95 % range), not simulated.
"""

from __future__ import annotations

import hashlib
import math
from typing import Iterable, Mapping, Sequence

from scipy.stats import hypergeom

from bias_inheritance.errors import UserError

# The selection fractions the curves report (SPEC §7: 35 % recovered over 99.5 % in the paper).
FRACTIONS: tuple[float, ...] = (0.05, 0.10, 0.20, 0.35, 0.50)


def selected_count(fraction: float, rows: int) -> int:
    """Rows in the top `fraction` of `rows` (at least one when there are rows)."""
    if not 0 < fraction <= 1:
        raise UserError(f"The selected share {fraction} is outside (0, 1].", "pass e.g. --top 0.35.")
    return min(rows, max(1, math.ceil(fraction * rows - 1e-9))) if rows else 0


def _tie_break(row_id: str) -> str:
    """Equal scores are ordered by a hash of the id: deterministic, and not by the mix's order."""
    return hashlib.sha256(row_id.encode("utf-8")).hexdigest()


def ranking(scores: Mapping[str, float]) -> list[str]:
    """Row ids from the highest score down; a NaN score ranks last."""
    return sorted(scores, key=lambda i: (-(scores[i] if not math.isnan(scores[i]) else -math.inf), _tie_break(i)))


def top(scores: Mapping[str, float], fraction: float) -> list[str]:
    return ranking(scores)[:selected_count(fraction, len(scores))]


def coverage_precision(ranked: Sequence[str], planted: set[str], fraction: float) -> dict[str, float]:
    """Coverage and precision of the top `fraction` of a ranking against the planted rows."""
    k = selected_count(fraction, len(ranked))
    hits = len(set(ranked[:k]) & planted)
    return {"p": fraction, "selected": k, "hits": hits,
            "coverage": hits / len(planted) if planted else math.nan, "precision": hits / k if k else math.nan}


def curve(ranked: Sequence[str], planted: set[str], fractions: Iterable[float] = FRACTIONS) -> list[dict[str, float]]:
    return [coverage_precision(ranked, planted, p) for p in fractions]


def random_curve(rows: int, planted: int, fractions: Iterable[float] = FRACTIONS) -> list[dict[str, float]]:
    """A uniformly random selection of k rows: hits ~ Hypergeometric(n, |planted|, k); its mean and 95 % range."""
    out = []
    for p in fractions:
        k = selected_count(p, rows)
        law = hypergeom(rows, planted, k)
        low, high = (float(v) for v in law.interval(0.95))
        out.append({"p": p, "selected": k, "hits": float(law.mean()),
                    "coverage": k / rows if planted else math.nan, "precision": planted / rows,
                    "coverage_low": low / planted if planted else math.nan,
                    "coverage_high": high / planted if planted else math.nan,
                    "precision_low": low / k, "precision_high": high / k})
    return out
