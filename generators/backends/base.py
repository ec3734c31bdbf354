"""The one interface every text generator implements, and the sampling settings they share.

A generator turns a batch of user prompts into one completion each. The generation loop knows
nothing else about it, so a new backend (another inference server, a custom sampler, a cached
replay of earlier outputs) is a small class, not a change to the loop:

    class MyGenerator:
        name = "my-model"                                   # shown in rows and logs
        identity = {"kind": "mine", "model": "my-model"}   # everything that decides its outputs

        def generate(self, prompts: Sequence[str], seed: int) -> list[str]:
            return [my_complete(p, seed=seed + i) for i, p in enumerate(prompts)]

Pass an instance to the generation loop instead of a model name. Rules:
- `generate` returns exactly one string per prompt, in prompt order, or raises; a user-fixable
  failure (unreachable server, bad settings) is a `UserError`. Rows written before the failing
  batch are the caller's and stay intact.
- `identity` is part of the augmentation set's key: put in it everything that changes outputs
  (weights, backend, server and model name), never a secret. Sampling settings and the seed are
  keyed by the caller, so they need not be repeated.
- Equal prompts, seed and settings should give equal outputs where the backend allows it: a
  resumed run regenerates an interrupted batch with the seed it had.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Sequence, runtime_checkable


@runtime_checkable
class TextGenerator(Protocol):
    """Anything that turns a batch of user prompts into completions (one per prompt)."""

    name: str
    identity: dict[str, Any]

    def generate(self, prompts: Sequence[str], seed: int) -> list[str]: ...


@dataclass(frozen=True)
class SamplingSettings:
    """How tokens are drawn: temperature 0 is greedy (top_p then has no effect)."""

    max_new_tokens: int = 160
    temperature: float = 0.7
    top_p: float = 0.9

    @property
    def do_sample(self) -> bool:
        return self.temperature > 0

    @property
    def effective_top_p(self) -> float:
        """The top_p a backend should send: 1.0 when greedy, so no server narrows greedy decoding."""
        return self.top_p if self.do_sample else 1.0


def prompt_seeds(seed: int, count: int) -> list[int]:
    """One seed per prompt of a batch seeded `seed`, for backends that seed requests one by one.

    Equal prompts in one batch (type 0 asks the same question many times) would otherwise get
    equal texts; batches seeded by their first row's index, as the generation loop seeds them,
    give every row of a run its own seed.
    """
    return [seed + i for i in range(count)]
