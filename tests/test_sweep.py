"""The sweep on the tiny model: shared pools and control, reuse, executors, shards, a kill, dry runs, config errors."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bias_inheritance import cards
from bias_inheritance.cache import CACHE_ENV
from bias_inheritance.errors import UserError
from pipeline import executors
from pipeline.experiment import load_config
from pipeline.sweep import make_plan, parse_shard, parse_slurm_parameters, read_events, run_piece, run_sweep

ROOT = Path(__file__).resolve().parents[1]


def _config(model: Path, **axes) -> dict:
    return {
        "model": str(model), "data": "sample", "device": "cpu", "seed": 0,
        "generation": {"bias_type": axes.get("bias_type", [4, 6]), "count": 8, "batch_size": 8, "max_new_tokens": 16},
        "mix": {"gamma": [0, 0.5], "total": 8},
        "train": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 8, "max_length": 128,
                  "mitigation": axes.get("mitigation", ["none", "mask"])},
        "evaluation": {"tasks": ["bias_inheritance_gender_bios"], "limit": 6, "batch_size": 8},
    }


def _write(path: Path, raw: dict) -> Path:
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


def _same_as_shared(out: Path, shared: Path) -> None:
    """Every adapter of `out` has the key of the shared sweep's, and every result its scores."""
    labels = [p.parent.parent.name for p in (out / "cells").glob("*/adapter/card.json")]
    assert labels
    for label in labels:
        mine, theirs = (cards.read_card(root / "cells" / label / "adapter" / "card.json") for root in (out, shared))
        assert mine["key"] == theirs["key"], label
    for name in ["base"] + labels:
        mine, theirs = (json.loads((root / "results" / f"{name}.json").read_text())["results"] for root in (out, shared))
        assert mine == theirs, name


def _ran(out: Path) -> list[str]:
    return [e["piece"] for e in read_events(out) if e["event"] == "ran"]


@pytest.fixture(scope="module")
def sweep(tiny_model_dir, tmp_path_factory):
    """One tiny sweep shared by the tests: 2 bias types × γ {0, 0.5} × mitigations {none, mask}."""
    root = tmp_path_factory.mktemp("sweep")
    previous = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(root / "cache")
    config = _write(root / "sweep.yaml", _config(tiny_model_dir))
    summary = run_sweep(config, root / "out")
    yield {"root": root, "config": config, "out": root / "out", "summary": summary, "model": tiny_model_dir}
    if previous is None:
        os.environ.pop(CACHE_ENV, None)
    else:
        os.environ[CACHE_ENV] = previous


def test_cells_share_pools_and_one_control(sweep):
    out, summary = sweep["out"], sweep["summary"]
    labels = [c["label"] for c in summary["cells"]]
    assert labels == ["control-seed0", "type4-gamma0.5-none-seed0", "type4-gamma0.5-mask-seed0",
                      "type6-gamma0.5-none-seed0", "type6-gamma0.5-mask-seed0"]
    assert all(c["state"] == "done" for c in summary["pieces"]) and summary["work_left"] == {
        "generations": 0, "trainings": 0, "evaluations": 0}
    # 2 types × 2 γ × 2 mitigations = 8 runs of the grid; γ = 0 is trained once: 5 trainings, 2 pools, 1 base.
    ran = _ran(out)
    assert sorted(ran) == sorted(["base", "generate/type4-seed0", "generate/type6-seed0"] + [f"cell/{x}" for x in labels])
    adapters = sorted(p.parent.parent.name for p in (out / "cells").glob("*/adapter/card.json"))
    assert adapters == sorted(labels)
    assert sorted(p.name for p in (out / "results").glob("*.json") if not p.name.endswith(".card.json")) == sorted(
        ["base.json"] + [f"{x}.json" for x in labels])
    # The control's D holds D_o rows only, and its key depends on no bias type's generations.
    control = cards.chain(out / "results" / "control-seed0.json")
    mixed = control["parents_cards"]["adapter"]["parents_cards"]["data"]
    assert mixed["summary"]["counts"]["augmented"] == 0 and mixed["summary"]["counts"]["total"] == 8
    assert mixed["parents_cards"]["augmented"]["inputs"] == {"bias": "gender", "count": 0, "control": True, "version": 1}
    assert json.loads((out / "results" / "control-seed0.json").read_text())
    # Both mitigations of a type train on one D.
    none, mask = (cards.read_card(out / "cells" / f"type4-gamma0.5-{m}-seed0" / "adapter" / "card.json") for m in ("none", "mask"))
    assert none["inputs"]["data_sha256"] == mask["inputs"]["data_sha256"]


