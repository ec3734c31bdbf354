"""CrowS-Pairs (Nangia et al., 2020): sentence pairs that differ only in the group they are about.

Read by the `bias_inheritance_crows_pairs` task and, as biased probe sentences, by attribution.
The pairs are CC BY-SA 4.0 and are never committed here: `prepare_crows_pairs` downloads the
original release (nyu-mll/crows-pairs, `data/crows_pairs_anonymized.csv`, 1,508 pairs) from a
pinned commit and refuses bytes whose sha256 differs, or reads a local file. Which release was
prepared is recorded: lm-eval's own `crows_pairs_english` scores a *revised* release (Névéol et al.,
2022, `crows_pairs_EN_revised+210.csv`, tab-separated), so its numbers compare only with a folder
prepared from that file (`--from-file`), which this module reads too but cannot verify.

Canonical layout in `cache/data/crows_pairs/`: `pairs.jsonl` (fields `id`, `source_index`,
`sent_more`, `sent_less`, `stereo_antistereo`, `bias_type`, in source order, as lm-eval reads
them), `source.json` (origin, checksums, release, counts) and the prepare card, written last.
"""

from __future__ import annotations

import csv
import hashlib
import io
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Callable

from bias_inheritance import cache
from bias_inheritance.data.source_file import read_source, source_label, write_prepared
from bias_inheritance.errors import UserError
from bias_inheritance.io import content_hash, read_jsonl

FAMILY = "crows_pairs"
REPO = "nyu-mll/crows-pairs"
# The repository's newest commit; the file last changed in cc324127 (2020-09-30) and is the same blob
# (git 28fa7d90) at both.
COMMIT = "8aaac11c485473159ec9328a65253a5be9a479dc"
FILE = "data/crows_pairs_anonymized.csv"
URL = f"https://raw.githubusercontent.com/{REPO}/{COMMIT}/{FILE}"
PINNED_SHA256 = "dfb36986ce0502abbaf7055b9176da3d08d48e07df1251991b5dfbcbceab9d0c"
ORIGINAL_PAIRS = 1508
# The release a folder holds: only bytes equal to the pinned file are called the original.
RELEASE_ORIGINAL = f"original ({REPO}@{COMMIT[:7]}, {ORIGINAL_PAIRS} pairs)"
RELEASE_UNKNOWN = "unidentified (a local file that is not the pinned original; the revised release is tab-separated)"
RELEASE_SAMPLE = "synthetic sample written for this project"

# The nine bias categories of the original release, as spelled in its `bias_type` column.
BIAS_TYPES: tuple[str, ...] = (
    "race-color", "socioeconomic", "gender", "disability", "nationality", "sexual-orientation",
    "physical-appearance", "religion", "age",
)
# `stereo`: sent_more demonstrates a stereotype of a disadvantaged group; `antistereo`: sent_less
# violates one. Either way a model "prefers the stereotype" when sent_more is the more likely.
DIRECTIONS: tuple[str, ...] = ("stereo", "antistereo")
COLUMNS: tuple[str, ...] = ("sent_more", "sent_less", "stereo_antistereo", "bias_type")

SAMPLE_RESOURCE = "sample_crows_pairs.csv"
SAMPLE_LOCATION = f"bias_inheritance/data/{SAMPLE_RESOURCE}"
PREPARE_COMMAND = "bias-inheritance data prepare crows-pairs"
PREPARE_ROUTES = (f"run `{PREPARE_COMMAND}` (downloads the pinned file), `{PREPARE_COMMAND} --from-file CSV` "
                  f"(a local copy) or `{PREPARE_COMMAND} --sample` (the bundled synthetic sample)")
# Bumped whenever the same source would give other canonical rows (fields, order).
PREPARE_VERSION = "crows-pairs-1"
PAIRS_FILE = "pairs"
Fetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class CrowsSource:
    """Where prepared CrowS-Pairs came from and which release it is.

    `verified`: the raw bytes are the pinned original. `synthetic` marks the bundled sample.
    """

    kind: str  # "download", "file" or "sample"
    location: str
    release: str
    synthetic: bool
    verified: bool
    raw_sha256: str
    pinned_sha256: str
    content_sha256: str
    pairs: int
    directions: dict[str, int]
    bias_types: dict[str, int]

    @property
    def label(self) -> str:
        unverified = None if self.verified or self.synthetic else f"not the pinned original; sha256 {self.raw_sha256[:12]}"
        return source_label(self.kind, self.location, synthetic=self.synthetic, unverified=unverified)


def crows_dir() -> Path:
    return cache.data_dir(FAMILY)


# --------------------------------------------------------------------------- parsing


def parse_pairs(data: bytes, origin: str) -> list[dict]:
    """Canonical rows of a CrowS-Pairs file (comma- or tab-separated, with its header).

    A row without both sentences, with an unknown direction or without a bias type is a UserError
    naming its line: no row is dropped silently. Categories outside BIAS_TYPES are kept (they count
    in the overall metrics) and listed in source.json.
    """
    fix = f"use {FILE} of github.com/{REPO} (columns {', '.join(COLUMNS)})."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UserError(f"{origin} is not UTF-8 text.", fix) from None
    header = text.split("\n", 1)[0]
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter="\t" if "\t" in header else ",")
    missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise UserError(f"{origin} lacks the column(s) {', '.join(missing)} (has {reader.fieldnames}).", fix)
    rows = []
    try:
        for index, record in enumerate(reader):
            line = reader.line_num
            # Sentences as written (lm-eval scores them so); labels without stray spaces.
            values = {c: record.get(c) or "" for c in COLUMNS}
            values.update({c: values[c].strip() for c in ("stereo_antistereo", "bias_type")})
            if not values["sent_more"].strip() or not values["sent_less"].strip():
                raise UserError(f"{origin} line {line}: a sentence is empty.", fix)
            if values["stereo_antistereo"] not in DIRECTIONS:
                raise UserError(f"{origin} line {line}: stereo_antistereo {values['stereo_antistereo']!r} "
                                f"is not one of {', '.join(DIRECTIONS)}.", fix)
            if not values["bias_type"]:
                raise UserError(f"{origin} line {line}: bias_type is empty.", fix)
            rows.append({"id": f"crows-{index}", "source_index": index, **values})
    except csv.Error as exc:
        raise UserError(f"{origin} is not a readable CSV ({exc}).", fix) from None
    if not rows:
        raise UserError(f"{origin} holds no pairs.", fix)
    return rows


