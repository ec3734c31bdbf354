"""The board (`build_board`: the long table and its CSV, JSON and Markdown views) from hand-built
results files: plain `lm_eval` files and this harness's, old and new.

Every expected number below is computed by hand from the values written into the files.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
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
from leaderboard.build import build_board
from leaderboard.compare import comparisons
from leaderboard.long_table import LONG_COLUMNS, long_table
from leaderboard.metrics import Measurement, parse_task
from leaderboard.results import load_record

BIOS, HIRING, SALARY = "bias_inheritance_gender_bios", "bias_inheritance_hiring", "bias_inheritance_salary"
CULTURE_GEN = ("bias_inheritance_hate_ar_osact4", "bias_inheritance_offensive_es_ami", "bias_inheritance_spam_zh_ccs")
CULTURE_LL = tuple(f"ll_{name}" for name in CULTURE_GEN)
CULTURE_GROUP = "bias-inheritance-culture"
ENV = "PyTorch version: 2.5.1+cpu\nIs debug build: False"
ABSENT = object()
TEXT_COLUMNS = ("run", "model", "bias", "culture", "bias_type", "mitigation", "task", "metric", "group",
                "data_source", "card_key", "marks", "role", "control_run")


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


def family_configs(families: dict[str, str]) -> dict[str, Any]:
    """lm-eval's `configs` for tasks whose YAML names their data family."""
    return {name: {"task": name, "metadata": {"data_family": family}} for name, family in families.items()}


@dataclass(frozen=True)
class Built:
    """What `build_board` wrote, read back: the CSV as a frame, the JSON document, the Markdown text."""

    written: dict[str, Path]
    table: pd.DataFrame
    document: dict[str, Any]
    text: str

    def run(self, name: str) -> dict[str, Any]:
        """The JSON record of one run."""
        found = [r for r in self.document["runs"] if r["run"] == name]
        assert len(found) == 1, [r["run"] for r in self.document["runs"]]
        return found[0]


def build(inputs: list[Path], out: Path) -> Built:
    written = build_board(inputs, out)
    table = pd.read_csv(written["csv"], keep_default_na=False, na_values=[""], dtype={c: str for c in TEXT_COLUMNS})
    table[["group", "marks"]] = table[["group", "marks"]].fillna("")
    return Built(written, table, json.loads(written["json"].read_text(encoding="utf-8")),
                 written["md"].read_text(encoding="utf-8"))


def row(table: pd.DataFrame, run: str, task: str, metric: str, group: str = "") -> pd.Series:
    found = table[(table["run"] == run) & (table["task"] == task) & (table["metric"] == metric) & (table["group"] == group)]
    assert len(found) == 1, found
    return found.iloc[0]


def finetune_deltas(table: pd.DataFrame, task: str, metric: str = "acc") -> dict[str, float]:
    """run -> its fine-tuning Δ of one whole-task metric (NaN: none)."""
    part = table[(table["task"] == task) & (table["metric"] == metric) & (table["group"] == "")]
    return dict(zip(part["run"], part["finetune_delta"]))


def section(text: str, title: str) -> str:
    """The Markdown under `## title`, up to the next `## ` heading."""
    return text.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def why_no_base(paths: list[Path]) -> dict[str, str | None]:
    """label -> why the run has no fine-tuning Δ (None: it has one, or is the base)."""
    records = [load_record(path) for path in paths]
    return {record.label: found.note for record, found in zip(records, comparisons(records))}


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


# --- plain lm_eval files --------------------------------------------------------------------------------------------

