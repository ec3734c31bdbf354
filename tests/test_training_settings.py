"""Training settings: presets (paper values vs filled-in assumptions), per-mitigation keys, CLI flags."""

import math

import pytest

from bias_inheritance.errors import UserError
from trainers.config import TrainSettings
from trainers.movement import movement
from trainers.presets import PRESETS


def test_paper_presets_hold_the_papers_values_and_mark_the_rest_as_assumptions():
    arabic = TrainSettings.from_dict({"preset": "paper-culture-arabic"})
    assert (arabic.learning_rate, arabic.epochs) == (1e-6, 5.0)
    culture = TrainSettings.from_dict({"preset": "paper-culture"})
    assert (culture.learning_rate, culture.epochs) == (1e-6, 3.0)
    gender = TrainSettings.from_dict({"preset": "paper-gender", "batch_size": 4})
    assert (gender.learning_rate, gender.epochs, gender.batch_size) == (1e-5, 3.0, 4)
    assumed = gender.assumptions()
    # The paper reports lr and epochs: never an assumption. The user's own batch size is not one either.
    assert "learning_rate" not in assumed and "epochs" not in assumed and "batch_size" not in assumed
    assert assumed["lora_r"] == 16 and assumed["target_modules"] == ["q_proj", "v_proj"]
    assert set(assumed) == set(PRESETS["paper-gender"].assumed) - {"batch_size"}
    quick = TrainSettings.from_dict({"preset": "cpu-quickstart"})
    assert "learning_rate" in quick.assumptions()  # nothing in the CPU preset is the paper's
    assert TrainSettings().assumptions() == {}


def test_a_preset_is_a_label_not_an_input():
    explicit = TrainSettings.from_dict(dict(PRESETS["paper-gender"].values()))
    named = TrainSettings.from_dict({"preset": "paper-gender"})
    assert named.key_dict() == explicit.key_dict() and named.preset == "paper-gender"


@pytest.mark.parametrize("raw,message", [
    ({"preset": "paper-french"}, "Unknown training preset 'paper-french'"),
    ({"preset": 3}, "`preset` must be a name"),
    ({"mitigation": "magic"}, "Unknown mitigation 'magic'"),
    ({"align_lambda": -1}, "align_lambda must be 0 or more"),
    ({"align_lambda": float("inf")}, "align_lambda must be 0 or more"),
    ({"align_scale": "max"}, "align_scale must be one of sum, mean"),
    ({"align_momentum": 1.0}, "align_momentum must be in"),
    ({"token_cue": "  "}, "token_cue must not be empty"),
    ({"lr_scheduler_type": "zigzag"}, "lr_scheduler_type must be one of"),
    ({"align_lambda": "big"}, "Bad value for `align_lambda`"),
])
def test_bad_settings_are_one_line_errors(raw, message):
    with pytest.raises(UserError, match=message):
        TrainSettings.from_dict(raw)


def test_whole_numbers_written_either_way_give_one_key():
    """`epochs=1` in code and `epochs: 1.0` from YAML trained one run under two keys."""
    assert TrainSettings(epochs=1, learning_rate=1).key_dict() == TrainSettings.from_dict(
        {"epochs": 1.0, "learning_rate": 1.0}).key_dict()


def test_each_mitigation_keys_only_its_own_settings():
    def key(**changes):
        return TrainSettings(**changes).key_dict()

    assert key(mitigation="none", align_lambda=0.5) == key(mitigation="none")  # λ means nothing without the loss
    assert key(mitigation="mask", token_cue="Careful.") == key(mitigation="mask")
    assert key(mitigation="loss", align_lambda=0.5) != key(mitigation="loss")
    assert key(mitigation="token", token_cue="Careful.") != key(mitigation="token")
    assert key(align_balanced_batches=True) != key()  # the sampler changes every mitigation's run
    assert "device" not in key() and "preset" not in key()


def test_movement_is_judged_against_the_base_weights_and_flags_a_still_run():
    import torch

    before = [torch.zeros(2, 2)]
    after = [torch.tensor([[3e-5, 0.0], [0.0, 4e-5]])]
    still = movement(before, after, weight_norm=1.0, losses=[2.0, 1.995])
    assert math.isclose(still["adapter_delta_norm"], 5e-5, rel_tol=1e-6)
    assert math.isclose(still["adapter_relative_change"], 5e-5, rel_tol=1e-6)
    assert math.isclose(still["loss_relative_change"], 0.0025)
    assert still["flags"] == ["loss_barely_moved", "adapter_barely_moved"]
    moved = movement(before, [torch.full((2, 2), 0.1)], weight_norm=2.0, losses=[2.0, 1.0])
    assert moved["flags"] == [] and math.isclose(moved["adapter_relative_change"], 0.1, rel_tol=1e-6)
    one_log = movement(before, after, weight_norm=1.0, losses=[2.0])
    assert one_log["loss_relative_change"] is None and one_log["flags"] == ["adapter_barely_moved"]


def test_cli_flags_override_the_config_and_are_checked(tmp_path, capsys):
    from pipeline.cli import main

    config = tmp_path / "train.yaml"
    config.write_text("preset: paper-gender\nmitigation: token\n")
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"), "--mitigation", "magic"])
    assert exit_.value.code == 2 and "invalid choice: 'magic'" in capsys.readouterr().err
    code = main(["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "o"),
                 "--config", str(config), "--align-lambda", "-2"])
    err = capsys.readouterr().err
    assert code == 2 and "align_lambda must be 0 or more" in err and "Traceback" not in err
