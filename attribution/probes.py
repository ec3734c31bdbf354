"""Probe sets: biased sentences whose gradients say which training rows carry the same bias.

Two sets are written for this project (attribution/probes/<name>.jsonl, CrowS-Pairs style: one
clearly stereotyped sentence each): `gender` about the study's professions and gender roles, and
`culture` about its four cultures (vocab.CULTURES). A CrowS-Pairs file (its CSV, or a prepared
folder) gives its more stereotypical sentences (`sent_more`, of stereo and anti-stereo pairs alike)
of the categories that match the bias: gender, or nationality, race-color and religion for culture.
Every probe is {"id", "text", "bias", "group"}; `group` is the stereotyped group of a written probe
or the CrowS-Pairs category of a sentence from the file.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Mapping

from bias_inheritance.data import crows_pairs
from bias_inheritance.errors import UserError
from bias_inheritance.io import parse_jsonl_lines

PROBE_FIELDS: tuple[str, ...] = ("id", "text", "bias", "group")
# The CrowS-Pairs categories whose stereotypes each bias of the study covers.
CROWS_CATEGORIES: Mapping[str, tuple[str, ...]] = {
    "gender": ("gender",),
    "culture": ("nationality", "race-color", "religion"),
}
NAMED_SETS: tuple[str, ...] = tuple(CROWS_CATEGORIES)


def _named(name: str) -> list[dict]:
    """A probe set shipped with the package; each line is checked, none dropped."""
    origin = f"attribution/probes/{name}.jsonl"
    fix = "reinstall bias-inheritance (the file ships with it)."
    text = resources.files("attribution").joinpath("probes").joinpath(f"{name}.jsonl").read_text(encoding="utf-8")
    probes = []
    for number, row in parse_jsonl_lines(text.splitlines(), origin, fix):
        if not isinstance(row, dict) or set(row) != set(PROBE_FIELDS) or row["bias"] != name \
                or not isinstance(row["text"], str) or not row["text"].strip():
            raise UserError(f"{origin} line {number} is not a {name} probe with fields {', '.join(PROBE_FIELDS)}.", fix)
        probes.append({field: row[field] for field in PROBE_FIELDS})
    return probes


def _from_crows_pairs(path: Path, bias: str) -> list[dict]:
    """The `sent_more` sentences of `bias`'s categories from a CrowS-Pairs CSV or a prepared folder."""
    if path.is_dir():
        pairs = crows_pairs.load_pairs(path)
    elif path.is_file():
        pairs = crows_pairs.parse_pairs(path.read_bytes(), str(path))
    else:
        raise UserError(f"--probe {path} is neither {' nor '.join(NAMED_SETS)} nor an existing file or folder.",
                        f"pass {' or '.join(NAMED_SETS)}, a CrowS-Pairs CSV or a folder prepared by "
                        f"`{crows_pairs.PREPARE_COMMAND}`.")
    categories = CROWS_CATEGORIES[bias]
    probes = [{"id": pair["id"], "text": pair["sent_more"], "bias": bias, "group": pair["bias_type"]}
              for pair in pairs if pair["bias_type"] in categories]
    if not probes:
        raise UserError(f"{path} holds no pair of the categories {', '.join(categories)}.",
                        f"use the CrowS-Pairs file ({crows_pairs.FILE} of github.com/{crows_pairs.REPO}).")
    return probes


def load_probes(name_or_path: str, bias: str | None = None) -> list[dict]:
    """The probes named (`gender`, `culture`) or read from a CrowS-Pairs file for `bias`.

    `bias` picks the CrowS-Pairs categories of a file; for a named set it defaults to the name and
    must equal it when given, so gender probes never score a culture mix by mistake.
    """
    if bias is not None and bias not in CROWS_CATEGORIES:
        raise UserError(f"Unknown bias {bias!r} for probes.", f"use one of: {', '.join(NAMED_SETS)}.")
    if name_or_path in NAMED_SETS:
        if bias is not None and bias != name_or_path:
            raise UserError(f"The {name_or_path} probes do not measure {bias} bias.",
                            f"pass --probe {bias} (or a CrowS-Pairs file).")
        return _named(name_or_path)
    if bias is None:
        raise UserError(f"Probes from {name_or_path} need a bias to pick CrowS-Pairs categories.",
                        f"give the bias: one of {', '.join(NAMED_SETS)}.")
    return _from_crows_pairs(Path(name_or_path).expanduser(), bias)
