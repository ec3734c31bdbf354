"""The γ grid: one mixed set per γ from one generation pool, nested, each a `datasets` folder with a card.

Layout of a grid folder GRID: `GRID/gamma_<γ>/` per γ (γ without trailing zeros: gamma_0,
gamma_0.05, ...), a Hugging Face dataset that `datasets.load_from_disk` opens, with its card
(`card.json`, stage "mix", the same key a single `mix_and_write` at that γ has); and `GRID/grid.json`,
which lists the sets and their keys. All sets of one grid share every input but γ (D_a, D_o, |D|,
seed), so a grid folder made from other inputs is refused, and adding a γ to a grid later gives the
set it would have had. Every set is written in a hidden temporary folder and renamed into place, so
a `gamma_<γ>` folder is always whole; its card turns "complete" right after the rename.
"""

from __future__ import annotations

import os
import shutil
import uuid
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any, Sequence

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import differing_inputs
from bias_inheritance.io import atomic_write_json, content_hash, read_json
from generators.mixing import (
    STAGE,
    MixResult,
    MixSources,
    check_gammas,
    mix_and_write,
    mix_inputs,
    mix_sources,
    read_sources,
    result_from_card,
    shared_inputs,
    summary,
)

GRID_FILE = "grid.json"
GRID_VERSION = 1
SINGLE_SUFFIX = ".jsonl"  # an --out with this suffix is one mixed file; anything else is a grid folder
_FIX = "pass a new --out folder, or delete that folder."


