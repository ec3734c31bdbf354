"""Hooks for bias_inheritance_heldout_perplexity; the logic lives in perplexity_task."""

from __future__ import annotations

from bias_tasks.heldout_perplexity import perplexity_task as task

load_docs = task.heldout_docs
doc_to_target = task.doc_to_target
process_results = task.process_results
