"""Which base run a run's fine-tuning delta is against, and why a run has none.

A change means something only between runs that scored the same prompts on the same documents:
the same prompt format (lm-eval applies the chat template to a whole run, and a model scores very
differently with and without it), the same `--limit`, and the same evaluation data where both runs
record it. A run gets a delta only against the run with role "base" of the same base model that
matches on all three; where there is none, or several (which one is meant is not guessed), it gets
no delta and a note that says why.
"""

from __future__ import annotations

from dataclasses import dataclass

from leaderboard.provenance import source_identity
from leaderboard.results import RunRecord


@dataclass(frozen=True)
class Comparison:
    """A row's base (None: no Δ), and the note saying why there is none (None: the row is the base)."""

    base: RunRecord | None
    note: str | None


def _limit_text(limit: object) -> str:
    return "no limit" if limit is None else f"limit {limit:g}" if isinstance(limit, float) else f"limit {limit}"


def _same_limit(a: object, b: object) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return float(a) == float(b)  # type: ignore[arg-type]


def _data_differences(record: RunRecord, base: RunRecord) -> list[str]:
    """Families both runs name a source for, where the sources differ (by content hash where recorded)."""
    differences = []
    for family in sorted(set(record.sources) & set(base.sources)):
        ours, theirs = source_identity(record.sources[family]), source_identity(base.sources[family])
        if ours != theirs:
            ours_text, theirs_text = record.eval_data[family], base.eval_data[family]
            if ours_text == theirs_text:  # same place, other content
                ours_text, theirs_text = f"{ours_text} sha256 {ours[:12]}", f"{theirs_text} sha256 {theirs[:12]}"
            differences.append(f"{family}: {ours_text} vs {theirs_text}")
    return differences


def _where(record: RunRecord) -> str:
    return f"format {record.format or 'unknown'}, {_limit_text(record.limit)}"


def same_model(a: RunRecord, b: RunRecord) -> bool:
    """The same base model, where both files name one."""
    ours, theirs = a.provenance["model"], b.provenance["model"]
    return ours is None or theirs is None or ours == theirs


def same_conditions(a: RunRecord, b: RunRecord) -> bool:
    """Scored on the same prompts and documents: a known, equal format, the same limit and evaluation data."""
    return (a.format is not None and a.format == b.format and _same_limit(a.limit, b.limit)
            and not _data_differences(a, b))


def _compare(record: RunRecord, records: list[RunRecord]) -> Comparison:
    chosen = [r for r in records if r.role == "base" and same_model(r, record)]
    if record.format is None:
        return Comparison(None, "its results file does not record the prompt format (chat or plain).")
    matching = [r for r in chosen if r.format == record.format and _same_limit(r.limit, record.limit)]
    if len(matching) > 1:
        labels = ", ".join(r.label for r in matching)
        return Comparison(None, f"several base runs in {_where(record)} ({labels}).")
    if any(r is record for r in matching):
        return Comparison(None, None)
    if not matching:
        others = "; ".join(f"{r.label}: {_where(r)}" for r in chosen)
        return Comparison(None, f"no base run in {_where(record)}" + (f" (bases: {others})." if others else "."))
    base = matching[0]
    differ = _data_differences(record, base)
    if differ:
        return Comparison(None, f"the base {base.label} read other evaluation data ({'; '.join(differ)}).")
    return Comparison(base, None)


def comparisons(records: list[RunRecord]) -> list[Comparison]:
    """One Comparison per record, in order."""
    return [_compare(record, records) for record in records]
