"""`bias-inheritance train --mitigation {none,token,mask,loss}`: four adapters from one mixed set,
each carded, scored by the gender task through lm-eval and shown side by side on the leaderboard.

One module fixture trains the four adapters on the tiny model (shared by every test here)."""

import json
import shutil

import pandas as pd
import pytest

from bias_inheritance import cards
from bias_inheritance.cache import CACHE_ENV
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl
from pipeline.cli import main
from tests.test_trainers import TINY, Killed, _kill_after_checkpoints, _mixed
from trainers import checkpoints
from trainers.config import TrainSettings
from trainers.mitigations import MITIGATIONS, MASK_VOCABULARY_VERSION
from trainers.optimizer_state import FILE as MOMENTS_FILE, load_adam_moments
from trainers.train import train_lora

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def four(tiny_model_dir, tmp_path_factory):
    """root, mixed-set path and {mitigation: adapter card}; the cache lives in this module's folder."""
    root = tmp_path_factory.mktemp("mitigations")
    config = root / "train.yaml"
    config.write_text("\n".join(f"{k}: {json.dumps(v)}" for k, v in TINY.to_dict().items()) + "\n")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(CACHE_ENV, str(root / "cache"))
        from bias_inheritance.data import gender

        gender.prepare_gender(sample=True)
        mixed = _mixed(root, gender.gender_dir()).path
        made = {}
        for mitigation in MITIGATIONS:
            extra = ["--save-optimizer-state"] if mitigation == "loss" else []
            assert main(["train", "--data", str(mixed), "--model", str(tiny_model_dir), "--config", str(config),
                         "--mitigation", mitigation, "--out", str(root / mitigation), *extra]) == 0
            made[mitigation] = cards.read_card(root / mitigation / "card.json")
        yield root, mixed, made


def test_four_adapters_each_carded_with_its_mitigation(four):
    root, mixed, made = four
    assert len({card["key"] for card in made.values()}) == 4
    augmented = sum(row["origin"] == "augmented" for row in read_jsonl(mixed))
    for mitigation, card in made.items():
        summary = card["summary"]
        assert card["status"] == "complete" and summary["provenance"]["mitigation"] == mitigation
        assert summary["mitigation"]["name"] == mitigation and (root / mitigation / "adapter_model.safetensors").is_file()
        assert card["inputs"]["mask_vocabulary"] == (MASK_VOCABULARY_VERSION if mitigation == "mask" else None)
        assert set(summary["movement"]) >= {"adapter_relative_change", "loss_relative_change", "flags"}
    assert made["token"]["summary"]["mitigation"]["transform"]["rows_changed"] == augmented == 4
    assert made["token"]["inputs"]["settings"]["token_cue"] == "The following text may contain biases."
    # The fake generator writes "She/He is outstanding at work ...": one pronoun (and its verb) per row.
    assert made["mask"]["summary"]["mitigation"]["transform"]["substitutions_per_augmented_row"] >= 1
    loss = made["loss"]
    assert loss["inputs"]["settings"]["align_lambda"] == 1.0 and "align_lambda" not in made["none"]["inputs"]["settings"]
    alignment = loss["summary"]["alignment"]
    assert alignment["lambda"] == 1.0 and alignment["micro_batches_active"] >= 1
    assert made["none"]["summary"]["alignment"]["lambda"] == 0.0
    weights = {m: (root / m / "adapter_model.safetensors").read_bytes() for m in made}
    assert len(set(weights.values())) == 4  # each mitigation trained another adapter


def test_optimizer_moments_are_kept_by_parameter_name(four):
    from safetensors.torch import load_file

    root, _, made = four
    moments, meta = load_adam_moments(root / "loss")
    assert made["loss"]["summary"]["optimizer_state"]["file"] == MOMENTS_FILE
    assert meta["betas"] == [0.9, 0.999] and meta["step"] == made["loss"]["summary"]["global_step"] == 2
    adapter = load_file(str(root / "loss" / "adapter_model.safetensors"))
    assert len(moments) == len(adapter) == meta["parameters"]
    for name, moment in moments.items():
        saved = name.replace(".default", "")  # peft drops the adapter name in the saved file
        assert moment["exp_avg"].shape == adapter[saved].shape and bool((moment["exp_avg_sq"] >= 0).all())
    with pytest.raises(UserError, match="holds no optimizer_state"):
        load_adam_moments(root / "none")


def test_the_four_are_scored_and_shown_side_by_side(four, tiny_model_dir):
    root, _, _ = four
    results = []
    for label, adapter in [("base", None), *((m, root / m) for m in MITIGATIONS)]:
        out = root / "results" / f"{label}.json"
        args = ["evaluate", "--model", str(tiny_model_dir), "--tasks", "bias_inheritance_gender_bios", "--limit", "6",
                "--device", "cpu", "--label", label, "--out", str(out)]
        assert main(args + (["--adapter", str(adapter)] if adapter else [])) == 0
        results.append(str(out))
    assert main(["leaderboard", "build", *results, "--out", str(root / "board")]) == 0
    board = pd.read_csv(root / "board" / "leaderboard.csv")
    runs = board.drop_duplicates("run").set_index("run")
    assert sorted(runs.index) == sorted(["base", *MITIGATIONS])
    assert list(runs.loc[list(MITIGATIONS), "mitigation"]) == list(MITIGATIONS)
    assert runs.loc[list(MITIGATIONS), "role"].eq("finetuned").all() and runs.loc["base", "role"] == "base"
    assert board.loc[board["role"] == "finetuned", "finetune_delta"].notna().all()  # each against the base
    page = (root / "board" / "index.html").read_text()
    assert all(f">{m}<" in page for m in MITIGATIONS)


def test_a_checkpoint_resumes_only_under_its_own_key(four, tiny_model_dir, tmp_path, monkeypatch):
    """Each checkpoint adapter carries the run's card; a checkpoint whose card is another run's (copied
    in by hand) is passed over, never resumed."""
    root, mixed, made = four
    settings = TrainSettings(**{**TINY.to_dict(), "mitigation": "loss", "save_optimizer_state": True})
    out = tmp_path / "loss"
    with monkeypatch.context() as patch:
        _kill_after_checkpoints(patch, 1)
        with pytest.raises(Killed):
            train_lora(str(tiny_model_dir), mixed, out, settings)
    saved = out / "checkpoints" / "checkpoint-1"
    card = cards.read_card(saved / "card.json")
    assert card["key"] == made["loss"]["key"] and card["summary"]["mitigation"]["name"] == "loss"
    assert checkpoints.problem(saved, made["loss"]["key"]) is None
    assert checkpoints.problem(saved, made["none"]["key"]) == "its card is another run's"
    shutil.copytree(saved, out / "checkpoints" / "checkpoint-2")
    foreign = cards.read_card(out / "checkpoints" / "checkpoint-2" / "card.json")
    (out / "checkpoints" / "checkpoint-2" / "card.json").write_text(json.dumps({**foreign, "key": made["none"]["key"]}))
    resumed = train_lora(str(tiny_model_dir), mixed, out, settings)
    assert resumed["summary"]["resumed_from"] == "checkpoint-1"
    assert resumed["summary"]["torn_checkpoints_skipped"] == ["checkpoint-2: its card is another run's"]
    assert resumed["key"] == made["loss"]["key"]

