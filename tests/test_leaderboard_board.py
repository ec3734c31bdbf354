"""The board built from the long table: inheritance and fine-tuning deltas, paired bootstrap
intervals from per-sample logs, plain lm-eval files and external pairs beside ours, escaping.

Every expected number is computed by hand from the values written into the files, or by scipy.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from bias_inheritance.errors import UserError
from leaderboard.build import add_external, build_board
from leaderboard.long_table import LONG_COLUMNS, load_board, long_table
from leaderboard.paired import NORMAL, PAIRED, Z

BIOS = "bias_inheritance_gender_bios"
ARC = "arc_easy"
N_DOCS = 120
DATE = "2026-03-01T10-20-30.123456"


def lm_eval_results(folder: Path, tasks: dict[str, dict[str, Any]], *, pretrained: str, peft: str | None = None,
                    date: str = DATE, samples: dict[str, list[dict]] | None = None, block: dict | None = None,
                    n: int = N_DOCS) -> Path:
    """What `lm_eval --model hf --output_path DIR --log_samples` 0.4.13 writes: DIR/<model>/results_<date>.json
    and samples_<task>_<date>.jsonl beside it."""
    model_args = f"pretrained={pretrained}" + (f",peft={peft}" if peft else "")
    raw = {
        "results": {name: {"alias": name, **values} for name, values in tasks.items()},
        "group_subtasks": {name: [] for name in tasks},
        "configs": {name: {"task": name, "output_type": "multiple_choice", "metric_list": [
            {"metric": "acc", "aggregation": "mean", "higher_is_better": True}],
            "metadata": {"version": 1.0, **({"data_family": "gender"} if name == BIOS else {})}}
            for name in tasks},
        "versions": {name: 1.0 for name in tasks},
        "n-shot": {name: 0 for name in tasks},
        "higher_is_better": {name: {"acc": True} for name in tasks},
        "n-samples": {name: {"original": 2376, "effective": n} for name in tasks},
        "config": {"model": "hf", "model_args": model_args, "model_num_parameters": 134515008,
                   "model_dtype": "torch.float32", "model_revision": "main", "model_sha": "", "batch_size": "8",
                   "batch_sizes": [], "device": "cpu", "use_cache": None, "limit": float(n), "bootstrap_iters": 100000,
                   "gen_kwargs": {}, "random_seed": 0, "numpy_seed": 1234, "torch_seed": 1234, "fewshot_seed": 1234},
        "git_hash": None, "date": 1772360430.5, "pretty_env_info": "PyTorch version: 2.5.1+cpu",
        "transformers_version": "4.57.1", "lm_eval_version": "0.4.13", "upper_git_hash": None,
        "tokenizer_pad_token": ["<|endoftext|>", "0"], "tokenizer_eos_token": ["<|endoftext|>", "0"],
        "tokenizer_bos_token": ["<|endoftext|>", "0"], "eot_token_id": 0, "max_length": 2048,
        "task_hashes": {name: "0" * 64 for name in tasks}, "model_source": "hf", "model_name": pretrained,
        "model_name_sanitized": pretrained.replace("/", "__"), "system_instruction": None,
        "system_instruction_sha": None, "fewshot_as_multiturn": False, "chat_template": None,
        "chat_template_sha": None, "start_time": 100.0, "end_time": 160.0, "total_evaluation_time_seconds": "60.0",
    }
    if block is not None:
        raw["bias_inheritance"] = block
    out = folder / pretrained.replace("/", "__")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"results_{date}.json"
    path.write_text(json.dumps(raw, indent=2), encoding="utf-8")
    for task, rows in (samples or {}).items():
        (out / f"samples_{task}_{date}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def sample(doc_id: int, **metrics: Any) -> dict[str, Any]:
    """One line of lm-eval's per-sample log (multiple_choice, filter "none")."""
    return {"doc_id": doc_id, "doc": {"question": f"q{doc_id}"}, "target": 0,
            "arguments": {"gen_args_0": {"arg_0": f"q{doc_id}", "arg_1": " a"}},
            "resps": [[["-1.0", "False"]]], "filtered_resps": [["-1.0", "False"]], "filter": "none",
            "metrics": list(metrics), "doc_hash": "h", "prompt_hash": "p", "target_hash": "t", **metrics}


