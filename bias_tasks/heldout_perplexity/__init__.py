"""heldout_perplexity"""
