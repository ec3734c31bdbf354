"""Run bias_inheritance tasks through lm-eval's Python API, one keyed result per task.

Each leaf task's result is keyed by everything that decides it (model identity, adapter card,
task version and config, the data it reads, prompt format, limit, generation settings, metadata,
dtype, lm-eval version; not batch size or device, which move scores by float rounding only)
and kept in a store folder (see `store`). A task whose key matches a
complete stored result is not evaluated again, so adding a task to a run evaluates only that task;
the missing ones run in one lm-eval call (the model is loaded once) with lm-eval's request cache,
so a killed evaluation resumes where it stopped.

Request cache: lm-eval keys a cached response by the request alone (prompt and generation
settings), so the cache file is keyed by the model side (model identity, adapter, dtype). lm-eval
0.4.13 never answers a sampled request (`do_sample: true`, the story task) from its cache, so the
repeated identical prompts of a name's stories stay independent samples; greedy requests
(hiring, salary, culture, bios) would give the same answer again, so caching them is exact.
`tests/test_evaluate.py` checks that lm-eval still behaves so.

The output is lm-eval's own results JSON (any lm-eval tooling reads it), merged from the per-task
slices, plus the `schema.PROVENANCE_KEY` block, and a card beside it.
"""

from __future__ import annotations

import importlib.util
import logging
import warnings
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Mapping, Sequence

from bias_inheritance import cards, schema
from bias_inheritance.schema import AUTO_FORMAT, EVAL_BACKENDS
from bias_inheritance.device import pick_device, train_dtype
from bias_inheritance.errors import UserError
from bias_inheritance.identity import input_key, model_identity
from bias_inheritance.lineage import adapter_identity
from bias_inheritance.io import atomic_write_text, read_json
from bias_inheritance.model import resolve_model
from bias_inheritance.provenance import package_versions
from evaluation.console import quiet_repeats
from evaluation.selection import (TaskData, TaskSpec, check_data, metadata_inputs, select_tasks, source_record,
                                  task_manager)
from evaluation.store import STAGE, TaskStore, default_store, load_slice, merge_slices, task_slice, to_json

__all__ = ["evaluate_model", "check_tasks", "task_manager", "resolve_format", "run_lm_eval"]

LOGGER = logging.getLogger(__name__)


@dataclass(frozen=True)
class Adapter:
    """A LoRA adapter and what identifies it: its training card's key, or the sha256 of its files."""

    path: Path
    identity: dict[str, Any]
    parent: cards.Parent | None
    card: dict[str, Any] | None


def _card_provenance(card: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A card's summary.provenance (empty when there is no card)."""
    return ((card or {}).get("summary") or {}).get("provenance") or {}


def check_tasks(tasks: Sequence[str], metadata: Mapping[str, Any] | None = None) -> list[str]:
    """Leaf task names of `tasks` (names or globs), after checking every task's data; loads no model."""
    _, specs = select_tasks(tasks, metadata)
    check_data(specs, metadata)
    return [spec.name for spec in specs]


def read_adapter(adapter: str | Path) -> Adapter:
    path = Path(adapter)
    identity = adapter_identity(path)  # a card that is not complete is a one-line error
    card = cards.read_card(cards.card_path(path))
    return Adapter(path, identity, cards.parent("adapter", path) if card else None, card)


def resolve_format(requested: str, resolved_model: str) -> str:
    """"chat" when the model's tokenizer has a chat template ("auto"), or the format asked for."""
    if requested in schema.PROMPT_FORMATS:
        return requested
    if requested != AUTO_FORMAT:
        raise UserError(f"Unknown prompt format {requested!r}.", f"use {AUTO_FORMAT}, {' or '.join(schema.PROMPT_FORMATS)}.")
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(resolved_model)  # the tokenizer only, no weights
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read the tokenizer of {resolved_model} to choose the prompt format ({exc.__class__.__name__}).",
                        "pass --format chat or --format plain.") from None
    return schema.CHAT_FORMAT if getattr(tokenizer, "chat_template", None) else schema.PLAIN_FORMAT


