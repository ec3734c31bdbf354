"""`bias-inheritance attribute`: which rows of a mixed dataset carry the bias (BiasDiff, SPEC §7).

Steps, each an output with its own key, so a killed run resumes and a second run does no work:
1. warm-up: a LoRA fine-tuned on the mix with its Adam moments kept (or `adapter`, an existing
   one trained with `save_optimizer_state`);
2. features of every training row (LESS's Adam feature) and of the probe set (plain gradients);
3. each row's score, the cosine similarity to the probes (mean over probes, or max), and the top p %;
4. the curves: coverage and precision at p ∈ FRACTIONS against the rows the mix planted (origin
   "augmented"), per bias type, beside the exact random baseline and the loss baseline (rows
   ranked by their training loss, highest first). With a control mix (augmented rows of type 0 at
   the same γ) the same is done on it, and the difference says how much of the signal is bias
   rather than the style of generated text.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

from attribution import selection
from attribution.features import FeatureSettings, load_lora, write_features
from attribution.probes import load_probes
from attribution.row_losses import row_losses
from attribution.similarity import REDUCTIONS, score_rows
from bias_inheritance import cards
from bias_inheritance.device import pick_device
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import atomic_write_json, content_hash, read_jsonl, write_jsonl
from bias_inheritance.lineage import adapter_upstream, provenance, upstream
from bias_inheritance.model import resolve_model
from bias_inheritance.provenance import package_versions
from trainers.config import TrainSettings
from trainers.optimizer_state import FILE as OPTIMIZER_FILE
from trainers.tokenise import load_tokenizer

STAGE = "attribute"
ATTRIBUTE_VERSION = 1
SCORES, SELECTED, CURVES = "scores.jsonl", "selected.jsonl", "curves.json"
# As many rows drawn at random (seeded): the control of retraining without the selection (removal shrinks |D|).
RANDOM_SELECTED = "random_selected.jsonl"
AUGMENTED = "augmented"
_FIX = "pass another --out for changed inputs, or delete that folder."


@dataclass(frozen=True)
class AttributeSettings:
    """What decides the scores and the selection. `warmup` trains the adapter when none is given."""

    probe: str = "gender"
    top: float = 0.35
    reduce: str = "mean"
    features: FeatureSettings = field(default_factory=FeatureSettings)
    warmup: TrainSettings = field(default_factory=lambda: TrainSettings(epochs=1.0, save_optimizer_state=True))

    def __post_init__(self) -> None:
        selection.selected_count(self.top, 1)  # (0, 1], else a one-line error
        if self.reduce not in REDUCTIONS:
            raise UserError(f"Unknown reduction {self.reduce!r}.", f"use one of: {', '.join(REDUCTIONS)}.")
        if not self.warmup.save_optimizer_state:
            raise UserError("The warm-up must keep its optimizer state (LESS's Adam features need it).",
                            "leave save_optimizer_state on.")


@dataclass(frozen=True)
class MixRun:
    """One mix attributed: its ranked rows, what it planted, and the curves."""

    folder: Path
    scores: dict[str, float]
    losses: dict[str, float]
    rows: list[dict]

    @property
    def planted(self) -> dict[str, set[str]]:
        """The augmented rows, all and per bias type."""
        by_type: dict[str, set[str]] = {"all": set()}
        for row in self.rows:
            if row.get("origin") == AUGMENTED:
                by_type["all"].add(row["id"])
                by_type.setdefault(f"type{row.get('bias_type')}", set()).add(row["id"])
        return by_type

    def curves(self) -> dict[str, Any]:
        ranked, by_loss = selection.ranking(self.scores), selection.ranking(self.losses)
        return {name: {"method": selection.curve(ranked, planted), "loss": selection.curve(by_loss, planted),
                       "random": selection.random_curve(len(self.rows), len(planted)), "planted": len(planted)}
                for name, planted in self.planted.items()}


def _examples(rows: list[dict], tokenizer: Any, fmt: str) -> list[dict]:
    """The mix's rows as the training saw them (trainers.data), keyed by row id."""
    from trainers.data import to_sft_dataset

    dataset = to_sft_dataset(rows, tokenizer, fmt)
    return [{"id": row["id"], "prompt": example["prompt"], "completion": example["completion"]}
            for row, example in zip(rows, dataset)]


def _adapter(model: str, data: Path, folder: Path, adapter: Path | None, warmup: TrainSettings) -> Path:
    """The given adapter (it must hold its optimizer state) or the warm-up trained on `data`."""
    from trainers.train import train_lora

    if adapter is None:
        train_lora(model, data, folder / "warmup", warmup)
        return folder / "warmup"
    if not (Path(adapter) / OPTIMIZER_FILE).is_file():
        raise UserError(f"{adapter} holds no {OPTIMIZER_FILE}, so its Adam moments are unknown.",
                        "train it with `--save-optimizer-state`, or leave out --adapter to warm up a new one.")
    return Path(adapter)


def _max_length(adapter: Path, fallback: int) -> int:
    """Features tokenise as the adapter was trained (TRL truncates at its max_length)."""
    card = cards.read_card(cards.card_path(adapter)) or {}
    return int(((card.get("inputs") or {}).get("settings") or {}).get("max_length") or fallback)


