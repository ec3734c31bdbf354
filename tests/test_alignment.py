"""The alignment-loss trainer (trainers/alignment.py) and its balanced sampler, on the tiny random Llama.

Every expected value is computed here by hand: φ from `output_hidden_states`, the SFT loss from the
model's own cross-entropy, updates from plain SGD (no clipping, no schedule, no dropout).
"""

from __future__ import annotations

import math

import pytest
import torch
from hypothesis import given, settings as hypothesis_settings, strategies as st

from alignment_ddp_worker import ROWS, config, dataset, lora_model, lora_weights, make_trainer, settings, tokenizer
from trainers.alignment import ORIGIN_FLAG, AlignmentSFTConfig, AlignmentSFTTrainer
from trainers.alignment_sampler import BalancedOriginSampler, balanced_order


def backbone(trainer: AlignmentSFTTrainer) -> torch.nn.Module:
    return trainer.model.get_base_model().model


def batch_of(trainer: AlignmentSFTTrainer, indices: list[int]) -> dict:
    return trainer.data_collator([trainer.train_dataset[i] for i in indices])


def hand_phi(model: torch.nn.Module, batch: dict) -> torch.Tensor:
    """φ per row: the last hidden layer (`hidden_states[-1]`) averaged over the row's unpadded positions."""
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], output_hidden_states=True)
    last = out.hidden_states[-1]
    return torch.stack([last[i][batch["attention_mask"][i].bool()].mean(0) for i in range(last.shape[0])])


def hand_sft(model: torch.nn.Module, batch: dict) -> float:
    with torch.no_grad():
        out = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"], labels=batch["labels"])
    return out.loss.item()


def distance(a: torch.Tensor, b: torch.Tensor, scale: str = "sum") -> float:
    squared = (a - b).pow(2)
    return (squared.sum() if scale == "sum" else squared.mean()).item()


@pytest.mark.parametrize("scale", ["sum", "mean"])
def test_alignment_term_equals_a_hand_computation(tiny_model_dir, tmp_path, scale):
    trainer = make_trainer(tiny_model_dir, tmp_path, ROWS[:4], align_lambda=0.5, align_scale=scale)
    batch = next(iter(trainer.get_train_dataloader()))  # the flag survived column pruning and the collator
    assert batch[ORIGIN_FLAG].tolist() == [0, 0, 1, 0]
    model = trainer.model.train()
    loss = trainer.compute_loss(model, dict(batch))
    phi, augmented = hand_phi(model, batch), batch[ORIGIN_FLAG].bool()
    expected = distance(phi[~augmented].mean(0), phi[augmented].mean(0), scale)
    assert trainer._metrics["train"]["align_loss"] == [pytest.approx(expected, rel=1e-10)]
    assert loss.item() == pytest.approx(hand_sft(model, batch) + 0.5 * expected, rel=1e-10)
    assert not backbone(trainer)._forward_hooks  # the capture hook lives for one forward only


def test_alignment_gradient_reaches_every_lora_matrix_and_nothing_else_moves(tiny_model_dir, tmp_path):
    trainer = make_trainer(tiny_model_dir, tmp_path, ROWS[:4])
    model = trainer.model.train()
    batch = next(iter(trainer.get_train_dataloader()))
    grads = {}
    for lam in (1.0, 0.0):
        trainer.args.align_lambda = lam
        model.zero_grad()
        trainer.compute_loss(model, dict(batch)).backward()
        grads[lam] = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    lora = {n for n, _ in model.named_parameters() if "lora_" in n}
    assert set(grads[1.0]) == set(grads[0.0]) == lora
    for name in lora:  # ∇(λ·L_align) = difference of the two, non-zero on every LoRA matrix
        assert (grads[1.0][name] - grads[0.0][name]).norm() > 1e-6 * grads[0.0][name].norm(), name

    trainer.args.align_lambda = 1.0
    model.zero_grad()
    before = {n: p.detach().clone() for n, p in model.named_parameters()}
    trainer.train()
    for name, p in trainer.model.named_parameters():
        assert torch.equal(p, before[name]) == (name not in lora), name


def test_lambda_zero_is_exactly_sft_trainer(tiny_model_dir, tmp_path):
    from trl import SFTConfig, SFTTrainer

    common = settings(tmp_path, align_lambda=0.0, per_device_train_batch_size=2, gradient_accumulation_steps=2,
                      max_steps=2, train_sampling_strategy="random")
    plain_args = SFTConfig(**{k: v for k, v in common.items() if not k.startswith("align_")})
    plain = SFTTrainer(lora_model(tiny_model_dir), args=plain_args, train_dataset=dataset(ROWS, flag=False),
                       processing_class=tokenizer(tiny_model_dir))
    ours = AlignmentSFTTrainer(lora_model(tiny_model_dir), args=AlignmentSFTConfig(**common),
                               train_dataset=dataset(ROWS), processing_class=tokenizer(tiny_model_dir))
    plain.train()
    ours.train()
    assert [log.get("loss") for log in ours.state.log_history] == [log.get("loss") for log in plain.state.log_history]
    assert [log.get("grad_norm") for log in ours.state.log_history] == [
        log.get("grad_norm") for log in plain.state.log_history]
    mine, theirs = lora_weights(ours.model), lora_weights(plain.model)
    assert all(torch.equal(mine[n], theirs[n]) for n in theirs)
    assert not any("align_loss" in log for log in ours.state.log_history)
    assert ours.alignment_summary()["loss"].startswith("plain SFT: λ = 0")


