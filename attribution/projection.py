"""A seeded sparse sign projection (CountSketch / SJLT with one nonzero per input coordinate).

Why not a dense Gaussian or Rademacher matrix: for an 8B model's LoRA on q and v (d ≈ 6.8 M) a
d × 8,192 matrix is 223 GB in float32; regenerating it block by block for every batch costs
d · k random numbers per pass, which dwarfs the gradients on a CPU. Coordinate i of the input is
instead added, with a random sign, to one random output bucket h(i): x ↦ P x with P[h(i), i] = ±1.
That is an unbiased inner-product estimator whose variance is no larger than a dense Gaussian
projection's of the same size (Kane & Nelson's sparse JL; the `sjlt` projection of TRAK, GraSS and
dattri), costs O(d) per row, and its whole randomness is two length-d vectors (buckets, signs),
~9 bytes per parameter.

Both vectors are drawn once from the seed with torch's CPU generator and only then copied to the
compute device, so the projection is the same matrix on CPU and GPU (a GPU generator would draw
other numbers). Entry i depends on (seed, d, i) only, so how the input is split into blocks never
changes the result, and no dense d × k matrix is ever built (`dense_matrix` exists for tests).
"""

from __future__ import annotations

from typing import Iterable

import torch

# Part of every feature key: a change to how buckets and signs are drawn changes the features.
PROJECTION_VERSION = "sign-sketch-1"


class SignSketch:
    """x ∈ R^d ↦ P x ∈ R^k with one ±1 per column of P, drawn from `seed` on the CPU."""

    def __init__(self, input_dim: int, output_dim: int, seed: int) -> None:
        if input_dim < 1 or output_dim < 1:
            raise ValueError("input_dim and output_dim must be positive")
        self.input_dim, self.output_dim, self.seed = input_dim, output_dim, seed
        generator = torch.Generator(device="cpu").manual_seed(seed)
        self.buckets = torch.randint(output_dim, (input_dim,), generator=generator, dtype=torch.int64)
        self.signs = torch.randint(0, 2, (input_dim,), generator=generator, dtype=torch.int8) * 2 - 1
        self._on: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}  # device copies of buckets and signs

    def _randomness(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        name = f"{device}:{dtype}"
        if name not in self._on:
            self._on[name] = (self.buckets.to(device), self.signs.to(device=device, dtype=dtype))
        return self._on[name]

    def project(self, blocks: Iterable[torch.Tensor]) -> torch.Tensor:
        """[n, k] from consecutive column blocks [n, d_1], [n, d_2], ... of the [n, d] input.

        Each block is scattered into the output as it comes, so the [n, d] input never has to
        exist in one piece (per-parameter gradients are passed as they are).
        """
        out: torch.Tensor | None = None
        offset = 0
        for block in blocks:
            block = block.reshape(block.shape[0], -1)
            width = block.shape[1]
            if offset + width > self.input_dim:
                raise ValueError(f"blocks cover more than the {self.input_dim} input coordinates")
            if out is None:
                out = torch.zeros(block.shape[0], self.output_dim, device=block.device, dtype=block.dtype)
            buckets, signs = self._randomness(block.device, block.dtype)
            out.index_add_(1, buckets[offset:offset + width], block * signs[offset:offset + width])
            offset += width
        if out is None or offset != self.input_dim:
            raise ValueError(f"blocks cover {offset} of the {self.input_dim} input coordinates")
        return out

    def dense_matrix(self) -> torch.Tensor:
        """P as a dense [d, k] matrix (x @ P == project([x])): for tests on small d only."""
        matrix = torch.zeros(self.input_dim, self.output_dim)
        matrix[torch.arange(self.input_dim), self.buckets] = self.signs.float()
        return matrix
