"""Stage 2: LoRA supervised fine-tuning on the mixed set with TRL, writing an adapter and its card."""

from trainers.mitigations import mask_text, token_text

__all__ = ["mask_text", "token_text"]
