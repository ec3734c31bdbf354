"""The leaderboard entries file: which models CI evaluates onto the board, and with what settings.

Each entry is keyed by all of its settings that change its results (`Entry.key`), so an update
evaluates only entries that are new or whose settings changed. A hub model must name a pinned
commit: "main" moves, and a key that stays the same while the weights change would keep a stale row.
The file is user input: it is loaded with `yaml.safe_load` and checked whole before anything runs,
every problem a one-line UserError naming the key.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PositiveFloat, PositiveInt
from pydantic import ValidationError, ValidationInfo, field_validator

from bias_inheritance.identity import canonical_json, input_key
from bias_inheritance.io import read_yaml_mapping
from bias_inheritance.model import EMBEDDED_ALIASES
from bias_inheritance.schema import AUTO_FORMAT, CARD_SUFFIX, FOLDER_CARD, FORMAT_CHOICES
from bias_inheritance.settings import describe_validation_error
from leaderboard.results import BOARD_JSON, EXTERNAL_MANIFEST

ENTRIES_VERSION = "1"  # bump when an entry's settings start to mean something else (re-evaluates every entry)
LABEL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"  # it names board/entries/<label>.json: no path separators
HUB_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
COMMIT_PATTERN = re.compile(r"^[0-9a-f]{40}$")
NOT_IN_KEY = frozenset({"batch_size"})  # changes speed only, like the evaluator's own key (evaluation/evaluate.py)


def _as_list(value: Any) -> Any:
    return value if isinstance(value, (list, tuple)) else [value]


def _unique(values: list[str]) -> list[str]:
    if not values:
        raise ValueError("at least one task is needed")
    if len(set(values)) != len(values):
        raise ValueError("a task is listed twice")
    return values


def _hub_id(value: str | None, what: str) -> str | None:
    if value is not None and not HUB_ID_PATTERN.match(value):
        raise ValueError(f"{value!r} is not a hub id ({what} is `owner/name`)")
    return value


def _pinned(hub_id: str | None, revision: str | None, owner: str) -> str | None:
    """A hub id needs a full commit hash; without a hub id there is nothing to pin."""
    if hub_id is None:
        if revision is not None:
            raise ValueError(f"only a hub `{owner}` has a revision")
    elif revision is None or not COMMIT_PATTERN.match(revision):
        raise ValueError(f"must be the 40-digit commit of {hub_id} on the hub, so that the entry always names "
                         "the same weights")
    return revision


class Entry(BaseModel):
    """One model on the board: a hub model (or the embedded one), an optional LoRA adapter, what to evaluate."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    label: Annotated[str, Field(pattern=LABEL_PATTERN)]
    model: str
    revision: str | None = Field(default=None, validate_default=True)  # checked against `model`
    adapter: str | None = None  # a LoRA adapter on the hub
    adapter_revision: str | None = Field(default=None, validate_default=True)
    tasks: Annotated[list[str], BeforeValidator(_as_list), AfterValidator(_unique)]
    limit: PositiveFloat | None = None
    format: Literal[FORMAT_CHOICES] = AUTO_FORMAT
    metadata: dict[str, Any] = Field(default_factory=dict)
    batch_size: PositiveInt = 8

    @field_validator("label")
    @classmethod
    def _results_name(cls, value: str) -> str:
        """`<label>.json` must not be a name the board's reader passes over as not a run (a card, a manifest)."""
        name = f"{value}.json"
        if name.endswith(CARD_SUFFIX) or name in (FOLDER_CARD, EXTERNAL_MANIFEST, BOARD_JSON):
            raise ValueError(f"{value!r} would name its results file {name}, which the board reads as no run")
        return value

    @field_validator("model")
    @classmethod
    def _model(cls, value: str) -> str:
        return EMBEDDED_ALIASES[0] if value.strip().lower() in EMBEDDED_ALIASES else _hub_id(value, "a model")

    @field_validator("adapter")
    @classmethod
    def _adapter(cls, value: str | None) -> str | None:
        return _hub_id(value, "an adapter")

    @field_validator("metadata")
    @classmethod
    def _plain_metadata(cls, value: dict[str, Any]) -> dict[str, Any]:
        try:
            canonical_json(value)
        except TypeError:
            raise ValueError("must hold plain values only (text, numbers, booleans, lists, mappings)") from None
        return value

    @field_validator("revision", "adapter_revision", mode="after")
    @classmethod
    def _pinned_revision(cls, value: str | None, info: ValidationInfo) -> str | None:
        """Checked after the field it pins (fields validate in order); a bad model was reported already."""
        owner = "model" if info.field_name == "revision" else "adapter"
        if owner not in info.data:
            return value
        hub_id = info.data[owner]
        return _pinned(None if hub_id == EMBEDDED_ALIASES[0] else hub_id, value, owner)

    @property
    def is_embedded(self) -> bool:
        return self.model == EMBEDDED_ALIASES[0]

    @property
    def key(self) -> str:
        """sha256 over every setting that changes this entry's results file (its label among them)."""
        settings = self.model_dump(exclude=set(NOT_IN_KEY))
        return input_key({"entries_version": ENTRIES_VERSION, "entry": settings})


class EntriesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    entries: list[Entry]

    @field_validator("entries")
    @classmethod
    def _unique_labels(cls, entries: list[Entry]) -> list[Entry]:
        labels = [entry.label.lower() for entry in entries]  # case-insensitive file systems share one file
        twice = sorted({label for label in labels if labels.count(label) > 1})
        if twice:
            raise ValueError(f"label {twice[0]!r} is used twice (each label names one results file)")
        return entries


def load_entries(path: Path) -> list[Entry]:
    """The entries of a YAML file, validated whole; any problem is one UserError naming its key."""
    raw = read_yaml_mapping(Path(path))
    try:
        return list(EntriesFile.model_validate(raw).entries)
    except ValidationError as exc:
        raise describe_validation_error(exc, f"entries file {path}") from None