@pytest.mark.parametrize("scaled_for_ga", [True, False], ids=["num_items_in_batch", "mean_per_micro_batch"])
def test_two_accumulated_micro_batches_match_one_batch(tiny_model_dir, tmp_path, scaled_for_ga):
    """Batch 8 = the same 4 rows twice vs 2 micro-batches of those 4: both terms are equal, so must the updates be."""
    rows = ROWS[:4] * 2

    def update(batch: int, accumulation: int, align_lambda: float = 1.0) -> tuple[dict, dict]:
        trainer = make_trainer(tiny_model_dir, tmp_path / f"{batch}-{align_lambda}", rows, align_lambda=align_lambda,
                               per_device_train_batch_size=batch, gradient_accumulation_steps=accumulation)
        if not scaled_for_ga:  # no num_items_in_batch: training_step divides the loss by the accumulation steps
            trainer.model_accepts_loss_kwargs = False
        before = lora_weights(trainer.model)
        trainer.train()
        after = lora_weights(trainer.model)
        return {n: after[n] - before[n] for n in before}, trainer.state.log_history[0]

    one, one_log = update(8, 1)
    two, two_log = update(4, 2)
    for name in one:
        torch.testing.assert_close(two[name], one[name], rtol=1e-9, atol=1e-12)
    for key in ("loss", "sft_loss", "align_loss"):
        assert two_log[key] == pytest.approx(one_log[key], rel=1e-6), key
    assert one_log["loss"] == pytest.approx(one_log["sft_loss"] + one_log["align_loss"], rel=1e-6)
    # Sensitivity: the alignment term's share of the update dwarfs the tolerance.
    plain, _ = update(8, 1, align_lambda=0.0)
    assert max((one[n] - plain[n]).abs().max().item() for n in one) > 1e-4


