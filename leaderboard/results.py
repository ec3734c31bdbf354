"""Read lm-eval results files (this harness's or any plain `lm_eval --output_path` run) into records.

A record is one evaluated model or checkpoint: its metrics plus the provenance a reader needs to
trust them (model, adapter, data hash and source, bias type, γ, mitigation, round, seed, versions).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bias_inheritance.errors import UserError

PROVENANCE_KEY = "bias_inheritance"  # written by evaluation.evaluate


@dataclass
class RunRecord:
    label: str
    role: str
    path: str
    provenance: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)  # "task/metric" -> value
    stderrs: dict[str, float] = field(default_factory=dict)


def _parse_model_args(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {str(k): str(v) for k, v in raw.items()}
    if isinstance(raw, str) and raw:
        pairs = (item.split("=", 1) for item in raw.split(",") if "=" in item)
        return {k.strip(): v.strip() for k, v in pairs}
    return {}


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    return None  # "N/A" stderr, strings


def _metrics(results: dict, path: Path) -> tuple[dict[str, float], dict[str, float]]:
    metrics: dict[str, float] = {}
    stderrs: dict[str, float] = {}
    for task, values in results.items():
        if not isinstance(values, dict):
            raise UserError(f"{path}: results[{task!r}] is not a mapping.", "pass an unmodified lm-eval results file.")
        for key, value in values.items():
            if key == "alias" or "," not in key:
                continue
            metric, filter_name = key.split(",", 1)
            name = metric if filter_name == "none" else f"{metric}[{filter_name}]"
            number = _number(value)
            if metric.endswith("_stderr"):
                if number is not None:
                    stderrs[f"{task}/{name.replace('_stderr', '', 1)}"] = number
            elif number is not None:
                metrics[f"{task}/{name}"] = number
    return metrics, stderrs


def _provenance(raw: dict, ours: dict | None, metrics: dict[str, float]) -> dict[str, Any]:
    config = raw.get("config") or {}
    model_args = _parse_model_args(config.get("model_args"))
    card = (ours or {}).get("run_card") or {}
    data = card.get("data") or {}
    versions = (ours or {}).get("versions") or {}
    sample_flags = [v for k, v in metrics.items() if k.endswith("/synthetic_sample")]
    sources = (ours or {}).get("data_sources") or {}
    eval_data = ", ".join(f"{family}:{_source_flag(src)}" for family, src in sources.items())
    if not eval_data:
        eval_data = "bundled synthetic sample" if any(v > 0 for v in sample_flags) else "unknown"
    model_info = (ours or {}).get("model") or {}
    return {
        "model": model_info.get("hub_id") or model_info.get("model") or model_args.get("pretrained") or raw.get("model_name", "unknown"),
        "adapter": (ours or {}).get("adapter") or model_args.get("peft"),
        "eval_data": eval_data,
        "sample_data": any(v > 0 for v in sample_flags) or any(src.get("synthetic") for src in sources.values()),
        "train_data_sha256": data.get("sha256"),
        "train_data_source": (data.get("source") or {}).get("kind") if isinstance(data.get("source"), dict) else None,
        "bias_type": ",".join(str(t) for t in data.get("bias_types") or []) or None,
        "gamma": data.get("gamma"),
        "mitigation": card.get("mitigation"),
        "round": card.get("round"),
        "seed": card.get("seed"),
        "limit": (ours or {}).get("limit", config.get("limit")),
        "lm_eval": versions.get("lm-eval") or raw.get("lm_eval_version"),
        "transformers": versions.get("transformers") or raw.get("transformers_version"),
        "date": _iso_date(raw.get("date")),
    }


def _source_flag(source: dict) -> str:
    """A data source's kind plus the warnings a reader must see (synthetic sample, unverified files)."""
    flags = [f for f, on in (("SYNTHETIC SAMPLE", source.get("synthetic")), ("UNVERIFIED", source.get("verified") is False)) if on]
    return str(source.get("kind")) + (f" ({', '.join(flags)})" if flags else "")


def _iso_date(value: Any) -> str | None:
    """lm-eval stores the run date as epoch seconds."""
    number = _number(value)
    if number is None:
        return str(value) if value else None
    from datetime import datetime, timezone

    return datetime.fromtimestamp(number, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def load_record(path: Path) -> RunRecord:
    """One results file -> a RunRecord; anything else is a UserError naming the file."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"Results file {path} does not exist.", "check the path.") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise UserError(f"{path} is not valid JSON ({exc}).", "re-run the evaluation that wrote it.") from None
    if not isinstance(raw, dict) or not isinstance(raw.get("results"), dict):
        raise UserError(f"{path} is not an lm-eval results file (no 'results' mapping).", "pass files written by lm-eval or `bias-inheritance evaluate`.")
    ours = raw.get(PROVENANCE_KEY) if isinstance(raw.get(PROVENANCE_KEY), dict) else None
    metrics, stderrs = _metrics(raw["results"], path)
    provenance = _provenance(raw, ours, metrics)
    if ours and ours.get("label"):
        label, role = str(ours["label"]), str(ours.get("role") or "unknown")
    else:
        adapter = provenance["adapter"]
        label = Path(str(adapter or provenance["model"])).name or str(provenance["model"])
        role = "finetuned" if adapter else "base"
    return RunRecord(label=label, role=role, path=str(path), provenance=provenance, metrics=metrics, stderrs=stderrs)


def discover(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """Expand folders into the results files they hold; returns (results files, skipped JSON files)."""
    found: list[Path] = []
    skipped: list[Path] = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            for candidate in sorted(path.rglob("*.json")):
                if _looks_like_results(candidate):
                    found.append(candidate)
                else:
                    skipped.append(candidate)
        elif path.exists():
            found.append(path)
        else:
            raise UserError(f"{path} does not exist.", "pass results files or folders holding them.")
    if not found:
        raise UserError("No lm-eval results files found.", "pass the files written by `evaluate` or `lm_eval --output_path`.")
    return found, skipped


def _looks_like_results(path: Path) -> bool:
    """Files named results*.json are always results (and fail loudly if corrupt); others are sniffed."""
    if path.name.startswith("results"):
        return True
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError):
        return False
    return isinstance(raw, dict) and isinstance(raw.get("results"), dict)
