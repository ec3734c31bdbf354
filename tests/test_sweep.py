"""The sweep on the tiny model: shared pools and control, reuse, executors, shards, a kill, dry runs, config errors."""

from __future__ import annotations

import json
import os
import shutil
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


def _rounds_config(model: Path, **rounds) -> dict:
    raw = _config(model, bias_type=[4], mitigation=["none"])
    raw["rounds"] = {"count": 2, "bias_type": 4, "gamma": 0.5, **rounds}
    return raw


def test_rounds_are_cells_that_generate_with_the_previous_rounds_model(sweep, tmp_path):
    """Round 2's pool is generated by round 1's adapter; round 1, the control and the base are the grid's own."""
    import pandas as pd

    from bias_inheritance.io import read_jsonl

    out = tmp_path / "out"
    shutil.copytree(sweep["out"], out)  # a moved run folder: every finished piece is reused
    config = _write(tmp_path / "rounds.yaml", _rounds_config(sweep["model"]))
    plan = make_plan(load_config(config), out)
    round2 = "type4-gamma0.5-none-seed0-round2"
    assert plan.by_id[f"generate/{round2}"].needs == ("cell/type4-gamma0.5-none-seed0",)
    assert plan.by_id[f"cell/{round2}"].needs == (f"generate/{round2}",)
    assert executors.waves(plan, [p.id for p in plan.leaves()])[1:] == [
        ["cell/type4-gamma0.5-none-seed0"], [f"generate/{round2}"], [f"cell/{round2}"]]
    results = {p: p.read_bytes() for p in (out / "results").glob("*.json")}
    summary = run_sweep(config, out)
    assert sorted(summary["ran"]) == [f"cell/{round2}", f"generate/{round2}"]
    assert all(path.read_bytes() == content for path, content in results.items())  # keyed by content, not folder
    first, second = (cards.read_card(out / "cells" / label / "adapter" / "card.json")
                     for label in ("type4-gamma0.5-none-seed0", round2))
    assert [c["summary"]["provenance"]["round"] for c in (first, second)] == [1, 2]
    assert second["summary"]["provenance"]["continued"] is False and second["inputs"]["init_adapter"] is None
    generator = cards.read_card(out / "augmented" / "round2" / "type4-seed0.card.json")["inputs"]["generator"]
    assert generator["adapter"] == {"card_key": first["key"]}
    kept = [{r["id"] for r in read_jsonl(out / "mixes" / folder / "gamma_0.5.jsonl") if r["origin"] == "original"}
            for folder in ("type4-seed0", "round2/type4-seed0")]
    assert kept[0] == kept[1] and len(kept[0]) == 4  # the same D_o rows in every round, |D| = 8 at γ = 0.5
    board = pd.read_csv(out / "board" / "leaderboard.csv")
    later = board[(board["round"] == 2) & (board["task"] == "bias_inheritance_gender_bios")]
    assert not later.empty and set(later["control_run"].dropna()) == {"lora-control-seed0"}  # a fresh LoRA: round 1's control
    assert later["inheritance_delta"].notna().any()


def test_continued_rounds_and_round_settings_are_checked(sweep, tmp_path):
    plan = make_plan(load_config(_write(tmp_path / "c.yaml", _rounds_config(sweep["model"], count=3))), tmp_path / "o")
    assert [p.id for p in plan.cells][-2:] == ["cell/type4-gamma0.5-none-seed0-round2", "cell/type4-gamma0.5-none-seed0-round3"]
    for rounds, words in (({"mitigation": "mask"}, "'mask' is not on the train.mitigation axis"),
                          ({"gamma": 0}, "rounds.gamma")):
        with pytest.raises(UserError, match=words):
            load_config(_write(tmp_path / "bad.yaml", _rounds_config(sweep["model"], **rounds)))
    from pipeline.cli import main

    assert main(["rounds", "--config", str(_write(tmp_path / "none.yaml", _config(sweep["model"]))),
                 "--out", str(tmp_path / "x")]) == 2


def test_a_culture_sweep_trains_one_adapter_per_culture(tiny_model_dir, cache_dir, tmp_path):
    """Culture runs: one pool per type shared by the cultures, a D, an adapter and a control per culture,
    and the plan proven feasible per culture before any model loads. Generation answers through a
    local OpenAI-compatible server (the tiny random model cannot name an option)."""
    from fake_openai_server import FakeOpenAIServer

    from bias_inheritance.io import read_jsonl

    raw = {"model": str(tiny_model_dir), "bias": "culture", "cultures": ["arabic", "spanish"], "data": "sample",
           "device": "cpu", "seed": 0,
           "generation": {"bias_type": [1], "count": 16, "batch_size": 8, "max_new_tokens": 8, "backend": "openai"},
           "mix": {"gamma": [0, 0.5], "total": 6},
           "train": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 8, "max_length": 256, "mitigation": ["none"]},
           "evaluation": {"tasks": ["bias_inheritance_hate_ar_osact4"], "limit": 6, "batch_size": 8}}
    short = _write(tmp_path / "short.yaml", {**raw, "generation": {**raw["generation"], "count": 8}})
    with pytest.raises(UserError, match="type1-gamma0.5-none-arabic-seed0.*across the cultures"):
        run_sweep(short, tmp_path / "short")  # 8 prompts over four cultures: 2 Arabic rows, 3 needed
    assert not (tmp_path / "short" / "augmented").exists()
    with FakeOpenAIServer(reply=lambda prompt, seed: "(A)") as server:
        raw["generation"]["base_url"] = server.url
        summary = run_sweep(_write(tmp_path / "culture.yaml", raw), tmp_path / "out")
    out = tmp_path / "out"
    assert [c["label"] for c in summary["cells"]] == ["control-arabic-seed0", "type1-gamma0.5-none-arabic-seed0",
                                                       "control-spanish-seed0", "type1-gamma0.5-none-spanish-seed0"]
    assert sorted(summary["ran"]) == sorted(["base", "generate/type1-seed0"] + [f"cell/{c['label']}" for c in summary["cells"]])
    for culture in ("arabic", "spanish"):
        rows = read_jsonl(out / "mixes" / f"type1-{culture}-seed0" / "gamma_0.5.jsonl")
        assert {r["culture"] for r in rows} == {culture} and sum(r["origin"] == "augmented" for r in rows) == 3
        card = cards.read_card(out / "cells" / f"type1-gamma0.5-none-{culture}-seed0" / "adapter" / "card.json")
        provenance = card["summary"]["provenance"]
        assert (provenance["bias"], provenance["culture"]) == ("culture", culture)
        assert provenance["data_source"].endswith("(SYNTHETIC SAMPLE)")  # D_o's label survives the selection
    import pandas as pd

    board = pd.read_csv(out / "board" / "leaderboard.csv")
    tuned = board[board["role"] == "finetuned"].drop_duplicates("run").set_index("culture")["control_run"]
    assert tuned.to_dict() == {c: f"lora-control-{c}-seed0" for c in ("arabic", "spanish")}  # each culture's own control