def attribute_mix(model: str, data: Path, folder: Path, settings: AttributeSettings, *,
                  adapter: Path | None = None) -> MixRun:
    """Warm-up (or `adapter`), features, scores and losses of one mix into `folder`."""
    rows = read_jsonl(data)
    if not rows:
        raise UserError(f"{data} holds no rows.", "pass a mixed set written by `bias-inheritance mix`.")
    resolved = resolve_model(model)
    tokenizer, fmt = load_tokenizer(resolved)
    examples = _examples(rows, tokenizer, fmt)
    adapter = _adapter(model, data, folder, adapter, settings.warmup)
    features = replace(settings.features, max_length=_max_length(adapter, settings.features.max_length))
    probes = [{"id": p["id"], "prompt": "", "completion": p["text"]} for p in load_probes(settings.probe, _bias(rows))]
    train = write_features(model, adapter, examples, folder / "features" / "train", features,
                           optimizer_state=adapter)
    probe = write_features(model, adapter, probes, folder / "features" / "probes", features)
    scores = score_rows(train, probe, settings.reduce)
    _, lora = load_lora(resolved, adapter, pick_device(features.device), "float32")
    losses = row_losses(lora, tokenizer, examples, max_length=features.max_length,
                        batch_size=features.batch_size, loss_tokens=features.loss_tokens)
    return MixRun(folder, scores, losses, rows)


def _bias(rows: list[dict]) -> str:
    return str(rows[0].get("bias", "gender")) if rows else "gender"


def _score_rows(run: MixRun) -> list[dict]:
    ranked = selection.ranking(run.scores)
    by_id = {row["id"]: row for row in run.rows}
    return [{"id": i, "score": run.scores[i], "rank": n + 1, "loss": run.losses.get(i),
             "origin": by_id[i].get("origin"), "bias_type": by_id[i].get("bias_type")} for n, i in enumerate(ranked)]


def _difference(bias: Mapping[str, Any], control: Mapping[str, Any]) -> list[dict[str, float]]:
    """Coverage and precision of the biased mix minus those of the control mix, at each p."""
    return [{"p": b["p"], "coverage": b["coverage"] - c["coverage"], "precision": b["precision"] - c["precision"]}
            for b, c in zip(bias["all"]["method"], control["all"]["method"])]


def attribute(data: Path, out: Path, settings: AttributeSettings, *, model: str = "embedded",
              adapter: Path | None = None, control: Path | None = None) -> dict[str, Path]:
    """Score every row of the mix `data`, select the top p %, write curves against the planted rows."""
    from attribution.curves_figure import write_figure

    data, out = Path(data), Path(out)
    rows = read_jsonl(data)
    mix = upstream("data", data, rows)
    adapter_id, adapter_up = adapter_upstream(adapter) if adapter else (None, None)
    upstreams = [u for u in (mix, adapter_up) if u is not None]
    parents = {u.role: u.parent for u in upstreams if u.parent is not None}
    probes = load_probes(settings.probe, _bias(rows))  # a bad name or file fails here, before any model
    inputs = {"data_sha256": mix.content_sha256, "adapter": adapter_id,
              "model": model_identity(resolve_model(model)),
              "probe": {"name": Path(settings.probe).name, "sha256": content_hash(probes)},
              "settings": _settings_record(settings, adapter is None), "version": ATTRIBUTE_VERSION,
              "control_sha256": content_hash(read_jsonl(control)) if control else None}
    key = cards.stage_key(STAGE, inputs, parents)
    files = {"scores": out / SCORES, "selected": out / SELECTED, "random_selected": out / RANDOM_SELECTED,
             "curves": out / CURVES}
    if cards.check_reuse(out, STAGE, key, inputs, what="Attribution folder", fix=_FIX) == "complete":
        return files
    cards.write_card(out, STAGE, inputs, parents=parents, status="partial")
    run = attribute_mix(model, data, out, settings, adapter=adapter)
    curves: dict[str, Any] = {"fractions": list(selection.FRACTIONS), "by_bias_type": run.curves()}
    if control is not None:
        control_run = attribute_mix(model, Path(control), out / "control", settings)
        curves["control"] = control_run.curves()
        curves["difference"] = _difference(curves["by_bias_type"], curves["control"])
    ranked = _score_rows(run)
    selected = ranked[:selection.selected_count(settings.top, len(ranked))]
    record = provenance({}, upstreams)
    curves.update(top=settings.top, selected=len(selected), rows=len(ranked), provenance=record,
                  versions=package_versions(), loss_baseline="rows ranked by their training loss, highest first",
                  random_baseline="a uniformly random selection: hypergeometric mean and 95 % range")
    write_jsonl(files["scores"], ranked)
    write_jsonl(files["selected"], selected)
    drawn = random.Random(f"random-removal-{settings.features.seed}").sample(ranked, len(selected))
    write_jsonl(files["random_selected"], [{"id": r["id"], "origin": r["origin"], "bias_type": r["bias_type"]} for r in drawn])
    atomic_write_json(files["curves"], curves)
    files.update(write_figure(curves, out))
    planted = run.planted["all"]
    parts = {name: {"path": str(folder.resolve()), "key": (cards.read_card(cards.card_path(folder)) or {}).get("key")}
             for name, folder in (("adapter", Path(adapter) if adapter else out / "warmup"),
                                  ("train_features", out / "features" / "train"),
                                  ("probe_features", out / "features" / "probes"))}
    summary = {"rows": len(ranked), "planted": len(planted), "selected": len(selected),
               "selected_planted": sum(r["id"] in planted for r in selected), "made_from": parts,
               "provenance": record}
    cards.write_card(out, STAGE, inputs, parents=parents, summary=summary)
    return files


def _settings_record(settings: AttributeSettings, warm_up: bool) -> dict[str, Any]:
    """The settings in the key: the feature settings that change features, the warm-up when one is trained."""
    record: dict[str, Any] = {"top": settings.top, "reduce": settings.reduce,
                              "features": settings.features.key_dict(settings.features.dtype)}
    if warm_up:
        record["warmup"] = settings.warmup.key_dict()
    return record
