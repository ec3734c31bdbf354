"""Gender fine-tuning and test data: Bias in Bios restricted to the study's six professions.

Canonical layout in `cache/data/gender/`: `train.jsonl` (D_o), `test.jsonl` (evaluation) and
`source.json`, which records where the rows came from. The source travels into every run card and
result, so numbers computed on the bundled synthetic sample can never pass for real ones.
"""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterable

from bias_inheritance import cache, vocab
from bias_inheritance.errors import UserError
from bias_inheritance.data.source_file import read_source, source_label, write_prepared
from bias_inheritance.identity import folder_sha256
from bias_inheritance.io import content_hash, parse_jsonl_lines, read_jsonl

HUB_DATASET_ID = "LabHC/bias_in_bios"
SAMPLE_RESOURCE = "sample_bios.jsonl"
# Paper sizes (SPEC §3-4): 300 per profession x gender for training, 150 for test.
TRAIN_PER_CELL = 300
TEST_PER_CELL = 150
SPLITS = ("train", "test")
# Bumped whenever the same source would give other canonical rows (selection, fields, order).
PREPARE_VERSION = "gender-1"

# The question format of the gender fine-tuning data (SPEC §2): generated biographies are placed
# into it, the trainer trains on it and the bios task scores it, so a model is tested as it learned.
BIOS_QUESTION = "What is the profession of the person in the following text?"


def bios_question(biography: str) -> str:
    """The gender fine-tuning data's question format (SPEC §2): question, then the biography."""
    return f"{BIOS_QUESTION} {biography.strip()}"


def bios_prompt(biography: str) -> str:
    """The prompt scored by the bios task and trained on by the trainer (answer follows after a space)."""
    return bios_question(biography) + "\nAnswer:"


@dataclass(frozen=True)
class DataSource:
    """Where a prepared data family came from."""

    kind: str  # "hub", "dir" or "sample"
    location: str
    synthetic: bool
    content_sha256: str
    rows: dict[str, int]
    # Rows of the six professions left out because their text was empty, per split.
    skipped_empty_text: dict[str, int] = field(default_factory=dict)

    @property
    def label(self) -> str:
        return source_label(self.kind, self.location, synthetic=self.synthetic)


def gender_dir() -> Path:
    return cache.data_dir("gender")


def load_source(directory: Path | None = None) -> DataSource:
    """Read `source.json` of prepared gender data, or explain how to prepare it."""
    return read_source(directory or gender_dir(), DataSource, "Gender data", "bias-inheritance data prepare gender",
                       "run `bias-inheritance data prepare gender` (or add `--sample` for the bundled sample).")


def load_split(split: str, directory: Path | None = None) -> list[dict]:
    """Rows of a prepared split (after checking that the data is prepared)."""
    if split not in SPLITS:
        raise UserError(f"Unknown split {split!r}.", f"use one of: {', '.join(SPLITS)}.")
    directory = directory or gender_dir()
    load_source(directory)
    return read_jsonl(directory / f"{split}.jsonl")


def _canonical_row(row_id: str, text: str, profession: str, gender: str, split: str) -> dict:
    return {"id": row_id, "text": text.strip(), "profession": profession, "gender": gender, "split": split}


def _label_names(features: Any, column: str, fallback: tuple[str, ...]) -> tuple[str, ...]:
    """Use the dataset's own ClassLabel names when it declares them; else the documented order."""
    feature = getattr(features, "get", lambda _k: None)(column) if features is not None else None
    names = getattr(feature, "names", None)
    return tuple(names) if names else fallback


def _balanced_rows(
    records: Iterable[dict], split: str, per_cell: int, seed: int, profession_names: tuple[str, ...],
    gender_names: tuple[str, ...],
) -> tuple[list[dict], int]:
    """Pick `per_cell` rows for each profession x gender cell, deterministically for a seed.

    Returns the rows and how many rows of the six professions were skipped for empty text.
    """
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    empty = 0
    for index, rec in enumerate(records):
        try:
            profession = vocab.bios_label_to_profession(profession_names[int(rec["profession"])])
            gender = gender_names[int(rec["gender"])]
            text = rec["hard_text"]
        except (KeyError, IndexError, ValueError, TypeError) as exc:
            raise UserError(
                f"Bias in Bios {split} row {index} is malformed ({exc!r}).",
                "expected fields hard_text, profession (int) and gender (int).",
            ) from None
        if profession not in vocab.PROFESSIONS:
            continue
        if not isinstance(text, str) or not text.strip():
            empty += 1
            continue
        cells[(profession, gender)].append(_canonical_row(f"bios-{split}-{index}", text, profession, gender, split))
    rng = random.Random(f"{seed}-{split}")
    chosen: list[dict] = []
    for profession, gender in vocab.PROFESSION_GENDER_CELLS:
        pool = cells[(profession, gender)]
        if len(pool) < per_cell:
            raise UserError(
                f"Bias in Bios {split} has only {len(pool)} rows for {gender} {profession}; {per_cell} are needed.",
                "pass a smaller --per-cell, or check the source files.",
            )
        chosen.extend(rng.sample(pool, per_cell))
    return chosen, empty


