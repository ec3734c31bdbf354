"""Build config objects from YAML mappings, checking keys and types by name before anything runs.

Types are checked by pydantic against each dataclass's annotations (`count: ten` or
`learning_rate: fast` fail here, naming the key); value checks live in each dataclass's
`__post_init__`, so they run however it is built.
"""

from __future__ import annotations

from dataclasses import fields, is_dataclass
from typing import Any, TypeVar

from bias_inheritance.errors import UserError

T = TypeVar("T")


def describe_validation_error(exc: Any, where: str, prefix: str = "") -> UserError:
    """One line for the first problem pydantic found: the dotted key, what was wrong, what was given."""
    first = exc.errors()[0]
    key = prefix + ".".join(str(part) for part in first.get("loc", ()) if part != "__root__") or "(top level)"
    given = first.get("input")
    shown = f" (got {given!r})" if not isinstance(given, (dict, list)) else ""
    message = str(first.get("msg", "invalid value")).removeprefix("Value error, ").rstrip(".")
    more = f"; {len(exc.errors()) - 1} more problem(s)" if len(exc.errors()) > 1 else ""
    return UserError(f"Bad value for `{key}` in the {where}: {message}{shown}{more}.", f"fix `{key}` in the {where}.")


def from_mapping(cls: type[T], raw: Any, where: str, prefix: str = "") -> T:
    """`cls(**raw)` for a dataclass, with one-line UserErrors for a non-mapping, unknown keys or bad types.

    `prefix` names the section in errors (`train.` gives `train.learning_rate`).
    """
    from pydantic import TypeAdapter, ValidationError

    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise UserError(f"The {where} must be a mapping of settings.", "write it as `key: value` lines.")
    if not is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass")
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(raw) - known)
    if unknown:
        named = ", ".join(prefix + key for key in unknown)
        raise UserError(f"Unknown setting(s) in the {where}: {named}.", f"use: {', '.join(sorted(known))}.")
    try:
        return TypeAdapter(cls).validate_python(raw)
    except ValidationError as exc:
        raise describe_validation_error(exc, where, prefix) from None
