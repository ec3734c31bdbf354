"""Stage 4: run lm-eval on a model (and adapter), keyed per task, with per-sample logs, re-scoring and provenance."""
