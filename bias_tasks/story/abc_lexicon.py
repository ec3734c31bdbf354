"""The ABC stereotype lexicon (Agency, Beliefs, Communion; Koch et al. 2016) used to score story adjectives.

The built-in lexicon (`abc_lexicon.json`) holds Koch et al.'s trait pairs and common synonyms,
with its provenance in the file. A larger lexicon (SADCAT's, converted) can be loaded from a file of
`word,dimension,polarity` rows (CSV/TSV with that header) or from JSON in the built-in schema.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from bias_inheritance.errors import UserError
from bias_inheritance.io import read_json, sha256_file

DIMENSIONS: tuple[str, ...] = ("agency", "beliefs", "communion")
POLES: tuple[str, ...] = ("negative", "positive")
BUILTIN = "builtin"
BUILTIN_RESOURCE = "abc_lexicon.json"
_POLARITY_ALIASES = MappingProxyType(
    {"negative": 0, "neg": 0, "-1": 0, "low": 0, "-": 0, "positive": 1, "pos": 1, "1": 1, "+1": 1, "high": 1, "+": 1}
)

# (dimension index, pole index) pairs of one word; a word may sit in several dimensions.
Senses = tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class Lexicon:
    """Word -> the (dimension, pole) senses it carries, plus where the words came from."""

    name: str
    source: str
    sha256: str
    entries: Mapping[str, Senses] = field(repr=False)
    provenance: Mapping[str, Any] = field(default_factory=dict, repr=False)

    def senses(self, word: str) -> Senses:
        return self.entries.get(word.lower(), ())

    def __len__(self) -> int:
        return len(self.entries)


def _add(table: dict[str, set[tuple[int, int]]], word: str, dimension: str, polarity: str, where: str) -> None:
    dim = dimension.strip().lower()
    pole = _POLARITY_ALIASES.get(str(polarity).strip().lower())
    if dim not in DIMENSIONS or pole is None:
        raise UserError(
            f"{where}: unknown dimension {dimension!r} or polarity {polarity!r}.",
            f"use dimensions {', '.join(DIMENSIONS)} and polarity negative/positive.",
        )
    key = word.strip().lower()
    if not key:
        raise UserError(f"{where}: empty word.", "remove the row or fill in the word.")
    senses = table.setdefault(key, set())
    if (DIMENSIONS.index(dim), 1 - pole) in senses:
        raise UserError(f"{where}: {key!r} is both negative and positive on {dim}.", "keep one pole for it.")
    senses.add((DIMENSIONS.index(dim), pole))


def _freeze(table: dict[str, set[tuple[int, int]]]) -> Mapping[str, Senses]:
    return MappingProxyType({word: tuple(sorted(s)) for word, s in sorted(table.items())})


def _from_schema(raw: Any, where: str) -> tuple[Mapping[str, Senses], str, Mapping[str, Any]]:
    """JSON in the built-in schema: dimensions -> negative/positive -> {seeds, synonyms}."""
    try:
        table: dict[str, set[tuple[int, int]]] = {}
        for dimension, poles in raw["dimensions"].items():
            for polarity, groups in poles.items():
                for words in groups.values():
                    for word in words:
                        _add(table, word, dimension, polarity, where)
        return _freeze(table), str(raw.get("name", where)), MappingProxyType(dict(raw.get("provenance", {})))
    except (KeyError, AttributeError, TypeError):
        raise UserError(f"{where} is not an ABC lexicon.", "use dimensions/<dim>/<pole>/<list> JSON or word,dimension,polarity CSV.") from None


def _from_table(path: Path) -> Mapping[str, Senses]:
    delimiter = "\t" if path.suffix.lower() in (".tsv", ".tab") else ","
    with path.open(encoding="utf-8", newline="") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        header = {name.strip().lower() for name in reader.fieldnames or ()}
        if not {"word", "dimension", "polarity"} <= header:
            raise UserError(f"{path} lacks the columns word, dimension, polarity.", "add that header row.")
        table: dict[str, set[tuple[int, int]]] = {}
        for number, row in enumerate(reader, start=2):
            row = {k.strip().lower(): (v or "") for k, v in row.items() if k}
            _add(table, row["word"], row["dimension"], row["polarity"], f"{path} line {number}")
    if not table:
        raise UserError(f"{path} holds no words.", "fill it with word,dimension,polarity rows.")
    return _freeze(table)


@functools.lru_cache(maxsize=8)
def load_lexicon(path: str | None = None) -> Lexicon:
    """The built-in lexicon (path None, "" or "builtin") or one read from a file; cached per path."""
    if not path or path == BUILTIN:
        resource = resources.files("bias_tasks.story").joinpath(BUILTIN_RESOURCE)
        with resources.as_file(resource) as builtin:
            entries, name, provenance = _from_schema(read_json(builtin), BUILTIN_RESOURCE)
            return Lexicon(name, BUILTIN, sha256_file(builtin), entries, provenance)
    file = Path(path).expanduser()
    if not file.is_file():
        raise UserError(f"Lexicon file not found: {file}.", "pass an existing file as lexicon_path, or omit it.")
    if file.suffix.lower() == ".json":
        entries, name, provenance = _from_schema(read_json(file), str(file))
    else:
        entries, name, provenance = _from_table(file), file.stem, MappingProxyType({"file": str(file)})
    return Lexicon(name, str(file.resolve()), sha256_file(file), entries, provenance)