def _format_request(prompt_format: str, apply_chat_template: bool | None) -> str:
    if apply_chat_template is None:
        return prompt_format
    warnings.warn("apply_chat_template is deprecated; pass prompt_format='chat' or 'plain'.", DeprecationWarning, stacklevel=3)
    alias = schema.CHAT_FORMAT if apply_chat_template else schema.PLAIN_FORMAT
    if prompt_format not in (AUTO_FORMAT, alias):
        raise UserError(f"prompt_format={prompt_format!r} contradicts apply_chat_template={apply_chat_template}.", "pass only prompt_format.")
    return alias


def _limit(limit: float | None) -> float | int | None:
    """12.0 and 12 are the same limit (a value below 1 is a fraction of the documents)."""
    if limit is None:
        return None
    if limit <= 0:
        raise UserError(f"--limit must be positive (got {limit}).", "pass a document count, or a fraction below 1.")
    return int(limit) if float(limit).is_integer() else float(limit)


def check_backend(backend: str) -> None:
    """An unknown backend, or vLLM where it is not installed: one line, before any model loads."""
    if backend not in EVAL_BACKENDS:
        raise UserError(f"Unknown evaluation backend {backend!r}.", f"use one of: {', '.join(EVAL_BACKENDS)}.")
    if backend == "vllm" and importlib.util.find_spec("vllm") is None:
        raise UserError("The vllm evaluation backend needs vLLM, which is not installed.",
                        "pip install 'bias-inheritance[vllm]' on a GPU machine, or use the hf backend.")


def lm_eval_model_args(run: "_Run") -> dict[str, Any]:
    """lm-eval's model_args: HF loads the adapter with peft; vLLM serves it as a LoRA request, so its
    rank limit is raised to the adapter's rank."""
    args: dict[str, Any] = {"pretrained": run.resolved, "dtype": run.dtype}
    if run.adapter and run.backend == "vllm":
        rank = int(read_json(Path(run.adapter.path) / "adapter_config.json").get("r") or 16)
        args.update(lora_local_path=str(run.adapter.path), max_lora_rank=max(16, rank))
    elif run.adapter:
        args["peft"] = str(run.adapter.path)
    return args


def run_lm_eval(**kwargs: Any) -> dict[str, Any] | None:
    """lm-eval's simple_evaluate (one seam, so tests can count evaluations)."""
    from lm_eval import simple_evaluate

    return simple_evaluate(**kwargs)


@dataclass(frozen=True)
class _Run:
    """What every task of one call shares."""

    resolved: str
    model: dict[str, Any]
    adapter: Adapter | None
    format: str
    limit: float | int | None
    gen_kwargs: dict[str, Any] | None
    metadata: dict[str, Any]
    device: str
    dtype: str
    backend: str = "hf"

    @property
    def parents(self) -> dict[str, cards.Parent]:
        return {"adapter": self.adapter.parent} if self.adapter and self.adapter.parent else {}

    @property
    def environment(self) -> dict[str, str]:
        return {"device": self.device, "dtype": self.dtype, "backend": self.backend}

    @cached_property
    def metadata_inputs(self) -> dict[str, Any]:
        """The metadata part of every task's key; data folders count by their content, in "data"."""
        data_dirs = set(schema.DATA_DIR_KEYS.values())
        return metadata_inputs({k: v for k, v in self.metadata.items() if k not in data_dirs})

    def task_inputs(self, spec: TaskSpec, data: TaskData | None) -> dict[str, Any]:
        """The full input record of one task's result (its key is the hash of this and the parents)."""
        return {
            "task": spec.name,
            "task_version": spec.version,
            "task_config_sha256": spec.config_sha256,
            # the task's Python (prompts in doc_to_text, parsers, metrics): a change re-evaluates, never reuses
            "task_code_sha256": spec.code_sha256,
            "model": self.model,
            "adapter": self.adapter.identity if self.adapter else None,
            "data": {"family": data.family, "dataset": data.dataset, "content": data.content} if data else None,
            "format": self.format,
            "limit": self.limit,
            "gen_kwargs": self.gen_kwargs if spec.output_type == "generate_until" else None,
            "metadata": self.metadata_inputs,
            "dtype": self.dtype,
            "lm_eval": package_versions()["lm-eval"],
        }

    def provenance(self) -> dict[str, Any]:
        """summary.provenance of a result card: what this run knows, the rest from the adapter's card."""
        inherited = _card_provenance(self.adapter.card if self.adapter else None)
        record = {name: inherited.get(name) for name in schema.RUN_PROVENANCE_FIELDS}
        return {**record, "model": self.model, "format": self.format}


