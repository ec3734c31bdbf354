"""D = D_o ∪ D_a at bias ratio γ = |D_a| / |D|, with |D| fixed (SPEC §1), nested across γ.

Every γ is cut from one seeded ranking, so runs at different γ differ only by γ: each stratum's rows
are ordered once by a hash of (seed, origin, id); a set at γ takes a prefix of every augmented
stratum and keeps a prefix of every original stratum (it drops a suffix). n_a(γ) = round(γ·|D|)
never falls as γ rises and n_o = |D| − n_a never rises, and the per-stratum quotas follow their
totals monotonically, so the augmented rows at γ are among those at every larger γ, the original
rows kept at γ are among those kept at every smaller γ, and a single mix at γ is the grid's set at γ.

Quotas: largest remainder is not house-monotone (the Alabama paradox: a stratum can lose a row
when the total grows), which breaks nestedness when strata are unequal. Quotas therefore come from
the Balinski–Young quota method: rows are handed out one at a time, each to the stratum with the
largest weight / (quota + 1) among those still below their exact share. It is house-monotone by
construction and stays within quota (every quota is the floor or the ceiling of its exact share);
with equal strata it equals largest remainder with ties broken by stratum order.

Strata (`STRATA`, one small record per bias): gender D_o by profession × gender, D_a by profession;
culture D_o and D_a by culture. D_a's strata are weighted by D_o's rows, so D_a is drawn evenly when
D_o is balanced; their gender or answer is whatever the generator wrote: that is the bias under
study. D_a rows with no stratum value at all (culture type 0 and the contrastive types name no
single culture) form one stratum. Unusable D_a rows (refusals, unparseable, unlabelled, empty) are
never mixed, only counted. `mix_and_write` writes D as JSON lines with a card (stage "mix") whose
parents are the cards of D_a and of the prepared D_o; an existing D is reused only under its key.
"""

from __future__ import annotations

import hashlib
import importlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

from bias_inheritance import cache, cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import content_hash, read_jsonl, write_jsonl
from bias_inheritance.lineage import Upstream, file_output, parents_of, provenance, upstream, verify_rows

STAGE = "mix"
# Version of the mixing algorithm and of its row format; part of the key.
MIX_VERSION = 3
# Fields every mixed row keeps, whatever its bias; each bias adds its training fields.
COMMON_FIELDS = ("id", "origin", "bias", "bias_type", "generator")
ORIGINS = ("original", "augmented")
_FIX = "pass a new --out path, or delete that file and its .card.json."


def _gender_cell(row: Mapping[str, Any]) -> Hashable:
    return (row["profession"], row["gender"])


def _profession(row: Mapping[str, Any]) -> Hashable:
    return row.get("profession")


def _culture(row: Mapping[str, Any]) -> Hashable:
    return row.get("culture")


@dataclass(frozen=True)
class Strata:
    """What mixing needs to know about one bias: the fields a row keeps and how rows are stratified."""

    bias: str
    data_family: str  # D_o's prepared folder: cache.data_dir(family), read by bias_inheritance.data.<family>
    fields: tuple[str, ...]  # training fields every mixed row keeps
    original_required: tuple[str, ...]
    augmented_required: tuple[str, ...]  # of usable rows
    original: Callable[[Mapping[str, Any]], Hashable]
    augmented: Callable[[Mapping[str, Any]], Hashable]  # applied to D_o rows too: their counts weight D_a's strata
    group: str  # the field whose distribution among the augmented rows is the bias under study


GENDER = Strata(
    bias="gender", data_family="gender", fields=("text", "profession", "gender"),
    original_required=("id", "text", "profession", "gender"), augmented_required=("id", "text", "profession"),
    original=_gender_cell, augmented=_profession, group="gender",
)
CULTURE = Strata(
    bias="culture", data_family="opinions",
    fields=("question_id", "question", "question_text", "options", "answer", "answer_index", "culture"),
    original_required=("id", "question", "options", "answer", "culture"),
    augmented_required=("id", "question", "options", "answer"),
    original=_culture, augmented=_culture, group="culture",
)
STRATA: dict[str, Strata] = {s.bias: s for s in (GENDER, CULTURE)}


