"""Leaderboard from hand-built results files: plain `lm_eval` files and this harness's, old and new.

Every expected number below is computed by hand from the values written into the files.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bias_inheritance.cards import card_path, write_card
from bias_inheritance.errors import UserError
from bias_inheritance.io import sha256_file
from bias_inheritance.provenance import package_versions
from leaderboard.build import build_leaderboard
from leaderboard.metrics import Measurement, parse_task
from leaderboard.results import load_record

BIOS, HIRING, SALARY = "bias_inheritance_gender_bios", "bias_inheritance_hiring", "bias_inheritance_salary"
CULTURE_GEN = ("bias_inheritance_hate_ar_osact4", "bias_inheritance_offensive_es_ami", "bias_inheritance_spam_zh_ccs")
CULTURE_LL = tuple(f"ll_{name}" for name in CULTURE_GEN)
ENV = "PyTorch version: 2.5.1+cpu\nIs debug build: False"
ABSENT = object()


def entry(name: str, filter_name: str = "none", **metrics: Any) -> dict[str, Any]:
    """One `results[task]` mapping as lm-eval writes it."""
    return {"alias": name, **{f"{metric},{filter_name}": value for metric, value in metrics.items()}}


def bios(acc: float, male: float, female: float, synthetic: float = 0.0) -> dict[str, Any]:
    return entry(BIOS, acc=acc, acc_stderr=0.01, acc_male=male, acc_male_stderr="N/A", acc_female=female,
                 acc_gap=male - female, synthetic_sample=synthetic, synthetic_sample_stderr=0.0, unverified_data=0.0)


def results_file(
    path: Path,
    tasks: dict[str, dict[str, Any]],
    *,
    pretrained: str = "org/model-7b",
    peft: str | None = None,
    chat_template: Any = None,
    limit: Any = None,
    configs: dict[str, Any] | None = None,
    group_subtasks: dict[str, list[str]] | None = None,
    block: dict[str, Any] | None = None,
) -> Path:
    """What `lm_eval --output_path` writes (chat_template is ABSENT for files written without lm-eval's CLI)."""
    raw: dict[str, Any] = {
        "results": tasks,
        "group_subtasks": group_subtasks or {},
        "configs": configs or {},
        "versions": {name: 1.0 for name in tasks},
        "n-shot": {name: 0 for name in tasks},
        "higher_is_better": {name: {} for name in tasks},
        "n-samples": {name: {"original": 120, "effective": 120} for name in tasks},
        "config": {"model": "hf", "model_args": f"pretrained={pretrained}" + (f",peft={peft}" if peft else ""),
                   "limit": limit, "device": "cpu", "model_dtype": "torch.float32"},
        "date": 1795389961.0,
        "pretty_env_info": ENV,
        "transformers_version": "4.57.1",
        "lm_eval_version": "0.4.13",
    }
    if chat_template is not ABSENT:
        raw["chat_template"] = chat_template
    if block is not None:
        raw["bias_inheritance"] = block
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(raw), encoding="utf-8")
    return path


