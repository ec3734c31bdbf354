"""Misalignment analyses (SPEC §5, §8): values, embedding distributions, group balance, the findings check."""
