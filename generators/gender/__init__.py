"""The gender bias: prompt templates (templates), balanced attribute sampling (sampling), option
checks (options) and the reading of generated biographies (interpret), joined in `GENDER_BIAS`."""

from generators.gender.bias import GENDER_BIAS, GenderBias
from generators.gender.templates import PROMPT_VERSION

__all__ = ["GENDER_BIAS", "GenderBias", "PROMPT_VERSION"]