def _from_hf_dataset(
    dataset_dict: Any, seed: int, train_per_cell: int, test_per_cell: int
) -> tuple[dict[str, list[dict]], dict[str, int]]:
    out: dict[str, list[dict]] = {}
    skipped: dict[str, int] = {}
    for split, per_cell in (("train", train_per_cell), ("test", test_per_cell)):
        if split not in dataset_dict:
            raise UserError(
                f"The Bias in Bios source has no {split!r} split (it has {sorted(dataset_dict)}).",
                "provide train and test splits.",
            )
        ds = dataset_dict[split]
        professions = _label_names(ds.features, "profession", vocab.BIOS_ALL_PROFESSIONS)
        genders = _label_names(ds.features, "gender", vocab.BIOS_GENDERS)
        out[split], skipped[split] = _balanced_rows(ds, split, per_cell, seed, professions, genders)
    return out, skipped


def _load_local_dataset(directory: Path) -> Any:
    import datasets

    if (directory / "dataset_dict.json").is_file():
        return datasets.load_from_disk(str(directory))
    try:
        return datasets.load_dataset(str(directory))
    except Exception as exc:  # datasets raises many types for an unusable folder
        raise UserError(
            f"Could not read a dataset from {directory} ({type(exc).__name__}: {exc}).",
            "use a `save_to_disk` folder or files named train.* and test.* (parquet, jsonl or csv).",
        ) from None


def _bundled_sample() -> dict[str, list[dict]]:
    text = resources.files("bias_inheritance.data").joinpath(SAMPLE_RESOURCE).read_text(encoding="utf-8")
    rows = [row for _, row in parse_jsonl_lines(text.splitlines(), SAMPLE_RESOURCE, "reinstall bias-inheritance.")]
    return {split: [r for r in rows if r["split"] == split] for split in SPLITS}


def interleave_cells(rows: list[dict]) -> list[dict]:
    """Order rows round-robin over profession x gender cells, so any prefix (lm-eval's --limit) is balanced."""
    cells: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for row in rows:
        cells[(row["profession"], row["gender"])].append(row)
    queues = [cells[key] for key in sorted(cells)]
    ordered: list[dict] = []
    for depth in range(max((len(q) for q in queues), default=0)):
        ordered.extend(q[depth] for q in queues if depth < len(q))
    return ordered


def _write(
    splits: dict[str, list[dict]], kind: str, location: str, synthetic: bool, out_dir: Path, inputs: dict,
    skipped: dict[str, int] | None = None,
) -> DataSource:
    splits = {split: interleave_cells(rows) for split, rows in splits.items()}
    source = DataSource(
        kind=kind,
        location=location,
        synthetic=synthetic,
        content_sha256=content_hash(splits["train"] + splits["test"]),
        rows={split: len(splits[split]) for split in SPLITS},
        skipped_empty_text=skipped or {},
    )
    write_prepared(out_dir, {split: splits[split] for split in SPLITS}, source, inputs)
    return source


def prepare_inputs(
    *, from_dir: Path | None = None, sample: bool = False, seed: int = 0,
    train_per_cell: int = TRAIN_PER_CELL, test_per_cell: int = TEST_PER_CELL,
) -> dict[str, Any]:
    """Everything that decides the prepared rows: the key of a `prepare` card, computed before preparing."""
    if sample:
        text = resources.files("bias_inheritance.data").joinpath(SAMPLE_RESOURCE).read_bytes()
        return {"family": "gender", "version": PREPARE_VERSION,
                "source": {"kind": "sample", "sha256": hashlib.sha256(text).hexdigest()}}
    if from_dir is not None:
        if not Path(from_dir).is_dir():
            raise UserError(f"--from-dir {from_dir} is not a folder.", "pass the folder of a local Bias in Bios copy.")
        source = {"kind": "dir", "sha256": folder_sha256(Path(from_dir))}
    else:
        source = {"kind": "hub", "hub_id": HUB_DATASET_ID, "revision": "main"}
    return {"family": "gender", "version": PREPARE_VERSION, "source": source, "seed": seed,
            "train_per_cell": train_per_cell, "test_per_cell": test_per_cell}


def prepare_gender(
    *,
    from_dir: Path | None = None,
    sample: bool = False,
    seed: int = 0,
    train_per_cell: int = TRAIN_PER_CELL,
    test_per_cell: int = TEST_PER_CELL,
    out_dir: Path | None = None,
) -> DataSource:
    """Write canonical gender data from the bundled sample, a local copy, or the hub (in that order)."""
    if sample and from_dir is not None:
        raise UserError("--sample and --from-dir exclude each other.", "pass only one of them.")
    out_dir = out_dir or gender_dir()
    inputs = prepare_inputs(from_dir=from_dir, sample=sample, seed=seed, train_per_cell=train_per_cell,
                            test_per_cell=test_per_cell)
    if sample:
        return _write(_bundled_sample(), "sample", f"bias_inheritance/data/{SAMPLE_RESOURCE}", True, out_dir, inputs)
    if from_dir is not None:
        splits, skipped = _from_hf_dataset(_load_local_dataset(Path(from_dir)), seed, train_per_cell, test_per_cell)
        return _write(splits, "dir", str(Path(from_dir).resolve()), False, out_dir, inputs, skipped)
    import datasets

    try:
        dataset_dict = datasets.load_dataset(HUB_DATASET_ID)
    except Exception as exc:  # offline, or the hub refused
        raise UserError(
            f"Could not load {HUB_DATASET_ID} from the Hugging Face hub ({type(exc).__name__}).",
            "use `--from-dir DIR` with a local copy, or `--sample` for the bundled sample.",
        ) from None
    splits, skipped = _from_hf_dataset(dataset_dict, seed, train_per_cell, test_per_cell)
    return _write(splits, "hub", HUB_DATASET_ID, False, out_dir, inputs, skipped)
