"""External models on the board: a base and a fine-tuned results file of someone else's model.

`leaderboard add` copies the pair into `<board>/entries/<slug>/base/` and `.../tuned/` (each results
file with the per-sample logs lm-eval wrote beside it) with a manifest, `external.json`, that names
the pair and its label.
The pair gets the fine-tuning delta (tuned − base); it has no γ = 0 control, so no inheritance delta.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, read_json
from leaderboard.results import EXTERNAL_MANIFEST, load_record

ENTRIES = "entries"
EXTERNAL_BASE, EXTERNAL_TUNED = "external-base", "external-tuned"
_ROLES = {EXTERNAL_BASE: "base", EXTERNAL_TUNED: "tuned"}  # role -> its sub-folder
_KIND = "bias-inheritance external pair"
_FIX = "remove that folder or add the pair again with `bias-inheritance leaderboard add`."


@dataclass(frozen=True)
class ExternalRun:
    label: str
    role: str  # EXTERNAL_BASE or EXTERNAL_TUNED
    partner: Path  # the other file of the pair (resolved)


def slug(label: str) -> str:
    """A folder name for a label: its safe characters and a hash, so two labels never share one."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", label).strip("-.")[:40] or "model"
    return f"{safe}-{hashlib.sha256(label.encode('utf-8')).hexdigest()[:8]}"


def _manifest(path: Path) -> dict[Path, ExternalRun]:
    raw = read_json(path)
    if not (isinstance(raw, dict) and raw.get("kind") == _KIND and isinstance(raw.get("label"), str)
            and all(isinstance(raw.get(role), str) for role in _ROLES)):
        raise UserError(f"{path} is not a manifest of an external pair.", _FIX)
    folder = path.parent.resolve()
    files = {role: (folder / raw[role]).resolve() for role in _ROLES}
    for role, file in files.items():
        if not file.is_relative_to(folder) or not file.is_file():
            raise UserError(f"{path} names {raw[role]!r}, which is not a file in its folder.", _FIX)
    base, tuned = files[EXTERNAL_BASE], files[EXTERNAL_TUNED]
    return {base: ExternalRun(raw["label"], EXTERNAL_BASE, tuned), tuned: ExternalRun(raw["label"], EXTERNAL_TUNED, base)}


def external_runs(paths: Sequence[Path]) -> dict[Path, ExternalRun]:
    """Resolved results file -> its place in an external pair, from the manifests under `paths`."""
    found: dict[Path, ExternalRun] = {}
    for path in (Path(p) for p in paths):
        manifests = sorted(path.rglob(EXTERNAL_MANIFEST)) if path.is_dir() else []
        for manifest in manifests:
            found.update(_manifest(manifest))
    return found


def _samples(results: Path) -> list[Path]:
    """lm-eval's per-sample logs of `results_<date>.json`: samples_<task>_<date>.jsonl beside it."""
    if not results.stem.startswith("results_"):
        return []
    return sorted(results.parent.glob(f"samples_*_{results.stem.removeprefix('results_')}.jsonl"))


def copy_pair(base: Path, tuned: Path, label: str, board: Path) -> Path:
    """Check both files (a corrupt or foreign one is a UserError naming it), then copy them with their
    per-sample logs into `<board>/entries/<slug>/{base,tuned}/` and write the manifest; a pair added
    again under the same label replaces the old one. Returns the entry folder."""
    if not label.strip():
        raise UserError("The external pair has an empty --label.", "pass --label NAME.")
    sources = {EXTERNAL_BASE: Path(base), EXTERNAL_TUNED: Path(tuned)}
    for file in sources.values():
        load_record(file)  # refuses before anything is written
    folder = Path(board) / ENTRIES / slug(label)
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}."))
    try:
        manifest = {"kind": _KIND, "label": label}
        for role, source in sources.items():
            (staging / _ROLES[role]).mkdir()
            for file in (source, *_samples(source)):
                shutil.copyfile(file, staging / _ROLES[role] / file.name)
            manifest[role] = f"{_ROLES[role]}/{source.name}"
        atomic_write_json(staging / EXTERNAL_MANIFEST, manifest)
        old = folder.with_name(f".{folder.name}.old")
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder
