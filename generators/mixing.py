"""D = D_o ∪ D_a at bias ratio γ = |D_a| / |D|, with |D| fixed (SPEC §1).

Raising γ replaces original rows with augmented ones. Original rows are removed evenly across
profession x gender cells, so D_o's balance is kept; augmented rows are drawn evenly across
professions (their gender is whatever the generator wrote: that is the bias under study).
Deterministic for a seed. `mix_and_write` writes D with a card (stage "mix") whose parents are the
cards of D_a ("augmented") and of the prepared D_o ("original"), and whose summary records γ as
requested and as realised after rounding; an existing D is reused only under the same key.
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Hashable

from bias_inheritance import cards
from bias_inheritance.data import gender
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from bias_inheritance.lineage import Upstream, file_output, parents_of, provenance, upstream, verify_rows

STAGE = "mix"
# Version of the mixing algorithm and of its row format; part of the key.
MIX_VERSION = 2
MIX_FIELDS = ("id", "origin", "text", "profession", "gender", "bias_type", "generator")
_FIX = "pass a new --out path, or delete that file and its .card.json."


@dataclass(frozen=True)
class MixResult:
    rows: list[dict]
    content_sha256: str
    gamma: float  # requested
    gamma_realised: float  # |D_a in D| / |D| after rounding
    counts: dict = field(default_factory=dict)
    card: dict | None = None  # the card `mix_and_write` wrote or reused


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
        out["generator"] = None
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
    return MixResult(rows=rows, content_sha256=content_hash(rows), gamma=gamma,
                     gamma_realised=len(added) / len(rows), counts=counts)


def _read_original(original: Path) -> tuple[list[dict], str]:
    """D_o's rows and source label: a prepared gender folder's train split, or a JSON-lines file."""
    if original.is_dir() or not original.suffix:  # a prepared folder (load_split says how to prepare it)
        return gender.load_split("train", original), gender.load_source(original).label
    return read_jsonl(original), f"file:{original.resolve()}"


def mix_inputs(gamma: float, total: int, seed: int, sources: list[Upstream]) -> dict[str, Any]:
    """The input record of D's card (the parents' keys enter the key beside it)."""
    return {"gamma": gamma, "total": total, "seed": seed, "version": MIX_VERSION,
            **{f"{u.role}_sha256": u.content_sha256 for u in sources}}


def _summary(result: MixResult, data_source: str, sources: list[Upstream]) -> dict[str, Any]:
    bias_types = sorted({r["bias_type"] for r in result.rows if r["bias_type"] is not None})
    generators = {canonical_json(r["generator"]["model"]): r["generator"]["model"]
                  for r in result.rows if isinstance(r.get("generator"), dict) and "model" in r["generator"]}
    own = {
        "data_sha256": result.content_sha256, "gamma": result.gamma, "gamma_realised": result.gamma_realised,
        "data_source": data_source, "bias_type": bias_types[0] if len(bias_types) == 1 else (bias_types or None),
        "generator": next(iter(generators.values())) if len(generators) == 1 else (list(generators.values()) or None),
    }
    return {"rows": len(result.rows), "content_sha256": result.content_sha256, "gamma": result.gamma,
            "gamma_realised": result.gamma_realised, "bias_types": bias_types, "counts": result.counts,
            "provenance": provenance(own, sources)}


def mix_and_write(
    augmented: Path, out_path: Path, gamma: float, total: int | None = None, seed: int = 0,
    original: Path | None = None,
) -> MixResult:
    """Mix D_a (`augmented`, a file from `generate`) with D_o (`original`: a prepared gender folder,
    by default the cache's, or a JSON-lines file) into `out_path` and its card.

    An existing `out_path` is reused only when its card has this key; otherwise a UserError names
    the differing inputs. A card-less input is identified by the sha256 of its rows.
    """
    gamma = check_gamma(gamma)
    augmented, out_path = Path(augmented), file_output(out_path)
    original = Path(original) if original is not None else gender.gender_dir()
    original_rows, original_label = _read_original(original)
    augmented_rows = read_jsonl(augmented)
    sources = [upstream("augmented", augmented, augmented_rows), upstream("original", original, original_rows)]
    total = len(original_rows) if total is None else total
    inputs = mix_inputs(gamma, total, seed, sources)
    parents = parents_of(sources)
    key = cards.stage_key(STAGE, inputs, parents)
    if cards.check_reuse(out_path, STAGE, key, inputs, what="Mixed set", fix=_FIX) == "complete":
        card = cards.read_card(cards.card_path(out_path))
        rows = read_jsonl(out_path)
        verify_rows(out_path, rows, card)
        summary = card["summary"]
        return MixResult(rows=rows, content_sha256=summary["content_sha256"], gamma=summary["gamma"],
                         gamma_realised=summary["gamma_realised"], counts=summary["counts"], card=card)
    cards.write_card(out_path, STAGE, inputs, parents=parents, status="partial")
    result = mix(original_rows, augmented_rows, gamma, total, seed)
    write_jsonl(out_path, result.rows)
    card = cards.write_card(out_path, STAGE, inputs, parents=parents, status="complete",
                            summary=_summary(result, original_label, sources))
    return MixResult(rows=result.rows, content_sha256=result.content_sha256, gamma=result.gamma,
                     gamma_realised=result.gamma_realised, counts=result.counts, card=card)
