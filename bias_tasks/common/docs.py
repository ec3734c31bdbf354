"""Loading prepared data as lm-eval documents (through `custom_dataset`, never `data_files`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bias_inheritance.data import gender


def gender_docs(split: str = "test", gender_data_dir: str | None = None, **_metadata: Any) -> Any:
    """Prepared Bias in Bios rows as a DatasetDict; each doc carries its data source.

    `gender_data_dir` (lm-eval `--metadata '{"gender_data_dir": ...}'`) reads another prepared folder.
    """
    import datasets

    directory = Path(gender_data_dir) if gender_data_dir else None
    source = gender.load_source(directory)
    rows = gender.load_split(split, directory)
    for row in rows:
        row["data_source"] = source.label
        row["synthetic_sample"] = float(source.synthetic)
        row.pop("synthetic", None)
    return datasets.DatasetDict({split: datasets.Dataset.from_list(rows)})