def gamma_text(gamma: float) -> str:
    """γ in decimal without trailing zeros: 0, 0.05, 0.1 (exact for every float, so names never collide)."""
    text = format(Decimal(repr(float(gamma))), "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def gamma_folder(out_dir: Path, gamma: float) -> Path:
    return Path(out_dir) / f"gamma_{gamma_text(gamma)}"


def parse_gammas(text: str) -> list[float]:
    """`--gamma 0,0.05,0.1`: comma-separated ratios, each in [0, 1), none twice."""
    try:
        values = [float(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise UserError(f"--gamma {text!r} is not a list of numbers.", "pass e.g. --gamma 0,0.05,0.1,0.2,0.5.") from None
    return check_gammas(values)


def _state(folder: Path, key: str, inputs: dict[str, Any]) -> str:
    # A missing folder is looked up by name only: `cards.card_path` reads "gamma_0.05" as a file with suffix ".05".
    if not folder.exists():
        return "absent"
    if not folder.is_dir():
        raise UserError(f"{folder} is a file, not a mixed set.", _FIX)
    return cards.check_reuse(folder, STAGE, key, inputs, what="Mixed set", fix=_FIX)


def _load_set(folder: Path) -> MixResult:
    import datasets

    card = cards.read_card(folder / "card.json")
    try:
        rows = datasets.load_from_disk(str(folder)).to_list()
    except (OSError, ValueError) as exc:
        raise UserError(f"{folder} cannot be read as a dataset ({exc.__class__.__name__}).", _FIX) from None
    return result_from_card(rows, card, folder)


def _write_set(folder: Path, result: MixResult, inputs: dict[str, Any], sources: MixSources) -> MixResult:
    """Write one set atomically: dataset and partial card in a temporary folder, rename, complete card."""
    import datasets
    import pyarrow

    folder.parent.mkdir(parents=True, exist_ok=True)
    temporary = folder.parent / f".{folder.name}.{uuid.uuid4().hex}.tmp"  # hidden; os.mkdir keeps the umask
    os.mkdir(temporary)
    try:
        try:
            dataset = datasets.Dataset.from_list(result.rows)
        except (pyarrow.ArrowInvalid, pyarrow.ArrowTypeError) as exc:
            raise UserError(f"The mixed rows do not fit one table ({exc}).", "regenerate D_a with one generator.") from None
        if content_hash(dataset.to_list()) != result.content_sha256:  # the dataset must hold the rows as mixed
            raise UserError("The generator records of D_a differ in shape between rows.", "regenerate D_a with one generator.")
        dataset.save_to_disk(str(temporary))
        cards.write_card(temporary, STAGE, inputs, parents=sources.parents, status="partial")
        if folder.exists():  # a set left partial under this same key (checked by the caller)
            shutil.rmtree(folder)
        os.replace(temporary, folder)
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    card = cards.write_card(folder, STAGE, inputs, parents=sources.parents, status="complete",
                            summary=summary(result, sources))
    return replace(result, card=card, path=folder)


def _listed(out_dir: Path, key: str, shared: dict[str, Any]) -> list[dict]:
    """The sets an existing grid.json lists; a grid made from other inputs is refused."""
    path = out_dir / GRID_FILE
    if not path.is_file():
        return []
    grid = read_json(path)
    if not isinstance(grid, dict) or "key" not in grid:
        raise UserError(f"{path} is not a γ grid listing.", _FIX)
    if grid["key"] != key:
        named = ", ".join(differing_inputs(grid.get("inputs", {}), shared)[:8]) or "upstream data (a parent's key)"
        raise UserError(f"γ grid {out_dir} was made from other inputs ({named} differ).", _FIX)
    return list(grid.get("sets", []))


def mix_grid(
    augmented: Path, out_dir: Path, gammas: Sequence[float], total: int | None = None, seed: int = 0,
    original: Path | None = None,
) -> dict[float, MixResult]:
    """Write D at every γ in `gammas` under `out_dir` (see the module docstring); {γ: its set}.

    |D| = `total` (default |D_o|) at every γ; γ = 0 is D_o rows only. A set already there is reused
    only under its key; sets of other γ already listed in the grid are kept.
    """
    gammas = check_gammas(gammas)
    out_dir = Path(out_dir)
    if out_dir.is_file():
        raise UserError(f"{out_dir} is a file; a γ grid is a folder.", "pass a folder as --out.")
    sources = read_sources(Path(augmented), original, total)
    shared = shared_inputs(sources, seed)
    grid_key = cards.stage_key(STAGE, shared, sources.parents)
    listed = _listed(out_dir, grid_key, shared)
    plans = {}
    for gamma in gammas:
        inputs = mix_inputs(gamma, sources, seed)
        folder = gamma_folder(out_dir, gamma)
        plans[gamma] = (folder, inputs, _state(folder, cards.stage_key(STAGE, inputs, sources.parents), inputs))
    to_build = [g for g, (_, _, state) in plans.items() if state != "complete"]
    built = mix_sources(sources, to_build, seed) if to_build else {}  # every set checked before any is written
    results = {g: _write_set(folder, built[g], inputs, sources) if g in built else _load_set(folder)
               for g, (folder, inputs, _) in plans.items()}
    entries = {e["gamma"]: e for e in listed if (Path(out_dir) / str(e.get("folder"))).is_dir()}
    entries.update({g: {"gamma": g, "folder": r.path.name, "key": r.card["key"], "gamma_realised": r.gamma_realised,
                        "rows": len(r.rows), "content_sha256": r.content_sha256} for g, r in results.items()})
    atomic_write_json(out_dir / GRID_FILE, {
        "grid_version": GRID_VERSION, "stage": STAGE, "key": grid_key, "inputs": shared,
        "parents": {role: p.to_dict() for role, p in sources.parents.items()},
        "sets": [entries[g] for g in sorted(entries)],
    })
    return results


def write_mix(
    augmented: Path, out: Path, gammas: Sequence[float], total: int | None = None, seed: int = 0,
    original: Path | None = None,
) -> dict[float, MixResult]:
    """What `bias-inheritance mix` writes: a `.jsonl` --out is one mixed file (one γ); anything else a γ grid."""
    gammas = check_gammas(gammas)
    if Path(out).suffix == SINGLE_SUFFIX:
        if len(gammas) != 1:
            raise UserError(f"--out {out} is one JSON-lines file, but {len(gammas)} values of γ were given.",
                            "pass a folder as --out for a γ grid, or one γ.")
        return {gammas[0]: mix_and_write(Path(augmented), Path(out), gammas[0], total, seed, original)}
    return mix_grid(Path(augmented), Path(out), gammas, total, seed, original)