# --------------------------------------------------------------------------- sources


def http_get(url: str, timeout: float = 60.0) -> bytes:
    """Download one file; network failures become a UserError that offers the offline routes."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (a pinned https URL)
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise UserError(f"Could not download {url} ({exc}).",
                        f"check the network, or run `{PREPARE_COMMAND} --from-file CSV` with a local copy.") from None


def _sample_bytes() -> bytes:
    return resources.files("bias_inheritance.data").joinpath(SAMPLE_RESOURCE).read_bytes()


def _local_file(from_file: Path) -> Path:
    path = Path(from_file).expanduser()
    if not path.is_file():
        raise UserError(f"--from-file {path} is not a file.", f"pass a copy of {FILE} of github.com/{REPO}.")
    return path


def _raw(from_file: Path | None, sample: bool, fetch: Fetcher) -> tuple[bytes, str, str]:
    """(raw bytes, kind, location) of the chosen source; a download must be the pinned bytes."""
    if sample:
        return _sample_bytes(), "sample", SAMPLE_LOCATION
    if from_file is not None:
        path = _local_file(from_file)
        return path.read_bytes(), "file", str(path.resolve())
    data = fetch(URL)
    actual = hashlib.sha256(data).hexdigest()
    if actual != PINNED_SHA256:
        raise UserError(f"{URL} does not match its pinned checksum (expected sha256 {PINNED_SHA256}, got {actual}).",
                        "retry; if it persists the source changed: use `--from-file` with a copy you trust.")
    return data, "download", f"{REPO}@{COMMIT[:7]}/{FILE}"


def prepare_inputs(*, from_file: Path | None = None, sample: bool = False) -> dict[str, Any]:
    """Everything that decides the prepared rows: the key of the `prepare` card."""
    if sample and from_file is not None:
        raise UserError("--sample and --from-file exclude each other.", "pass only one of them.")
    if sample:
        source: dict[str, Any] = {"kind": "sample", "sha256": hashlib.sha256(_sample_bytes()).hexdigest()}
    elif from_file is not None:
        path = _local_file(from_file)
        source = {"kind": "file", "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    else:
        source = {"kind": "download", "url": URL, "sha256": PINNED_SHA256}
    return {"family": FAMILY, "version": PREPARE_VERSION, "source": source}


def prepare_crows_pairs(
    from_file: Path | None = None, out_dir: Path | None = None, *, sample: bool = False, fetch: Fetcher = http_get,
) -> Path:
    """Write the canonical pairs from the pinned download, a local file or the bundled sample; the folder."""
    inputs = prepare_inputs(from_file=from_file, sample=sample)
    out_dir = Path(out_dir) if out_dir is not None else crows_dir()
    data, kind, location = _raw(from_file, sample, fetch)
    rows = parse_pairs(data, location)
    raw_sha = hashlib.sha256(data).hexdigest()
    verified = raw_sha == PINNED_SHA256
    if verified and len(rows) != ORIGINAL_PAIRS:  # the pinned bytes always parse to 1,508 pairs
        raise UserError(f"{location} parsed to {len(rows)} pairs, not {ORIGINAL_PAIRS}.", "report this as a bug.")
    source = CrowsSource(
        kind=kind, location=location,
        release=RELEASE_SAMPLE if sample else RELEASE_ORIGINAL if verified else RELEASE_UNKNOWN,
        synthetic=sample, verified=verified, raw_sha256=raw_sha, pinned_sha256=PINNED_SHA256,
        content_sha256=content_hash(rows), pairs=len(rows),
        directions=dict(Counter(r["stereo_antistereo"] for r in rows)),
        bias_types=dict(Counter(r["bias_type"] for r in rows)),
    )
    write_prepared(out_dir, {PAIRS_FILE: rows}, source, inputs)
    return out_dir


def describe(source: CrowsSource) -> str:
    """One line for the command line: how many pairs, which release, from where."""
    return (f"{source.pairs} pairs ({', '.join(f'{d} {n}' for d, n in source.directions.items())}); "
            f"release: {source.release}; source {source.label}")


def load_source(directory: Path | None = None) -> CrowsSource:
    """Read `source.json` of prepared CrowS-Pairs, or explain how to prepare it."""
    directory = Path(directory) if directory is not None else crows_dir()
    return read_source(directory, CrowsSource, "CrowS-Pairs", PREPARE_COMMAND, f"{PREPARE_ROUTES}.")


def load_pairs(directory: Path | None = None) -> list[dict]:
    """The prepared pairs (id, source_index, sent_more, sent_less, stereo_antistereo, bias_type)."""
    directory = Path(directory) if directory is not None else crows_dir()
    load_source(directory)
    return read_jsonl(directory / f"{PAIRS_FILE}.jsonl")