def evaluate_model(
    model: str,
    tasks: Sequence[str],
    out_path: Path,
    *,
    adapter: str | Path | None = None,
    limit: float | None = None,
    batch_size: int | str = 8,
    device: str = "auto",
    metadata: Mapping[str, Any] | None = None,
    label: str | None = None,
    role: str | None = None,
    gen_kwargs: Mapping[str, Any] | None = None,
    prompt_format: str = AUTO_FORMAT,
    store: str | Path | None = None,
    apply_chat_template: bool | None = None,
    backend: str = "hf",
) -> Path:
    """Evaluate `model` (plus optional LoRA `adapter`) on `tasks`; write the results JSON atomically.

    `tasks` are task, group or tag names or globs; everything is checked (names, data, adapter,
    format) before any model is loaded. Tasks with a complete stored result of the same key are
    reused. `apply_chat_template` is a deprecated alias of `prompt_format`. `backend` "vllm" scores
    with lm-eval's vLLM model (the adapter served as a LoRA request); like the device, it is
    recorded, not keyed: it moves scores by float rounding only.
    """
    check_backend(backend)
    requested_format = _format_request(prompt_format, apply_chat_template)
    metadata = dict(metadata or {})
    manager, specs = select_tasks(tasks, metadata)
    data = check_data(specs, metadata)
    adapter_info = read_adapter(adapter) if adapter else None
    resolved = resolve_model(model)
    device_name = pick_device(device)
    run = _Run(
        resolved=resolved, model=model_identity(resolved), adapter=adapter_info,
        format=resolve_format(requested_format, resolved), limit=_limit(limit),
        gen_kwargs=dict(gen_kwargs) if gen_kwargs else None, metadata=metadata,
        device=device_name, dtype=train_dtype(device_name), backend=backend,
    )
    _warn_format_mismatch(run)
    task_store = TaskStore(Path(store) if store else default_store(Path(out_path)))
    inputs = {spec.name: run.task_inputs(spec, data.get(spec.name)) for spec in specs}
    keys = {name: cards.stage_key(STAGE, record, run.parents) for name, record in inputs.items()}
    missing = [name for name in inputs if task_store.status(name, keys[name], inputs[name]) != "complete"]
    if missing:
        LOGGER.info("evaluating %d task(s), reusing %d", len(missing), len(inputs) - len(missing))
        if not _evaluate_missing(manager, {s.name: s for s in specs}, missing, inputs, data, run, task_store, batch_size):
            return Path(out_path)  # not rank 0 of a distributed run
    folders = {name: task_store.folder(name, keys[name]) for name in inputs}
    return _write_results(Path(out_path), task_store.root, folders, keys, set(missing), list(tasks), data, run, label, role)


def _warn_format_mismatch(run: _Run) -> None:
    """A model is scored in the format it learned; say so when the adapter's card names another."""
    trained = _card_provenance(run.adapter.card if run.adapter else None).get("format")
    if trained and trained != run.format:
        LOGGER.warning("The adapter was trained in %s format but is evaluated in %s format.", trained, run.format)


