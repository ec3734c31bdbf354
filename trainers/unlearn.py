"""`bias-inheritance unlearn`: NPO on the rows attribution selected, NLL on the rest of the mix (SPEC §7).

The result is an ordinary LoRA adapter folder with a card, so the evaluation stage scores it and the
board shows it like any other run (mitigation "npo"). The card chains the mix, the forget file (by
its ids' hash) and the starting adapter, and reports the capability kept: the retain rows' mean
answer NLL (and its perplexity) and the original rows' answer accuracy (every answer token the
model's top choice, teacher-forced; the end-of-turn token aside), before and after, beside the forget rows' log-probability
against the reference.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Sequence

from bias_inheritance import cards
from bias_inheritance.device import DEVICES, pick_device, train_dtype
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import read_jsonl
from bias_inheritance.lineage import adapter_upstream, provenance, upstream
from bias_inheritance.model import resolve_model
from trainers.tokenise import IGNORE, LOSS_TOKENS, Encoded, encode, load_tokenizer, pad

STAGE = "unlearn"
UNLEARN_VERSION = 2  # how forget/retain items are built, the loss and what the card measures; part of the key
NPO = "npo"  # the provenance mitigation of an unlearned adapter
_FIX = "pass a new --out folder, or delete that folder."


@dataclass(frozen=True)
class UnlearnSettings:
    """NPO's settings (open-unlearning's defaults for β and the weights); `device` stays out of the key."""

    beta: float = 0.1
    forget_weight: float = 1.0
    retain_weight: float = 1.0
    forget_tokens: str = "answer"  # the answer, as in training; "all": the whole row, biography included
    learning_rate: float = 1e-5
    epochs: float = 1.0
    batch_size: int = 4
    max_length: int = 512
    seed: int = 0
    device: str = "auto"

    def __post_init__(self) -> None:
        checks = [(self.beta > 0, "beta must be positive"), (self.forget_weight >= 0, "forget_weight must be >= 0"),
                  (self.retain_weight >= 0, "retain_weight must be >= 0"),
                  (self.forget_tokens in LOSS_TOKENS, f"forget_tokens must be one of {', '.join(LOSS_TOKENS)}"),
                  (self.learning_rate > 0, "learning_rate must be positive"), (self.epochs > 0, "epochs must be positive"),
                  (self.batch_size >= 1, "batch_size must be at least 1"), (self.max_length >= 2, "max_length must be >= 2"),
                  (self.device.split(":", 1)[0] in DEVICES, f"device must be one of {', '.join(DEVICES)}")]
        for ok, message in checks:
            if not ok:
                raise UserError(f"Invalid unlearning settings: {message}.", "fix the value.")

    def key_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "device"}


def _encoded(rows: list[dict], tokenizer: Any, fmt: str, max_length: int, loss_tokens: str) -> list[Encoded]:
    from trainers.data import to_sft_dataset

    examples = to_sft_dataset(rows, tokenizer, fmt)
    return [encode({**example, "id": row["id"]}, tokenizer, max_length, loss_tokens) for row, example in zip(rows, examples)]


def _batches(rows: Sequence[Encoded], size: int, pad_id: int, device: str):
    for start in range(0, len(rows), size):
        yield pad(list(rows[start:start + size]), pad_id, device)


def _measure(model: Any, rows: Sequence[Encoded], pad_id: int, device: str, size: int,
             end_id: int | None = None) -> dict[str, list[float]]:
    """Per row: the labelled tokens' summed log-probability, their mean NLL, and whether every labelled
    token but the end-of-turn (`end_id`: the answer itself, not where the model stops) is top-1."""
    import torch

    from trainers.npo import sequence_logps

    out: dict[str, list[float]] = {"logp": [], "nll": [], "correct": []}
    model.eval()
    with torch.no_grad():
        for ids, labels in _batches(rows, size, pad_id, device):
            logits = model(input_ids=ids, use_cache=False).logits  # right-padded: causal attention never sees the pad
            logp = sequence_logps(logits, labels)
            counted = (labels[:, 1:] != IGNORE).sum(dim=1).clamp(min=1)
            top = (logits[:, :-1].argmax(-1) == labels[:, 1:]) | (labels[:, 1:] == IGNORE) | (labels[:, 1:] == end_id)
            out["logp"] += logp.tolist()
            out["nll"] += (-logp / counted).tolist()
            out["correct"] += top.all(dim=1).float().tolist()
    return out


def _capability(model: Any, retain: Sequence[Encoded], original: Sequence[Encoded], pad_id: int, device: str,
                size: int, end_id: int | None) -> dict[str, float]:
    nll = _measure(model, retain, pad_id, device, size)["nll"]
    correct = _measure(model, original, pad_id, device, size, end_id)["correct"] if original else []
    mean_nll = sum(nll) / len(nll)
    return {"retain_answer_nll": mean_nll, "retain_answer_perplexity": math.exp(mean_nll),
            "original_answer_accuracy": sum(correct) / len(correct) if correct else math.nan}


def unlearn(model: str, data_path: Path, forget: Path, out_dir: Path, settings: UnlearnSettings, *,
            adapter: Path | None = None) -> dict[str, Any]:
    """NPO-unlearn the rows `forget` lists from the model fine-tuned on `data_path` (`adapter`, or the
    base with a fresh LoRA); the rest of the mix is the retain set. Returns the adapter's card."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return _unlearn(model, Path(data_path), Path(forget), Path(out_dir), settings, adapter)


