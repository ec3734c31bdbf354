"""BiasDiff's two remedies on the tiny model: NPO unlearning of selected rows, and retraining without them."""

from __future__ import annotations

import math

import pytest
import torch

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.io import read_jsonl, write_jsonl
from trainers.config import TrainSettings
from trainers.npo import npo_loss, sequence_logps
from trainers.train import RETRAIN, train_lora
from trainers.unlearn import NPO, UnlearnSettings, unlearn

TINY = TrainSettings(epochs=1, batch_size=4, learning_rate=1e-3, max_length=128, save_steps=50, device="cpu")
FAST = UnlearnSettings(learning_rate=5e-3, epochs=2, batch_size=4, max_length=128, device="cpu")


def test_npo_loss_equals_a_hand_computation():
    policy, reference, beta = torch.tensor([-3.0, -1.0, -2.5]), torch.tensor([-2.0, -2.0, -2.5]), 0.5
    logsigmoid = lambda x: -math.log1p(math.exp(-x))  # noqa: E731
    by_hand = -(2 / beta) * sum(logsigmoid(-beta * (p - r)) for p, r in zip(policy.tolist(), reference.tolist())) / 3
    assert npo_loss(policy, reference, beta).item() == pytest.approx(by_hand, rel=1e-6)
    # At the reference the loss is (2/β)·log 2, and it falls as the policy's likelihood falls below it.
    assert npo_loss(reference, reference, beta).item() == pytest.approx(2 / beta * math.log(2))
    assert npo_loss(reference - 1, reference, beta) < npo_loss(reference, reference, beta)


def test_sequence_logps_sum_the_labelled_tokens_only():
    logits = torch.randn(2, 4, 5)
    labels = torch.tensor([[-100, 1, 2, -100], [-100, -100, 3, 4]])
    logps = torch.log_softmax(logits, -1)
    by_hand = [logps[0, 0, 1] + logps[0, 1, 2], logps[1, 1, 3] + logps[1, 2, 4]]
    assert torch.allclose(sequence_logps(logits, labels), torch.stack(by_hand))


@pytest.fixture(scope="module")
def tuned(tiny_model_dir, tmp_path_factory):
    """A tiny adapter fine-tuned on a mix whose augmented rows are the ones to forget."""
    from tests.test_trainers import _mixed

    root = tmp_path_factory.mktemp("unlearn")
    from bias_inheritance.data import gender

    gender.prepare_gender(sample=True, out_dir=root / "gender")
    mixed = _mixed(root, root / "gender")
    card = train_lora(str(tiny_model_dir), mixed.path, root / "adapter", TINY)
    selected = root / "selected.jsonl"
    write_jsonl(selected, [{"id": r["id"]} for r in read_jsonl(mixed.path) if r["origin"] == "augmented"])
    return {"root": root, "mix": mixed.path, "adapter": root / "adapter", "card": card, "selected": selected,
            "model": str(tiny_model_dir)}


def test_npo_lowers_the_forget_rows_and_reports_capability(tuned):
    out = tuned["root"] / "npo"
    card = unlearn(tuned["model"], tuned["mix"], tuned["selected"], out, FAST, adapter=tuned["adapter"])
    summary = card["summary"]
    assert card["status"] == "complete" and (out / "adapter_model.safetensors").is_file()
    assert summary["rows"]["forget"] == 4 and summary["rows"]["retain"] == 4
    assert summary["forget_logp"]["after_mean"] < summary["forget_logp"]["reference_mean"]
    assert set(summary["capability"]["before"]) == {"retain_answer_nll", "retain_answer_perplexity", "original_answer_accuracy"}
    assert {"forget_loss", "retain_loss"} <= set(summary["log"][0])
    provenance = summary["provenance"]
    assert provenance["mitigation"] == NPO and provenance["gamma"] == 0.5 and provenance["bias_type"] == 4
    assert card["parents"]["adapter"]["key"] == tuned["card"]["key"]
    # The same inputs: reused. Another β in the same folder: refused, naming it.
    assert unlearn(tuned["model"], tuned["mix"], tuned["selected"], out, FAST, adapter=tuned["adapter"]) == card
    with pytest.raises(UserError, match="beta"):
        unlearn(tuned["model"], tuned["mix"], tuned["selected"], out, UnlearnSettings(**{**FAST.__dict__, "beta": 0.2}),
                adapter=tuned["adapter"])


def test_the_forget_term_covers_the_chosen_tokens(tuned):
    from transformers import AutoTokenizer

    from bias_inheritance.chat import prompt_format
    from trainers.unlearn import _encoded

    tokenizer = AutoTokenizer.from_pretrained(tuned["model"])
    rows = [r for r in read_jsonl(tuned["mix"]) if r["origin"] == "augmented"][:1]
    answer, whole = (_encoded(rows, tokenizer, prompt_format(tokenizer), 128, t)[0] for t in ("answer", "all"))
    assert answer.input_ids == whole.input_ids
    labelled = lambda e: sum(label != -100 for label in e.labels)  # noqa: E731
    assert 0 < labelled(answer) < labelled(whole) == len(whole.input_ids)


def test_retraining_excludes_the_selected_rows_and_keys_the_exclusion(tuned, tmp_path):
    out = tmp_path / "retrain"
    card = train_lora(tuned["model"], tuned["mix"], out, TINY, exclude=tuned["selected"])
    assert card["summary"]["excluded"]["rows"] == 4 and card["summary"]["excluded"]["augmented"] == 4
    assert card["summary"]["data"]["rows"] == 4 and card["summary"]["provenance"]["mitigation"] == RETRAIN
    assert card["inputs"]["exclude"]["rows"] == 4 and card["key"] != tuned["card"]["key"]
    random_half = tmp_path / "random.jsonl"
    write_jsonl(random_half, [{"id": r["id"]} for r in read_jsonl(tuned["mix"])[::2]])
    with pytest.raises(UserError, match="exclude"):  # another exclusion never reuses this adapter
        train_lora(tuned["model"], tuned["mix"], out, TINY, exclude=random_half)
    stray = tmp_path / "stray.jsonl"
    write_jsonl(stray, [{"id": "no-such-row"}])
    with pytest.raises(UserError, match="does not hold"):
        train_lora(tuned["model"], tuned["mix"], tmp_path / "x", TINY, exclude=stray)
    with pytest.raises(UserError, match="nothing is left to retain"):
        every = tmp_path / "every.jsonl"
        write_jsonl(every, [{"id": r["id"]} for r in read_jsonl(tuned["mix"])])
        unlearn(tuned["model"], tuned["mix"], every, tmp_path / "y", FAST)


def test_the_commands_stop_on_bad_input_with_one_line(tuned, tmp_path, capsys):
    from pipeline.cli import main

    stray = tmp_path / "stray.jsonl"
    write_jsonl(stray, [{"id": "no-such-row"}])
    model = ["--model", tuned["model"]]
    assert main(["train", "--data", str(tuned["mix"]), "--exclude", str(stray), "--out", str(tmp_path / "a"), *model]) == 2
    assert main(["unlearn", "--data", str(tuned["mix"]), "--forget", str(stray), "--out", str(tmp_path / "b"), *model]) == 2
    assert main(["unlearn", "--data", str(tuned["mix"]), "--forget", str(tuned["selected"]), "--beta", "0",
                 "--out", str(tmp_path / "c"), *model]) == 2
    assert main(["attribute", "--data", str(tuned["mix"]), "--probe", "nope", "--out", str(tmp_path / "d"), *model]) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if line.startswith("bias-inheritance: error")]
    assert len(errors) == 4 and "does not hold" in errors[0] and "beta must be positive" in errors[2]