def block(label: str, role: str, gamma: float | None, seed: int | None, *, bias_type: int | None = None,
          mitigation: str | None = None) -> dict[str, Any]:
    """This harness's provenance block, with the adapter card's provenance as a sweep writes it."""
    provenance = {"model": None, "gamma": gamma, "seed": seed, "round": 0 if gamma is not None else None,
                  "bias_type": bias_type, "mitigation": mitigation, "format": "plain", "bias": "gender"}
    return {"label": label, "role": role, "format": "plain", "limit": N_DOCS,
            "model": {"kind": "hub", "hub_id": "org/tiny", "revision": "main"},
            "adapter": None if role == "base" else f"/runs/{label}",
            "adapter_card": None if role == "base" else {"summary": {"provenance": provenance}},
            "data_sources": {"gender": {"label": "hub:bios", "synthetic": False, "verified": True}}}


def run(folder: Path, label: str, role: str, gamma: float | None, seed: int | None, correct: np.ndarray,
        gap: float, **extra: Any) -> Path:
    """A run of ours scored on N_DOCS documents; `correct` are the per-document acc values."""
    acc = float(correct.mean())
    tasks = {BIOS: {"acc,none": acc, "acc_stderr,none": float(correct.std(ddof=1) / math.sqrt(len(correct))),
                    "acc_male,none": acc + gap / 2, "acc_female,none": acc - gap / 2, "acc_gap,none": gap,
                    "acc_gap_ci_low,none": gap - 0.1, "acc_gap_ci_high,none": gap + 0.1,
                    "acc_gap_ci_undefined,none": 0, "synthetic_sample,none": 0.0, "unverified_data,none": 0.0}}
    samples = {BIOS: [sample(i, acc=float(c)) for i, c in enumerate(correct)]}
    return lm_eval_results(folder / label, tasks, pretrained="org/tiny", peft=None if role == "base" else f"/runs/{label}",
                           samples=samples, block=block(label, role, gamma, seed, **extra))


@pytest.fixture(scope="module")
def grid(tmp_path_factory) -> dict[str, Any]:
    """base, two seeds of (γ = 0 control, γ = 0.5 bias type 4), with per-sample logs; seed 2's tuned run has none."""
    root = tmp_path_factory.mktemp("grid")
    rng = np.random.default_rng(7)
    docs = {name: (rng.random(N_DOCS) < p).astype(float) for name, p in
            [("base", 0.5), ("c1", 0.6), ("t1", 0.7), ("c2", 0.55), ("t2", 0.8)]}
    paths = {
        "base": run(root, "base", "base", None, None, docs["base"], 0.10),
        "c1": run(root, "control-s1", "finetuned", 0.0, 1, docs["c1"], 0.05),
        "t1": run(root, "t4-g05-s1", "finetuned", 0.5, 1, docs["t1"], 0.25, bias_type=4, mitigation="none"),
        "c2": run(root, "control-s2", "finetuned", 0.0, 2, docs["c2"], 0.00),
        "t2": run(root, "t4-g05-s2", "finetuned", 0.5, 2, docs["t2"], 0.30, bias_type=4, mitigation="none"),
    }
    next(paths["t2"].parent.glob("samples_*.jsonl")).unlink()  # seed 2's tuned run kept no per-sample log
    return {"root": root, "docs": docs, "paths": paths, "board": load_board([root])}


def rows(table: pd.DataFrame, run: str, metric: str, group: str = "") -> pd.Series:
    found = table[(table["run"] == run) & (table["metric"] == metric) & (table["group"] == group)]
    assert len(found) == 1, found
    return found.iloc[0]


