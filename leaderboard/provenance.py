"""Where a row's numbers came from, read from a results file and never guessed.

Three generations of results files are read: this harness's current block (`adapter_card` whose
`summary.provenance` holds `schema.RUN_PROVENANCE_FIELDS`, `format`), its older block (`run_card`,
`apply_chat_template`), and plain `lm_eval --output_path` files (no block: the model comes from
`config.model_args`, the format from lm-eval's own `chat_template` field). A value a file does not
hold stays None, and tables show it as "–".
"""

from __future__ import annotations

import datetime as _dt
import re
from pathlib import Path
from typing import Any, Mapping

from bias_inheritance.errors import UserError
from bias_inheritance.identity import describe_identity
from bias_inheritance.schema import CHAT_FORMAT, PLAIN_FORMAT, PROMPT_FORMATS, RUN_PROVENANCE_FIELDS

# Package versions a row shows (keys of bias_inheritance.provenance.package_versions()).
VERSION_PACKAGES: tuple[str, ...] = ("lm-eval", "transformers", "torch", "bias-inheritance")

# What the adapter's card says about training; "model" and "format" are the evaluation's own columns.
TRAINING_FIELDS: tuple[str, ...] = tuple(f for f in RUN_PROVENANCE_FIELDS if f not in ("model", "format"))

# Every provenance column of a row, in table order: what was evaluated, then how and where.
RUN_COLUMNS: tuple[str, ...] = ("model", "adapter", "format", "limit", *TRAINING_FIELDS)
ENVIRONMENT_COLUMNS: tuple[str, ...] = ("eval_data", "device", "dtype", *VERSION_PACKAGES, "evaluated")
COLUMNS: tuple[str, ...] = RUN_COLUMNS + ENVIRONMENT_COLUMNS

_FIX = "pass an unmodified results file written by `bias-inheritance evaluate` or `lm_eval --output_path`."


def mapping(container: Mapping[str, Any], key: str, where: str, path: Path) -> dict[str, Any]:
    """`container[key]` as a dict ({} when absent or null); any other type is a UserError naming the file."""
    value = container.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise UserError(f"{path}: {where}{key!r} is a {type(value).__name__}, not a mapping.", _FIX)
    return value


def parse_model_args(raw: Any) -> dict[str, str]:
    """lm-eval's `model_args`, given as a dict or as "k=v,k=v" text."""
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, str):
        pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
        return {k.strip(): v.strip() for k, v in pairs}
    return {}


def eval_format(raw: Mapping[str, Any], block: Mapping[str, Any], path: Path) -> str | None:
    """The prompt format of the whole run, or None when the file does not say."""
    if block.get("format") is not None:
        if block["format"] not in PROMPT_FORMATS:
            raise UserError(f"{path}: unknown format {block['format']!r} (known: {', '.join(PROMPT_FORMATS)}).", _FIX)
        return str(block["format"])
    if "apply_chat_template" in block:  # older files of this harness
        return CHAT_FORMAT if block["apply_chat_template"] else PLAIN_FORMAT
    if "chat_template" in raw:  # lm-eval's CLI always writes it: the template text, or null
        return CHAT_FORMAT if raw["chat_template"] else PLAIN_FORMAT
    return None


def training_provenance(block: Mapping[str, Any], path: Path) -> dict[str, Any]:
    """RUN_PROVENANCE_FIELDS of the adapter's card (`run_card` in older files mapped onto them)."""
    card = mapping(block, "adapter_card", "bias_inheritance.", path)
    if card:
        summary = mapping(card, "summary", "bias_inheritance.adapter_card.", path)
        found = mapping(summary, "provenance", "bias_inheritance.adapter_card.summary.", path)
        return {field: found.get(field) for field in RUN_PROVENANCE_FIELDS}
    old = mapping(block, "run_card", "bias_inheritance.", path)
    data = mapping(old, "data", "bias_inheritance.run_card.", path)
    source = data.get("source")
    return {
        **{field: None for field in RUN_PROVENANCE_FIELDS},
        "model": old.get("base_model"),
        "data_sha256": data.get("sha256"),
        "data_source": (source.get("label") or source.get("kind")) if isinstance(source, Mapping) else source,
        "bias_type": data.get("bias_types"),
        "gamma": data.get("gamma"),
        "mitigation": old.get("mitigation"),
        "round": old.get("round"),
        "seed": old.get("seed"),
    }