def test_plain_lm_eval_runs_get_labels_roles_provenance_and_hand_computed_finetune_deltas(tmp_path):
    base = results_file(tmp_path / "results_base.json", {BIOS: bios(0.50, 0.60, 0.40)})
    tuned = results_file(tmp_path / "results_tuned.json", {BIOS: bios(0.55, 0.70, 0.35)}, peft="/runs/lora-g05")
    board = build([tuned, base], tmp_path / "board")
    assert {kind: path.name for kind, path in board.written.items()} == {
        "md": "leaderboard.md", "csv": "leaderboard.csv", "json": "leaderboard.json", "html": "index.html"}
    table = board.table
    assert tuple(table.columns) == LONG_COLUMNS
    assert dict(zip(table["run"], table["role"])) == {"lora-g05": "finetuned", "model-7b": "base"}
    tuned_rows = table[table["run"] == "lora-g05"]
    assert {(m, g): d for m, g, d in zip(tuned_rows["metric"], tuned_rows["group"], tuned_rows["finetune_delta"])} == {
        ("acc", ""): pytest.approx(0.55 - 0.50), ("acc", "male"): pytest.approx(0.70 - 0.60),
        ("acc", "female"): pytest.approx(0.35 - 0.40), ("acc_gap", ""): pytest.approx((0.70 - 0.35) - (0.60 - 0.40))}
    assert table[table["run"] == "model-7b"]["finetune_delta"].isna().all()  # the base has no change against itself
    assert table["inheritance_delta"].isna().all() and table["control_run"].isna().all()  # no γ = 0 control here
    acc = row(table, "lora-g05", BIOS, "acc")
    assert (acc["value"], acc["stderr"], acc["n"], acc["model"]) == (0.55, 0.01, 120, "org/model-7b")
    assert pd.isna(row(table, "lora-g05", BIOS, "acc", "male")["stderr"])  # lm-eval's "N/A" is no number
    assert pd.isna(acc["gamma"]) and pd.isna(acc["bias_type"]) and pd.isna(acc["data_source"])  # not recorded: not made up

    provenance = board.run("lora-g05")["provenance"]
    assert (provenance["format"], provenance["model"], provenance["adapter"]) == ("plain", "org/model-7b", "/runs/lora-g05")
    assert (provenance["lm-eval"], provenance["transformers"], provenance["torch"]) == ("0.4.13", "4.57.1", "2.5.1+cpu")
    assert provenance["bias-inheritance"] is None and provenance["gamma"] is None
    assert (provenance["evaluated"], provenance["device"]) == ("2026-11-22 23:26 UTC", "cpu")

    text = board.text
    assert md_table(section(text, "Fine-tuning delta (base → fine-tuned)"), f"### {BIOS}") == [
        {"run": "lora-g05", "role": "finetuned", "metric": metric, "group": group, "value": value,
         "fine-tuning Δ": delta, "n": "120", "marks": "–"}
        for metric, group, value, delta in [("acc", "all", "0.5500 ±0.0100", "+0.0500"), ("acc", "female", "0.3500", "-0.0500"),
                                            ("acc_gap", "all", "0.3500", "+0.1500"), ("acc", "male", "0.7000", "+0.1000")]]
    runs = md_table(text, "## Runs")
    assert [r["run"] for r in runs] == ["model-7b", "lora-g05"]  # the base first
    assert (runs[0]["role"], runs[0]["γ"], runs[0]["marks"], runs[0]["format"]) == ("base", "–", "–", "plain")
    assert md_table(text, "## Evaluation environment")[0] == {
        "run": "model-7b", "eval data": "–", "device": "cpu", "dtype": "torch.float32", "lm-eval": "0.4.13",
        "transformers": "4.57.1", "torch": "2.5.1+cpu", "bias-inheritance": "–", "evaluated": "2026-11-22 23:26 UTC"}
    assert "⚠" not in text  # real, verified data carries no mark


