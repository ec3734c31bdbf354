"""LoRA SFT with TRL's SFTTrainer; writes the adapter and a run card describing exactly what was trained.

Re-running with the same model, data and settings reuses the finished adapter; an interrupted run
resumes from its last checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, content_hash, read_json, read_jsonl
from bias_inheritance.model import describe_model, resolve_model
from bias_inheritance.provenance import package_versions
from generators.mixing import meta_path
from trainers.config import TrainSettings
from trainers.data import to_sft_dataset

RUN_CARD = "run_card.json"


def _fingerprint(model: str, data_sha256: str, settings: TrainSettings) -> str:
    payload = json.dumps({"model": model, "data": data_sha256, "settings": settings.to_dict()}, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


def _data_record(data_path: Path, rows: list[dict]) -> dict:
    sha = content_hash(rows)
    record = {"path": str(data_path.resolve()), "sha256": sha, "rows": len(rows)}
    meta_file = meta_path(data_path)
    if meta_file.is_file():
        meta = read_json(meta_file)
        if meta.get("content_sha256") != sha:
            raise UserError(f"{data_path} no longer matches its {meta_file.name}.", "re-run `bias-inheritance mix`.")
        record.update(
            gamma=meta.get("gamma"), bias_types=meta.get("bias_types"), mix_seed=meta.get("seed"),
            source=meta.get("original_source"), counts=meta.get("counts"),
        )
    else:
        record.update(gamma=None, bias_types=None, source=None, note=f"no {meta_file.name}: γ and data source unknown")
    return record


def _last_checkpoint(checkpoints: Path) -> Path | None:
    found = sorted(checkpoints.glob("checkpoint-*"), key=lambda p: int(p.name.split("-")[-1]) if p.name.split("-")[-1].isdigit() else -1)
    return found[-1] if found else None


def train_lora(model: str, data_path: Path, out_dir: Path, settings: TrainSettings) -> dict:
    """Fine-tune `model` with LoRA on the mixed set at `data_path`; return the run card."""
    data_path, out_dir = Path(data_path), Path(out_dir)
    rows = read_jsonl(data_path)
    data = _data_record(data_path, rows)
    resolved = resolve_model(model)
    fingerprint = _fingerprint(resolved, data["sha256"], settings)
    card_path = out_dir / RUN_CARD
    if card_path.is_file() and read_json(card_path).get("fingerprint") == fingerprint:
        return read_json(card_path)
    dataset = to_sft_dataset(rows)

    import torch
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(resolved)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    base = AutoModelForCausalLM.from_pretrained(resolved, dtype=torch.float32)
    checkpoints = out_dir / "checkpoints"
    config = SFTConfig(
        output_dir=str(checkpoints),
        num_train_epochs=settings.epochs,
        learning_rate=settings.learning_rate,
        per_device_train_batch_size=settings.batch_size,
        gradient_accumulation_steps=settings.gradient_accumulation_steps,
        max_length=settings.max_length,
        seed=settings.seed,
        data_seed=settings.seed,
        logging_steps=settings.logging_steps,
        save_strategy="steps",
        save_steps=settings.save_steps,
        save_total_limit=1,
        report_to=[],
        use_cpu=not torch.cuda.is_available(),
        dataset_num_proc=None,
    )
    lora = LoraConfig(
        r=settings.lora_r, lora_alpha=settings.lora_alpha, lora_dropout=settings.lora_dropout,
        target_modules=list(settings.target_modules), task_type="CAUSAL_LM",
    )
    trainer = SFTTrainer(model=base, args=config, train_dataset=dataset, processing_class=tokenizer, peft_config=lora)
    resume = _last_checkpoint(checkpoints)
    output = trainer.train(resume_from_checkpoint=str(resume) if resume else None)
    trainer.save_model(str(out_dir))
    card = {
        "fingerprint": fingerprint,
        "base_model": describe_model(resolved),
        "data": data,
        "mitigation": settings.mitigation,
        "seed": settings.seed,
        "hyperparameters": settings.to_dict(),
        "train_metrics": {k: v for k, v in output.metrics.items() if isinstance(v, (int, float))},
        "versions": package_versions(),
    }
    atomic_write_json(card_path, card)  # written last: its presence marks a finished run
    shutil.rmtree(checkpoints, ignore_errors=True)
    return card
