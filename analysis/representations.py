"""Final-layer mean representations of texts: the alignment loss's φ (trainers.alignment.masked_mean)
over the backbone's last hidden state, batched, on the accelerator when there is one."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np

from bias_inheritance.device import pick_device, train_dtype
from bias_inheritance.model import resolve_model
from trainers.tokenise import load_tokenizer


def represent(model: str, texts: Sequence[str], *, adapter: Path | None = None, batch_size: int = 16,
              device: str = "auto", max_length: int = 512) -> np.ndarray:
    """[n, hidden] float32: each text's attention-masked mean of the final hidden layer."""
    import torch
    from transformers import AutoModelForCausalLM

    from trainers.alignment import masked_mean

    resolved = resolve_model(model)
    tokenizer, _ = load_tokenizer(resolved)
    device = pick_device(device)
    network = AutoModelForCausalLM.from_pretrained(resolved, dtype=getattr(torch, train_dtype(device)))
    if adapter is not None:
        from peft import PeftModel

        network = PeftModel.from_pretrained(network, str(adapter)).get_base_model()  # LoRA stays in its layers
    backbone = network.base_model.to(device).eval()  # the decoder whose last_hidden_state feeds the LM head
    rows = []
    with torch.no_grad():
        for start in range(0, len(texts), batch_size):
            batch = tokenizer(list(texts[start:start + batch_size]), return_tensors="pt", padding=True,
                              truncation=True, max_length=max_length).to(device)
            hidden = backbone(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
            rows.append(masked_mean(hidden, batch["attention_mask"]).float().cpu().numpy())
    return np.concatenate(rows) if rows else np.zeros((0, 0), dtype=np.float32)