def test_provenance_metrics_are_marks_naming_tasks_not_metrics(tmp_path):
    hate, ami, _ = CULTURE_GEN
    path = results_file(tmp_path / "results_x.json", {
        BIOS: bios(0.5, 0.6, 0.4, synthetic=1.0),
        HIRING: entry(HIRING, share_gender_gap=0.1, synthetic_sample=0.5, unverified_data=0.0),
        hate: entry(hate, macro_f1=0.4, synthetic_sample=0.0, unverified_data=1.0),
        ami: entry(ami, macro_f1=0.6, synthetic_sample=0.0, unverified_data=0.0),
    }, chat_template="{{ messages }}")
    board = build([path], tmp_path / "board")
    table = board.table
    assert not table["metric"].str.contains("synthetic|unverified").any()
    assert table.groupby("task")["marks"].agg(set).to_dict() == {
        BIOS: {"synthetic sample"}, HIRING: {"synthetic sample"}, hate: {"unverified data"}, ami: {""}}
    assert board.run("model-7b")["provenance"]["format"] == "chat"  # lm-eval applied a chat template
    text = board.text
    assert md_table(text, "## Runs")[0]["marks"] == (
        "⚠ synthetic sample: gender_bios, hiring (50%); ⚠ unverified data: hate_ar_osact4")
    assert "> **⚠ synthetic sample**: rows so marked were evaluated (in the tasks named) on the bundled sample" in text
    assert "> **⚠ unverified data**: rows so marked were evaluated" in text


def test_a_mark_on_every_task_and_a_format_other_than_training_are_named(tmp_path):
    provenance = {"format": "plain", "bias_type": 4}
    path = results_file(tmp_path / "results_x.json", {
        BIOS: bios(0.5, 0.6, 0.4, synthetic=1.0), HIRING: entry(HIRING, share_gender_gap=0.1, synthetic_sample=1.0),
    }, chat_template=ABSENT, block=our_block("t", "finetuned", adapter_card={"summary": {"provenance": provenance}}))
    board = build([path], tmp_path / "board")
    assert set(board.table["marks"]) == {"synthetic sample, trained in plain format, evaluated in chat"}
    assert md_table(board.text, "## Runs")[0]["marks"] == (
        "⚠ synthetic sample: all 2 tasks; ⚠ trained in plain format, evaluated in chat")


