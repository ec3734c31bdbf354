"""Stage 5: lm-eval results JSON -> leaderboard tables (Markdown, CSV) with provenance."""
