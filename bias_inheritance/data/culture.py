"""Culture test data: the sixteen classification sets of SPEC §4 in one canonical schema.

Canonical layout in `cache/data/culture/`: one `<key>.jsonl` per dataset (key as in the task name,
e.g. `offensive_ar_mp`) with fields `id`, `source_index`, `text`, `label`, `label_set`, `culture`,
`dataset`, `tasktype`, `relation`, and `source.json`, written last, which records each file's
origin, checksum and label counts. No licence covers redistribution of these files, so they are
fetched at run time from pinned commits (or read from a local copy) and never bundled. What is
bundled instead, for offline use and CI, is a small synthetic sample written for this project
(`sample_culture.jsonl`, made by scripts/make_sample_culture.py), marked SYNTHETIC SAMPLE wherever
its rows go.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from collections import Counter
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path
from typing import Callable

from tqdm import tqdm

from bias_inheritance import cache
from bias_inheritance.data.culture_fignews import convert_fignews
from bias_inheritance.data.culture_registry import (
    CULTURELLM_COMMIT,
    CULTURELLM_REPO,
    DATASETS,
    FIGNEWS_LOCAL_PATH,
    CultureDataset,
    get_dataset,
)
from bias_inheritance.data.source_file import SOURCE_FILE, read_source, source_label
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, content_hash, parse_jsonl_lines, read_jsonl, write_jsonl

PREPARE_COMMAND = "bias-inheritance data prepare culture"
PREPARE_ROUTES = (f"run `{PREPARE_COMMAND}` (downloads the pinned files), `{PREPARE_COMMAND} --sample` "
                  f"(the bundled synthetic sample) or `{PREPARE_COMMAND} --from-dir DIR` (a local copy)")
SAMPLE_RESOURCE = "sample_culture.jsonl"
SAMPLE_LOCATION = f"bias_inheritance/data/{SAMPLE_RESOURCE}"
Fetcher = Callable[[str], bytes]


@dataclass(frozen=True)
class CultureSource:
    """Where prepared culture data came from.

    `verified` means every file matched its pinned checksum; `synthetic` marks the bundled sample,
    which has no pins (it is neither verified nor real data).
    """

    kind: str  # "download", "dir" or "sample"
    location: str
    verified: bool
    content_sha256: str
    datasets: dict[str, dict]  # key -> file, checksums, rows, label counts, exclusions
    missing: dict[str, str]  # key -> why it was not prepared
    synthetic: bool = False

    @property
    def label(self) -> str:
        differ = sorted(key for key, record in self.datasets.items() if not record["verified"])
        problems = [f"{len(differ)} file(s) differ from their pinned checksums"] if differ else []
        problems += [f"{len(self.missing)} missing"] if self.missing else []
        unverified = None if self.verified else ", ".join(problems)
        return source_label(self.kind, self.location, synthetic=self.synthetic, unverified=unverified)


def culture_dir() -> Path:
    return cache.data_dir("culture")


# --------------------------------------------------------------------------- checksums


def checksum(data: bytes, kind: str) -> str:
    """`sha256` of the bytes, or `gitblob`: the sha1 git gives the file (blob header + bytes)."""
    if kind == "sha256":
        return hashlib.sha256(data).hexdigest()
    if kind == "gitblob":
        return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()
    raise ValueError(f"unknown checksum kind {kind!r}")


def matches_pin(dataset: CultureDataset, data: bytes) -> tuple[bool, str]:
    """Whether the bytes are the pinned file, and their checksum in the pin's kind ("kind:hex")."""
    kind, expected = dataset.checksum.split(":", 1)
    actual = checksum(data, kind)
    return actual == expected, f"{kind}:{actual}"


# --------------------------------------------------------------------------- conversion


def normalise_label(raw: object, dataset: CultureDataset) -> str | None:
    """The dataset's canonical spelling of a raw gold label (case, spaces and 0/1 ints tolerated)."""
    if isinstance(raw, bool) or raw is None:
        return None
    if isinstance(raw, (int, float)) and float(raw).is_integer():
        raw = str(int(raw))
    if not isinstance(raw, str):
        return None
    folded = raw.strip().casefold()
    for label in dataset.label_set:
        if label.casefold() == folded:
            return label
    return None


