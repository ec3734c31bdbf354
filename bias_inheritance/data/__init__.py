"""Data preparation: turn public datasets (or the bundled samples) into canonical files in the cache.

`check_prepared` is what the evaluator calls for every task before it loads a model, so a missing
data family or data set is reported in one line with the command that adds it.
"""

from __future__ import annotations

from pathlib import Path


def check_prepared(family: str, directory: Path | None = None, dataset: str | None = None) -> str:
    """The source label of the prepared data a task reads; a UserError naming what is missing if not."""
    if family == "gender":
        from bias_inheritance.data import gender

        return gender.load_source(directory).label
    if family == "culture":
        from bias_inheritance.data import culture

        return culture.check_dataset_prepared(dataset, directory)
    if family == "opinions":
        from bias_inheritance.data import opinions

        return opinions.load_source(directory).label
    if family == "crows_pairs":
        from bias_inheritance.data import crows_pairs

        return crows_pairs.load_source(directory).label
    raise ValueError(f"unknown data family {family!r}")