def data_sources(block: Mapping[str, Any], path: Path) -> dict[str, Mapping[str, Any]]:
    """family -> source record of the data the evaluation read (empty when the file does not say)."""
    sources = mapping(block, "data_sources", "bias_inheritance.", path)
    for family, source in sources.items():
        if not isinstance(source, Mapping):
            raise UserError(f"{path}: bias_inheritance.data_sources[{family!r}] is not a mapping.", _FIX)
    return dict(sorted(sources.items()))


def source_label(source: Mapping[str, Any]) -> str:
    """A source record's label; records without one (source.json keeps fields, not the label) by kind:location."""
    if source.get("label"):
        return str(source["label"])
    return ":".join(str(source[k]) for k in ("kind", "location") if source.get(k)) or "unlabelled source"


def source_identity(source: Mapping[str, Any]) -> str:
    """What tells two sources apart: the prepared content's hash where recorded, else the label."""
    return str(source.get("content_sha256") or source_label(source))


def eval_data(sources: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """family -> label of each data_sources() record."""
    return {family: source_label(source) for family, source in sources.items()}


def _scalar(value: Any) -> Any:
    """A table cell's value: lists (several bias types) joined, identities described."""
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value) or None
    if isinstance(value, Mapping):
        return describe_identity(value)
    return value


def _torch_from_env(raw: Mapping[str, Any]) -> str | None:
    """lm-eval keeps torch's version only inside its `pretty_env_info` text."""
    match = re.search(r"PyTorch version: (\S+)", str(raw.get("pretty_env_info") or ""))
    return match.group(1) if match else None


def _limit(raw: Mapping[str, Any], block: Mapping[str, Any], config: Mapping[str, Any], path: Path) -> Any:
    """lm-eval's `--limit` (a count, or a fraction of each task's documents); None: every document."""
    limit = block["limit"] if "limit" in block else config.get("limit")
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, (int, float))):
        raise UserError(f"{path}: limit {limit!r} is not a number.", _FIX)
    return limit


def _date(value: Any) -> str | None:
    """lm-eval stores the run's start as epoch seconds."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _dt.datetime.fromtimestamp(value, tz=_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return str(value) if value else None


def row_provenance(
    raw: Mapping[str, Any], block: Mapping[str, Any], training: Mapping[str, Any], data: Mapping[str, str], path: Path
) -> dict[str, Any]:
    """Every column of COLUMNS for one results file (None where the file does not say).

    `training` is training_provenance(block), `data` is eval_data(...): the caller keeps both.
    """
    config = mapping(raw, "config", "", path)
    model_args = parse_model_args(config.get("model_args"))
    versions = mapping(block, "versions", "bias_inheritance.", path)
    plain_versions = {
        "lm-eval": raw.get("lm_eval_version"), "transformers": raw.get("transformers_version"),
        "torch": _torch_from_env(raw), "bias-inheritance": None,
    }
    pretrained = model_args.get("pretrained") or raw.get("model_name")
    plain_model = f"{pretrained}@{config['model_sha']}" if pretrained and config.get("model_sha") else pretrained
    return {
        "model": describe_identity(block.get("model")) or describe_identity(training["model"]) or plain_model,
        "adapter": block.get("adapter") if "adapter" in block else model_args.get("peft"),
        "format": eval_format(raw, block, path),
        "limit": _limit(raw, block, config, path),
        **{field: _scalar(training[field]) for field in TRAINING_FIELDS},
        "eval_data": "; ".join(f"{family}: {label}" for family, label in data.items()) or None,
        "device": block.get("device") or config.get("device"),
        "dtype": block.get("dtype") or config.get("model_dtype"),
        **{package: versions.get(package) or plain_versions[package] for package in VERSION_PACKAGES},
        "evaluated": _date(raw.get("date")),
    }
