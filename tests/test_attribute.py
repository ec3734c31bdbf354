"""`attribute` end to end on the tiny model: a mix with an obvious planted bias, its curves and baselines,
the control mix, reuse, and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from attribution.attribute import AttributeSettings, attribute
from attribution.features import FeatureSettings
from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl, write_jsonl
from trainers.config import TrainSettings

ROOT = Path(__file__).resolve().parents[1]


def _mix(path: Path, planted_texts: list[str], bias_type: int) -> Path:
    """36 sample bios as D_o and 12 augmented rows whose biographies carry `planted_texts`."""
    bios = [r for r in read_jsonl(ROOT / "bias_inheritance" / "data" / "sample_bios.jsonl") if r["split"] == "train"]
    rows = [{"id": b["id"], "origin": "original", "bias": "gender", "bias_type": None, "text": b["text"],
             "profession": b["profession"], "gender": b["gender"]} for b in bios[:36]]
    for i, text in enumerate(planted_texts[:12]):
        first = bios[40 + i]
        rows.append({"id": f"augmented-{bias_type}-{i}", "origin": "augmented", "bias": "gender", "bias_type": bias_type,
                     "text": f"{text} {first['text'].split('.')[0]}.", "profession": first["profession"], "gender": "female"})
    write_jsonl(path, rows)
    return path


def _settings(**changes) -> AttributeSettings:
    # The tiny random model: the stereotype is in the biography, so the loss covers every token ("all");
    # the default ("answer", as in training) is measured on SmolLM2 in docs/benchmarks.md.
    features = FeatureSettings(projection_dim=256, batch_size=8, max_length=256, loss_tokens="all", device="cpu")
    warmup = TrainSettings(learning_rate=1e-3, epochs=1, batch_size=8, max_length=256, save_optimizer_state=True,
                           device="cpu")
    return AttributeSettings(**{"probe": "gender", "features": features, "warmup": warmup, **changes})


@pytest.fixture(scope="module")
def attributed(tiny_model_dir, tmp_path_factory):
    root = tmp_path_factory.mktemp("attribute")
    probes = [json.loads(line)["text"] for line in (ROOT / "attribution" / "probes" / "gender.jsonl").read_text().splitlines()]
    bios = [r["text"] for r in read_jsonl(ROOT / "bias_inheritance" / "data" / "sample_bios.jsonl") if r["split"] == "test"]
    biased = _mix(root / "biased.jsonl", probes, 4)
    control = _mix(root / "control.jsonl", bios, 0)  # type 0: generated rows with no planted stereotype
    files = attribute(biased, root / "out", _settings(), model=str(tiny_model_dir), control=control)
    return {"root": root, "files": files, "biased": biased, "control": control, "model": tiny_model_dir}


def test_attribution_finds_the_planted_rows_better_than_random(attributed):
    curves = json.loads(attributed["files"]["curves"].read_text())
    every = curves["by_bias_type"]["all"]
    assert every["planted"] == 12 and curves["rows"] == 48 and set(curves["by_bias_type"]) == {"all", "type4"}
    method, random = [p["coverage"] for p in every["method"]], [p["coverage"] for p in every["random"]]
    assert [p["p"] for p in every["method"]] == [0.05, 0.1, 0.2, 0.35, 0.5]
    assert sum(method) > sum(random) and method[-1] > every["random"][-1]["coverage_high"]
    assert [p["precision"] for p in every["random"]] == [0.25] * 5  # |planted| / |D| whatever p
    assert len(every["loss"]) == 5 and len(curves["difference"]) == 5
    control = curves["control"]["all"]["method"]
    assert curves["difference"][-1]["coverage"] == pytest.approx(method[-1] - control[-1]["coverage"])
    assert attributed["files"]["figure_png"].stat().st_size > 0 and attributed["files"]["figure_svg"].is_file()


def test_scores_and_selection_are_written_with_row_ids(attributed):
    scores = read_jsonl(attributed["files"]["scores"])
    selected = read_jsonl(attributed["files"]["selected"])
    ids = {r["id"] for r in read_jsonl(attributed["biased"])}
    assert {r["id"] for r in scores} == ids and [r["rank"] for r in scores] == list(range(1, 49))
    assert [r["score"] for r in scores] == sorted((r["score"] for r in scores), reverse=True)
    assert selected == scores[:17]  # the top 35 % of 48 rows: ceil(16.8)
    drawn = read_jsonl(attributed["files"]["random_selected"])  # the retrain's control: as many rows at random
    assert len(drawn) == 17 == len({r["id"] for r in drawn}) and {r["id"] for r in drawn} <= ids
    card = cards.read_card(cards.card_path(attributed["root"] / "out"))
    assert card["status"] == "complete" and card["summary"]["selected"] == 17


def test_a_second_run_reuses_and_a_changed_input_is_refused(attributed, tmp_path):
    out = attributed["root"] / "out"
    stamp = attributed["files"]["scores"].stat().st_mtime_ns
    attribute(attributed["biased"], out, _settings(), model=str(attributed["model"]), control=attributed["control"])
    assert attributed["files"]["scores"].stat().st_mtime_ns == stamp
    with pytest.raises(UserError, match="top"):
        attribute(attributed["biased"], out, _settings(top=0.2), model=str(attributed["model"]),
                  control=attributed["control"])
    # In a new folder a changed selection share is a new output; the features are keyed apart.
    features = cards.read_card(cards.card_path(out / "features" / "train"))
    assert features["inputs"]["optimizer_state_sha256"] and features["summary"]["feature"] == "adam"


def test_bad_inputs_are_one_line_errors(attributed, tmp_path):
    with pytest.raises(UserError, match="outside"):
        _settings(top=1.5)
    with pytest.raises(UserError, match="Unknown reduction"):
        _settings(reduce="median")
    import shutil

    from trainers.optimizer_state import FILE

    bare = tmp_path / "adapter"
    shutil.copytree(attributed["root"] / "out" / "warmup", bare)
    (bare / FILE).unlink()  # an adapter trained without --save-optimizer-state
    with pytest.raises(UserError, match="optimizer_state.safetensors.*--save-optimizer-state"):
        attribute(attributed["biased"], tmp_path / "o", _settings(), model=str(attributed["model"]), adapter=bare)
    with pytest.raises(UserError, match="probe"):
        attribute(attributed["biased"], tmp_path / "p", _settings(probe="nope"), model=str(attributed["model"]))
