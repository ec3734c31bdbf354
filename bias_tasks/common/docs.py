"""Loading prepared data as lm-eval documents (through `custom_dataset`, never `data_files`).

lm-eval passes the task YAML's `metadata:` mapping and the run's `--metadata` JSON as keyword
arguments to `custom_dataset`; a data family's folder is read under the key that
`bias_inheritance.schema` names for it, the same key the evaluator and the pipeline record.

Every document carries the provenance metrics of its data (schema.PROVENANCE_METRICS), so a plain
`lm_eval` run, whose results keep only metric values, still says what data it measured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from bias_inheritance import schema
from bias_inheritance.data import gender

GENDER = "gender"


def data_folder(family: str, metadata: Mapping[str, Any]) -> Path | None:
    """The prepared folder given as `--metadata '{"<family>_data_dir": ...}'`; None: the cache."""
    value = metadata.get(schema.data_dir_key(family))
    return Path(value) if value else None


def provenance_fields(source: gender.DataSource) -> dict[str, float]:
    """Per-document provenance metric values of a gender data source.

    Gender data has no pinned checksums: a hub or local copy counts as verified unless its source
    record says otherwise (a `verified` flag); the bundled sample is synthetic, not unverified.
    """
    return {
        schema.SYNTHETIC_SAMPLE_METRIC: float(source.synthetic),
        schema.UNVERIFIED_DATA_METRIC: float(not getattr(source, "verified", True)),
    }


def provenance_results(doc: Mapping[str, Any]) -> dict[str, float]:
    """The provenance metrics of one document, for a task's process_results."""
    return {name: float(doc[name]) for name in schema.PROVENANCE_METRICS}


def gender_rows(split: str = "test", **metadata: Any) -> list[dict]:
    """Prepared Bias in Bios rows, each with its data source label and provenance metric values."""
    directory = data_folder(GENDER, metadata)
    source = gender.load_source(directory)
    fields = provenance_fields(source)
    rows = gender.load_split(split, directory)
    for row in rows:
        row.pop("synthetic", None)
        row["data_source"] = source.label
        row.update(fields)
    return rows


def as_dataset(rows: list[dict], split: str = "test") -> Any:
    """Rows as the DatasetDict lm-eval's custom_dataset must return."""
    import datasets

    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})