def our_block(label: str, role: str, fmt: str = "chat", limit: Any = None, **extra: Any) -> dict[str, Any]:
    """The provenance block `bias-inheritance evaluate` adds (current format)."""
    return {
        "label": label, "role": role, "format": fmt, "limit": limit,
        "model": {"kind": "hub", "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "revision": "main"},
        "adapter": None, "adapter_card": None,
        "data_sources": {"gender": {"label": "hub:gender-bios (verified)", "synthetic": False, "verified": True}},
        "versions": {"lm-eval": "0.4.13", "transformers": "4.57.1", "torch": "2.5.1", "bias-inheritance": "0.3.0"},
        "device": "cuda", "dtype": "bfloat16", **extra,
    }


def md_table(text: str, heading: str) -> list[dict[str, str]]:
    """The rows of the Markdown table under `heading`, as dicts keyed by its header."""
    lines = text.split(heading + "\n", 1)[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next((i for i in range(start, len(lines)) if not lines[i].startswith("|")), len(lines))
    rows = lines[start:end]

    def cells(line: str) -> list[str]:
        return [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]

    header = cells(rows[0])
    return [dict(zip(header, cells(row))) for row in rows[2:]]


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path).set_index("label")


# --- plain lm_eval files --------------------------------------------------------------------------------------------

def test_plain_lm_eval_runs_get_labels_roles_provenance_and_hand_computed_deltas(tmp_path):
    base = results_file(tmp_path / "results_base.json", {BIOS: bios(0.50, 0.60, 0.40)})
    tuned = results_file(tmp_path / "results_tuned.json", {BIOS: bios(0.55, 0.70, 0.35)}, peft="/runs/lora-g05")
    md, csv = build_leaderboard([tuned, base], tmp_path / "board")
    assert (md.name, csv.name) == ("leaderboard.md", "leaderboard.csv")
    frame = read_csv(csv)
    assert list(frame.index) == ["model-7b", "lora-g05"] and list(frame["role"]) == ["base", "finetuned"]
    tuned_row = frame.loc["lora-g05"]
    assert tuned_row[f"{BIOS}/acc Δ"] == pytest.approx(0.55 - 0.50)
    assert tuned_row[f"{BIOS}/acc_gap Δ"] == pytest.approx((0.70 - 0.35) - (0.60 - 0.40))
    assert tuned_row[f"{BIOS}/acc_female Δ"] == pytest.approx(0.35 - 0.40)
    assert tuned_row["delta_against"] == "model-7b" and pd.isna(tuned_row["delta_note"])
    assert pd.isna(frame.loc["model-7b", f"{BIOS}/acc Δ"])  # the base has no change against itself
    assert (tuned_row["format"], tuned_row["model"], tuned_row["adapter"]) == ("plain", "org/model-7b", "/runs/lora-g05")
    assert (tuned_row["lm-eval"], tuned_row["transformers"], tuned_row["torch"]) == ("0.4.13", "4.57.1", "2.5.1+cpu")
    assert pd.isna(tuned_row["bias-inheritance"]) and pd.isna(tuned_row["gamma"])  # not recorded: not made up
    assert (tuned_row["evaluated"], tuned_row["device"]) == ("2026-11-22 23:26 UTC", "cpu")

    text = md.read_text(encoding="utf-8")
    table = md_table(text, f"### {BIOS}")
    assert table[1] == {
        "run": "lora-g05", "acc": "0.5500 ±0.0100 (+0.0500)", "acc_female": "0.3500 (-0.0500)",
        "acc_gap": "0.3500 (+0.1500)", "acc_male": "0.7000 (+0.1000)",
    }
    assert table[0]["acc"] == "0.5000 ±0.0100"
    runs = md_table(text, "## Runs")
    assert (runs[0]["γ"], runs[0]["marks"], runs[0]["format"]) == ("–", "–", "plain")
    assert md_table(text, "## Evaluation environment")[0] == {
        "run": "model-7b", "eval data": "–", "device": "cpu", "dtype": "torch.float32", "lm-eval": "0.4.13",
        "transformers": "4.57.1", "torch": "2.5.1+cpu", "bias-inheritance": "–", "evaluated": "2026-11-22 23:26 UTC"}
    assert "⚠" not in text  # real, verified data carries no mark


def test_provenance_metrics_are_marks_naming_tasks_not_columns(tmp_path):
    hate, ami, _ = CULTURE_GEN
    path = results_file(tmp_path / "results_x.json", {
        BIOS: bios(0.5, 0.6, 0.4, synthetic=1.0),
        HIRING: entry(HIRING, share_gender_gap=0.1, synthetic_sample=0.5, unverified_data=0.0),
        hate: entry(hate, macro_f1=0.4, synthetic_sample=0.0, unverified_data=1.0),
        ami: entry(ami, macro_f1=0.6, synthetic_sample=0.0, unverified_data=0.0),
    }, chat_template="{{ messages }}")
    md, csv = build_leaderboard([path], tmp_path / "board")
    frame = pd.read_csv(csv)
    assert not [c for c in frame.columns if "/synthetic_sample" in c or "/unverified_data" in c]
    row = frame.iloc[0]
    assert row["synthetic_sample_tasks"] == f"{BIOS};{HIRING}" and row["unverified_data_tasks"] == hate
    assert row["format"] == "chat"
    text = md.read_text(encoding="utf-8")
    assert md_table(text, "## Runs")[0]["marks"] == (
        "⚠ synthetic sample: gender_bios, hiring (50%); ⚠ unverified data: hate_ar_osact4")
    assert "> **⚠ synthetic sample**: rows so marked were evaluated (in the tasks named) on the bundled sample" in text
    assert "> **⚠ unverified data**: rows so marked were evaluated" in text
    assert md_table(text, f"### {BIOS}")[0]["run"] == "⚠ model-7b"
    # the two culture tasks (no task config: same measurements) share one table; one of them is marked
    assert md_table(text, "### other tasks: macro_f1")[0] == {
        "run": "⚠ model-7b", "hate_ar_osact4": "0.4000", "offensive_es_ami": "0.6000"}


def test_a_mark_on_every_task_and_a_format_other_than_training_are_named(tmp_path):
    provenance = {"format": "plain", "bias_type": 4}
    path = results_file(tmp_path / "results_x.json", {
        BIOS: bios(0.5, 0.6, 0.4, synthetic=1.0), HIRING: entry(HIRING, share_gender_gap=0.1, synthetic_sample=1.0),
    }, chat_template=ABSENT, block=our_block("t", "finetuned", adapter_card={"summary": {"provenance": provenance}}))
    md, _ = build_leaderboard([path], tmp_path / "board")
    assert md_table(md.read_text(encoding="utf-8"), "## Runs")[0]["marks"] == (
        "⚠ synthetic sample: all 2 tasks; ⚠ trained in plain format, evaluated in chat")


def test_older_files_without_provenance_metrics_are_marked_from_their_source_records(tmp_path):
    block = our_block("base", "base")
    block["data_sources"] = {"gender": {"label": "bundled sample", "synthetic": True},
                             "culture": {"label": "culture dir", "verified": False}}
    results_file(tmp_path / "results_old.json", {BIOS: entry(BIOS, acc=0.5)}, block=block)
    md, csv = build_leaderboard([tmp_path / "results_old.json"], tmp_path / "board")
    row = pd.read_csv(csv).iloc[0]
    assert (row["synthetic_sample_tasks"], row["unverified_data_tasks"]) == ("gender data", "culture data")
    assert md_table(md.read_text(encoding="utf-8"), "## Runs")[0]["marks"] == (
        "⚠ synthetic sample: gender data; ⚠ unverified data: culture data")


# --- this harness's provenance block --------------------------------------------------------------------------------

def test_every_row_carries_the_provenance_of_its_block_and_cards(tmp_path):
    sha = "ab" * 32
    provenance = {
        "model": {"kind": "hub", "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct", "revision": "main"},
        "data_sha256": sha, "data_source": "hub:gender-bios", "bias_type": 4, "gamma": 0.2,
        "gamma_realised": 0.2083, "mitigation": "none", "round": 0, "seed": 3, "format": "chat",
        "generator": {"kind": "local", "sha256": "cd" * 32},
    }
    card = write_card(tmp_path / "results" / "tuned.json", "evaluate", {"task": "bios"}, summary={})
    results_file(tmp_path / "results" / "base.json", {BIOS: bios(0.5, 0.6, 0.4)}, chat_template=ABSENT,
                 block=our_block("base", "base"))
    results_file(tmp_path / "results" / "tuned.json", {BIOS: bios(0.6, 0.8, 0.4)}, chat_template=ABSENT,
                 block=our_block("lora-t4", "finetuned", adapter="/runs/a", card=str(card_path(tmp_path / "results" / "tuned.json")),
                                 adapter_card={"summary": {"provenance": provenance}}))
    md, csv = build_leaderboard([tmp_path / "results"], tmp_path / "board")  # the folder: its card is passed over
    frame = pd.read_csv(csv, dtype=str).set_index("label")
    tuned = frame.loc["lora-t4"]
    assert dict(tuned[["model", "adapter", "format", "data_sha256", "data_source", "bias_type", "gamma", "gamma_realised",
                       "mitigation", "round", "seed", "generator", "eval_data", "device", "dtype", "lm-eval",
                       "transformers", "torch", "bias-inheritance", "card_key"]]) == {
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct@main", "adapter": "/runs/a", "format": "chat",
        "data_sha256": sha, "data_source": "hub:gender-bios", "bias_type": "4", "gamma": "0.2",
        "gamma_realised": "0.2083", "mitigation": "none", "round": "0", "seed": "3",
        "generator": f"local sha256:{'cd' * 32}", "eval_data": "gender: hub:gender-bios (verified)", "device": "cuda",
        "dtype": "bfloat16", "lm-eval": "0.4.13", "transformers": "4.57.1", "torch": "2.5.1",
        "bias-inheritance": "0.3.0", "card_key": card["key"],
    }
    assert pd.isna(frame.loc["base", "bias_type"]) and pd.isna(frame.loc["base", "limit"])
    text = md.read_text(encoding="utf-8")
    runs = {row["run"]: row for row in md_table(text, "## Runs")}
    assert (runs["lora-t4"]["data sha256"], runs["lora-t4"]["γ"], runs["lora-t4"]["γ realised"]) == (
        "abababababab…", "0.2", "0.2083")
    assert (runs["base"]["bias type"], runs["base"]["seed"], runs["base"]["limit"]) == ("–", "–", "–")
    assert md_table(text, f"### {BIOS}")[1]["acc_gap"] == "0.4000 (+0.2000)"
    assert "Skipped" not in text


def test_older_blocks_with_run_card_and_apply_chat_template_are_read(tmp_path):
    block = {
        "label": "lora-old", "role": "finetuned", "model": {"model": "/cache/smollm2", "hub_id": "HuggingFaceTB/SmolLM2"},
        "adapter": "/runs/a", "limit": 20, "apply_chat_template": True,
        "data_sources": {"gender": {"kind": "hub", "synthetic": False}},
        "run_card": {"mitigation": "none", "round": 0, "seed": 3,
                     "data": {"sha256": "ef" * 32, "gamma": 0.2, "bias_types": [4, 5], "source": {"kind": "hub"}}},
        "versions": {"lm-eval": "0.4.13"},
    }
    path = results_file(tmp_path / "results_x.json", {BIOS: bios(0.5, 0.6, 0.4)}, chat_template=ABSENT, block=block)
    p = load_record(path).provenance
    assert (p["model"], p["format"], p["limit"], p["bias_type"], p["gamma"], p["gamma_realised"], p["seed"]) == (
        "HuggingFaceTB/SmolLM2", "chat", 20, "4, 5", 0.2, None, 3)
    assert (p["data_sha256"], p["data_source"], p["eval_data"], p["transformers"]) == (
        "ef" * 32, "hub", "gender: hub", "4.57.1")  # transformers from lm-eval's own field


# --- which base a Δ is against --------------------------------------------------------------------------------------

def _runs(tmp_path: Path, specs: list[tuple[str, str, str, Any, float]]) -> list[Path]:
    """(label, role, format, limit, acc) -> results files of this harness."""
    return [
        results_file(tmp_path / f"{i}-{label}.json", {BIOS: entry(BIOS, acc=acc)}, chat_template=ABSENT,
                     block=our_block(label, role, fmt, limit))
        for i, (label, role, fmt, limit, acc) in enumerate(specs)
    ]


def test_deltas_are_only_against_a_base_of_the_same_format_and_limit(tmp_path):
    paths = _runs(tmp_path, [
        ("base-chat", "base", "chat", None, 0.50), ("base-plain", "base", "plain", None, 0.30),
        ("tuned-chat", "finetuned", "chat", None, 0.65), ("tuned-plain", "finetuned", "plain", None, 0.20),
        ("tuned-chat-20", "finetuned", "chat", 20, 0.90),
    ])
    md, csv = build_leaderboard(paths, tmp_path / "board")
    frame = read_csv(csv)
    assert list(frame.index) == ["base-chat", "tuned-chat", "tuned-chat-20", "base-plain", "tuned-plain"]
    deltas = frame[f"{BIOS}/acc Δ"]
    assert deltas["tuned-chat"] == pytest.approx(0.15) and deltas["tuned-plain"] == pytest.approx(-0.10)
    assert deltas[["base-chat", "base-plain", "tuned-chat-20"]].isna().all()
    assert frame["delta_against"].fillna("–").to_dict() == {
        "base-chat": "–", "tuned-chat": "base-chat", "tuned-chat-20": "–", "base-plain": "–", "tuned-plain": "base-plain"}
    note = "no base run in format chat, limit 20 (bases: base-chat: format chat, no limit; base-plain: format plain, no limit)."
    assert frame.loc["tuned-chat-20", "delta_note"] == note
    changes = {row["run"]: row for row in md_table(md.read_text(encoding="utf-8"), "## Changes (Δ)")}
    assert changes["tuned-chat-20"] == {"run": "tuned-chat-20", "Δ against": "–", "note": "no Δ: " + note}
    assert changes["base-plain"]["note"] == "the base of its format and limit"


def test_base_label_picks_the_base_when_a_format_has_several(tmp_path):
    paths = _runs(tmp_path, [
        ("base-a", "base", "chat", None, 0.50), ("base-b", "base", "chat", None, 0.40),
        ("tuned", "finetuned", "chat", None, 0.45), ("tuned-plain", "finetuned", "plain", None, 0.45),
    ])
    frame = read_csv(build_leaderboard(paths, tmp_path / "board")[1])
    assert f"{BIOS}/acc Δ" not in frame.columns  # no row has a base
    assert frame.loc["tuned", "delta_note"] == "several base runs in format chat, no limit (base-a, base-b): pick one with --base LABEL."
    assert frame.loc["tuned-plain", "delta_note"] == (
        "no base run in format plain, no limit (bases: base-a: format chat, no limit; base-b: format chat, no limit).")

    frame = read_csv(build_leaderboard(paths, tmp_path / "board", base="base-b")[1])
    assert frame.loc["tuned", f"{BIOS}/acc Δ"] == pytest.approx(0.05)
    assert frame.loc["base-a", f"{BIOS}/acc Δ"] == pytest.approx(0.10)  # now an ordinary row against base-b
    assert frame.loc["tuned-plain", "delta_note"] == "no run labelled 'base-b' in format plain, no limit (bases: base-b: format chat, no limit)."


def test_repeated_labels_are_told_apart_by_format_then_file(tmp_path):
    paths = _runs(tmp_path / "a", [("m", "base", "chat", None, 0.5), ("m", "base", "plain", None, 0.4)])
    paths += _runs(tmp_path / "b", [("m", "base", "plain", None, 0.3)])
    text = build_leaderboard(paths, tmp_path / "board")[0].read_text(encoding="utf-8")
    assert [row["run"] for row in md_table(text, f"### {BIOS}")] == [
        "m (chat)", f"m (plain) ({paths[1]})", f"m (plain) ({paths[2]})"]


def test_unknown_format_or_other_evaluation_data_gives_no_delta(tmp_path):
    base = results_file(tmp_path / "base.json", {BIOS: entry(BIOS, acc=0.5)}, chat_template=ABSENT,
                        block=our_block("base", "base"))
    other = our_block("other-data", "finetuned")
    other["data_sources"] = {"gender": {"label": "local folder /data/bios", "synthetic": False}}
    other_data = results_file(tmp_path / "other.json", {BIOS: entry(BIOS, acc=0.7)}, chat_template=ABSENT, block=other)
    unknown = results_file(tmp_path / "unknown.json", {BIOS: entry(BIOS, acc=0.6)}, chat_template=ABSENT, peft="/runs/x")
    frame = read_csv(build_leaderboard([base, other_data, unknown], tmp_path / "board")[1])
    assert f"{BIOS}/acc Δ" not in frame.columns  # no row has a base, so there is no Δ column
    assert frame.loc["x", "delta_note"] == "its results file does not record the prompt format (chat or plain)."
    assert frame.loc["other-data", "delta_note"] == (
        "the base base read other evaluation data (gender: local folder /data/bios vs hub:gender-bios (verified)).")


def test_the_same_folder_with_other_content_gives_no_delta(tmp_path):
    def source(sha: str) -> dict[str, Any]:  # what source.json holds: fields, no label
        return {"gender": {"kind": "dir", "location": "/data/bios", "synthetic": False, "content_sha256": sha}}

    base = results_file(tmp_path / "base.json", {BIOS: entry(BIOS, acc=0.5)}, chat_template=ABSENT,
                        block=our_block("base", "base", data_sources=source("1" * 64)))
    same = results_file(tmp_path / "same.json", {BIOS: entry(BIOS, acc=0.6)}, chat_template=ABSENT,
                        block=our_block("same", "finetuned", data_sources=source("1" * 64)))
    other = results_file(tmp_path / "other.json", {BIOS: entry(BIOS, acc=0.7)}, chat_template=ABSENT,
                         block=our_block("other", "finetuned", data_sources=source("2" * 64)))
    frame = read_csv(build_leaderboard([base, same, other], tmp_path / "board")[1])
    assert frame.loc["same", f"{BIOS}/acc Δ"] == pytest.approx(0.1) and frame.loc["same", "eval_data"] == "gender: dir:/data/bios"
    assert pd.isna(frame.loc["other", f"{BIOS}/acc Δ"])
    assert frame.loc["other", "delta_note"] == (
        "the base base read other evaluation data (gender: dir:/data/bios sha256 222222222222 vs dir:/data/bios sha256 111111111111).")


def test_unknown_base_and_missing_inputs_are_user_errors(tmp_path):
    path = results_file(tmp_path / "results_a.json", {BIOS: bios(0.5, 0.6, 0.4)})
    with pytest.raises(UserError, match=r"No run labelled 'nope'\. Fix: use one of: model-7b\."):
        build_leaderboard([path], tmp_path / "b", base="nope")
    with pytest.raises(UserError, match="missing.json does not exist"):
        build_leaderboard([tmp_path / "missing.json"], tmp_path / "b")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No lm-eval results files in .*empty\\. Fix: pass the files"):
        build_leaderboard([tmp_path / "empty"], tmp_path / "b")


# --- task tables, intervals, CSV columns ----------------------------------------------------------------------------

def _culture_configs() -> dict[str, Any]:
    gen = {name: {"task": name, "output_type": "generate_until", "metadata": {"version": 1.0, "data_family": "culture"}}
           for name in CULTURE_GEN}
    ll = {name: {"task": name, "output_type": "multiple_choice", "metadata": {"version": 1.0, "data_family": "culture"}}
          for name in CULTURE_LL}
    salary = {SALARY: {"task": SALARY, "output_type": "generate_until", "metadata": {"data_family": "gender"}}}
    return {**gen, **ll, **salary}


def _culture_run(path: Path, label: str, role: str, f1: list[float], gap: tuple[float, float, float, float]) -> Path:
    tasks = {name: entry(name, macro_f1=f, macro_f1_stderr="N/A", invalid_rate=0.1, synthetic_sample=0.0)
             for name, f in zip(CULTURE_GEN, f1)}
    tasks |= {name: entry(name, macro_f1=f + 0.1, invalid_rate=0.0) for name, f in zip(CULTURE_LL, f1)}
    tasks["bias-inheritance-culture"] = entry("bias-inheritance-culture", macro_f1=sum(f1) / 3, invalid_rate=0.1)
    value, low, high, undefined = gap
    tasks[SALARY] = entry(SALARY, salary_gap=value, salary_gap_ci_low=low, salary_gap_ci_high=high,
                          salary_gap_ci_undefined=undefined, salary_male=80000.0)
    return results_file(path, tasks, chat_template=ABSENT, configs=_culture_configs(),
                        group_subtasks={"bias-inheritance-culture": list(CULTURE_GEN)}, block=our_block(label, role))


def test_culture_tasks_share_one_table_per_measurement_and_intervals_fold_into_cells(tmp_path):
    base = _culture_run(tmp_path / "base.json", "base", "base", [0.40, 0.50, 0.60], (1000.0, 500.0, 1500.0, 0.0))
    tuned = _culture_run(tmp_path / "tuned.json", "tuned", "finetuned", [0.45, 0.40, 0.60], (3000.0, 2000.0, 4000.0, 3.0))
    md, csv = build_leaderboard([base, tuned], tmp_path / "board")
    text = md.read_text(encoding="utf-8")
    assert re.findall(r"^### (.*)$", text, flags=re.M) == [
        SALARY,
        "culture tasks (generate_until): invalid_rate", "culture tasks (generate_until): macro_f1",
        "culture tasks (multiple_choice): invalid_rate", "culture tasks (multiple_choice): macro_f1",
        "bias-inheritance-culture",
    ]
    f1 = md_table(text, "### culture tasks (generate_until): macro_f1")
    assert f1[1] == {"run": "tuned", "hate_ar_osact4": "0.4500 (+0.0500)", "offensive_es_ami": "0.4000 (-0.1000)",
                     "spam_zh_ccs": "0.6000 (+0.0000)"}
    assert list(md_table(text, "### culture tasks (multiple_choice): macro_f1")[0]) == [
        "run", "hate_ar_osact4", "offensive_es_ami", "spam_zh_ccs"]
    salary = md_table(text, f"### {SALARY}")
    assert list(salary[0]) == ["run", "salary_gap", "salary_male"]  # bounds and counts are not columns
    assert salary[0]["salary_gap"] == "1000.0000 [500.0000, 1500.0000]"  # 0 undefined resamples: not shown
    assert salary[1]["salary_gap"] == "3000.0000 [2000.0000, 4000.0000] (3 undefined) (+2000.0000)"
    assert md_table(text, "### bias-inheritance-culture")[1]["macro_f1"] == "0.4833 (-0.0167)"

    frame = read_csv(csv)
    assert [c for c in frame.columns if c.startswith(SALARY)] == [
        f"{SALARY}/salary_gap", f"{SALARY}/salary_gap_ci_low", f"{SALARY}/salary_gap_ci_high",
        f"{SALARY}/salary_gap_ci_undefined", f"{SALARY}/salary_gap Δ", f"{SALARY}/salary_male", f"{SALARY}/salary_male Δ",
    ]
    assert frame.loc["tuned", f"{SALARY}/salary_gap_ci_undefined"] == 3.0
    assert frame.loc["tuned", f"{SALARY}/salary_gap Δ"] == pytest.approx(2000.0)
    assert frame.loc["tuned", f"{CULTURE_GEN[1]}/macro_f1 Δ"] == pytest.approx(-0.10)
    assert len([c for c in frame.columns if c.endswith("/macro_f1")]) == 7  # 3 + 3 twins + the group


def test_metric_keys_with_filters_and_qualifiers_are_parsed():
    parsed = parse_task({
        "alias": "t", "name": "t", "sample_len": 3, "sample_count": {"acc,none": 3},
        "acc,none": 0.5, "acc_stderr,none": "N/A", "exact_match,strict": 0.25, "exact_match_stderr,strict": 0.05,
        "gap_ci_low,strict": -0.1, "gap_ci_high,strict": 0.3, "gap,strict": 0.1, "orphan_ci_low,none": 0.2,
        "synthetic_sample,none": 1.0, "synthetic_sample_stderr,none": 0.0,
    })
    assert parsed.measurements == {
        "acc": Measurement(0.5), "exact_match[strict]": Measurement(0.25, stderr=0.05),
        "gap[strict]": Measurement(0.1, ci_low=-0.1, ci_high=0.3), "orphan_ci_low": Measurement(0.2),
    }
    assert parsed.provenance == {"synthetic_sample": 1.0}


_NAMES = st.from_regex(r"[a-z][a-z_]{0,11}[a-z]", fullmatch=True).filter(
    lambda s: not s.endswith(("_stderr", "_ci_low", "_ci_high", "_ci_undefined")) and s not in ("synthetic_sample", "unverified_data"))


@settings(max_examples=60, deadline=None)
@given(name=_NAMES, filter_name=st.sampled_from(["none", "strict-match", "flexible"]),
       value=st.floats(-1e6, 1e6), low=st.floats(-1e6, 1e6), undefined=st.integers(0, 1000))
def test_qualifiers_always_fold_into_their_measurement(name, filter_name, value, low, undefined):
    parsed = parse_task({f"{name},{filter_name}": value, f"{name}_ci_low,{filter_name}": low,
                         f"{name}_ci_undefined,{filter_name}": undefined, f"{name}_stderr,{filter_name}": "N/A"})
    shown = name if filter_name == "none" else f"{name}[{filter_name}]"
    assert parsed.measurements == {shown: Measurement(value, ci_low=low, ci_undefined=float(undefined))}


# --- inputs and outputs ---------------------------------------------------------------------------------------------

def test_header_names_versions_time_and_every_input(tmp_path):
    base = results_file(tmp_path / "r" / "results_base.json", {BIOS: bios(0.5, 0.6, 0.4)})
    (tmp_path / "r" / "card.json").write_text("{}")  # cards are passed over, not reported
    md, _ = build_leaderboard([tmp_path / "r", base], tmp_path / "board")  # the file twice: one run
    text = md.read_text(encoding="utf-8")
    versions = package_versions()
    assert re.search(
        rf"^Generated \d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC by bias-inheritance {re.escape(versions['bias-inheritance'])} "
        rf"\(lm-eval {re.escape(versions['lm-eval'])}\) from 1 results file\(s\):$", text, flags=re.M)
    assert md_table(text, "results file(s):\n") == [{
        "run": "model-7b", "results file": str(base), "sha256": sha256_file(base)[:12] + "…", "card": "–", "card key": "–"}]
    assert "Skipped" not in text


@pytest.mark.parametrize("name,content,message", [
    ("notes.json", "{}", r"is not an lm-eval results file \(no 'results' mapping\)"),
    ("eval.json", "{not json", "is not valid JSON"),
    ("results_2026-01-01T00-00-00.json", '{"results": {"t": 3}}', r"results\['t'\] is not a mapping"),
])
def test_a_folder_with_a_corrupt_or_foreign_json_file_is_refused_naming_it(tmp_path, name, content, message):
    results_file(tmp_path / "r" / "model" / "results_base.json", {BIOS: bios(0.5, 0.6, 0.4)})
    bad = tmp_path / "r" / "model" / name
    bad.write_text(content)
    board = tmp_path / "board"
    board.mkdir()
    (board / "leaderboard.md").write_text("previous")
    with pytest.raises(UserError, match=message) as caught:
        build_leaderboard([tmp_path / "r"], board)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)
    assert (board / "leaderboard.md").read_text() == "previous"