def test_older_files_without_provenance_metrics_are_marked_from_their_source_records(tmp_path):
    hate = CULTURE_GEN[0]
    block = our_block("base", "base")
    block["data_sources"] = {"gender": {"label": "bundled sample", "synthetic": True},
                             "culture": {"label": "culture dir", "verified": False}}
    configs = family_configs({BIOS: "gender", hate: "culture"})
    path = results_file(tmp_path / "results_old.json", {
        BIOS: entry(BIOS, acc=0.5), hate: entry(hate, macro_f1=0.4), "arc_easy": entry("arc_easy", acc=0.7),
    }, configs=configs, block=block)
    board = build([path], tmp_path / "board")
    assert dict(zip(board.table["task"], board.table["marks"])) == {
        BIOS: "synthetic sample", hate: "unverified data", "arc_easy": ""}  # a task of no family read neither
    assert dict(zip(board.table["task"], board.table["data_source"])) == {
        BIOS: "bundled sample", hate: "culture dir", "arc_easy": "culture: culture dir; gender: bundled sample"}
    assert md_table(board.text, "## Runs")[0]["marks"] == (
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
    card_file = card_path(tmp_path / "results" / "tuned.json")
    card = write_card(tmp_path / "results" / "tuned.json", "evaluate", {"task": "bios"}, summary={})
    base = results_file(tmp_path / "results" / "base.json", {BIOS: bios(0.5, 0.6, 0.4)}, chat_template=ABSENT,
                        block=our_block("base", "base"))
    tuned = results_file(tmp_path / "results" / "tuned.json", {BIOS: bios(0.6, 0.8, 0.4)}, chat_template=ABSENT,
                         block=our_block("lora-t4", "finetuned", adapter="/runs/a", card=str(card_file),
                                         adapter_card={"summary": {"provenance": provenance}}))
    board = build([tmp_path / "results"], tmp_path / "board")  # the folder: its card is passed over
    assert [r["results_file"] for r in board.document["runs"]] == [str(base.resolve()), str(tuned.resolve())]
    record = board.run("lora-t4")
    assert (record["role"], record["card"], record["card_key"], record["sha256"]) == (
        "finetuned", str(card_file), card["key"], sha256_file(tuned))
    assert {k: record["provenance"][k] for k in (
        "model", "adapter", "format", "limit", "data_sha256", "data_source", "bias_type", "gamma", "gamma_realised",
        "mitigation", "round", "seed", "generator", "eval_data", "device", "dtype", "lm-eval", "transformers",
        "torch", "bias-inheritance")} == {
        "model": "HuggingFaceTB/SmolLM2-135M-Instruct@main", "adapter": "/runs/a", "format": "chat", "limit": None,
        "data_sha256": sha, "data_source": "hub:gender-bios", "bias_type": 4, "gamma": 0.2, "gamma_realised": 0.2083,
        "mitigation": "none", "round": 0, "seed": 3, "generator": f"local sha256:{'cd' * 32}",
        "eval_data": "gender: hub:gender-bios (verified)", "device": "cuda", "dtype": "bfloat16", "lm-eval": "0.4.13",
        "transformers": "4.57.1", "torch": "2.5.1", "bias-inheritance": "0.3.0",
    }
    base_provenance = board.run("base")["provenance"]
    assert base_provenance["bias_type"] is None and base_provenance["limit"] is None and board.run("base")["card"] is None

    table = board.table
    tuned_rows = table[table["run"] == "lora-t4"]
    assert len(tuned_rows) == 4  # acc, acc male, acc female, acc_gap: every one carries the run's provenance
    for column, value in {"model": "HuggingFaceTB/SmolLM2-135M-Instruct@main", "bias_type": "4", "gamma": 0.2,
                          "mitigation": "none", "round": 0.0, "seed": 3.0, "card_key": card["key"],
                          "data_source": "gender: hub:gender-bios (verified)", "role": "finetuned"}.items():
        assert set(tuned_rows[column]) == {value}, column
    base_rows = table[table["run"] == "base"]
    assert base_rows["bias_type"].isna().all() and base_rows["card_key"].isna().all()
    assert row(table, "lora-t4", BIOS, "acc_gap")["finetune_delta"] == pytest.approx((0.8 - 0.4) - (0.6 - 0.4))

    runs = {r["run"]: r for r in md_table(board.text, "## Runs")}
    assert (runs["lora-t4"]["data sha256"], runs["lora-t4"]["γ"], runs["lora-t4"]["γ realised"]) == (
        "abababababab…", "0.2", "0.2083")
    assert (runs["base"]["bias type"], runs["base"]["seed"], runs["base"]["limit"]) == ("–", "–", "–")
    inputs = {r["run"]: r for r in md_table(board.text, "results file(s):\n")}
    assert (inputs["lora-t4"]["card"], inputs["lora-t4"]["card key"]) == (str(card_file), card["key"][:12] + "…")


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
    board = build([path], tmp_path / "board")
    acc = row(board.table, "lora-old", BIOS, "acc")
    assert (acc["model"], acc["bias_type"], acc["gamma"], acc["seed"], acc["round"], acc["mitigation"], acc["role"]) == (
        "HuggingFaceTB/SmolLM2", "4, 5", 0.2, 3.0, 0.0, "none", "finetuned")
    p = board.run("lora-old")["provenance"]
    assert (p["model"], p["format"], p["limit"], p["bias_type"], p["gamma"], p["gamma_realised"], p["seed"]) == (
        "HuggingFaceTB/SmolLM2", "chat", 20, "4, 5", 0.2, None, 3)
    assert (p["data_sha256"], p["data_source"], p["eval_data"], p["transformers"]) == (
        "ef" * 32, "hub", "gender: hub", "4.57.1")  # transformers from lm-eval's own field


# --- which base a fine-tuning Δ is against --------------------------------------------------------------------------

def _runs(tmp_path: Path, specs: list[tuple[str, str, str, Any, float]]) -> list[Path]:
    """(label, role, format, limit, acc) -> results files of this harness."""
    return [
        results_file(tmp_path / f"{i}-{label}.json", {BIOS: entry(BIOS, acc=acc)}, chat_template=ABSENT,
                     block=our_block(label, role, fmt, limit))
        for i, (label, role, fmt, limit, acc) in enumerate(specs)
    ]


def test_finetune_deltas_are_only_against_a_base_of_the_same_format_and_limit(tmp_path):
    paths = _runs(tmp_path, [
        ("base-chat", "base", "chat", None, 0.50), ("base-plain", "base", "plain", None, 0.30),
        ("tuned-chat", "finetuned", "chat", None, 0.65), ("tuned-plain", "finetuned", "plain", None, 0.20),
        ("tuned-chat-20", "finetuned", "chat", 20, 0.90),
    ])
    board = build(paths, tmp_path / "board")
    deltas = finetune_deltas(board.table, BIOS)
    assert deltas["tuned-chat"] == pytest.approx(0.65 - 0.50) and deltas["tuned-plain"] == pytest.approx(0.20 - 0.30)
    assert pd.isna([deltas["base-chat"], deltas["base-plain"], deltas["tuned-chat-20"]]).all()
    assert [r["run"] for r in md_table(section(board.text, "Fine-tuning delta (base → fine-tuned)"), f"### {BIOS}")] == [
        "tuned-chat", "tuned-plain"]
    assert [r["run"] for r in md_table(board.text, "## Runs")] == [
        "base-chat", "tuned-chat", "tuned-chat-20", "base-plain", "tuned-plain"]  # by format, the base first
    assert why_no_base(paths) == {
        "base-chat": None, "base-plain": None, "tuned-chat": None, "tuned-plain": None, "tuned-chat-20":
        "no base run in format chat, limit 20 (bases: base-chat: format chat, no limit; base-plain: format plain, no limit)."}


def test_several_bases_of_one_format_give_no_finetune_delta(tmp_path):
    paths = _runs(tmp_path, [
        ("base-a", "base", "chat", None, 0.50), ("base-b", "base", "chat", None, 0.40),
        ("tuned", "finetuned", "chat", None, 0.45), ("tuned-plain", "finetuned", "plain", None, 0.45),
    ])
    board = build(paths, tmp_path / "board")
    assert board.table["finetune_delta"].isna().all()  # which of base-a and base-b is meant is not guessed
    assert "No run has a base on this board." in section(board.text, "Fine-tuning delta (base → fine-tuned)")
    assert why_no_base(paths)["tuned"] == "several base runs in format chat, no limit (base-a, base-b)."
    assert why_no_base(paths)["tuned-plain"] == (
        "no base run in format plain, no limit (bases: base-a: format chat, no limit; base-b: format chat, no limit).")
    one_base = build(paths[1:], tmp_path / "one")  # with base-b alone, tuned has a base; tuned-plain still none
    assert finetune_deltas(one_base.table, BIOS) == {
        "base-b": pytest.approx(float("nan"), nan_ok=True), "tuned": pytest.approx(0.05),
        "tuned-plain": pytest.approx(float("nan"), nan_ok=True)}


def test_repeated_labels_are_told_apart_by_format_then_file(tmp_path):
    paths = _runs(tmp_path / "a", [("m", "base", "chat", None, 0.5), ("m", "base", "plain", None, 0.4)])
    paths += _runs(tmp_path / "b", [("m", "base", "plain", None, 0.3)])
    board = build(paths, tmp_path / "board")
    names = ["m (chat)", f"m (plain) ({paths[1]})", f"m (plain) ({paths[2]})"]
    assert list(board.table["run"]) == names
    assert list(board.table["value"]) == [0.5, 0.4, 0.3]
    assert [r["run"] for r in board.document["runs"]] == names
    assert [r["run"] for r in md_table(board.text, "## Runs")] == names


def test_unknown_format_or_other_evaluation_data_gives_no_delta(tmp_path):
    base = results_file(tmp_path / "base.json", {BIOS: entry(BIOS, acc=0.5)}, chat_template=ABSENT,
                        block=our_block("base", "base"))
    same = results_file(tmp_path / "same.json", {BIOS: entry(BIOS, acc=0.6)}, chat_template=ABSENT,
                        block=our_block("same-data", "finetuned"))
    other = our_block("other-data", "finetuned")
    other["data_sources"] = {"gender": {"label": "local folder /data/bios", "synthetic": False}}
    other_data = results_file(tmp_path / "other.json", {BIOS: entry(BIOS, acc=0.7)}, chat_template=ABSENT, block=other)
    # a plain lm-eval file of the same model that does not say whether a chat template was applied
    unknown = results_file(tmp_path / "unknown.json", {BIOS: entry(BIOS, acc=0.6)}, chat_template=ABSENT,
                           pretrained="HuggingFaceTB/SmolLM2-135M-Instruct@main", peft="/runs/x")
    board = build([base, same, other_data, unknown], tmp_path / "board")
    assert row(board.table, "x", BIOS, "acc")["model"] == row(board.table, "base", BIOS, "acc")["model"]
    assert board.run("x")["provenance"]["format"] is None
    deltas = finetune_deltas(board.table, BIOS)
    assert deltas["same-data"] == pytest.approx(0.1)
    assert pd.isna([deltas["base"], deltas["other-data"], deltas["x"]]).all()
    assert why_no_base([base, same, other_data, unknown]) == {
        "base": None, "same-data": None, "x": "its results file does not record the prompt format (chat or plain).",
        "other-data": "the base base read other evaluation data (gender: local folder /data/bios vs hub:gender-bios (verified))."}


def test_the_same_folder_with_other_content_gives_no_delta(tmp_path):
    def source(sha: str) -> dict[str, Any]:  # what source.json holds: fields, no label
        return {"gender": {"kind": "dir", "location": "/data/bios", "synthetic": False, "content_sha256": sha}}

    base = results_file(tmp_path / "base.json", {BIOS: entry(BIOS, acc=0.5)}, chat_template=ABSENT,
                        block=our_block("base", "base", data_sources=source("1" * 64)))
    same = results_file(tmp_path / "same.json", {BIOS: entry(BIOS, acc=0.6)}, chat_template=ABSENT,
                        block=our_block("same", "finetuned", data_sources=source("1" * 64)))
    other = results_file(tmp_path / "other.json", {BIOS: entry(BIOS, acc=0.7)}, chat_template=ABSENT,
                         block=our_block("other", "finetuned", data_sources=source("2" * 64)))
    board = build([base, same, other], tmp_path / "board")
    deltas = finetune_deltas(board.table, BIOS)
    assert deltas["same"] == pytest.approx(0.1) and pd.isna(deltas["other"])
    assert set(board.table["data_source"]) == {"gender: dir:/data/bios"}  # one label, two contents
    assert board.run("same")["provenance"]["eval_data"] == "gender: dir:/data/bios"
    assert why_no_base([base, same, other])["other"] == ("the base base read other evaluation data "
                                                         "(gender: dir:/data/bios sha256 222222222222 vs dir:/data/bios sha256 111111111111).")


def test_missing_inputs_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="missing.json does not exist"):
        build_board([tmp_path / "missing.json"], tmp_path / "b")
    (tmp_path / "empty").mkdir()
    with pytest.raises(UserError, match="No lm-eval results files in .*empty\\. Fix: pass the files"):
        build_board([tmp_path / "empty"], tmp_path / "b")
    assert not (tmp_path / "b").exists()


