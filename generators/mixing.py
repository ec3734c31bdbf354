"""D = D_o ∪ D_a at bias ratio γ = |D_a| / |D|, with |D| fixed (SPEC §1).

Raising γ replaces original rows with augmented ones. Original rows are removed evenly across
profession x gender cells, so D_o's balance is kept; augmented rows are drawn evenly across
professions (their gender is whatever the generator wrote: that is the bias under study).
Deterministic for a seed; the content hash of D identifies the training set in every run card.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Hashable

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, content_hash, write_jsonl

MIX_FIELDS = ("id", "origin", "text", "profession", "gender", "bias_type")


@dataclass(frozen=True)
class MixResult:
    rows: list[dict]
    content_sha256: str
    gamma: float
    counts: dict = field(default_factory=dict)


def check_gamma(gamma: float) -> float:
    if not 0.0 <= gamma < 1.0:
        raise UserError(f"Bias ratio γ={gamma} is outside [0, 1).", "pass a γ such as 0, 0.05, 0.1, 0.2 or 0.5.")
    return float(gamma)


def _quotas(sizes: dict[Hashable, int], total: int) -> dict[Hashable, int]:
    """Split `total` over keys in proportion to `sizes` (largest remainder; ties by key order)."""
    whole = sum(sizes.values())
    if whole == 0:
        return {k: 0 for k in sizes}
    exact = {k: total * n / whole for k, n in sizes.items()}
    quotas = {k: int(v) for k, v in exact.items()}
    leftover = total - sum(quotas.values())
    for key in sorted(sizes, key=lambda k: (-(exact[k] - quotas[k]), str(k)))[:leftover]:
        quotas[key] += 1
    return quotas


def _stratified_sample(
    rows: list[dict], count: int, key: Callable[[dict], Hashable], weights: dict[Hashable, int],
    rng: random.Random, what: str,
) -> list[dict]:
    cells: dict[Hashable, list[dict]] = defaultdict(list)
    for row in rows:
        cells[key(row)].append(row)
    chosen: list[dict] = []
    for cell, quota in sorted(_quotas(weights, count).items(), key=lambda kv: str(kv[0])):
        pool = sorted(cells.get(cell, []), key=lambda r: r["id"])
        if len(pool) < quota:
            raise UserError(
                f"Not enough {what} rows for {cell}: {quota} needed, {len(pool)} available.",
                "generate more augmented rows, lower --total or lower γ.",
            )
        chosen.extend(rng.sample(pool, quota))
    return chosen


def _normalise(row: dict, origin: str) -> dict:
    out = {k: row.get(k) for k in MIX_FIELDS}
    out["origin"] = origin
    if origin == "original":
        out["bias_type"] = None
    return out


def mix(original: list[dict], augmented: list[dict], gamma: float, total: int | None = None, seed: int = 0) -> MixResult:
    """Build D at ratio `gamma` with |D| = `total` (default |D_o|)."""
    gamma = check_gamma(gamma)
    for name, rows in (("original", original), ("augmented", augmented)):
        for index, row in enumerate(rows):
            missing = [k for k in ("id", "text", "profession") if k not in row]
            if missing:
                raise UserError(f"{name} row {index} lacks {', '.join(missing)}.", "use files written by this harness.")
    total = len(original) if total is None else total
    if total < 1:
        raise UserError(f"|D| must be positive (got {total}).", "pass --total 1 or more.")
    n_augmented = round(gamma * total)
    n_original = total - n_augmented
    if n_original > len(original):
        raise UserError(f"|D|={total} needs {n_original} original rows; D_o has {len(original)}.", "lower --total.")
    usable = [r for r in augmented if str(r["text"]).strip()]
    empty = len(augmented) - len(usable)
    rng = random.Random(f"mix-{seed}-{gamma}-{total}")

    cell = lambda r: (r["profession"], r["gender"])  # noqa: E731
    cell_sizes = Counter(cell(r) for r in original)
    kept = _stratified_sample(original, n_original, cell, dict(cell_sizes), rng, "original")
    profession_sizes = Counter(r["profession"] for r in original)
    added = _stratified_sample(usable, n_augmented, lambda r: r["profession"], dict(profession_sizes), rng, "augmented")

    rows = [_normalise(r, "original") for r in kept] + [_normalise(r, "augmented") for r in added]
    rows.sort(key=lambda r: r["id"])
    rng.shuffle(rows)
    counts = {
        "total": len(rows),
        "original": len(kept),
        "augmented": len(added),
        "augmented_available": len(augmented),
        "augmented_empty_skipped": empty,
        "augmented_gender": dict(Counter(r["gender"] for r in added)),
        "by_origin_profession_gender": {
            f"{o}/{p}/{g}": n for (o, p, g), n in sorted(Counter((r["origin"], r["profession"], r["gender"]) for r in rows).items())
        },
    }
    return MixResult(rows=rows, content_sha256=content_hash(rows), gamma=gamma, counts=counts)


def mix_and_write(
    original: list[dict], augmented: list[dict], gamma: float, total: int | None, seed: int, out_path: Path,
    original_source: dict | None = None,
) -> MixResult:
    """Mix, then write D and, beside it, `<name>.meta.json` with γ, seed, hash, counts and D_o's source."""
    result = mix(original, augmented, gamma, total, seed)
    write_jsonl(out_path, result.rows)
    atomic_write_json(
        meta_path(out_path),
        {
            "gamma": result.gamma,
            "seed": seed,
            "content_sha256": result.content_sha256,
            "bias_types": sorted({r["bias_type"] for r in result.rows if r["bias_type"] is not None}),
            "original_source": original_source,
            "counts": result.counts,
        },
    )
    return result


def meta_path(data_path: Path) -> Path:
    return Path(data_path).with_suffix(".meta.json")
