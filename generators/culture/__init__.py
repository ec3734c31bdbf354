"""Cultural bias (SPEC §2): descriptors before GlobalOpinionQA questions, types 0-6.

`CULTURE_BIAS` implements `generators.requests.Bias`: templates.py holds the descriptors and options,
attributes.py the even, seeded attribute draws, interpret.py the option parser, bias.py the requests.
"""

from generators.culture.bias import CultureBias
from generators.culture.templates import CONTRASTIVE_OPTIONS, PROMPT_VERSION, TYPES

CULTURE_BIAS = CultureBias()

__all__ = ["CULTURE_BIAS", "CONTRASTIVE_OPTIONS", "CultureBias", "PROMPT_VERSION", "TYPES"]
