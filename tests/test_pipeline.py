"""The whole path on the tiny model, its reuse rules, and the checks that run before any model loads."""

import json

import pytest

from bias_inheritance import cards
from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_inheritance.schema import PROVENANCE_KEY
from pipeline import run as run_module
from pipeline.experiment import load_experiment
from pipeline.run import prepare_data
from pipeline.sweep import run_experiment
from pipeline.show import render_chain


def _experiment(model, **overrides):
    raw = {
        "model": str(model),
        "data": "sample",
        "generation": {"bias_type": 4, "count": 12, "batch_size": 6, "max_new_tokens": 24},
        "mix": {"gamma": 0.5, "total": 24},
        "train": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 8, "max_length": 160},
        "evaluation": {"tasks": ["bias_inheritance_gender_bios"], "limit": 24, "batch_size": 8},
    }
    for section, values in overrides.items():
        raw[section] = {**raw.get(section, {}), **values} if isinstance(values, dict) else values
    return load_experiment(raw)


@pytest.fixture
def no_model_loads(monkeypatch):
    """Fail the test if anything tries to resolve (and so load or convert) a model."""
    def refuse(reference):
        raise AssertionError(f"a model was resolved: {reference}")
    monkeypatch.setattr(run_module, "resolve_model", refuse)


@pytest.mark.slow
def test_whole_path_on_the_tiny_model_reuse_and_chain(tiny_model_dir, cache_dir, tmp_path):
    experiment = _experiment(tiny_model_dir)
    run = tmp_path / "run"
    outputs = run_experiment(experiment, run)
    roles = {name: json.loads(outputs[f"{name} results"].read_text())[PROVENANCE_KEY]["role"]
             for name in ("base", "type4-gamma0.5-none-seed0")}
    assert roles == {"base": "base", "type4-gamma0.5-none-seed0": "finetuned"}
    assert not (cache_dir / "data" / "gender").exists()  # the run's sample never touches the shared cache

    results = outputs["type4-gamma0.5-none-seed0 results"]
    chain = cards.chain(results)
    adapter = chain["parents_cards"]["adapter"]
    mixed = adapter["parents_cards"]["data"]
    assert adapter["stage"] == "train" and mixed["stage"] == "mix"
    assert {"augmented", "original"} <= set(mixed["parents_cards"])
    assert mixed["parents_cards"]["original"]["stage"] == "prepare"
    text = render_chain(results)
    assert "train" in text and "mix" in text and "generate" in text and "prepare" in text

    watched = [results, run / "results" / "base.json", run / "augmented" / "type4-seed0.jsonl",
               run / "cells" / "type4-gamma0.5-none-seed0" / "adapter" / "adapter_model.safetensors"]
    stamps = {p: p.stat().st_mtime_ns for p in watched}
    run_experiment(experiment, run)
    assert {p: p.stat().st_mtime_ns for p in watched} == stamps  # a second run reuses every finished stage

    changed = _experiment(tiny_model_dir, generation={"temperature": 0.2})
    with pytest.raises(UserError, match=r"other inputs \(.*temperature.*differ\)"):
        run_experiment(changed, run)  # nothing made with the old temperature is reused


def test_changed_data_source_is_never_reused(cache_dir, tmp_path, monkeypatch):
    """Failure 4: reuse was decided by the mere existence of source.json."""
    folder = tmp_path / "run" / "data" / "gender"
    prepare_data(_experiment("embedded"), folder)
    local = tmp_path / "bios"
    local.mkdir()
    (local / "train.jsonl").write_text('{"hard_text": "x", "profession": 1, "gender": 0}\n')
    with pytest.raises(UserError, match=r"other inputs \(.*source\.kind.*differ\)"):
        prepare_data(_experiment("embedded", data=str(local)), folder)
    assert gender.load_source(folder).kind == "sample"


def test_infeasible_plan_stops_before_any_model(cache_dir, tmp_path, no_model_loads):
    experiment = load_experiment({"generation": {"count": 36}, "mix": {"gamma": 0.5}})  # no mix.total
    with pytest.raises(UserError) as info:
        run_experiment(experiment, tmp_path / "run")
    message = str(info.value)
    assert "|D| = |D_o| = 240 (mix.total is not set)" in message and "needs 120 generated rows" in message
    assert "generation.count is 36" in message


def test_unknown_task_and_missing_data_stop_before_any_model(cache_dir, tmp_path, no_model_loads):
    with pytest.raises(UserError, match="Unknown task"):
        run_experiment(load_experiment({"mix": {"total": 24}, "evaluation": {"tasks": ["bias_inheritance_nope"]}}),
                       tmp_path / "a")
    with pytest.raises(UserError, match="data prepare culture"):
        run_experiment(load_experiment({"mix": {"total": 24}, "evaluation": {"tasks": ["bias_inheritance_hate_ar_osact4"]}}),
                       tmp_path / "b")
