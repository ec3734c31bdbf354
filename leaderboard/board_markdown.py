"""The board's Markdown: provenance and marks of every run (from `markdown`), then three views of
the long table: the inheritance delta against the γ = 0 control (with the spread over seeds), the
fine-tuning delta (base → fine-tuned, shown apart; all an external pair gets), and the change of
each group gap with its definition and sign. Every figure shows its n and its interval or stderr.
"""

from __future__ import annotations

import math
from typing import Iterable, Mapping

import pandas as pd

from leaderboard.groups import gap_definition
from leaderboard.long_table import Board
from leaderboard.markdown import MISSING, escape, inputs_header, row_order, run_sections, short_names, table
from leaderboard.paired import NORMAL, PAIRED

CELL = ("model", "bias", "culture", "bias_type", "gamma", "mitigation", "round")  # what seeds of one cell share
_CELL_HEADERS = ("model", "bias", "culture", "bias type", "γ", "mitigation", "round")
METHODS: Mapping[str, str] = {
    PAIRED: "paired bootstrap over the documents both runs scored (per-sample logs; documents resampled "
            "with replacement, 1,000 resamples, seeded; 95 % percentile interval)",
    NORMAL: "normal interval Δ ± 1.96·√(se₁² + se₂²) from each run's stderr (or the standard error implied by "
            "its 95 % bootstrap interval): used where a run has no per-sample log; it ignores the pairing",
}


def _number(value: float, sign: str = "") -> str:
    return MISSING if value is None or math.isnan(value) else f"{value:{sign}.4f}"


def _interval(low: float, high: float) -> str:
    return "" if math.isnan(low) or math.isnan(high) else f" [{_number(low, '+')}, {_number(high, '+')}]"


def _value(row: pd.Series) -> str:
    cell = _number(row["value"])
    if not math.isnan(row["stderr"]):
        cell += f" ±{_number(row['stderr'])}"
    if not (math.isnan(row["interval_low"]) or math.isnan(row["interval_high"])):
        cell += f" [{_number(row['interval_low'])}, {_number(row['interval_high'])}]"
    return cell


def _n(values: Iterable[float]) -> str:
    found = sorted({int(v) for v in values if not math.isnan(v)})
    return MISSING if not found else str(found[0]) if len(found) == 1 else f"{found[0]}–{found[-1]}"


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return MISSING
    return f"{value:g}" if isinstance(value, float) else str(value)


def _spread(values: pd.Series, sign: str = "") -> str:
    """mean ± sd over seeds (sd with n − 1)."""
    values = values.dropna()
    if values.empty:
        return MISSING
    return f"{_number(values.mean(), sign)} ± {_number(values.std(ddof=1))} ({len(values)} seeds)"


def _inheritance(board: Board, short: Mapping[str, str]) -> list[str]:
    frame = board.table.assign(method=board.methods)
    tuned = frame[(frame["role"] == "finetuned") & frame["inheritance_delta"].notna()]
    parts = [
        "## Inheritance (Δ against the γ = 0 control of the same seed)", "",
        "Δ = a fine-tuned run's value − the value of the γ = 0 control of the same seed, base model, bias, "
        "culture and round (trained on the same data without augmented rows), scored on the same prompts and documents. "
        "This isolates the effect of the biased data from that of fine-tuning. Intervals:", "",
        *(f"- {name}: {text}" for name, text in METHODS.items() if name in set(tuned["method"])), "",
    ]
    if tuned.empty:
        return parts + ["No fine-tuned run has a γ = 0 control on this board.", ""]
    shown = [(c, h) for c, h in zip(CELL, _CELL_HEADERS)  # a board of gender runs has no culture column
             if c != "culture" or tuned["culture"].fillna("").astype(str).str.len().any()]
    cell_columns, cell_headers = [c for c, _ in shown], [h for _, h in shown]
    for task, rows in tuned.groupby("task", sort=True):
        body = []
        keys = [*cell_columns, "metric", "group"]
        for key, cell in rows.groupby(keys, sort=True, dropna=False):
            seeds = cell["seed"].nunique(dropna=False)
            if len(cell) > 1:
                value, change = _spread(cell["value"]), _spread(cell["inheritance_delta"], "+")
                method = "spread over seeds"
            else:
                row = cell.iloc[0]
                value = _value(row)
                change = _number(row["inheritance_delta"], "+") + _interval(row["inheritance_low"], row["inheritance_high"])
                method = row["method"] or "no interval"
            control = ", ".join(sorted(set(cell["control_run"].dropna())))
            body.append([*(_text(v) for v in key[:len(cell_columns)]), key[-2], key[-1] or "all", str(seeds),
                         value, change, _n(cell["n"]), control, method,
                         ", ".join(sorted(set(cell["marks"]) - {""})) or MISSING])
        parts += [f"### {escape(short.get(task, task))}", "",
                  table([*cell_headers, "metric", "group", "seeds", "value", "inheritance Δ", "n", "control",
                         "interval", "marks"], body), ""]
    return parts


