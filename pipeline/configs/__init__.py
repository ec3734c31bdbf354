"""Experiment files shipped with the harness (the quickstart is the template for your own)."""