@dataclass(frozen=True)
class MixResult:
    rows: list[dict]
    content_sha256: str
    gamma: float  # requested
    gamma_realised: float  # |D_a in D| / |D| after rounding
    counts: dict = field(default_factory=dict)
    card: dict | None = None  # the card `mix_and_write` or `mix_grid` wrote or reused
    bias: str = "gender"
    path: Path | None = None  # where the set was written (a file, or a grid's γ folder)


def check_gamma(gamma: float) -> float:
    if isinstance(gamma, bool) or not 0.0 <= gamma < 1.0:
        raise UserError(f"Bias ratio γ={gamma} is outside [0, 1).", "pass a γ such as 0, 0.05, 0.1, 0.2 or 0.5.")
    return float(gamma)


def check_gammas(gammas: Iterable[float]) -> list[float]:
    """Each γ in [0, 1), none twice, at least one; in the order given."""
    checked = [check_gamma(g) for g in gammas]
    if not checked:
        raise UserError("No bias ratio γ was given.", "pass --gamma, e.g. 0,0.05,0.1,0.2,0.5.")
    twice = sorted(g for g, n in Counter(checked).items() if n > 1)
    if twice:
        raise UserError(f"γ={twice[0]:g} is given twice.", "list each γ once.")
    return checked


def quota_allocations(weights: Mapping[Hashable, int], sizes: Iterable[int]) -> dict[int, dict[Hashable, int]]:
    """For each total n in `sizes`, n rows split over strata in proportion to `weights`.

    The Balinski–Young quota method (see the module docstring): house-monotone, so every stratum's
    quota at n is at most its quota at any larger n, and within quota. Ties go to the stratum that
    sorts first. Integer arithmetic only, so the result is the same on every platform.
    """
    strata = sorted(weights, key=str)
    whole = sum(weights[k] for k in strata)
    wanted = sorted(set(sizes))
    quotas = dict.fromkeys(strata, 0)
    found: dict[int, dict[Hashable, int]] = {}
    if wanted and wanted[0] < 0:
        raise ValueError("a total cannot be negative")
    if wanted and wanted[-1] > 0 and whole <= 0:
        raise ValueError("no stratum has a positive weight")
    for seat in range(0, (wanted[-1] if wanted else 0) + 1):
        if seat:
            best = None
            for k in strata:  # eligible: still below its exact share after this seat (upper quota)
                if quotas[k] * whole < seat * weights[k] and (
                        best is None or weights[k] * (quotas[best] + 1) > weights[best] * (quotas[k] + 1)):
                    best = k
            quotas[best] += 1
        if seat in wanted:
            found[seat] = dict(quotas)
    return found


def _rank(seed: int, salt: str, row_id: Any) -> str:
    """A row's place in the seeded order: independent of γ, of |D| and of which other rows exist."""
    return hashlib.sha256(f"{seed}\x00{salt}\x00{row_id}".encode("utf-8")).hexdigest()


def _ranked(rows: Iterable[dict], stratum: Callable[[Mapping[str, Any]], Hashable], seed: int,
            origin: str) -> dict[Hashable, list[dict]]:
    cells: dict[Hashable, list[dict]] = defaultdict(list)
    for row in rows:
        cells[stratum(row)].append(row)
    return {k: sorted(v, key=lambda r: (_rank(seed, origin, r["id"]), str(r["id"]))) for k, v in cells.items()}


def _take(cells: Mapping[Hashable, list[dict]], quotas: Mapping[Hashable, int], origin: str, gamma: float) -> list[dict]:
    chosen: list[dict] = []
    for cell, quota in quotas.items():
        pool = cells.get(cell, [])
        if len(pool) < quota:
            raise UserError(
                f"Not enough {origin} rows for {_label(cell)} at γ={gamma:g}: {quota} needed, {len(pool)} usable.",
                "generate more augmented rows, lower --total or lower γ.",
            )
        chosen.extend(pool[:quota])
    return chosen


def _label(stratum: Hashable) -> str:
    parts = stratum if isinstance(stratum, tuple) else (stratum,)
    return "/".join("any" if p is None else str(p) for p in parts)


