"""Build config dataclasses from YAML mappings, rejecting unknown keys and bad values by name."""

from __future__ import annotations

from dataclasses import fields
from typing import Any, TypeVar

from bias_inheritance.errors import UserError

T = TypeVar("T")


def from_mapping(cls: type[T], raw: Any, where: str) -> T:
    """`cls(**raw)`, with a UserError naming `where` for a non-mapping, unknown keys or bad types.

    Value checks live in each dataclass's `__post_init__`, so they run however it is built.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"The {where} must be a mapping of settings.", "write it as `key: value` lines.")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise UserError(f"Unknown setting(s) in the {where}: {', '.join(unknown)}.", f"use: {', '.join(sorted(known))}.")
    try:
        return cls(**raw)
    except TypeError as exc:
        raise UserError(f"Bad value in the {where}: {exc}.", "check the types of the settings.") from None
