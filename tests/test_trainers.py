import pytest

from bias_inheritance import vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json
from generators.mixing import mix_and_write
from trainers.config import TrainSettings
from trainers.data import to_sft_dataset
from trainers.train import train_lora


@pytest.mark.parametrize("field,value,message", [
    ("learning_rate", 0, "learning_rate must be positive"),
    ("epochs", -1, "epochs must be positive"),
    ("lora_dropout", 1.0, "lora_dropout"),
    ("target_modules", [], "target_modules"),
    ("mitigation", "magic", "Unknown mitigation"),
])
def test_invalid_settings_are_rejected_on_load(field, value, message):
    with pytest.raises(UserError, match=message):
        TrainSettings.from_dict({field: value})


def test_settings_from_yaml_and_unknown_keys(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("learning_rate: 2.0e-4\nepochs: 1\ntarget_modules: [q_proj, k_proj, v_proj]\n")
    settings = TrainSettings.from_yaml(path)
    assert settings.learning_rate == 2e-4 and settings.target_modules == ("q_proj", "k_proj", "v_proj")
    path.write_text("lr: 1\n")
    with pytest.raises(UserError, match="Unknown setting"):
        TrainSettings.from_yaml(path)


def test_sft_examples_match_the_scored_format():
    from bias_inheritance.data.gender import bios_prompt

    ds = to_sft_dataset([{"id": "1", "text": "She treats teeth.", "profession": "dentist"}])
    assert ds[0] == {"prompt": bios_prompt("She treats teeth."), "completion": " dentist"}
    with pytest.raises(UserError, match="no text or profession"):
        to_sft_dataset([{"id": "2", "text": "", "profession": "nurse"}])


def _tiny_mix(tmp_path, original):
    augmented = [
        {"id": f"a{i}", "text": f"She is a great {p}.", "profession": p, "gender": "female", "bias_type": 4}
        for i, p in enumerate(vocab.PROFESSIONS * 2)
    ]
    path = tmp_path / "mixed.jsonl"
    mix_and_write(original, augmented, 0.5, 24, 0, path, {"kind": "sample", "synthetic": True})
    return path


@pytest.mark.slow
def test_lora_training_writes_adapter_and_run_card_and_reuses_it(tiny_model_dir, gender_sample, tmp_path):
    from bias_inheritance.data import gender

    data = _tiny_mix(tmp_path, gender.load_split("train"))
    settings = TrainSettings(epochs=1, batch_size=4, learning_rate=1e-3, max_length=128)
    out = tmp_path / "adapter"
    card = train_lora(str(tiny_model_dir), data, out, settings)
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    saved = read_json(out / "run_card.json")
    assert saved == card
    assert card["data"]["gamma"] == 0.5 and card["data"]["bias_types"] == [4] and card["data"]["rows"] == 24
    assert card["data"]["source"]["synthetic"] is True and card["mitigation"] == "none"
    assert card["hyperparameters"]["lora_r"] == 16 and card["versions"]["trl"] != "not installed"
    assert card["train_metrics"]["train_loss"] > 0
    assert card["round"] == 0 and card["data"]["examples_trained"] + card["data"]["examples_dropped"] == 24
    assert not (out / "checkpoints").exists()
    mtime = (out / "adapter_model.safetensors").stat().st_mtime_ns
    assert train_lora(str(tiny_model_dir), data, out, settings) == card  # same inputs: reused
    assert (out / "adapter_model.safetensors").stat().st_mtime_ns == mtime


def test_edited_data_no_longer_matching_its_meta_is_refused(tmp_path, gender_sample):
    from bias_inheritance.data import gender

    data = _tiny_mix(tmp_path, gender.load_split("train"))
    lines = data.read_text().splitlines()
    data.write_text("\n".join(lines[:-1]) + "\n")
    with pytest.raises(UserError, match="no longer matches"):
        train_lora("embedded-not-loaded", data, tmp_path / "o", TrainSettings())
