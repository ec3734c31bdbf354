import json

import pandas as pd
import pytest

from bias_inheritance.errors import UserError
from leaderboard.build import build_leaderboard
from leaderboard.results import load_record


def _plain_lm_eval(path, pretrained, peft=None, acc=0.5, male=0.6, female=0.4):
    """What a plain `lm_eval --output_path` run of an external model writes."""
    args = f"pretrained={pretrained}" + (f",peft={peft}" if peft else "")
    path.write_text(json.dumps({
        "results": {"bias_inheritance_gender_bios": {
            "alias": "bias_inheritance_gender_bios", "acc,none": acc, "acc_stderr,none": 0.01,
            "acc_male,none": male, "acc_male_stderr,none": "N/A", "acc_female,none": female,
            "acc_gap,none": male - female, "synthetic_sample,none": 0.0,
        }},
        "config": {"model": "hf", "model_args": args, "limit": None},
        "date": 1795389961.0, "lm_eval_version": "0.4.13",
    }))
    return path


def test_external_runs_get_labels_roles_and_deltas(tmp_path):
    base = _plain_lm_eval(tmp_path / "results_base.json", "org/model-7b", acc=0.50, male=0.60, female=0.40)
    tuned = _plain_lm_eval(tmp_path / "results_tuned.json", "org/model-7b", peft="/runs/lora-g05", acc=0.55, male=0.70, female=0.35)
    md, csv = build_leaderboard([base, tuned], tmp_path / "board")
    frame = pd.read_csv(csv)
    assert list(frame["label"]) == ["model-7b", "lora-g05"] and list(frame["role"]) == ["base", "finetuned"]
    row = frame.set_index("label").loc["lora-g05"]
    assert row["bias_inheritance_gender_bios/acc Δ"] == pytest.approx(0.05)
    assert row["bias_inheritance_gender_bios/acc_gap Δ"] == pytest.approx(0.35 - 0.20)
    text = md.read_text()
    assert "org/model-7b" in text and "+0.1500" in text and "2026-" in text
    assert "⚠" not in text  # real data is not flagged


def test_sample_runs_are_flagged(tmp_path):
    path = _plain_lm_eval(tmp_path / "results_x.json", "m")
    raw = json.loads(path.read_text())
    raw["results"]["bias_inheritance_gender_bios"]["synthetic_sample,none"] = 1.0
    path.write_text(json.dumps(raw))
    record = load_record(path)
    assert record.provenance["sample_data"] is True
    md, _ = build_leaderboard([path], tmp_path / "board")
    assert "synthetic sample" in md.read_text()


def test_our_provenance_block_supplies_gamma_bias_type_and_hash(tmp_path):
    path = _plain_lm_eval(tmp_path / "results_x.json", "/cache/smollm2", peft="/runs/a")
    raw = json.loads(path.read_text())
    raw["bias_inheritance"] = {
        "label": "lora-t4", "role": "finetuned", "model": {"model": "/cache/smollm2", "hub_id": "HuggingFaceTB/SmolLM2-135M-Instruct"},
        "adapter": "/runs/a", "limit": 20, "data_sources": {"gender": {"kind": "hub", "synthetic": False}, "culture": {"kind": "dir", "verified": False}},
        "run_card": {"mitigation": "none", "seed": 3, "data": {"sha256": "ab" * 32, "gamma": 0.2, "bias_types": [4], "source": {"kind": "hub"}}},
        "versions": {"lm-eval": "0.4.13", "transformers": "5.0"},
    }
    path.write_text(json.dumps(raw))
    p = load_record(path).provenance
    assert (p["model"], p["gamma"], p["bias_type"], p["seed"], p["mitigation"], p["limit"]) == (
        "HuggingFaceTB/SmolLM2-135M-Instruct", 0.2, "4", 3, "none", 20)
    assert p["train_data_sha256"] == "ab" * 32 and p["eval_data"] == "gender:hub, culture:dir (UNVERIFIED)"


def test_folders_are_scanned_and_other_json_is_skipped_and_reported(tmp_path):
    (tmp_path / "runs" / "m").mkdir(parents=True)
    _plain_lm_eval(tmp_path / "runs" / "m" / "results_2026.json", "m")
    (tmp_path / "runs" / "m" / "run_card.json").write_text("{}")
    md, _ = build_leaderboard([tmp_path / "runs"], tmp_path / "board")
    assert "Skipped 1 JSON file(s)" in md.read_text()


@pytest.mark.parametrize("content,message", [
    ("{not json", "is not valid JSON"),
    ('{"config": {}}', "no 'results' mapping"),
    ('{"results": {"t": 3}}', "is not a mapping"),
])
def test_corrupt_results_files_are_clear_errors(tmp_path, content, message):
    path = tmp_path / "results_bad.json"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        build_leaderboard([path], tmp_path / "board")
    assert not (tmp_path / "board" / "leaderboard.md").exists()  # nothing half-written


def test_unknown_base_and_missing_inputs(tmp_path):
    path = _plain_lm_eval(tmp_path / "results_a.json", "m")
    with pytest.raises(UserError, match="No run labelled"):
        build_leaderboard([path], tmp_path / "b", base="nope")
    with pytest.raises(UserError, match="does not exist"):
        build_leaderboard([tmp_path / "missing.json"], tmp_path / "b")