def _evaluate_missing(
    manager: Any, specs: Mapping[str, TaskSpec], missing: list[str], inputs: Mapping[str, dict],
    data: Mapping[str, TaskData], run: _Run, task_store: TaskStore, batch_size: int | str,
) -> bool:
    """Evaluate the tasks without a stored result in one lm-eval call; store each task's result."""
    model_args = lm_eval_model_args(run)
    cache_key = input_key({"model": run.model, "adapter": run.adapter.identity if run.adapter else None, "dtype": run.dtype})
    chat = run.format == schema.CHAT_FORMAT
    with quiet_repeats():
        results = run_lm_eval(
            model=run.backend, model_args=model_args, tasks=missing, task_manager=manager, limit=run.limit,
            batch_size=batch_size, device=run.device, use_cache=task_store.request_cache(cache_key),
            log_samples=True, gen_kwargs=run.gen_kwargs, apply_chat_template=chat, fewshot_as_multiturn=chat,
        )
    if results is None:
        return False
    provenance = run.provenance()
    for name in missing:
        task_data = data.get(name)
        summary = {
            "task": name,
            "provenance": provenance,
            "task_code_sha256": specs[name].code_sha256,
            "eval_data": {"family": task_data.family, "dataset": task_data.dataset, "folder": str(Path(task_data.folder).resolve()),
                          "label": task_data.label} if task_data else None,
            "n_samples": (results.get("n-samples") or {}).get(name),
        }
        task_store.save(name, inputs[name], run.parents, task_slice(results, name), results["samples"][name],
                        summary, run.environment)
    return True


def _write_results(
    out_path: Path, store_root: Path, folders: Mapping[str, Path], keys: Mapping[str, str], evaluated: set[str],
    requested: list[str], data: Mapping[str, TaskData], run: _Run, label: str | None, role: str | None,
) -> Path:
    """The merged results JSON with its provenance block, then its card (parents: task results, adapter)."""
    environments = {name: (cards.read_card(cards.card_path(folder)) or {}).get("environment") or {}
                    for name, folder in folders.items()}
    results = merge_slices({name: load_slice(folder) for name, folder in folders.items()})
    families = {d.family: d.folder for d in data.values()}
    labels = {d.family: d.label for d in data.values()}
    card_file = cards.card_path(out_path)
    parents = {f"task:{name}": cards.parent(f"task:{name}", folder) for name, folder in folders.items()}
    parents.update(run.parents)
    label = label or (run.adapter.path.name if run.adapter else Path(run.resolved).name)
    role = role or ("finetuned" if run.adapter else "base")
    card_inputs = {"tasks": list(folders), "model": run.model, "adapter": run.adapter.identity if run.adapter else None,
                   "format": run.format, "limit": run.limit, "gen_kwargs": run.gen_kwargs,
                   "metadata": run.metadata_inputs,  # data folders count by content (in the task parents), not path
                   "dtype": run.dtype, "label": label, "role": role}
    existing = cards.read_card(card_file)
    if (not evaluated and out_path.is_file() and existing and existing.get("status") == "complete"
            and existing["key"] == cards.stage_key(STAGE, card_inputs, parents)):
        return out_path  # the same tasks, keys and labels: the file on disk is this result
    # "partial" until the file is written, so a kill in between never pairs new results with an old card
    cards.write_card(out_path, STAGE, card_inputs, parents=parents, status="partial", environment=run.environment)
    results[schema.PROVENANCE_KEY] = {
        "label": label,
        "role": role,
        "format": run.format,
        "model": run.model,
        "model_path": run.resolved,
        "adapter": str(run.adapter.path) if run.adapter else None,
        "adapter_card": run.adapter.card if run.adapter else None,
        "data_sources": {family: {**source_record(folder), "label": labels[family]} for family, folder in sorted(families.items())},
        "limit": run.limit,
        "gen_kwargs": run.gen_kwargs,
        "metadata": run.metadata,
        "versions": package_versions(),
        "device": run.device,
        "dtype": run.dtype,
        "requested": requested,
        "store": str(Path(store_root).resolve()),
        "tasks": {
            name: {"key": keys[name], "path": str(folder.resolve()), "evaluated_now": name in evaluated,
                   "device": environments[name].get("device"), "dtype": environments[name].get("dtype")}
            for name, folder in folders.items()
        },
        "card": str(card_file.resolve()),
    }
    atomic_write_text(out_path, to_json(results))
    cards.write_card(out_path, STAGE, card_inputs, parents=parents, environment=run.environment, summary={
        "provenance": run.provenance(), "tasks": {name: keys[name] for name in folders}, "data_sources": sorted(families),
    })
    return out_path
