"""vLLM backend (optional extra `vllm`, for GPUs): the HF backend's interface and prompts, faster.

vllm is imported only when this backend is built, so the package works without it. Prompts are
rendered with the model's chat template exactly as the HF backend renders them and passed as token
ids (so vLLM adds no second BOS); each prompt gets its own seeded SamplingParams.
"""

from __future__ import annotations

from typing import Any, Sequence

from bias_inheritance.chat import prompt_format, render_prompt
from bias_inheritance.device import pick_device
from bias_inheritance.errors import UserError
from generators.backends.base import SamplingSettings, prompt_seeds

INSTALL_HINT = "pip install bias-inheritance[vllm] (needs a CUDA GPU), or use --backend hf."


def import_vllm() -> Any:
    try:
        import vllm
    except ImportError:
        raise UserError("The vLLM backend needs the `vllm` package, which is not installed.", INSTALL_HINT) from None
    return vllm


def sampling_params_kwargs(sampling: SamplingSettings, seed: int) -> dict[str, Any]:
    """vllm.SamplingParams arguments for one prompt: temperature 0 is greedy there too."""
    return {"n": 1, "temperature": sampling.temperature if sampling.do_sample else 0.0,
            "top_p": sampling.effective_top_p, "max_tokens": sampling.max_new_tokens, "seed": seed}


class VLLMGenerator:
    """A model served in-process by vLLM. `device` is validated and recorded; vLLM places the model."""

    def __init__(self, model_path: str, sampling: SamplingSettings, identity: dict[str, Any],
                 device: str | None = "auto") -> None:
        self._vllm = import_vllm()
        self.name = model_path
        self.identity = identity
        self.sampling = sampling
        self.device = pick_device(device)
        self.llm = self._vllm.LLM(model=model_path, tokenizer=model_path)
        self.tokenizer = self.llm.get_tokenizer()
        self.format = prompt_format(self.tokenizer)

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]:
        inputs = [{"prompt_token_ids": self.tokenizer(render_prompt(self.tokenizer, p, self.format),
                                                      add_special_tokens=False)["input_ids"]} for p in prompts]
        params = [self._vllm.SamplingParams(**sampling_params_kwargs(self.sampling, s))
                  for s in prompt_seeds(seed, len(prompts))]
        outputs = self.llm.generate(inputs, params, use_tqdm=False)  # one output per input, in input order
        return [o.outputs[0].text.strip() for o in outputs]