# --- culture tasks, groups, intervals -------------------------------------------------------------------------------

def _culture_configs() -> dict[str, Any]:
    gen = {name: {"task": name, "output_type": "generate_until", "metadata": {"version": 1.0, "data_family": "culture"}}
           for name in CULTURE_GEN}
    ll = {name: {"task": name, "output_type": "multiple_choice", "metadata": {"version": 1.0, "data_family": "culture"}}
          for name in CULTURE_LL}
    salary = {SALARY: {"task": SALARY, "output_type": "generate_until", "metadata": {"data_family": "gender"}}}
    return {**gen, **ll, **salary}


def _culture_run(path: Path, label: str, role: str, f1: list[float], gap: tuple[float, float, float, float],
                 **extra: Any) -> Path:
    tasks = {name: entry(name, macro_f1=f, macro_f1_stderr="N/A", invalid_rate=0.1, synthetic_sample=0.0)
             for name, f in zip(CULTURE_GEN, f1)}
    tasks |= {name: entry(name, macro_f1=f + 0.1, invalid_rate=0.0) for name, f in zip(CULTURE_LL, f1)}
    tasks[CULTURE_GROUP] = entry(CULTURE_GROUP, macro_f1=sum(f1) / 3, invalid_rate=0.1)
    value, low, high, undefined = gap
    tasks[SALARY] = entry(SALARY, salary_gap=value, salary_gap_ci_low=low, salary_gap_ci_high=high,
                          salary_gap_ci_undefined=undefined, salary_male=80000.0)
    return results_file(path, tasks, chat_template=ABSENT, configs=_culture_configs(),
                        group_subtasks={CULTURE_GROUP: list(CULTURE_GEN)}, block=our_block(label, role, **extra))


