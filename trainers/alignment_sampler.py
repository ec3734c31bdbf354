"""The origin flag column and the balanced sampler that spreads augmented rows over the batches.

Kept apart from `trainers.alignment` so that building a dataset or a sampler needs torch only, not TRL.

At γ = 0.05, |D| = 3,600 and batch 8 a random order leaves most batches without an augmented row,
so the alignment loss would mostly run on its running mean. Repeating augmented rows to fill the
batches would change the effective γ. This sampler instead deals each epoch's rows into batches
so that every batch holds its share of the augmented rows (the floor or the ceiling of
|D_a| · batch / |D|), each row exactly once. It does not depend on the mitigation, so a sweep can
use the same order for every mitigation.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch

# Dataset column: 1 = augmented row (D_a), 0 = original row (D_o).
ORIGIN_FLAG = "augmented"


def balanced_order(flags: Sequence[int], batch_size: int, seed: int) -> list[int]:
    """A permutation of `range(len(flags))` whose consecutive chunks of `batch_size` share the augmented rows evenly.

    Chunk k spans positions [s, e) and takes floor(n_a·e/n) − floor(n_a·s/n) augmented rows: proportional to
    its size (a short last chunk included), never more than it holds. Both kinds are shuffled, and so is each
    chunk, with one generator seeded by `seed`: the order is a function of (flags, batch_size, seed).
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1 (got {batch_size}).")
    generator = torch.Generator().manual_seed(seed)

    def shuffled(rows: list[int]) -> list[int]:
        return [rows[k] for k in torch.randperm(len(rows), generator=generator).tolist()]

    augmented = shuffled([i for i, flag in enumerate(flags) if flag])
    original = shuffled([i for i, flag in enumerate(flags) if not flag])
    total, n_augmented = len(flags), len(augmented)
    order: list[int] = []
    taken_augmented = taken_original = 0
    for start in range(0, total, batch_size):
        end = min(start + batch_size, total)
        n_aug = n_augmented * end // total - n_augmented * start // total
        n_orig = end - start - n_aug
        chunk = augmented[taken_augmented:taken_augmented + n_aug] + original[taken_original:taken_original + n_orig]
        taken_augmented += n_aug
        taken_original += n_orig
        order += shuffled(chunk)
    return order


class BalancedOriginSampler(torch.utils.data.Sampler[int]):
    """Each epoch, `balanced_order(flags, batch_size, seed + epoch)`.

    `batch_size` is the per-process batch: under DDP accelerate deals consecutive chunks of it to the
    processes in turn, so every process's batch is one balanced chunk. The Trainer calls `set_epoch`
    (through accelerate's data loader) before each epoch, so a resumed run replays the same order.
    """

    def __init__(self, flags: Sequence[int], batch_size: int, seed: int) -> None:
        self.flags = [int(flag) for flag in flags]
        self.batch_size = batch_size
        self.seed = seed
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        return iter(balanced_order(self.flags, self.batch_size, self.seed + self.epoch))

    def __len__(self) -> int:
        return len(self.flags)