def unusable_reason(row: Mapping[str, Any]) -> str | None:
    """Why a D_a row must not be trained on, or None. Rows written before `usable` existed count as usable."""
    if not row.get("usable", True):
        return str(row.get("unusable_reason") or "unusable")
    if "text" in row and not str(row.get("text") or "").strip():
        return "empty"
    return None


def bias_of(augmented: Sequence[Mapping[str, Any]], card: Mapping[str, Any] | None = None) -> str:
    """The bias of D_a: its rows' `bias` (older gender files have none), else its card's."""
    found = {str(r.get("bias", "gender")) for r in augmented}
    if not found:
        found = {str((card or {}).get("inputs", {}).get("bias", "gender"))}
    if len(found) > 1:
        raise UserError(f"The augmented rows mix biases ({', '.join(sorted(found))}).", "mix one generated set at a time.")
    bias = found.pop()
    if bias not in STRATA:
        raise UserError(f"Unknown bias {bias!r} in the augmented rows.", f"use one of: {', '.join(STRATA)}.")
    return bias


def _check_rows(rows: Sequence[Mapping[str, Any]], required: Sequence[str], what: str, strata: Strata) -> None:
    for index, row in enumerate(rows):
        missing = [k for k in required if row.get(k) is None]
        if missing:
            raise UserError(f"{what} row {index} ({row.get('id')}) lacks {', '.join(missing)}.",
                            f"use {strata.bias} rows written by this harness (D_o: prepared {strata.data_family} data).")


def _check_original(rows: Sequence[Mapping[str, Any]], strata: Strata) -> None:
    _check_rows(rows, strata.original_required, "original", strata)
    for index, row in enumerate(rows):
        if row.get("split", "train") != "train":  # a held-out or test row must never reach training
            raise UserError(f"original row {index} ({row['id']}) is from the {row['split']!r} split.",
                            "pass the train split as D_o.")


def _normalise(row: Mapping[str, Any], origin: str, strata: Strata) -> dict:
    out = {k: row.get(k) for k in COMMON_FIELDS + strata.fields}
    out.update(origin=origin, bias=strata.bias)
    if origin == "original":
        out.update(bias_type=None, generator=None)
    return out


def mix_many(
    original: list[dict], augmented: list[dict], gammas: Sequence[float], total: int | None = None, seed: int = 0,
    bias: str | None = None,
) -> dict[float, MixResult]:
    """D at each γ in `gammas` with |D| = `total` (default |D_o|), all cut from one ranking (nested)."""
    gammas = check_gammas(gammas)
    strata = STRATA[bias or bias_of(augmented)]
    _check_original(original, strata)
    if not original:
        raise UserError("D_o has no rows.", f"prepare the {strata.data_family} data, or pass another --original.")
    total = len(original) if total is None else total
    if total < 1:
        raise UserError(f"|D| must be positive (got {total}).", "pass --total 1 or more.")
    n_augmented = {g: round(g * total) for g in gammas}
    most = total - min(n_augmented.values())
    if most > len(original):
        raise UserError(f"|D|={total} needs {most} original rows at γ={min(gammas):g}; D_o has {len(original)}.",
                        "lower --total.")
    reasons = [unusable_reason(r) for r in augmented]
    usable = [r for r, why in zip(augmented, reasons) if why is None]
    _check_rows(usable, strata.augmented_required, "augmented", strata)
    twice = sorted(str(i) for i, n in Counter(r["id"] for r in original + usable).items() if n > 1)
    if twice:
        raise UserError(f"Row id {twice[0]} occurs more than once across D_o and D_a.", "give every row its own id.")

    present = {strata.augmented(r) for r in usable}
    if present == {None}:  # D_a names no stratum at all: one stratum
        weights: dict[Hashable, int] = {None: 1}
    elif None in present:
        raise UserError(f"Some usable augmented rows have no {strata.group}, others do.", "mix one generated set at a time.")
    else:
        weights = dict(Counter(strata.augmented(r) for r in original))
    outside = sum(1 for r in usable if weights.get(strata.augmented(r), 0) == 0)
    kept_cells, added_cells = _ranked(original, strata.original, seed, "original"), _ranked(usable, strata.augmented, seed, "augmented")
    kept_quotas = quota_allocations({k: len(v) for k, v in kept_cells.items()}, [total - n for n in n_augmented.values()])
    added_quotas = quota_allocations(weights, n_augmented.values())

    results = {}
    for gamma in gammas:
        n = n_augmented[gamma]
        kept = _take(kept_cells, kept_quotas[total - n], "original", gamma)
        added = _take(added_cells, added_quotas[n], "augmented", gamma)
        rows = [_normalise(r, "original", strata) for r in kept] + [_normalise(r, "augmented", strata) for r in added]
        rows.sort(key=lambda r: (_rank(seed, "order", r["id"]), str(r["id"])))
        groups = Counter(("original", strata.original(r)) for r in kept) + Counter(("augmented", strata.augmented(r)) for r in added)
        counts = {
            "total": len(rows), "original": len(kept), "augmented": len(added),
            "augmented_available": len(augmented), "augmented_usable": len(usable),
            "augmented_unusable": dict(sorted(Counter(why for why in reasons if why is not None).items())),
            "augmented_outside_strata": outside,
            f"augmented_{strata.group}": dict(sorted(Counter(str(r.get(strata.group)) for r in added).items())),
            "by_origin_stratum": dict(sorted((f"{o}/{_label(s)}", c) for (o, s), c in groups.items())),
        }
        results[gamma] = MixResult(rows=rows, content_sha256=content_hash(rows), gamma=gamma,
                                   gamma_realised=len(added) / len(rows), counts=counts, bias=strata.bias)
    return results