def _unlearn(model: str, data_path: Path, forget: Path, out_dir: Path, settings: UnlearnSettings,
             adapter: Path | None) -> dict[str, Any]:
    from trainers.data import split_by_ids

    rows = read_jsonl(data_path)
    data = upstream("data", data_path, rows)
    forget_rows, retain_rows, ids_sha = split_by_ids(rows, forget, "forget")
    if not retain_rows:
        raise UserError(f"The forget file {forget} names every row of the mix: nothing is left to retain.",
                        "forget a share of the rows (attribute --top below 1).")
    resolved = resolve_model(model)
    identity = model_identity(resolved)
    adapter_id, adapter_up = adapter_upstream(adapter) if adapter is not None else (None, None)
    tokenizer, fmt = load_tokenizer(resolved)
    device = pick_device(settings.device)
    dtype = train_dtype(device)
    inputs = {"model": identity, "data_sha256": data.content_sha256, "forget": {"rows": len(forget_rows), "ids_sha256": ids_sha},
              "adapter": adapter_id, "settings": settings.key_dict(), "format": fmt, "dtype": dtype,
              "version": UNLEARN_VERSION}
    upstreams = [u for u in (adapter_up, data) if u is not None]
    parents = {u.role: u.parent for u in upstreams if u.parent is not None}
    key = cards.stage_key(STAGE, inputs, parents)
    if cards.check_reuse(out_dir, STAGE, key, inputs, what="Unlearned adapter", fix=_FIX) == "complete":
        return cards.read_card(cards.card_path(out_dir))
    previous = ((adapter_up.card or {}).get("summary", {}).get("provenance", {}).get("mitigation")
                if adapter_up else None)
    own = {"model": identity, "mitigation": NPO if previous in (None, "none") else f"{previous}+{NPO}", "format": fmt}
    described = {"provenance": provenance(own, upstreams), "forget_tokens": settings.forget_tokens,
                 "reference": "the model before unlearning: its forget-row log-probabilities, computed once"}
    environment = {"device": device, "dtype": dtype}
    cards.write_card(out_dir, STAGE, inputs, parents=parents, status="partial", summary=described, environment=environment)
    summary = _train(resolved, adapter, out_dir, settings, tokenizer, fmt, device, dtype, forget_rows, retain_rows)
    return cards.write_card(out_dir, STAGE, inputs, parents=parents, summary={**described, **summary},
                            environment=environment)


def _train(resolved: str, adapter: Path | None, out_dir: Path, settings: UnlearnSettings, tokenizer: Any, fmt: str,
           device: str, dtype: str, forget_rows: list[dict], retain_rows: list[dict]) -> dict[str, Any]:
    import torch
    from peft import LoraConfig, PeftModel, get_peft_model
    from transformers import AutoModelForCausalLM

    from trainers.npo import FORGET, REFERENCE, RETAIN, NPOConfig, NPOTrainer, PairCollator
    from trainers.config import TrainSettings

    forget = _encoded(forget_rows, tokenizer, fmt, settings.max_length, settings.forget_tokens)
    retain = _encoded(retain_rows, tokenizer, fmt, settings.max_length, "answer")
    original = [e for e, r in zip(retain, retain_rows) if r.get("origin", "original") == "original"]
    base = AutoModelForCausalLM.from_pretrained(resolved, dtype=getattr(torch, dtype))
    if adapter is not None:
        policy = PeftModel.from_pretrained(base, str(adapter), is_trainable=True)
    else:  # a fresh LoRA of the training default shape: the reference is the base model
        shape = TrainSettings()
        policy = get_peft_model(base, LoraConfig(r=shape.lora_r, lora_alpha=shape.lora_alpha, lora_dropout=shape.lora_dropout,
                                                 target_modules=list(shape.target_modules), task_type="CAUSAL_LM"))
    policy.to(device)
    pad_id, size = tokenizer.pad_token_id, settings.batch_size
    reference = _measure(policy, forget, pad_id, device, size)["logp"]
    end_id = tokenizer.eos_token_id
    before = _capability(policy, retain, original, pad_id, device, size, end_id)
    items = [{FORGET: vars(f), RETAIN: vars(retain[i % len(retain)]), REFERENCE: reference[i]} for i, f in enumerate(forget)]
    config = NPOConfig(output_dir=str(out_dir / "checkpoints"), num_train_epochs=settings.epochs,
                       learning_rate=settings.learning_rate, per_device_train_batch_size=size, seed=settings.seed,
                       data_seed=settings.seed, logging_steps=1, save_strategy="no", report_to=[],
                       use_cpu=device == "cpu", bf16=dtype == "bfloat16", npo_beta=settings.beta,
                       forget_weight=settings.forget_weight, retain_weight=settings.retain_weight)
    trainer = NPOTrainer(model=policy, args=config, train_dataset=items, data_collator=PairCollator(pad_id))
    output = trainer.train()
    after = _capability(policy, retain, original, pad_id, device, size, end_id)
    forgotten = _measure(policy, forget, pad_id, device, size)["logp"]
    policy.save_pretrained(str(out_dir))
    logged = [{k: v for k, v in entry.items() if k in ("step", "loss", "forget_loss", "retain_loss")}
              for entry in trainer.state.log_history if "loss" in entry]
    return {
        "rows": {"forget": len(forget), "retain": len(retain), "original": len(original)},
        "forget_logp": {"reference_mean": sum(reference) / len(reference), "after_mean": sum(forgotten) / len(forgotten)},
        "capability": {"before": before, "after": after},
        "train_metrics": {k: v for k, v in output.metrics.items() if isinstance(v, (int, float))},
        "log": logged,
    }
