"""`analyze embeddings` on the tiny model: the JSON's fields, per-type comparisons, figures, reuse, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analysis.embeddings import analyze_embeddings
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl, write_jsonl

ROOT = Path(__file__).resolve().parents[1]


def _mix(path: Path, generated: int = 8) -> Path:
    bios = read_jsonl(ROOT / "bias_inheritance" / "data" / "sample_bios.jsonl")
    rows = [{"id": b["id"], "origin": "original", "bias": "gender", "bias_type": None, "text": b["text"]} for b in bios[:10]]
    rows += [{"id": f"g{i}", "origin": "augmented", "bias": "gender", "bias_type": 4 if i % 2 else 6,
              "text": f"She is a nurse. She is a nurse. {b['text'][:40]}"} for i, b in enumerate(bios[10:10 + generated])]
    write_jsonl(path, rows)
    return path


def test_embeddings_report_the_test_its_resolution_and_figures(tiny_model_dir, tmp_path, capsys):
    mix = _mix(tmp_path / "mix.jsonl")
    written = analyze_embeddings(mix, tmp_path / "out", model=str(tiny_model_dir), permutations=99, device="cpu")
    document = json.loads(written.read_text())
    assert (document["n_original"], document["n_generated"], document["statistic"]) == (10, 8, "energy_distance")
    assert document["p_value_resolution"] == 0.01 and 0.01 <= document["p_value"] <= 1
    assert document["interval_low"] <= document["value"] <= document["interval_high"]
    assert set(document["by_bias_type"]) == {"4", "6"} and document["by_bias_type"]["4"]["n_generated"] == 4
    assert {Path(p).name for p in document["figures"].values()} == {
        "pca_type4.png", "pca_type4.svg", "pca_type6.png", "pca_type6.svg"}
    stamp = written.stat().st_mtime_ns
    assert analyze_embeddings(mix, tmp_path / "out", model=str(tiny_model_dir), permutations=99) == written
    assert written.stat().st_mtime_ns == stamp  # the same inputs: reused
    with pytest.raises(UserError, match="permutations"):
        analyze_embeddings(mix, tmp_path / "out", model=str(tiny_model_dir), permutations=199)
    from pipeline.cli import main

    assert main(["analyze", "embeddings", str(mix), "--model", str(tiny_model_dir), "--permutations", "99",
                 "--out", str(tmp_path / "cli")]) == 0
    assert "p = " in capsys.readouterr().out


def test_a_mix_without_both_kinds_is_one_line(tiny_model_dir, tmp_path):
    mix = _mix(tmp_path / "mix.jsonl", generated=1)
    with pytest.raises(UserError, match="10 original and 1 generated"):
        analyze_embeddings(mix, tmp_path / "out", model=str(tiny_model_dir))
