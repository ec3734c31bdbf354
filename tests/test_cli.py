"""Bad input gets a one-line error naming the problem and the fix, exit code 2, no traceback."""

from pipeline.cli import main
from bias_tasks import tasks_path


def _error(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("bias-inheritance: error:") and "\n" not in err and "Traceback" not in err
    return err


def test_unknown_bias_type(capsys, tmp_path):
    err = _error(capsys, ["generate", "--bias-type", "9", "--count", "3", "--out", str(tmp_path / "a.jsonl")])
    assert "Unknown bias type '9'" in err and "Fix:" in err


def test_gamma_outside_range(capsys, tmp_path, gender_sample):
    aug = tmp_path / "a.jsonl"
    aug.write_text("")
    err = _error(capsys, ["mix", "--augmented", str(aug), "--gamma", "1.0", "--out", str(tmp_path / "m.jsonl")])
    assert "outside [0, 1)" in err


def test_missing_and_malformed_data_files(capsys, tmp_path, cache_dir):
    err = _error(capsys, ["train", "--data", str(tmp_path / "missing.jsonl"), "--out", str(tmp_path / "o")])
    assert "File not found" in err
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": 1}\n{oops\n')
    err = _error(capsys, ["train", "--data", str(bad), "--out", str(tmp_path / "o")])
    assert "line 2" in err


def test_model_path_that_does_not_exist(capsys, tmp_path, gender_sample):
    err = _error(capsys, ["model", "path", "--model", str(tmp_path / "no-model")])
    assert "does not exist" in err
    err = _error(capsys, ["evaluate", "--model", "./no-model", "--out", str(tmp_path / "r.json")])
    assert "does not exist" in err


def test_unprepared_data_names_the_command(capsys, tmp_path, cache_dir):
    aug = tmp_path / "a.jsonl"
    aug.write_text("")
    err = _error(capsys, ["mix", "--augmented", str(aug), "--gamma", "0.1", "--out", str(tmp_path / "m.jsonl")])
    assert "bias-inheritance data prepare gender" in err


def test_malformed_configs(capsys, tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("generation: {bias_type: 4, count: 2}\nmix: {gamma: 2}\n")
    assert "outside [0, 1)" in _error(capsys, ["quickstart", "--config", str(cfg)])
    cfg.write_text("train: {learning_rate: -1}\n")
    assert "learning_rate must be positive" in _error(capsys, ["quickstart", "--config", str(cfg)])
    cfg.write_text("trian: {}\n")
    assert "Unknown config key(s) in the" in _error(capsys, ["quickstart", "--config", str(cfg)])
    cfg.write_text("train: [1, 2\n")
    assert "not valid YAML" in _error(capsys, ["train", "--data", "x", "--config", str(cfg), "--out", str(tmp_path)])


def test_tasks_path_prints_the_include_folder(capsys):
    assert main(["tasks-path"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == str(tasks_path())
    assert (tasks_path() / "gender_bios" / "bias_inheritance_gender_bios.yaml").is_file()


def test_data_prepare_sample(capsys, cache_dir):
    assert main(["data", "prepare", "gender", "--sample"]) == 0
    assert "SYNTHETIC SAMPLE" in capsys.readouterr().out


def test_lm_eval_validate_accepts_every_yaml():
    """`lm_eval validate` on every task YAML under the include path (found by scanning the files)."""
    import subprocess
    import sys

    import yaml

    class _Loader(yaml.SafeLoader):
        pass

    _Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    names = []
    for path in sorted(tasks_path().rglob("*.yaml")):
        config = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
        assert "group" not in config or isinstance(config.get("task"), list), f"{path}: a task YAML must not hold group:"
        if isinstance(config.get("task"), str):
            names.append(config["task"])
    assert "bias_inheritance_gender_bios" in names
    result = subprocess.run(
        [sys.executable, "-m", "lm_eval", "validate", "--tasks", ",".join(names), "--include_path", str(tasks_path())],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and "All tasks found and valid" in result.stdout, result.stdout[-2000:] + result.stderr[-2000:]


def test_evaluate_metadata_must_be_a_json_object(capsys, tmp_path, cache_dir):
    assert "not valid JSON" in _error(capsys, ["evaluate", "--metadata", "{persona: true}", "--out", str(tmp_path / "r.json")])
    assert "must be a JSON object" in _error(capsys, ["evaluate", "--metadata", "[1]", "--out", str(tmp_path / "r.json")])


def test_data_prepare_all_installs_every_sample(capsys, cache_dir):
    assert main(["data", "prepare", "all", "--sample"]) == 0
    printed = capsys.readouterr().out
    assert "gender data ready" in printed and "culture data ready" in printed and "16 datasets" in printed
    assert (cache_dir / "data" / "gender" / "card.json").is_file()
    assert "takes no --from-dir" in _error(capsys, ["data", "prepare", "all", "--from-dir", str(cache_dir)])


def test_show_prints_the_chain_and_rejects_outputs_without_cards(capsys, tmp_path, gender_sample):
    from bias_inheritance import cards

    mixed = tmp_path / "mixed.jsonl"
    cards.write_card(mixed, "mix", {"gamma": 0.5}, parents={"original": cards.parent("original", gender_sample)},
                     summary={"provenance": {"gamma": 0.5, "data_source": "sample"}})
    assert main(["show", str(mixed)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("output: mix ") and "gamma=0.5" in lines[1]
    assert any(line.startswith("  original: prepare ") for line in lines)
    assert "has no card" in _error(capsys, ["show", str(tmp_path / "nothing.json")])


def test_rescore_and_evaluate_reject_bad_input(capsys, tmp_path, gender_sample):
    assert "File not found" in _error(capsys, ["rescore", str(tmp_path / "missing.json")])
    assert "Unknown task" in _error(capsys, ["evaluate", "--tasks", "bias_inheritance_nope*", "--out", str(tmp_path / "r.json")])
