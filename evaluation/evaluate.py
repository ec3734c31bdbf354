"""Run bias_inheritance tasks through lm-eval's Python API and keep the run's provenance.

The output is lm-eval's own results JSON (so any lm-eval tooling reads it) plus one extra key,
`bias_inheritance`, holding model, adapter run card, data sources and versions.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_text, read_json
from bias_inheritance.model import describe_model, resolve_model
from bias_inheritance.provenance import package_versions
from bias_tasks import tasks_path

PROVENANCE_KEY = "bias_inheritance"


def task_manager(metadata: dict[str, Any] | None = None) -> Any:
    """A TaskManager that sees our tasks. lm-eval applies `metadata` (passed on to `custom_dataset`)
    only through the TaskManager, not through simple_evaluate when a manager is given."""
    from lm_eval.tasks import TaskManager

    return TaskManager(include_path=str(tasks_path()), metadata=metadata)


def check_task_names(names: Sequence[str], manager: Any) -> list[str]:
    """Fail before any model is loaded if a task, tag or group name is unknown."""
    names = [n.strip() for n in names if n.strip()]
    if not names:
        raise UserError("No task names given.", "pass --tasks, e.g. bias_inheritance_gender_bios.")
    unknown = [n for n in names if n not in manager.all_tasks]
    if unknown:
        ours = sorted(t for t in manager.all_tasks if t.startswith("bias_inheritance"))
        raise UserError(f"Unknown task(s): {', '.join(unknown)}.", f"use one of: {', '.join(ours)}.")
    return names


def model_args(model: str, adapter: Path | None) -> dict[str, Any]:
    args: dict[str, Any] = {"pretrained": model}
    if adapter is not None:
        if not (adapter / "adapter_config.json").is_file():
            raise UserError(f"{adapter} holds no LoRA adapter (adapter_config.json).", "pass the folder written by `train`.")
        args["peft"] = str(adapter)
    return args


def evaluate_model(
    model: str,
    tasks: Sequence[str],
    out_path: Path,
    *,
    adapter: str | Path | None = None,
    limit: float | None = None,
    batch_size: int | str = 8,
    device: str = "cpu",
    metadata: dict[str, Any] | None = None,
    label: str | None = None,
    role: str | None = None,
    gen_kwargs: dict[str, Any] | None = None,
    fingerprint: str | None = None,
    apply_chat_template: bool = False,
) -> Path:
    """Evaluate `model` (plus optional LoRA `adapter`) on `tasks`; write results JSON atomically."""
    from lm_eval import simple_evaluate
    from lm_eval.utils import handle_non_serializable

    manager = task_manager(metadata)
    names = check_task_names(tasks, manager)
    adapter_path = Path(adapter) if adapter else None
    resolved = resolve_model(model)
    args = model_args(resolved, adapter_path)
    results = simple_evaluate(
        model="hf",
        model_args=args,
        tasks=names,
        task_manager=manager,
        limit=limit,
        batch_size=batch_size,
        device=device,
        log_samples=False,
        gen_kwargs=gen_kwargs,
        apply_chat_template=apply_chat_template,
    )
    if results is None:  # non-zero rank in distributed runs
        return out_path
    run_card = read_json(adapter_path / "run_card.json") if adapter_path and (adapter_path / "run_card.json").is_file() else None
    results[PROVENANCE_KEY] = {
        "label": label or (adapter_path.name if adapter_path else Path(resolved).name),
        "role": role or ("finetuned" if adapter_path else "base"),
        "model": describe_model(resolved),
        "adapter": str(adapter_path) if adapter_path else None,
        "run_card": run_card,
        "data_sources": _data_sources(metadata or {}),
        "limit": limit,
        "apply_chat_template": apply_chat_template,
        "metadata": metadata,
        "versions": package_versions(),
        "fingerprint": fingerprint,
    }
    atomic_write_text(Path(out_path), json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False))
    return Path(out_path)


def _data_sources(metadata: dict[str, Any]) -> dict[str, Any]:
    """Source records of the prepared data families the tasks read (`<family>_data_dir` overrides)."""
    from bias_inheritance import cache

    folders: dict[str, Path] = {}
    root = cache.cache_root() / "data"
    if root.is_dir():
        folders.update({p.name: p for p in root.iterdir() if p.is_dir()})
    for key, value in metadata.items():
        if key.endswith("_data_dir") and value:
            folders[key[: -len("_data_dir")]] = Path(value)
    return {
        family: read_json(folder / "source.json")
        for family, folder in sorted(folders.items())
        if (folder / "source.json").is_file()
    }
