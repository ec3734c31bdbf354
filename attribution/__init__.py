"""BiasDiff attribution (SPEC §7): which training rows carry the bias, scored per row.

A stage after `trainers`: per-sample LoRA gradient features (Adam-preconditioned for training
rows, plain for probes), a seeded sparse projection, chunked feature files with a card, and the
cosine score of each training row against a probe set.
"""
