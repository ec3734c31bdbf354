"""Stage 4: lm-eval results JSON -> leaderboard tables (Markdown, CSV) with provenance."""