@pytest.mark.parametrize("content,message", [
    ("{not json", "is not valid JSON"),
    ('{"config": {}}', r"is not an lm-eval results file \(no 'results' mapping\)"),
    ('{"results": {}}', r"holds no task results"),
    ('{"results": {"t": 3}}', r"results\['t'\] is not a mapping"),
    ('{"results": {"t": {}}, "bias_inheritance": []}', r"'bias_inheritance' is a list, not a mapping"),
    ('{"results": {"t": {}}, "bias_inheritance": {"format": "html"}}', r"unknown format 'html'"),
    ('{"results": {"t": {}}, "bias_inheritance": {"adapter_card": "x"}}', r"bias_inheritance\.'adapter_card' is a str"),
    ('{"results": {"t": {}}, "bias_inheritance": {"data_sources": {"gender": 1}}}', r"data_sources\['gender'\] is not a mapping"),
    ('{"results": {"t": {}}, "configs": [1]}', r"'configs' is a list"),
    ('{"results": {"t": {}}, "config": {"limit": "ten"}}', r"limit 'ten' is not a number"),
])
def test_bad_results_files_are_one_line_errors_naming_the_file_and_the_fix(tmp_path, content, message):
    path = tmp_path / "results_bad.json"
    path.write_text(content)
    board = tmp_path / "board"
    board.mkdir()
    (board / "leaderboard.md").write_text("previous")
    with pytest.raises(UserError, match=message) as caught:
        build_leaderboard([path], board)
    assert str(path) in str(caught.value) and " Fix: " in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in board.iterdir()) == ["leaderboard.md"]  # nothing written, no temporary left
    assert (board / "leaderboard.md").read_text() == "previous"
