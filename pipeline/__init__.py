"""On top of the stages: the `bias-inheritance` CLI and the experiment runner (the only code importing several stages)."""
