import shutil

import pytest

from bias_inheritance import cards, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from trainers import checkpoints
from trainers.config import TrainSettings
from trainers.data import to_sft_dataset
from trainers.train import train_lora

# 8 rows, batch 4, 1 epoch: 2 optimiser steps, a checkpoint after each.
TINY = TrainSettings(epochs=1, batch_size=4, learning_rate=1e-3, max_length=128, save_steps=1, device="cpu")


@pytest.mark.parametrize("field,value,message", [
    ("learning_rate", 0, "learning_rate must be positive"),
    ("epochs", -1, "epochs must be positive"),
    ("lora_dropout", 1.0, "lora_dropout"),
    ("target_modules", [], "target_modules"),
    ("mitigation", "magic", "Unknown mitigation"),
    ("device", "tpu", "device must be one of"),
])
def test_invalid_settings_are_rejected_on_load(field, value, message):
    with pytest.raises(UserError, match=message):
        TrainSettings.from_dict({field: value})


def test_settings_from_yaml_and_unknown_keys(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text("learning_rate: 2.0e-4\nepochs: 1\ntarget_modules: [q_proj, k_proj, v_proj]\ndevice: cpu\n")
    settings = TrainSettings.from_yaml(path)
    assert settings.learning_rate == 2e-4 and settings.target_modules == ("q_proj", "k_proj", "v_proj")
    assert settings.device == "cpu" and "device" not in settings.key_dict()
    dropped = {"device", "preset", "align_lambda", "align_scale", "align_detach_original", "align_momentum", "token_cue"}
    assert settings.key_dict() == {k: v for k, v in settings.to_dict().items() if k not in dropped}
    path.write_text("lr: 1\n")
    with pytest.raises(UserError, match="Unknown setting"):
        TrainSettings.from_yaml(path)


def test_rows_without_text_are_an_error_not_dropped():
    with pytest.raises(UserError, match="no text or profession"):
        to_sft_dataset([{"id": "2", "text": "", "profession": "nurse"}], None, "plain")
    with pytest.raises(UserError, match="empty"):
        to_sft_dataset([], None, "plain")


def test_culture_rows_train_on_the_question_and_the_lettered_answer():
    from bias_inheritance.data.opinions import culture_prefix, opinion_question
    from trainers.mitigations import transform_rows

    options = ["Agree", "Disagree"]
    text = opinion_question("Is work important?", options, culture_prefix("arabic"))
    rows = [{"id": "q1-arabic", "bias": "culture", "origin": "original", "question_text": text, "options": options,
             "answer_index": 1},
            {"id": "a1", "bias": "culture", "origin": "augmented", "question_text": "Omar, an Arab man. " + text,
             "options": options, "answer_index": 0}]
    masked, stats = transform_rows(rows, "mask")
    dataset = to_sft_dataset(masked, None, "plain")
    assert dataset[0] == {"prompt": text, "completion": " (B) Disagree", "augmented": 0}
    assert dataset[1]["prompt"].startswith("[MASK], an [MASK] person.") and dataset[1]["completion"] == " (A) Agree"
    assert dataset[1]["augmented"] == 1 and stats["rows_changed"] == 1
    with pytest.raises(UserError, match="no question_text, options or answer_index"):
        to_sft_dataset([{**rows[0], "answer_index": 2}], None, "plain")
    with pytest.raises(UserError, match="origin 'synthetic'"):
        to_sft_dataset([{**rows[0], "origin": "synthetic"}], None, "plain")


def _rows(n_augmented: int, total: int = 8) -> list[dict]:
    return [
        {"id": f"r{i}", "origin": "augmented" if i < n_augmented else "original",
         "text": f"{'She' if i % 2 else 'He'} works as a {vocab.PROFESSIONS[i % 6]} every day.",
         "profession": vocab.PROFESSIONS[i % 6], "gender": "female" if i % 2 else "male"}
        for i in range(total)
    ]


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs."""


def _kill_after_checkpoints(monkeypatch, count: int) -> None:
    """Make the Trainer die right after saving its `count`-th checkpoint (before anything else is written)."""
    from trl.trainer.sft_trainer import SFTTrainer

    original, saved = SFTTrainer._save_checkpoint, []

    def save_then_die(self, model, trial):
        original(self, model, trial)
        saved.append(self.state.global_step)
        if len(saved) >= count:
            raise Killed()

    monkeypatch.setattr(SFTTrainer, "_save_checkpoint", save_then_die)


def _killed_run(monkeypatch, model, data, out, settings=TINY, count=1):
    with monkeypatch.context() as patch:
        _kill_after_checkpoints(patch, count)
        with pytest.raises(Killed):
            train_lora(model, data, out, settings)


def _files(folder):
    return {p.relative_to(folder): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_checkpoints_of_another_run_are_never_resumed(tiny_model_dir, tmp_path, monkeypatch, cache_dir):
    """Issue failure 1: a γ=0.5 run killed after its last checkpoint; training γ=0 data into the same
    folder trained 0 steps and wrote the γ=0.5 adapter under a card saying γ=0."""
    half, zero, out = tmp_path / "g05.jsonl", tmp_path / "g0.jsonl", tmp_path / "adapter"
    write_jsonl(half, _rows(4))
    write_jsonl(zero, _rows(0))
    _killed_run(monkeypatch, str(tiny_model_dir), half, out, count=2)
    before = _files(out)
    assert (out / "checkpoints" / "checkpoint-2" / "trainer_state.json").is_file()
    with pytest.raises(UserError, match=r"\(data_sha256 differ\)"):
        train_lora(str(tiny_model_dir), zero, out, TINY)
    assert _files(out) == before  # nothing trained, nothing written
    # A folder of checkpoints without any card (left by an older version) is refused too.
    cards.card_path(out).unlink()
    with pytest.raises(UserError, match="has no card"):
        train_lora(str(tiny_model_dir), half, out, TINY)


@pytest.mark.slow
def test_torn_checkpoint_is_skipped_and_training_resumes_from_the_last_whole_one(tiny_model_dir, tmp_path, monkeypatch, cache_dir):
    """Issue failure 5: a kill while saving left checkpoint-N without trainer_state.json; the next
    train died with a traceback."""
    data, out = tmp_path / "d.jsonl", tmp_path / "adapter"
    write_jsonl(data, _rows(4))
    _killed_run(monkeypatch, str(tiny_model_dir), data, out, count=1)
    saved = out / "checkpoints"
    shutil.copytree(saved / "checkpoint-1", saved / "checkpoint-2")
    (saved / "checkpoint-2" / "trainer_state.json").unlink()  # killed while saving step 2
    card = train_lora(str(tiny_model_dir), data, out, TINY)
    assert card["status"] == "complete" and card["summary"]["resumed_from"] == "checkpoint-1"
    assert card["summary"]["torn_checkpoints_skipped"] == ["checkpoint-2: no trainer_state.json"]
    assert card["summary"]["global_step"] == 2 and not saved.exists()
    assert (out / "adapter_model.safetensors").is_file()


def test_checkpoint_completeness_checks(tmp_path):
    import json

    import torch
    from safetensors.torch import save_file

    def checkpoint(step, missing=()):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        save_file({"w": torch.ones(2)}, str(folder / "adapter_model.safetensors"))
        torch.save({"x": 1}, folder / "optimizer.pt")
        torch.save({"x": 1}, folder / "scheduler.pt")
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        for name in missing:
            (folder / name).unlink()
        return folder

    assert checkpoints.resumable(tmp_path) == checkpoints.Resume(None)
    good = checkpoint(1)
    assert checkpoints.problem(good) is None
    no_state = checkpoint(2, missing=("trainer_state.json",))
    cut = checkpoint(3)
    data = (cut / "adapter_model.safetensors").read_bytes()
    (cut / "adapter_model.safetensors").write_bytes(data[: len(data) // 2])
    half_state = checkpoint(4)
    (half_state / "trainer_state.json").write_text('{"global_st')
    cut_optimizer = checkpoint(5)
    (cut_optimizer / "optimizer.pt").write_bytes((cut_optimizer / "optimizer.pt").read_bytes()[:40])
    wrong_step = checkpoint(6)
    (wrong_step / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    assert checkpoints.resumable(tmp_path) == checkpoints.Resume(good, (
        (wrong_step, "trainer_state.json is at step 5"), (cut_optimizer, "optimizer.pt is truncated"),
        (half_state, "trainer_state.json is unreadable"), (cut, "adapter_model.safetensors does not load"),
        (no_state, "no trainer_state.json"),
    ))


def _mixed(tmp_path, gender_sample, gamma=0.5):
    from generators.augment import GenerationSettings, generate_gender_augmentation
    from generators.mixing import mix_and_write
    from tests.test_augment import FakeGenerator

    augmented = tmp_path / "augmented.jsonl"
    if not augmented.exists():
        generate_gender_augmentation(GenerationSettings(bias_type=4, count=6, batch_size=6), augmented, FakeGenerator())
    return mix_and_write(augmented, tmp_path / f"mixed-{gamma}.jsonl", gamma, 8, 0, gender_sample)


@pytest.mark.slow
def test_training_card_chains_to_the_mix_and_a_changed_setting_is_never_reused(tiny_model_dir, gender_sample, tmp_path):
    from bias_inheritance.identity import model_identity

    mixed = _mixed(tmp_path, gender_sample)
    data = tmp_path / "mixed-0.5.jsonl"
    out = tmp_path / "adapter"
    card = train_lora(str(tiny_model_dir), data, out, TINY)
    assert (out / "adapter_config.json").is_file() and (out / "adapter_model.safetensors").is_file()
    assert cards.read_card(out / "card.json") == card and card["stage"] == "train" and card["status"] == "complete"
    identity = model_identity(str(tiny_model_dir))
    assert card["inputs"] == {"model": identity, "data_sha256": mixed.content_sha256, "settings": TINY.key_dict(),
                              "mask_vocabulary": None, "format": "chat", "dtype": "float32", "version": 3, "round": 1,
                              "init_adapter": None}
    assert card["parents"]["data"]["key"] == mixed.card["key"]
    assert card["environment"]["device"] == "cpu" and card["environment"]["dtype"] == "float32"
    summary = card["summary"]
    assert summary["global_step"] == 2 and summary["resumed_from"] is None and summary["torn_checkpoints_skipped"] == []
    assert summary["data"]["rows"] == 8 and summary["data"]["examples_trained"] == 8
    assert summary["train_metrics"]["train_loss"] > 0 and not (out / "checkpoints").exists()
    assert summary["provenance"] == {
        "model": identity, "data_sha256": mixed.content_sha256, "data_source": mixed.card["summary"]["provenance"]["data_source"],
        "bias": "gender", "culture": None, "continued": False, "bias_type": 4, "gamma": 0.5, "gamma_realised": 0.5, "mitigation": "none", "round": 1, "seed": 0,
        "format": "chat", "generator": {"kind": "hub", "hub_id": "fake-model", "revision": "main"},
    }
    weights = (out / "adapter_model.safetensors").read_bytes()
    assert train_lora(str(tiny_model_dir), data, out, TINY) == card  # same inputs: reused, not retrained
    assert (out / "adapter_model.safetensors").read_bytes() == weights

    faster = TrainSettings(**{**TINY.to_dict(), "learning_rate": 5e-2})
    with pytest.raises(UserError, match=r"\(settings\.learning_rate differ\)"):
        train_lora(str(tiny_model_dir), data, out, faster)
    assert (out / "adapter_model.safetensors").read_bytes() == weights
    other = train_lora(str(tiny_model_dir), data, tmp_path / "adapter-fast", faster)
    assert other["key"] != card["key"]
    assert (tmp_path / "adapter-fast" / "adapter_model.safetensors").read_bytes() != weights
    # Another device of the same dtype is the same run: reused.
    assert train_lora(str(tiny_model_dir), data, out, TrainSettings(**{**TINY.to_dict(), "device": "auto"}))["key"] == card["key"]


def test_mixed_data_edited_after_its_card_is_refused(tmp_path, gender_sample):
    _mixed(tmp_path, gender_sample)
    data = tmp_path / "mixed-0.5.jsonl"
    rows = read_jsonl(data)
    write_jsonl(data, rows[:-1])
    assert content_hash(rows[:-1]) != content_hash(rows)
    with pytest.raises(UserError, match="changed after its card"):
        train_lora("embedded-not-loaded", data, tmp_path / "o", TrainSettings())


def test_rounds_generate_with_the_previous_adapter_and_may_continue_it(tiny_model_dir, gender_sample, tmp_path):
    """Round r's generator is the base plus round r-1's adapter; round 2 may continue that adapter."""
    import torch

    from bias_inheritance.identity import model_identity
    from bias_inheritance.lineage import adapter_identity
    from generators.backends import generator_identity, make_generator
    from generators.backends.base import SamplingSettings

    mixed = _mixed(tmp_path, gender_sample)
    first = train_lora(str(tiny_model_dir), mixed.path, tmp_path / "round1", TINY)
    assert first["summary"]["provenance"]["round"] == 1 and first["inputs"]["init_adapter"] is None
    identity = generator_identity("hf", str(tiny_model_dir), adapter=str(tmp_path / "round1"))
    assert identity == {**model_identity(str(tiny_model_dir)), "adapter": {"card_key": first["key"]}}
    generator = make_generator("hf", str(tiny_model_dir), SamplingSettings(max_new_tokens=4, temperature=0),
                               device="cpu", adapter=str(tmp_path / "round1"))
    base = make_generator("hf", str(tiny_model_dir), SamplingSettings(max_new_tokens=4, temperature=0), device="cpu")
    assert generator.identity == identity and base.identity != identity
    merged, plain = generator.model.state_dict(), base.model.state_dict()
    assert merged.keys() == plain.keys()  # the adapter is merged into the base's own weights
    changed = [name for name in plain if not torch.equal(merged[name], plain[name])]
    assert changed and all("q_proj" in name or "v_proj" in name for name in changed)  # LoRA's target modules

    second = train_lora(str(tiny_model_dir), mixed.path, tmp_path / "round2", TINY, round_number=2,
                        init_adapter=tmp_path / "round1")
    assert second["summary"]["provenance"]["round"] == 2
    assert second["inputs"]["init_adapter"] == adapter_identity(tmp_path / "round1") == {"card_key": first["key"]}
    assert second["key"] != first["key"]
    with pytest.raises(UserError, match="round must be 1 or more"):
        train_lora(str(tiny_model_dir), mixed.path, tmp_path / "round0", TINY, round_number=0)
