"""`source.json`: the record, written beside every prepared data family, of where its rows came from."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json

SOURCE_FILE = "source.json"
T = TypeVar("T")


def read_source(directory: Path, record: type[T], what: str, prepare: str, routes: str) -> T:
    """The source record of a prepared folder, or a one-line error saying how to prepare it.

    `what` names the data ("Gender data"), `prepare` is the command that rewrites it, `routes` the
    fix for a folder that was never prepared.
    """
    path = Path(directory) / SOURCE_FILE
    if not path.is_file():
        raise UserError(f"{what} is not prepared (no {path}).", routes)
    try:
        return record(**read_json(path))
    except TypeError:
        raise UserError(f"{path} is malformed.", f"re-run `{prepare}`.") from None
