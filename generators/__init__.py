"""Stage 1: biased augmentation D_a (prompt templates, generation backends) and mixing at ratio γ."""