def test_long_table_has_the_contract_columns_roles_groups_and_hand_computed_deltas(grid):
    board, docs = grid["board"], grid["docs"]
    table = board.table
    assert tuple(table.columns) == LONG_COLUMNS
    roles = dict(zip(table["run"], table["role"]))
    assert roles == {"base": "base", "control-s1": "control", "t4-g05-s1": "finetuned", "control-s2": "control",
                     "t4-g05-s2": "finetuned"}
    tuned = rows(table, "t4-g05-s1", "acc")
    assert tuned["control_run"] == "control-s1" and rows(table, "t4-g05-s2", "acc")["control_run"] == "control-s2"
    assert tuned["inheritance_delta"] == pytest.approx(docs["t1"].mean() - docs["c1"].mean())
    assert tuned["finetune_delta"] == pytest.approx(docs["t1"].mean() - docs["base"].mean())
    assert (tuned["gamma"], tuned["seed"], tuned["round"], tuned["bias_type"], tuned["bias"], tuned["n"]) == (
        0.5, 1.0, 0.0, "4", "gender", N_DOCS)
    assert (tuned["model"], tuned["data_source"], tuned["marks"]) == ("org/tiny@main", "hub:bios", "")
    male = rows(table, "t4-g05-s1", "acc", "male")
    assert male["inheritance_delta"] == pytest.approx((docs["t1"].mean() + 0.125) - (docs["c1"].mean() + 0.025))
    gap = rows(table, "t4-g05-s1", "acc_gap")
    assert (gap["value"], gap["interval_low"], gap["interval_high"]) == pytest.approx((0.25, 0.15, 0.35))
    assert gap["inheritance_delta"] == pytest.approx(0.20) and gap["finetune_delta"] == pytest.approx(0.15)
    control = rows(table, "control-s1", "acc")
    assert math.isnan(control["inheritance_delta"]) and control["finetune_delta"] == pytest.approx(
        docs["c1"].mean() - docs["base"].mean())
    assert table[table["metric"].str.contains("synthetic|unverified|_ci_")].empty  # marks and bounds are no metrics
    assert table[table["role"] == "base"]["finetune_delta"].isna().all()


def test_paired_bootstrap_interval_agrees_with_scipy_and_the_normal_fallback_is_hand_computed(grid):
    board, docs = grid["board"], grid["docs"]
    table = board.table.assign(method=board.methods)
    tuned = rows(table, "t4-g05-s1", "acc")
    assert tuned["method"] == PAIRED
    reference = stats.bootstrap((docs["t1"], docs["c1"]), lambda x, c, axis=-1: x.mean(axis=axis) - c.mean(axis=axis),
                                paired=True, vectorized=True, method="percentile", n_resamples=20000,
                                random_state=np.random.default_rng(0)).confidence_interval
    # two Monte Carlo estimates of the same percentiles (ours: 1,000 resamples)
    assert tuned["inheritance_low"] == pytest.approx(reference.low, abs=0.012)
    assert tuned["inheritance_high"] == pytest.approx(reference.high, abs=0.012)
    # seed 2's tuned run has no per-sample log: Δ ± z·√(se₁² + se₂²) from the two stderrs
    other = rows(table, "t4-g05-s2", "acc")
    se = [docs[k].std(ddof=1) / math.sqrt(N_DOCS) for k in ("t2", "c2")]
    delta = docs["t2"].mean() - docs["c2"].mean()
    assert other["method"] == NORMAL
    assert (other["inheritance_low"], other["inheritance_high"]) == pytest.approx(
        (delta - Z * math.hypot(*se), delta + Z * math.hypot(*se)))
    # a gap without per-sample items of ours: the stderr implied by each reported 95 % interval
    gap = rows(table, "t4-g05-s1", "acc_gap")
    half = Z * math.hypot(0.1 / Z, 0.1 / Z)
    assert gap["method"] == NORMAL and (gap["inheritance_low"], gap["inheritance_high"]) == pytest.approx(
        (0.2 - half, 0.2 + half))