def test_single_kind_batches_use_the_running_mean(tiny_model_dir, tmp_path):
    momentum = 0.75
    trainer = make_trainer(tiny_model_dir, tmp_path, align_momentum=momentum)
    model = trainer.model.train()
    metrics = trainer._metrics["train"]

    def step(indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        batch = batch_of(trainer, indices)
        loss = trainer.compute_loss(model, dict(batch))
        phi, augmented = hand_phi(model, batch), batch[ORIGIN_FLAG].bool()
        return loss, phi[~augmented], phi[augmented]

    loss, originals_1, _ = step([0, 1])  # originals only, no augmented row seen yet: the term is zero
    assert metrics["align_loss"][-1] == 0.0 and loss.item() == metrics["sft_loss"][-1]
    _, _, augmented_2 = step([2, 4])  # augmented only: paired with the originals' running mean (batch 1's)
    assert metrics["align_loss"][-1] == pytest.approx(distance(originals_1.mean(0), augmented_2.mean(0)), rel=1e-10)
    assert not trainer._alignment_state.running[0].requires_grad
    _, originals_3, augmented_3 = step([3, 5, 6])  # both kinds: the batch means, then the running means move
    assert metrics["align_loss"][-1] == pytest.approx(distance(originals_3.mean(0), augmented_3.mean(0)), rel=1e-10)
    running_original = momentum * originals_1.mean(0) + (1 - momentum) * originals_3.mean(0)
    _, _, augmented_4 = step([7])
    assert metrics["align_loss"][-1] == pytest.approx(distance(running_original, augmented_4.mean(0)), rel=1e-10)
    torch.testing.assert_close(trainer._alignment_state.running[1],
                               momentum * (momentum * augmented_2.mean(0) + (1 - momentum) * augmented_3.mean(0))
                               + (1 - momentum) * augmented_4.mean(0))
    summary = trainer.alignment_summary()
    assert (summary["micro_batches"], summary["micro_batches_active"], summary["micro_batches_zero"],
            summary["micro_batches_with_running_mean"]) == (4, 3, 1, 2)
    assert summary["rows_seen"] == {"original": 4, "augmented": 4} and summary["augmented_seen"] is True


def test_no_augmented_rows_is_plain_sft_and_the_summary_says_so(tiny_model_dir, tmp_path):
    trainer = make_trainer(tiny_model_dir, tmp_path, [(p, c, 0) for p, c, _ in ROWS[:4]])
    trainer.train()
    log = trainer.state.log_history[0]
    assert log["align_loss"] == 0.0 and log["loss"] == pytest.approx(log["sft_loss"], rel=1e-6)
    summary = trainer.alignment_summary()
    assert summary["loss"] == "plain SFT: no augmented rows"
    assert summary["augmented_rows_in_data"] == 0 and summary["augmented_seen"] is False
    assert summary["micro_batches_active"] == 0 and summary["micro_batches"] == 1


def test_a_resumed_run_continues_the_running_means(tiny_model_dir, tmp_path):
    """Batches of 2 in order hold originals only, both, augmented only, both: the running means matter."""
    run = {"per_device_train_batch_size": 2, "max_steps": 4, "save_strategy": "steps", "save_steps": 2}
    full = make_trainer(tiny_model_dir, tmp_path, **run)
    full.train()
    resumed = make_trainer(tiny_model_dir, tmp_path, **run)
    resumed.train(resume_from_checkpoint=str(tmp_path / "checkpoint-2"))
    assert resumed._alignment_state.batches == full._alignment_state.batches == 4
    assert resumed.alignment_summary() == full.alignment_summary()
    for kind in (0, 1):
        torch.testing.assert_close(resumed._alignment_state.running[kind], full._alignment_state.running[kind])


@given(flags=st.lists(st.integers(0, 1), min_size=1, max_size=60), batch=st.integers(1, 9), seed=st.integers(0, 2**31))
@hypothesis_settings(max_examples=200, deadline=None)
def test_balanced_order_is_a_permutation_spreading_augmented_rows(flags, batch, seed):
    order = balanced_order(flags, batch, seed)
    assert sorted(order) == list(range(len(flags)))
    for start in range(0, len(flags), batch):
        chunk = order[start:start + batch]
        expected = sum(flags) * len(chunk) / len(flags)
        assert math.floor(expected) <= sum(flags[i] for i in chunk) <= math.ceil(expected)
    assert order == balanced_order(flags, batch, seed)


def test_balanced_sampler_at_paper_scale():
    """γ = 0.05, |D| = 3,600, batch 8: 180 batches hold one augmented row, 270 none, none holds two."""
    flags = [1] * 180 + [0] * 3420
    sampler = BalancedOriginSampler(flags, 8, seed=3)
    first = list(sampler)
    counts = [sum(flags[i] for i in first[k:k + 8]) for k in range(0, 3600, 8)]
    assert sorted(counts) == [0] * 270 + [1] * 180
    sampler.set_epoch(1)
    second = list(sampler)
    assert second != first and second == balanced_order(flags, 8, 4) and sorted(second) == list(range(3600))


def test_balanced_batches_through_the_trainer_at_lambda_zero(tiny_model_dir, tmp_path):
    rows = [(f"{prompt} (#{k})", completion, flag) for k in range(3) for prompt, completion, flag in ROWS]
    trainer = make_trainer(tiny_model_dir, tmp_path, rows, align_lambda=0.0, align_balanced_batches=True,
                           train_sampling_strategy="random", per_device_train_batch_size=4)
    row_of = {tuple(ids): i for i, ids in enumerate(trainer.train_dataset["input_ids"])}
    flags = list(trainer.train_dataset[ORIGIN_FLAG])
    loader = trainer.get_train_dataloader()
    for epoch in (0, 1):
        loader.set_epoch(epoch)
        order = []
        for batch in loader:
            assert batch[ORIGIN_FLAG].sum().item() == 2  # 12 of 24 rows augmented: 2 in every batch of 4
            order += [row_of[tuple(ids[mask.bool()].tolist())] for ids, mask in zip(batch["input_ids"],
                                                                                   batch["attention_mask"])]
        assert order == balanced_order(flags, 4, seed=0 + epoch)


@pytest.mark.parametrize("overrides,message", [
    ({"align_lambda": -1.0}, "align_lambda"),
    ({"align_lambda": math.nan}, "align_lambda"),
    ({"align_scale": "max"}, "align_scale"),
    ({"align_momentum": 1.0}, "align_momentum"),
    ({"packing": True}, "packing"),
    ({"align_lambda": 0.0, "align_balanced_batches": True, "train_sampling_strategy": "group_by_length"}, "sampler"),
])
def test_invalid_alignment_settings_are_rejected(tmp_path, overrides, message):
    with pytest.raises(ValueError, match=message):
        config(tmp_path, **overrides)


def test_the_flag_column_is_required_and_binary(tiny_model_dir, tmp_path):
    with pytest.raises(ValueError, match=f"int column '{ORIGIN_FLAG}'"):
        AlignmentSFTTrainer(lora_model(tiny_model_dir), args=config(tmp_path), train_dataset=dataset(ROWS, flag=False),
                            processing_class=tokenizer(tiny_model_dir))
    with pytest.raises(ValueError, match="0 \\(original\\) or 1"):
        make_trainer(tiny_model_dir, tmp_path, [(p, c, 2) for p, c, _ in ROWS[:2]])