def test_second_run_does_no_work(sweep, capsys):
    out = sweep["out"]
    watched = sorted(p for p in out.rglob("*") if p.is_file() and "sweep" not in p.parts and ".claims" not in p.parts)
    stamps = {p: p.stat().st_mtime_ns for p in watched}
    summary = run_sweep(sweep["config"], out)
    assert summary["ran"] == []
    assert {p: p.stat().st_mtime_ns for p in watched} == stamps
    assert "[sweep] cells: 5 done, 0 running, 0 left" in capsys.readouterr().out


def test_dry_run_lists_states_and_work_left(sweep, tmp_path, capsys):
    done = run_sweep(sweep["config"], sweep["out"], dry_run=True)
    assert {p["state"] for p in done["pieces"]} == {"done"}
    fresh = run_sweep(sweep["config"], tmp_path / "fresh", dry_run=True)
    assert {p["state"] for p in fresh["pieces"]} == {"todo"}
    assert fresh["work_left"] == {"generations": 2, "trainings": 5, "evaluations": 6}
    assert not (tmp_path / "fresh").exists()  # a dry run writes nothing
    # A cell whose adapter is finished but whose evaluation is not is partial: one evaluation left, no training.
    partial = tmp_path / "partial"
    cell = "type4-gamma0.5-none-seed0"
    (partial / "cells" / cell).mkdir(parents=True)
    (partial / "cells" / cell / "adapter").mkdir()
    (partial / "cells" / cell / "adapter" / "card.json").write_text(
        (sweep["out"] / "cells" / cell / "adapter" / "card.json").read_text())
    states = {p["piece"]: p["state"] for p in run_sweep(sweep["config"], partial, dry_run=True)["pieces"]}
    assert states[f"cell/{cell}"] == "partial" and states["cell/control-seed0"] == "todo"
    assert run_sweep(sweep["config"], partial, dry_run=True)["work_left"]["trainings"] == 4
    assert f"cell/{cell}" in capsys.readouterr().out


def _sweep_process(config: Path, out: Path, shard: str | None = None) -> subprocess.Popen:
    code = f"from pipeline.sweep import run_sweep; run_sweep({str(config)!r}, {str(out)!r}, shard={shard!r})"
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)


def test_two_shards_at_once_do_each_piece_once(sweep, tmp_path):
    config = _write(tmp_path / "shards.yaml", _config(sweep["model"], bias_type=[4]))
    out = tmp_path / "out"
    plan = make_plan(load_config(config), out)
    assert [p.id for p in plan.leaves((0, 2))] == ["base", "cell/type4-gamma0.5-none-seed0"]
    assert [p.id for p in plan.leaves((1, 2))] == ["cell/control-seed0", "cell/type4-gamma0.5-mask-seed0"]
    shards = [_sweep_process(config, out, f"{i}/2") for i in range(2)]
    assert [p.wait(timeout=240) for p in shards] == [0, 0]
    ran = _ran(out)
    assert sorted(ran) == sorted(set(ran)) == sorted(["generate/type4-seed0"] + [p.id for p in plan.leaves()])
    assert len({e["pid"] for e in read_events(out)}) == 2
    assert run_sweep(config, out, dry_run=True)["work_left"] == {"generations": 0, "trainings": 0, "evaluations": 0}
    _same_as_shared(out, sweep["out"])