def mix(original: list[dict], augmented: list[dict], gamma: float, total: int | None = None, seed: int = 0,
        bias: str | None = None) -> MixResult:
    """D at one γ: the same set `mix_many` (and so a γ grid) gives at that γ."""
    gamma = check_gamma(gamma)
    return mix_many(original, augmented, [gamma], total, seed, bias)[gamma]


# --------------------------------------------------------------------------- inputs, cards, files


@dataclass(frozen=True)
class MixSources:
    """D_a and D_o as read for a mix: their rows, their upstream records, the bias and |D|."""

    bias: str
    augmented: list[dict]
    original: list[dict]
    original_label: str  # D_o's source label (marks synthetic or unverified data)
    upstreams: tuple[Upstream, ...]  # augmented, original
    total: int

    @property
    def parents(self) -> dict[str, cards.Parent]:
        return parents_of(self.upstreams)

    @property
    def generation(self) -> dict[str, Any] | None:
        """D_a's generation inputs (generator, its settings, prompt version) from its card, if it has one."""
        card = self.upstreams[0].card
        return dict(card["inputs"]) if card and isinstance(card.get("inputs"), dict) else None


def _read_original(original: Path, family: str) -> tuple[list[dict], str]:
    """D_o's rows and source label: a prepared folder's train split, or a JSON-lines file."""
    if original.is_dir() or not original.suffix:  # a prepared folder (load_split says how to prepare it)
        card = cards.read_card(cards.card_path(original))
        prepared = ((card or {}).get("inputs") or {}).get("family")
        if prepared is not None and prepared != family:
            raise UserError(f"D_a needs {family} data as D_o, but {original} holds prepared {prepared} data.",
                            f"pass --original a folder prepared by `bias-inheritance data prepare {family}`.")
        data = importlib.import_module(f"bias_inheritance.data.{family}")
        return data.load_split("train", original), data.load_source(original).label
    card = cards.read_card(cards.card_path(original))  # a carded selection names its source's label
    label = ((card or {}).get("summary") or {}).get("provenance", {}).get("data_source")
    return read_jsonl(original), label or f"file:{original.resolve()}"


def read_sources(augmented: Path, original: Path | None = None, total: int | None = None) -> MixSources:
    """Read D_a and D_o (by default the prepared data of D_a's bias) and their cards."""
    augmented = Path(augmented)
    augmented_rows = read_jsonl(augmented)
    bias = bias_of(augmented_rows, cards.read_card(cards.card_path(augmented)))
    family = STRATA[bias].data_family
    original = Path(original) if original is not None else cache.data_dir(family)
    original_rows, label = _read_original(original, family)
    upstreams = (upstream("augmented", augmented, augmented_rows), upstream("original", original, original_rows))
    return MixSources(bias=bias, augmented=augmented_rows, original=original_rows, original_label=label,
                      upstreams=upstreams, total=len(original_rows) if total is None else total)


