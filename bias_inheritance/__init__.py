"""bias-inheritance: measure how bias in LLM-generated training data is inherited, and mitigate it."""

__version__ = "0.1.0"
