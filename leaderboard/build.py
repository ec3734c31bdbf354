"""Records -> leaderboard.csv (one row per run, every metric and its change against the base)
and leaderboard.md (provenance table, then one table per task)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_text
from bias_inheritance.provenance import package_versions
from leaderboard.results import RunRecord, discover, load_record

PROVENANCE_COLUMNS = (
    "model", "adapter", "eval_data", "train_data_sha256", "train_data_source", "bias_type", "gamma",
    "mitigation", "round", "seed", "limit", "lm_eval", "transformers", "date",
)


def choose_base(records: list[RunRecord], base: str | None) -> RunRecord | None:
    if base is not None:
        matches = [r for r in records if r.label == base]
        if not matches:
            raise UserError(f"No run labelled {base!r}.", f"use one of: {', '.join(r.label for r in records)}.")
        return matches[0]
    bases = [r for r in records if r.role == "base"]
    return bases[0] if len(bases) >= 1 else None


def to_frame(records: list[RunRecord], base: RunRecord | None) -> pd.DataFrame:
    """Wide table: provenance columns, then for each task/metric its value and Δ against the base."""
    metric_names = sorted({name for r in records for name in r.metrics})
    rows = []
    for record in records:
        row: dict = {"label": record.label, "role": record.role}
        row.update({col: record.provenance.get(col) for col in PROVENANCE_COLUMNS})
        row["sample_data"] = record.provenance.get("sample_data", False)
        for name in metric_names:
            value = record.metrics.get(name)
            row[name] = value
            if base is not None:
                reference = base.metrics.get(name)
                row[f"{name} Δ"] = None if value is None or reference is None else value - reference
        row["results_file"] = record.path
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in PROVENANCE_COLUMNS:  # keep ints as ints (pandas would turn a column with gaps into floats)
        frame[col] = pd.Series([row[col] for row in rows], dtype=object)
    order = {"base": 0}
    frame["_order"] = frame["role"].map(lambda r: order.get(r, 1))
    return frame.sort_values(["_order", "label"], kind="stable").drop(columns="_order").reset_index(drop=True)


def _fmt(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _fmt_provenance(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{value:g}" if isinstance(value, float) else str(value)


def _fmt_delta(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return "–"
    return f"{float(value):+.4f}"


def _markdown_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def to_markdown(frame: pd.DataFrame, base: RunRecord | None, skipped: list[Path]) -> str:
    parts = ["# bias-inheritance leaderboard", ""]
    if frame["sample_data"].any():
        parts += ["> **Warning:** rows marked ⚠ were evaluated on the bundled synthetic sample: a smoke test, "
                  "not a measurement.", ""]
    parts += [f"Changes (Δ) are against **{base.label}**." if base else "No base run: no changes are shown.", ""]
    parts += ["## Runs", ""]
    header = ["run", "role"] + list(PROVENANCE_COLUMNS)
    rows = []
    for _, r in frame.iterrows():
        label = ("⚠ " if r["sample_data"] else "") + str(r["label"])
        sha = r["train_data_sha256"]
        cells = [label, str(r["role"])] + [
            (str(sha)[:12] if col == "train_data_sha256" and isinstance(sha, str) else _fmt_provenance(r[col]))
            for col in PROVENANCE_COLUMNS
        ]
        rows.append(cells)
    parts += [_markdown_table(header, rows), ""]
    metric_columns = [c for c in frame.columns if "/" in c and not c.endswith(" Δ") and c != "results_file"]
    for task in sorted({c.split("/", 1)[0] for c in metric_columns}):
        names = [c for c in metric_columns if c.split("/", 1)[0] == task]
        header = ["run"] + [n.split("/", 1)[1] + (" (Δ)" if base else "") for n in names]
        rows = []
        for _, r in frame.iterrows():
            cells = [str(r["label"])]
            for n in names:
                cell = _fmt(r[n])
                if base is not None and f"{n} Δ" in frame.columns:
                    cell += f" ({_fmt_delta(r[f'{n} Δ'])})"
                cells.append(cell)
            rows.append(cells)
        parts += [f"## {task}", "", _markdown_table(header, rows), ""]
    versions = package_versions()
    parts += [f"Built by bias-inheritance {versions['bias-inheritance']} (lm-eval {versions['lm-eval']}).", ""]
    if skipped:
        parts += [f"Skipped {len(skipped)} JSON file(s) that are not lm-eval results: "
                  + ", ".join(p.name for p in skipped[:10]) + ("…" if len(skipped) > 10 else ""), ""]
    return "\n".join(parts)


def build_leaderboard(inputs: list[Path], out_dir: Path, base: str | None = None) -> list[Path]:
    """Read results files or folders, write leaderboard.csv and leaderboard.md into `out_dir`."""
    files, skipped = discover(inputs)
    records = [load_record(p) for p in files]
    chosen = choose_base(records, base)
    frame = to_frame(records, chosen)
    out_dir = Path(out_dir)
    csv_path, md_path = out_dir / "leaderboard.csv", out_dir / "leaderboard.md"
    atomic_write_text(csv_path, frame.to_csv(index=False))
    atomic_write_text(md_path, to_markdown(frame, chosen, skipped))
    return [md_path, csv_path]