def shared_inputs(sources: MixSources, seed: int) -> dict[str, Any]:
    """Every input of a mix but γ: what all sets of one γ grid share."""
    return {"bias": sources.bias, "total": sources.total, "seed": seed, "version": MIX_VERSION,
            **{f"{u.role}_sha256": u.content_sha256 for u in sources.upstreams}}


def mix_inputs(gamma: float, sources: MixSources, seed: int) -> dict[str, Any]:
    """The input record of D's card (the parents' keys enter the key beside it)."""
    return {"gamma": gamma, **shared_inputs(sources, seed)}


def mix_sources(sources: MixSources, gammas: Sequence[float], seed: int) -> dict[float, MixResult]:
    return mix_many(sources.original, sources.augmented, gammas, sources.total, seed, sources.bias)


def summary(result: MixResult, sources: MixSources) -> dict[str, Any]:
    """D's card summary: γ requested and realised, D_a's generator, settings and prompts, counts, D_o's source."""
    generation = sources.generation
    bias_types = sorted({r["bias_type"] for r in result.rows if r["bias_type"] is not None})
    by_rows = {canonical_json(r["generator"].get("model")): r["generator"].get("model")
               for r in sources.augmented if isinstance(r.get("generator"), dict)}
    generator = (generation or {}).get("generator") or (next(iter(by_rows.values())) if len(by_rows) == 1 else None)
    own = {
        "data_sha256": result.content_sha256, "gamma": result.gamma, "gamma_realised": result.gamma_realised,
        "data_source": sources.original_label, "bias": result.bias, "bias_type": bias_types[0] if len(bias_types) == 1 else (bias_types or None),
        "generator": generator,
    }
    return {"rows": len(result.rows), "content_sha256": result.content_sha256, "bias": result.bias,
            "bias_types": bias_types, "gamma": result.gamma, "gamma_realised": result.gamma_realised,
            "generator": generator, "generation": generation,
            "prompt_version": (generation or {}).get("prompt_version"), "data_source": sources.original_label,
            "counts": result.counts, "provenance": provenance(own, sources.upstreams)}


def result_from_card(rows: list[dict], card: dict, path: Path) -> MixResult:
    """A reused set: its rows (checked against the card) and what its card records."""
    verify_rows(path, rows, card)
    s = card["summary"]
    return MixResult(rows=rows, content_sha256=s["content_sha256"], gamma=s["gamma"], gamma_realised=s["gamma_realised"],
                     counts=s["counts"], card=card, bias=s.get("bias", "gender"), path=path)


def mix_and_write(
    augmented: Path, out_path: Path, gamma: float, total: int | None = None, seed: int = 0,
    original: Path | None = None,
) -> MixResult:
    """Mix D_a (`augmented`, a file from `generate`) with D_o (`original`: a prepared folder, by
    default the cache's for D_a's bias, or a JSON-lines file) into the JSON-lines `out_path` and its card.

    The rows are exactly the γ grid's set at `gamma` (same inputs, same key). An existing `out_path`
    is reused only when its card has this key; otherwise a UserError names the differing inputs. A
    card-less input is identified by the sha256 of its rows.
    """
    gamma = check_gamma(gamma)
    out_path = file_output(out_path)
    sources = read_sources(Path(augmented), original, total)
    inputs, parents = mix_inputs(gamma, sources, seed), sources.parents
    key = cards.stage_key(STAGE, inputs, parents)
    if cards.check_reuse(out_path, STAGE, key, inputs, what="Mixed set", fix=_FIX) == "complete":
        return result_from_card(read_jsonl(out_path), cards.read_card(cards.card_path(out_path)), out_path)
    cards.write_card(out_path, STAGE, inputs, parents=parents, status="partial")
    result = mix_sources(sources, [gamma], seed)[gamma]
    write_jsonl(out_path, result.rows)
    card = cards.write_card(out_path, STAGE, inputs, parents=parents, status="complete", summary=summary(result, sources))
    return replace(result, card=card, path=out_path)