def test_culture_tasks_twins_and_groups_get_hand_computed_deltas_and_intervals(tmp_path):
    base = _culture_run(tmp_path / "base.json", "base", "base", [0.40, 0.50, 0.60], (1000.0, 500.0, 1500.0, 0.0))
    tuned = _culture_run(tmp_path / "tuned.json", "tuned", "finetuned", [0.45, 0.40, 0.60], (3000.0, 2000.0, 4000.0, 3.0))
    board = build([base, tuned], tmp_path / "board")
    table = board.table
    for tasks in (CULTURE_GEN, CULTURE_LL):  # each task and its `_ll` twin: its own rows
        assert [finetune_deltas(table, task, "macro_f1")["tuned"] for task in tasks] == pytest.approx(
            [0.45 - 0.40, 0.40 - 0.50, 0.60 - 0.60])
    assert finetune_deltas(table, CULTURE_GROUP, "macro_f1")["tuned"] == pytest.approx((0.45 + 0.40 + 0.60 - 1.5) / 3)
    assert row(table, "tuned", CULTURE_GROUP, "macro_f1")["n"] == 120
    assert set(table[(table["run"] == "tuned") & (table["metric"] == "invalid_rate")]["finetune_delta"]) == {0.0}
    assert table[table["run"] == "base"]["finetune_delta"].isna().all()
    gap = row(table, "tuned", SALARY, "salary_gap")
    assert (gap["value"], gap["interval_low"], gap["interval_high"], gap["finetune_delta"]) == (3000.0, 2000.0, 4000.0, 2000.0)
    assert pd.isna(gap["stderr"]) and pd.isna(row(table, "tuned", CULTURE_GEN[0], "macro_f1")["stderr"])
    assert row(table, "tuned", SALARY, "salary", "male")["finetune_delta"] == 0.0  # a group's value, not a metric
    assert not table["metric"].str.contains("_ci_|synthetic").any()  # bounds and counts fold into their measurement
    assert len(table) == 2 * (3 * 2 + 3 * 2 + 2 + 2)  # per run: 6 tasks × 2, the group's 2, salary's 2

    text = board.text
    salary = md_table(section(text, "Fine-tuning delta (base → fine-tuned)"), f"### {SALARY}")
    assert salary[0] == {"run": "tuned", "role": "finetuned", "metric": "salary_gap", "group": "all",
                         "value": "3000.0000 [2000.0000, 4000.0000]", "fine-tuning Δ": "+2000.0000", "n": "120", "marks": "–"}
    assert "- `salary_gap` = salary of men − salary of women (positive: higher for men)" in section(text, "Group gaps")


