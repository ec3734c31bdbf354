"""Stage 2: LoRA supervised fine-tuning on the mixed set with TRL, writing an adapter and its card."""
