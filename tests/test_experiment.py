"""The experiment schema: axes as lists, types and values checked by key, one-line errors."""

import pytest

from bias_inheritance.errors import UserError
from pipeline.experiment import Cell, load_config, load_experiment, quickstart_experiment


def _error(raw) -> str:
    with pytest.raises(UserError) as info:
        load_experiment(raw)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_scalars_are_one_item_axes_and_cells_are_the_product():
    experiment = load_experiment({"generation": {"bias_type": [4, "contrastive_implicit"]}, "mix": {"gamma": [0.1, 0.2]},
                                  "seed": 3})
    assert experiment.generation.bias_type == [4, 6] and experiment.mix.gamma == [0.1, 0.2] and experiment.seed == [3]
    assert experiment.cells() == [Cell(4, 0.1, "none", 3), Cell(4, 0.2, "none", 3), Cell(6, 0.1, "none", 3),
                                  Cell(6, 0.2, "none", 3)]
    assert experiment.train_settings("none", 3).seed == 3


def test_quoted_number_is_read_as_that_number():
    assert load_experiment({"mix": {"gamma": "0.2"}}).mix.gamma == [0.2]


@pytest.mark.parametrize("raw, key, words", [
    ({"mix": {"gamma": [0.2, 1.5]}}, "mix.gamma", "outside [0, 1)"),
    ({"generation": {"count": "ten"}}, "generation.count", "valid integer"),
    ({"train": {"learning_rate": "fast"}}, "train.learning_rate", "valid number"),
    ({"generation": {"bias_type": 9}}, "generation.bias_type", "Unknown bias type"),
    ({"mix": {"gamma": [0.1, 0.1]}}, "mix.gamma", "twice"),
    ({"train": {"mitigation": ["none", "magic"]}}, "train", "unknown mitigation 'magic'"),
    ({"evaluation": {"format": "html"}}, "evaluation.format", "'auto', 'chat' or 'plain'"),
    ({"data": "/no/such/folder"}, "data", "neither sample nor hub"),
    ({"mix": {"total": 0}}, "mix.total", "greater than 0"),
])
def test_bad_values_name_their_key(raw, key, words):
    message = _error(raw)
    assert f"`{key}`" in message and words in message, message


def test_unknown_keys_are_named():
    assert "trian" in _error({"trian": {}})
    assert "`generation.cout`" in _error({"generation": {"cout": 3}})


def test_quickstart_config_is_packaged_and_valid():
    experiment = quickstart_experiment()
    assert experiment.model == "embedded" and experiment.data == "sample"
    cells = experiment.cells()
    assert cells[0] == Cell(None, 0.0, "none", 0) and cells[0].label == "control-seed0"
    assert {(c.bias_type, c.gamma, c.mitigation) for c in cells[1:]} == {
        (t, g, m) for t in (4, 6) for g in (0.25, 0.5) for m in ("none", "mask")}
    settings = experiment.train_settings("mask", 0)
    assert (settings.epochs, settings.max_length, settings.learning_rate) == (1.0, 256, 2e-4)  # config over preset


def test_gamma_zero_is_one_control_per_seed_and_culture():
    experiment = load_experiment({"bias": "culture", "cultures": ["arabic", "spanish"], "seed": [0, 1],
                                  "generation": {"bias_type": [1, 4]}, "mix": {"gamma": [0, 0.2]},
                                  "train": {"mitigation": ["none", "loss"]}})
    controls = [c for c in experiment.cells() if c.is_control]
    assert [c.label for c in controls] == ["control-arabic-seed0", "control-spanish-seed0", "control-arabic-seed1",
                                           "control-spanish-seed1"]
    assert len(experiment.cells()) == 2 * 2 * (1 + 2 * 1 * 2)  # seeds × cultures × (control + types × γ>0 × mitigations)
    assert experiment.tasks == ["bias-inheritance-culture"]


def test_shipped_paper_configs_and_per_culture_presets():
    gender = load_config("paper-gender")
    assert len(gender.cells()) == 7 * 4 * 4 + 1 and gender.preset_for(None) == "paper-gender"
    culture = load_config("paper-culture")
    assert culture.culture_axis == ["arabic", "chinese", "portuguese", "spanish"]
    assert culture.train_settings("none", 0, "arabic").epochs == 5.0  # SPEC §3: Arabic 5 epochs, the others 3
    assert culture.train_settings("none", 0, "chinese").epochs == 3.0
    assert culture.train_settings("none", 0, "chinese").learning_rate == 1e-6
    assert culture.generation.backend == "vllm"