def test_a_culture_task_never_shows_another_family_s_data_source(tmp_path):
    """The block records gender data only: a culture task's rows must not claim they read it."""
    path = _culture_run(tmp_path / "run.json", "run", "base", [0.4, 0.5, 0.6], (1.0, 0.0, 2.0, 0.0))
    table = long_table([path])
    assert row(table, "run", SALARY, "salary_gap")["data_source"] == "hub:gender-bios (verified)"
    assert table[table["task"].isin(CULTURE_GEN)]["data_source"].isna().all()


# --- metric keys ----------------------------------------------------------------------------------------------------

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


def test_filtered_metrics_reach_the_long_table_with_their_qualifiers_and_group(tmp_path):
    path = results_file(tmp_path / "results_x.json", {HIRING: {
        "alias": HIRING, "exact_match,strict": 0.25, "exact_match_stderr,strict": 0.05, "share_gap,strict": 0.1,
        "share_gap_ci_low,strict": -0.1, "share_gap_ci_high,strict": 0.3, "share_female,strict": 0.4,
        "synthetic_sample,none": 0.0}})
    table = long_table([path])
    found = {(r["metric"], r["group"]): (r["value"], r["stderr"], r["interval_low"], r["interval_high"])
             for _, r in table.iterrows()}
    nan = float("nan")
    assert found == {
        ("exact_match[strict]", ""): pytest.approx((0.25, 0.05, nan, nan), nan_ok=True),
        ("share_gap[strict]", ""): pytest.approx((0.1, nan, -0.1, 0.3), nan_ok=True),
        ("share[strict]", "female"): pytest.approx((0.4, nan, nan, nan), nan_ok=True),
    }


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
    board = build([tmp_path / "r", base], tmp_path / "board")  # the file twice: one run
    versions = package_versions()
    generated = re.search(
        rf"^Generated (\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d UTC) by bias-inheritance {re.escape(versions['bias-inheritance'])} "
        rf"\(lm-eval {re.escape(versions['lm-eval'])}\) from 1 results file\(s\):$", board.text, flags=re.M)
    assert generated is not None
    assert md_table(board.text, "results file(s):\n") == [{
        "run": "model-7b", "results file": str(base), "sha256": sha256_file(base)[:12] + "…", "card": "–", "card key": "–"}]
    assert (board.document["generated"], board.document["versions"]) == (generated.group(1), versions)
    assert [(r["run"], r["results_file"], r["sha256"]) for r in board.document["runs"]] == [
        ("model-7b", str(base.resolve()), sha256_file(base))]
    assert board.document["columns"] == list(LONG_COLUMNS) and len(board.document["rows"]) == len(board.table) == 4