def test_a_killed_sweep_resumes_in_local_processes(sweep, tmp_path):
    config = _write(tmp_path / "kill.yaml", _config(sweep["model"], bias_type=[4], mitigation=["none"]))
    out = tmp_path / "out"
    process = _sweep_process(config, out)
    deadline = time.monotonic() + 120
    while "base" not in _ran(out) and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    os.killpg(process.pid, signal.SIGKILL)  # mid-run: the base is evaluated, the control is training
    process.wait()
    assert _ran(out) == ["base"]
    summary = run_sweep(config, out, executor="local", workers=2)
    assert sorted(summary["ran"]) == ["cell/control-seed0", "cell/type4-gamma0.5-none-seed0", "generate/type4-seed0"]
    assert all(p["state"] == "done" for p in summary["pieces"])
    assert len({e["pid"] for e in read_events(out) if e["piece"] != "base"}) == 3  # a process per piece
    _same_as_shared(out, sweep["out"])


def test_slurm_graph_runs_pools_before_the_cells_that_use_them(sweep):
    plan = make_plan(load_config(sweep["config"]), sweep["out"])
    first, second = executors.waves(plan, [p.id for p in plan.leaves()])
    assert first == ["generate/type4-seed0", "generate/type6-seed0", "base", "cell/control-seed0"]
    assert second == [f"cell/type{t}-gamma0.5-{m}-seed0" for t in (4, 6) for m in ("none", "mask")]
    pytest.importorskip("submitit")
    # submitit's in-process debug executor runs the same jobs; everything is finished, so nothing runs again.
    assert executors.run_slurm(sweep["config"], sweep["out"], plan, [p.id for p in plan.leaves()], cluster="debug",
                               piece_runner=run_piece) == []


@pytest.mark.parametrize("raw, words", [
    ({"bias": "age"}, "`bias`"),
    ({"cultures": ["arabic"]}, "only a culture run"),
    ({"bias": "culture", "cultures": ["klingon"]}, "unknown culture 'klingon'"),
    ({"bias": "culture", "cultures": ["arabic"], "train": {"preset": {"spanish": "paper-culture"}}},
     "preset names spanish, which this experiment does not train"),
    ({"train": {"preset": "fast"}}, "unknown training preset 'fast'"),
    ({"generation": {"backend": "tgi"}}, "`generation.backend`"),
    ({"sweep": 1}, "Unknown config key(s)"),
])
def test_bad_config_keys_are_one_line_errors(tmp_path, raw, words):
    path = _write(tmp_path / "bad.yaml", raw)
    with pytest.raises(UserError) as info:
        run_sweep(path, tmp_path / "out", dry_run=True)
    assert words in str(info.value) and "\n" not in str(info.value)


def test_bad_names_shards_and_executors(tmp_path):
    with pytest.raises(UserError, match="No config named 'paper-gendr'"):
        run_sweep("paper-gendr", tmp_path)
    for text in ("2/2", "a/b", "0/0"):
        with pytest.raises(UserError, match="--shard"):
            parse_shard(text)
    assert parse_shard("1/3") == (1, 3)
    with pytest.raises(UserError, match="Unknown executor 'ray'"):
        run_sweep("quickstart", tmp_path, executor="ray")


def test_slurm_parameters_from_the_command_line():
    assert parse_slurm_parameters(["slurm_partition=gpu", "gpus_per_node=1", "timeout_min = 240"]) == {
        "slurm_partition": "gpu", "gpus_per_node": 1, "timeout_min": 240}
    for bad in ("gpu", "=gpu", "slurm_partition="):
        with pytest.raises(UserError, match="is not KEY=VALUE"):
            parse_slurm_parameters([bad])


def test_an_unknown_slurm_parameter_is_one_line(sweep):
    pytest.importorskip("submitit")
    plan = make_plan(load_config(sweep["config"]), sweep["out"])
    with pytest.raises(UserError, match="Bad Slurm parameter: Parameter 'foo'"):
        executors.run_slurm(sweep["config"], sweep["out"], plan, [], cluster="debug", parameters={"foo": 1},
                            piece_runner=run_piece)