def _jsonl_pairs(dataset: CultureDataset, data: bytes, origin: str) -> list[tuple[str, str]]:
    """(text, label) pairs of a CultureLLM JSON-lines file; any bad line is a UserError naming it."""
    fix = f"use the file at commit {CULTURELLM_COMMIT} (labels and fields: bias_tasks/culture/README.md)."
    try:
        lines = data.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        raise UserError(f"{origin} is not UTF-8 text.", fix) from None
    pairs: list[tuple[str, str]] = []
    for number, record in parse_jsonl_lines(lines, origin, fix):
        if not isinstance(record, dict) or dataset.text_field not in record or "label" not in record:
            keys = sorted(record) if isinstance(record, dict) else type(record).__name__
            raise UserError(f"{origin} line {number}: expected fields {dataset.text_field!r} and 'label', got {keys}.", fix)
        text, label = record[dataset.text_field], normalise_label(record["label"], dataset)
        if label is None:
            raise UserError(
                f"{origin} line {number}: label {record['label']!r} is not one of {list(dataset.label_set)}.", fix
            )
        if not isinstance(text, str) or not text.strip():
            raise UserError(f"{origin} line {number}: empty or non-text {dataset.text_field!r}.", fix)
        pairs.append((text.strip(), label))
    if not pairs:
        raise UserError(f"{origin} holds no rows.", fix)
    return pairs


def stratified_order(labels: list[str]) -> list[int]:
    """Row indices ordered so that every prefix keeps the label proportions (lm-eval's --limit).

    Row j of a label with n rows gets position (j + 0.5) / n; sorting by it interleaves the labels
    evenly and keeps each label's rows in source order.
    """
    per_label: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        per_label.setdefault(label, []).append(index)
    keyed = [
        ((rank + 0.5) / len(indices), label_rank, index)
        for label_rank, indices in enumerate(per_label.values())
        for rank, index in enumerate(indices)
    ]
    return [index for _, _, index in sorted(keyed)]


def canonical_rows(dataset: CultureDataset, pairs: list[tuple[str, str]]) -> list[dict]:
    order = stratified_order([label for _, label in pairs])
    return [
        {
            "id": f"{dataset.key}-{index}",
            "source_index": index,
            "text": pairs[index][0],
            "label": pairs[index][1],
            "label_set": list(dataset.label_set),
            "culture": dataset.culture,
            "dataset": dataset.key,
            "tasktype": dataset.tasktype,
            "relation": dataset.relation,
        }
        for index in order
    ]


def _record(dataset: CultureDataset, origin: str, pairs: list[tuple[str, str]], pinned: str | None,
            actual: str | None, verified: bool) -> dict:
    """What source.json says about one prepared dataset."""
    counts = Counter(label for _, label in pairs)
    return {
        "file": origin,
        "checksum_pinned": pinned,
        "checksum_actual": actual,
        "verified": verified,
        "rows": len(pairs),
        "paper_rows": dataset.paper_rows,
        "label_counts": {label: counts.get(label, 0) for label in dataset.label_set},
    }


def convert(dataset: CultureDataset, data: bytes, origin: str) -> tuple[list[dict], dict]:
    """Canonical rows of one raw file, plus its record for source.json (counts, exclusions)."""
    excluded: dict[str, int] = {}
    classes: dict[str, int] = {}
    if dataset.source == "fignews":
        converted = convert_fignews(data, origin)
        pairs, excluded, classes = list(converted.rows), converted.excluded, converted.classes
    else:
        pairs = _jsonl_pairs(dataset, data, origin)
    verified, actual = matches_pin(dataset, data)
    record = _record(dataset, origin, pairs, dataset.checksum, actual, verified)
    if classes:
        record["source_classes"] = classes
    if excluded:
        record["excluded"] = excluded
    return canonical_rows(dataset, pairs), record


# --------------------------------------------------------------------------- reading raw bytes


