"""Hugging Face transformers backend: one model in memory, prompts batched with left padding."""

from __future__ import annotations

from typing import Any, Sequence

from bias_inheritance.chat import prompt_format, render_prompt
from bias_inheritance.device import pick_device
from generators.backends.base import SamplingSettings


class HFGenerator:
    """A causal LM from transformers, loaded once; prompts in its chat template when it has one.

    Rendering goes through bias_inheritance.chat, so generation sees the format training and
    lm-eval use. One torch seed per batch: a resumed run regenerates a batch identically. With
    `adapter`, the model is the base plus that LoRA adapter: the fine-tuned model of a round.
    """

    def __init__(self, model_path: str, sampling: SamplingSettings, identity: dict[str, Any],
                 device: str | None = "auto", adapter: str | None = None) -> None:
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
        model = AutoModelForCausalLM.from_pretrained(model_path)
        if adapter is not None:  # a later round's generator: the base with the previous round's LoRA merged in
            from peft import PeftModel

            model = PeftModel.from_pretrained(model, adapter).merge_and_unload()
        self.model = model.to(self.device).eval()

    def _render(self, prompt: str) -> str:
        return render_prompt(self.tokenizer, prompt, self.format)

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]:
        import torch

        torch.manual_seed(seed)
        texts = [self._render(p) for p in prompts]
        # Encoded as lm-eval encodes for causal models: no special tokens on top (a chat template has its own).
        batch = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kwargs = {"max_new_tokens": self.sampling.max_new_tokens, "do_sample": self.sampling.do_sample,
                  "pad_token_id": self.tokenizer.pad_token_id}
        if self.sampling.do_sample:
            kwargs.update(temperature=self.sampling.temperature, top_p=self.sampling.top_p)
        with torch.inference_mode():
            output = self.model.generate(**batch, **kwargs)
        new_tokens = output[:, batch["input_ids"].shape[1]:]
        return [t.strip() for t in self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)]