def _previous_board(tmp_path: Path) -> Path:
    board = tmp_path / "board"
    board.mkdir()
    (board / "leaderboard.md").write_text("previous")
    return board


@pytest.mark.parametrize("name,content,message", [
    ("notes.json", "{}", r"is not an lm-eval results file \(no 'results' mapping\)"),
    ("eval.json", "{not json", "is not valid JSON"),
    ("results_2026-01-01T00-00-00.json", '{"results": {"t": 3}}', r"results\['t'\] is not a mapping"),
])
def test_a_folder_with_a_corrupt_or_foreign_json_file_is_refused_naming_it(tmp_path, name, content, message):
    results_file(tmp_path / "r" / "model" / "results_base.json", {BIOS: bios(0.5, 0.6, 0.4)})
    bad = tmp_path / "r" / "model" / name
    bad.write_text(content)
    board = _previous_board(tmp_path)
    with pytest.raises(UserError, match=message) as caught:
        build_board([tmp_path / "r"], board)
    assert str(bad) in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in board.iterdir()) == ["leaderboard.md"]
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
    board = _previous_board(tmp_path)
    with pytest.raises(UserError, match=message) as caught:
        build_board([path], board)
    assert str(path) in str(caught.value) and " Fix: " in str(caught.value) and "\n" not in str(caught.value)
    assert sorted(p.name for p in board.iterdir()) == ["leaderboard.md"]  # nothing written, no temporary left
    assert (board / "leaderboard.md").read_text() == "previous"