def test_a_group_gap_is_bootstrapped_paired_with_the_task_s_own_aggregation(tmp_path):
    """Control: every man's biography misclassified; tuned: every man's right, women unchanged. Every resample
    with both genders gives a gap change of exactly 1, so the paired interval is [1, 1]."""
    genders = ["male", "female"] * 20
    women = [float(i % 3 == 0) for i in range(20)]
    items = {
        "control": [[g, "nurse", 0.0 if g == "male" else women[i // 2], 0.0] for i, g in enumerate(genders)],
        "tuned": [[g, "nurse", 1.0 if g == "male" else women[i // 2], 0.0] for i, g in enumerate(genders)],
    }
    paths = []
    for label, gamma in (("control", 0.0), ("tuned", 0.5)):
        gap = float(np.mean([i[2] for i in items[label] if i[0] == "male"]) - np.mean(women))
        tasks = {BIOS: {"acc_gap,none": gap}}
        samples = {BIOS: [sample(i, acc_gap=item) for i, item in enumerate(items[label])]}
        paths.append(lm_eval_results(tmp_path / label, tasks, pretrained="org/tiny", peft=f"/runs/{label}",
                                     samples=samples, block=block(label, "finetuned", gamma, 1), n=len(genders)))
    board = load_board([tmp_path])
    table = board.table.assign(method=board.methods)
    gap = rows(table, "tuned", "acc_gap")
    assert gap["method"] == PAIRED and gap["control_run"] == "control"
    assert (gap["inheritance_delta"], gap["inheritance_low"], gap["inheritance_high"]) == pytest.approx((1.0, 1.0, 1.0))


def test_build_board_writes_markdown_csv_json_with_spread_over_seeds_gaps_and_methods(grid, tmp_path):
    written = build_board([grid["root"]], tmp_path / "board")
    assert {k: p.name for k, p in written.items() if k != "html"} == {
        "md": "leaderboard.md", "csv": "leaderboard.csv", "json": "leaderboard.json"}
    csv = pd.read_csv(written["csv"], keep_default_na=False, na_values=[""])
    assert tuple(csv.columns) == LONG_COLUMNS and len(csv) == len(grid["board"].table)
    document = json.loads(written["json"].read_text())
    assert [r["run"] for r in document["runs"]] == list(dict.fromkeys(grid["board"].table["run"]))
    runs = {r["run"]: r for r in document["runs"]}
    assert runs["t4-g05-s1"]["provenance"]["gamma"] == 0.5 and runs["t4-g05-s1"]["role"] == "finetuned"
    assert runs["t4-g05-s1"]["results_file"] == str(grid["paths"]["t1"].resolve())
    assert {r["interval_method"] for r in document["rows"]} == {PAIRED, NORMAL, None}
    text = written["md"].read_text()
    docs = grid["docs"]
    deltas = [docs["t1"].mean() - docs["c1"].mean(), docs["t2"].mean() - docs["c2"].mean()]
    line = next(l for l in text.splitlines() if l.startswith("| org/tiny@main | gender | 4 | 0.5 | none | 0 | acc | all |"))
    assert f"{np.mean(deltas):+.4f} ± {np.std(deltas, ddof=1):.4f} (2 seeds)" in line
    assert "- `acc_gap` = acc of men − acc of women (positive: higher for men)" in text
    assert "paired bootstrap over the documents both runs scored" in text and "normal interval" in text
    assert "## Fine-tuning delta (base → fine-tuned)" in text


def test_plain_lm_eval_results_and_an_external_pair_appear_beside_ours(grid, tmp_path):
    board = tmp_path / "board"
    build_board([grid["root"]], board)
    theirs = tmp_path / "theirs"
    arc = lambda acc: {ARC: {"acc,none": acc, "acc_stderr,none": 0.01, "acc_norm,none": acc - 0.05,  # noqa: E731
                             "acc_norm_stderr,none": 0.01}}
    base = lm_eval_results(theirs / "base", arc(0.60), pretrained="other/llm-7b",
                           samples={ARC: [sample(i, acc=1.0, acc_norm=0.0) for i in range(3)]}, n=3)
    tuned = lm_eval_results(theirs / "tuned", arc(0.72), pretrained="other/llm-7b", peft="me/lora",
                            date="2026-03-02T00-00-00.000001", n=3)
    written = add_external(base, tuned, "Other LLM", board)
    table = pd.read_csv(written["csv"], keep_default_na=False, na_values=[""])
    ext = table[table["run"] == "Other LLM (tuned)"]
    assert set(ext["role"]) == {"external-tuned"} and set(table[table["run"] == "Other LLM (base)"]["role"]) == {"external-base"}
    acc = ext[ext["metric"] == "acc"].iloc[0]
    assert acc["finetune_delta"] == pytest.approx(0.12) and pd.isna(acc["inheritance_delta"])
    assert (acc["stderr"], acc["n"], acc["model"]) == (0.01, 3, "other/llm-7b")
    assert set(table["run"]) >= {"t4-g05-s1", "base"}  # ours still there
    copied = sorted(p.relative_to(board / "entries").as_posix() for p in (board / "entries").rglob("*") if p.is_file())
    assert [p.split("/", 1)[1] for p in copied] == [
        f"base/results_{DATE}.json", f"base/samples_{ARC}_{DATE}.jsonl", "external.json",
        "tuned/results_2026-03-02T00-00-00.000001.json"]
    assert "| Other LLM (tuned) | external-tuned | acc | all | 0.7200 ±0.0100 | +0.1200 | 3 |" in written["md"].read_text()
    again = add_external(base, tuned, "Other LLM", board)  # the same pair again: replaced, not doubled
    assert len(pd.read_csv(again["csv"])) == len(table)
    alone = add_external(base, tuned, "Other LLM", tmp_path / "new-board")  # a board that starts with an external pair
    assert set(pd.read_csv(alone["csv"])["run"]) == {"Other LLM (base)", "Other LLM (tuned)"}


def test_a_corrupt_or_foreign_file_is_refused_and_the_board_stays(grid, tmp_path):
    board = tmp_path / "board"
    build_board([grid["root"]], board)
    before = {p.name: p.read_bytes() for p in board.iterdir() if p.is_file()}
    foreign = tmp_path / "foreign.json"
    foreign.write_text('{"accuracy": 0.9}')
    with pytest.raises(UserError, match="foreign.json is not an lm-eval results file"):
        add_external(grid["paths"]["base"], foreign, "x", board)
    broken = grid["root"] / "broken" / "results_x.json"
    broken.parent.mkdir()
    broken.write_text('{"results": ')
    try:
        with pytest.raises(UserError, match=r"broken/results_x\.json is not valid JSON"):
            build_board([grid["root"]], board)
    finally:
        broken.unlink()
        broken.parent.rmdir()
    assert {p.name: p.read_bytes() for p in board.iterdir() if p.is_file() and p.name != ".lock"} == before
    assert not (board / "entries").exists()


def test_strings_from_results_files_are_escaped_in_markdown(tmp_path):
    evil = "evil|name`<script>alert(1)</script>\n# heading [x](javascript:y)"
    arc = {ARC: {"acc,none": 0.5, "acc_stderr,none": 0.01}}
    base = lm_eval_results(tmp_path / "r", arc, pretrained=evil.replace("/", ""), n=10)
    written = build_board([tmp_path / "r"], tmp_path / "board")
    text = written["md"].read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "evil\\|name\\`" in text and "](javascript" not in text
    assert not any(line.startswith("# heading") for line in text.splitlines())
    assert long_table([base])["model"].iloc[0] == evil.replace("/", "")  # the table keeps the raw value
