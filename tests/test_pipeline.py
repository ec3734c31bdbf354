"""The whole path on the tiny model: data -> D_a -> D -> LoRA -> lm-eval (base and tuned) -> leaderboard."""

import pandas as pd
import pytest

from pipeline.run import PipelineConfig, run_pipeline


@pytest.mark.slow
def test_whole_path_on_the_tiny_model_and_resume(tiny_model_dir, cache_dir, tmp_path):
    config = PipelineConfig.from_dict({
        "model": str(tiny_model_dir),
        "data": "sample",
        "generation": {"bias_type": 4, "count": 12, "batch_size": 6, "max_new_tokens": 24},
        "mix": {"gamma": 0.5, "total": 24},
        "train": {"learning_rate": 1e-3, "epochs": 1, "batch_size": 8, "max_length": 128},
        "evaluation": {"tasks": ["bias_inheritance_gender_bios"], "limit": 24, "batch_size": 8},
    })
    run = tmp_path / "run"
    outputs = run_pipeline(config, run)
    board = pd.read_csv(outputs["leaderboard_csv"])
    assert list(board["role"]) == ["base", "finetuned"]
    tuned = board.set_index("role").loc["finetuned"]
    assert tuned["gamma"] == 0.5 and int(tuned["bias_type"]) == 4 and tuned["sample_data"]
    for metric in ("acc", "acc_male", "acc_female", "acc_gap"):
        assert f"bias_inheritance_gender_bios/{metric} Δ" in board.columns
    assert "⚠" in outputs["leaderboard"].read_text()
    assert not (cache_dir / "data" / "gender").exists()  # the run's sample never touches the shared cache

    stamps = {p: p.stat().st_mtime_ns for p in (outputs["augmented"], run / "adapter" / "adapter_model.safetensors",
                                                 run / "results" / "base.json", run / "results" / "finetuned.json")}
    run_pipeline(config, run)
    assert {p: p.stat().st_mtime_ns for p in stamps} == stamps  # second run reuses every finished stage


def test_quickstart_config_is_packaged_and_valid():
    config = PipelineConfig.quickstart()
    assert config.model == "embedded" and config.data == "sample" and config.mix.gamma == 0.5
    assert config.generation.count >= 24