def http_get(url: str, timeout: float = 60.0) -> bytes:
    """Download one file; network failures become a UserError that offers the offline route."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (pinned https URLs)
            return response.read()
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        raise UserError(
            f"Could not download {url} ({exc}).",
            f"check the network, or run `{PREPARE_COMMAND} --from-dir DIR` with a local copy.",
        ) from None


def _download(dataset: CultureDataset, fetch: Fetcher) -> bytes:
    """Fetch the pinned file and refuse bytes that are not the pinned ones."""
    data = fetch(dataset.url)
    verified, actual = matches_pin(dataset, data)
    if not verified:
        raise UserError(
            f"{dataset.url} does not match its pinned checksum (expected {dataset.checksum}, got {actual}).",
            "retry; if it persists the source changed: use `--from-dir` with a copy you trust.",
        )
    return data


def local_path(dataset: CultureDataset, root: Path) -> Path:
    """Where a local copy keeps a dataset: the CultureLLM layout, BiasFignews beside it under Arabic."""
    return root / (FIGNEWS_LOCAL_PATH if dataset.source == "fignews" else dataset.path)


# --------------------------------------------------------------------------- the bundled sample


def sample_pairs() -> dict[str, list[tuple[str, str]]]:
    """(text, label) pairs of every dataset in the bundled synthetic sample, in file order."""
    text = resources.files("bias_inheritance.data").joinpath(SAMPLE_RESOURCE).read_text(encoding="utf-8")
    fix = "regenerate it with `python scripts/make_sample_culture.py`."
    pairs: dict[str, list[tuple[str, str]]] = {}
    for number, record in parse_jsonl_lines(text.splitlines(), SAMPLE_LOCATION, fix):
        dataset = get_dataset(record.get("dataset"))
        label = normalise_label(record.get("label"), dataset)
        if label is None or record.get("synthetic") is not True or not isinstance(record.get("text"), str):
            raise UserError(f"{SAMPLE_LOCATION} line {number} is not a synthetic row with a known label.", fix)
        pairs.setdefault(dataset.key, []).append((record["text"], label))
    return pairs


# --------------------------------------------------------------------------- prepare and load


def _write_prepared(out_dir: Path, rows: dict[str, list[dict]], source: CultureSource) -> CultureSource:
    # An older source.json must not vouch for files half replaced by this preparation.
    (out_dir / SOURCE_FILE).unlink(missing_ok=True)
    for key, dataset_rows in rows.items():
        write_jsonl(out_dir / f"{key}.jsonl", dataset_rows)
    # source.json last: its presence means the folder is complete.
    atomic_write_json(out_dir / SOURCE_FILE, asdict(source))
    return source


def _rows_hash(rows: dict[str, list[dict]]) -> str:
    return content_hash(row for key in sorted(rows) for row in rows[key])


def _prepare_sample(out_dir: Path) -> CultureSource:
    rows: dict[str, list[dict]] = {}
    records: dict[str, dict] = {}
    pairs = sample_pairs()
    for dataset in DATASETS:
        rows[dataset.key] = canonical_rows(dataset, pairs[dataset.key])
        records[dataset.key] = _record(dataset, SAMPLE_LOCATION, pairs[dataset.key], None, None, False)
    source = CultureSource(kind="sample", location=SAMPLE_LOCATION, verified=False, content_sha256=_rows_hash(rows),
                           datasets=records, missing={}, synthetic=True)
    return _write_prepared(out_dir, rows, source)


def prepare_culture(
    *,
    from_dir: Path | None = None,
    sample: bool = False,
    fetch: Fetcher | None = None,
    out_dir: Path | None = None,
) -> CultureSource:
    """Write the canonical culture sets from the pinned downloads, a local copy or the bundled sample.

    Downloads must match their checksums. A local copy may differ (the source then says
    UNVERIFIED); its fifteen CultureLLM files are required, the BiasFignews sheet is optional
    (without it that one task reports how to add it). The sample is synthetic and says so.
    """
    if sample and from_dir is not None:
        raise UserError("--sample and --from-dir exclude each other.", "pass only one of them.")
    out_dir = out_dir or culture_dir()
    if sample:
        return _prepare_sample(out_dir)
    root = Path(from_dir).expanduser().resolve() if from_dir is not None else None
    if root is not None and not root.is_dir():
        raise UserError(f"--from-dir {root} is not a folder.", "pass a copy laid out as DIR/data/<Culture>/<Dataset>/...")
    if root is not None:
        absent = [local_path(d, root) for d in DATASETS if d.source == "culturellm" and not local_path(d, root).is_file()]
        if absent:
            raise UserError(
                f"{len(absent)} file(s) missing under {root}: {', '.join(str(p) for p in absent[:3])}"
                + (" ..." if len(absent) > 3 else "") + ".",
                f"copy the data/ folder of github.com/{CULTURELLM_REPO} at commit {CULTURELLM_COMMIT} into {root}.",
            )
    fetch = fetch or http_get
    written: dict[str, list[dict]] = {}
    records: dict[str, dict] = {}
    missing: dict[str, str] = {}
    for dataset in tqdm(DATASETS, desc="culture data", unit="file"):
        if root is None:
            data, origin = _download(dataset, fetch), dataset.url
        else:
            path = local_path(dataset, root)
            if not path.is_file():
                # Only the BiasFignews sheet is optional: the CultureLLM files were checked above.
                missing[dataset.key] = f"no {path}: add the BiasFignews sheet (data/Main.xlsx) there and prepare again."
                continue
            data, origin = path.read_bytes(), str(path)
        written[dataset.key], records[dataset.key] = convert(dataset, data, origin)
    source = CultureSource(
        kind="dir" if root is not None else "download",
        location=str(root) if root is not None else "pinned URLs (see each dataset's file)",
        verified=all(r["verified"] for r in records.values()) and not missing,
        content_sha256=_rows_hash(written),
        datasets=records,
        missing=missing,
    )
    return _write_prepared(out_dir, written, source)


def load_source(directory: Path | None = None) -> CultureSource:
    """Read `source.json` of prepared culture data, or explain how to prepare it."""
    directory = Path(directory) if directory is not None else culture_dir()
    return read_source(directory, CultureSource, "Culture data", PREPARE_COMMAND, f"{PREPARE_ROUTES}.")


def _missing_fix(dataset: CultureDataset) -> str:
    if dataset.source == "fignews":
        return (f"put the BiasFignews main sheet at DIR/{FIGNEWS_LOCAL_PATH} and run `{PREPARE_COMMAND} --from-dir DIR` "
                f"(or `{PREPARE_COMMAND} --sample`), or run the culture tasks without BiasFignews "
                "(bias_tasks/culture/README.md, \"Without BiasFignews\").")
    return f"{PREPARE_ROUTES}."


def _prepared_file(key: str, directory: Path | None) -> tuple[Path, CultureSource]:
    """The canonical file of dataset `key` and its source, or a UserError naming what is missing."""
    dataset = get_dataset(key)
    directory = Path(directory) if directory is not None else culture_dir()
    source = load_source(directory)
    if key not in source.datasets:
        why = source.missing.get(key, "it was not part of the last preparation")
        raise UserError(f"Culture dataset {key} ({dataset.name}) is not prepared in {directory}: {why}",
                        _missing_fix(dataset))
    path = directory / f"{key}.jsonl"
    if not path.is_file():
        raise UserError(f"{path} is missing although {directory / 'source.json'} lists it.", f"{PREPARE_ROUTES}.")
    return path, source


def check_dataset_prepared(dataset: str | None = None, directory: Path | None = None) -> str:
    """The source label of prepared culture data (of one dataset, when named); a UserError if it is missing.

    The evaluator calls this for every culture task before it loads a model, so a missing set is
    one line naming the command that adds it, not a traceback from inside lm-eval.
    """
    if dataset is None:
        return load_source(directory).label
    return _prepared_file(dataset, directory)[1].label


def load_rows(key: str, directory: Path | None = None) -> tuple[list[dict], CultureSource]:
    """Canonical rows of one dataset and the source they came from."""
    path, source = _prepared_file(key, directory)
    return read_jsonl(path), source
