"""Text generation backends. The Hugging Face one batches prompts rendered as lm-eval renders them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence

from bias_inheritance.chat import prompt_format, render_prompt
from bias_inheritance.device import pick_device


class TextGenerator(Protocol):
    """Anything that turns a batch of user prompts into completions (one per prompt).

    `identity` names the weights (see identity.model_identity): it is part of D_a's key, so rows
    of two generators never end up in one file.
    """

    name: str
    identity: dict[str, Any]

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]: ...


@dataclass(frozen=True)
class SamplingSettings:
    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.9

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0


class HFGenerator:
    """A causal LM from transformers, loaded once; prompts in its chat template when it has one."""

    def __init__(self, model_path: str, sampling: SamplingSettings, identity: dict[str, Any],
                 device: str | None = "auto") -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.name = model_path
        self.identity = identity
        self.sampling = sampling
        self.device = pick_device(device)
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self.tokenizer.padding_side = "left"  # decoder-only: pad on the left so generation continues the prompt
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.format = prompt_format(self.tokenizer)
        self.model = AutoModelForCausalLM.from_pretrained(model_path).to(self.device).eval()

    def _render(self, prompt: str) -> str:
        return render_prompt(self.tokenizer, prompt, self.format)

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]:
        import torch

        torch.manual_seed(seed)  # one seed per batch: a resumed run regenerates a batch identically
        texts = [self._render(p) for p in prompts]
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs = {"max_new_tokens": self.sampling.max_new_tokens, "do_sample": self.sampling.do_sample,
                  "pad_token_id": self.tokenizer.pad_token_id}
        if self.sampling.do_sample:
            kwargs.update(temperature=self.sampling.temperature, top_p=self.sampling.top_p)
        with torch.inference_mode():
            output = self.model.generate(**batch, **kwargs)
        new_tokens = output[:, batch["input_ids"].shape[1]:]
        return [t.strip() for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