def _finetune(board: Board, short: Mapping[str, str]) -> list[str]:
    frame = board.table
    rows = frame[frame["finetune_delta"].notna()]
    parts = [
        "## Fine-tuning delta (base → fine-tuned)", "",
        "Δ = the run's value − its base model's (same prompt format, limit and evaluation data). It mixes "
        "the effect of fine-tuning with that of the biased data; for an external base/tuned pair it is "
        "the only delta. The value's ± is lm-eval's stderr, [ ] the task's bootstrap interval.", "",
    ]
    if rows.empty:
        return parts + ["No run has a base on this board.", ""]
    for task, part in rows.groupby("task", sort=True):
        body = [[r["run"], r["role"], r["metric"], r["group"] or "all", _value(r), _number(r["finetune_delta"], "+"),
                 _n([r["n"]]), r["marks"] or MISSING] for _, r in part.iterrows()]
        parts += [f"### {escape(short.get(task, task))}", "",
                  table(["run", "role", "metric", "group", "value", "fine-tuning Δ", "n", "marks"], body), ""]
    return parts


def _gaps(board: Board) -> list[str]:
    frame = board.table.assign(method=board.methods)
    definitions = {m: d for m in sorted(set(frame["metric"])) if (d := gap_definition(m)) is not None}
    changed = frame[frame["metric"].isin(list(definitions)) & (frame["inheritance_delta"].notna() | frame["finetune_delta"].notna())]
    if changed.empty:
        return []
    parts = ["## Group gaps", "", "Each gap, its definition and sign; the change of a gap is the fine-tuned run's "
             "gap − the control's (inheritance) or − the base's (fine-tuning):", ""]
    parts += [f"- `{escape(metric)}` = {escape(definition)} ({escape(sign)})" for metric, (definition, sign) in definitions.items()]
    body = [[r["run"], r["task"], r["metric"], _value(r),
             _number(r["inheritance_delta"], "+") + _interval(r["inheritance_low"], r["inheritance_high"]),
             r["method"] or MISSING, _number(r["finetune_delta"], "+"), _n([r["n"]])] for _, r in changed.iterrows()]
    header = ["run", "task", "gap", "value", "inheritance Δ", "interval", "fine-tuning Δ", "n"]
    return parts + ["", table(header, body), ""]


def _without_control(board: Board) -> list[str]:
    if not board.notes:
        return []
    rows = [[run, note] for run, note in sorted(board.notes.items())]
    return ["## Fine-tuned runs without an inheritance Δ", "", table(["run", "why"], rows), ""]


def render_board(board: Board, versions: Mapping[str, str], generated: str) -> str:
    """The whole Markdown page of a board."""
    records = board.records
    order = row_order(records)
    short = short_names({name for r in records for name in r.tasks})
    parts = inputs_header(records, board.names, versions, generated) + run_sections(records, board.names, order, short)
    parts += _inheritance(board, short) + _gaps(board) + _finetune(board, short) + _without_control(board)
    return "\n".join(parts)
