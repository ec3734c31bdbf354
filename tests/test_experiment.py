"""The experiment schema: axes as lists, types and values checked by key, one-line errors."""

import pytest

from bias_inheritance.errors import UserError
from pipeline.experiment import Cell, load_experiment, quickstart_experiment


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
    assert [(c.bias_type, c.gamma) for c in experiment.cells()] == [(4, 0.5)]
