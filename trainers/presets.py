"""Named training presets: the paper's hyperparameters, and the values it does not report, marked.

The paper (SPEC §3) states only the learning rate and the epochs: gender 1e-5 × 3 epochs; culture
1e-6 × 5 epochs for Arabic and × 3 for the other cultures. It reports no LoRA rank, target modules,
batch size, schedule or maximum length. A preset fills those (the LoRA shape is BiasDiff's, SPEC §7)
and the training card lists every filled value under `assumptions`, so a reader can tell a paper
value from ours. Settings written in the config win over the preset's.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Mapping

from bias_inheritance.errors import UserError

# BiasDiff's warm-up LoRA (SPEC §7): the only LoRA shape either paper states.
BIASDIFF_LORA: Mapping[str, Any] = MappingProxyType(
    {"lora_r": 16, "lora_alpha": 32, "lora_dropout": 0.05, "target_modules": ("q_proj", "v_proj")}
)
# Filled by us for the paper presets: common SFT choices for an 8B model on one GPU.
UNREPORTED: Mapping[str, Any] = MappingProxyType(
    {**BIASDIFF_LORA, "batch_size": 8, "gradient_accumulation_steps": 1, "max_length": 512,
     "lr_scheduler_type": "linear", "warmup_ratio": 0.0}
)


@dataclass(frozen=True)
class Preset:
    """`paper`: values the paper states; `assumed`: values it does not report, filled here."""

    description: str
    paper: Mapping[str, Any]
    assumed: Mapping[str, Any]

    def values(self) -> dict[str, Any]:
        return {**self.assumed, **self.paper}


PRESETS: Mapping[str, Preset] = MappingProxyType({
    "paper-gender": Preset("gender (Bias in Bios), SPEC §3", {"learning_rate": 1e-5, "epochs": 3.0}, UNREPORTED),
    "paper-culture": Preset("culture (GlobalOpinionQA), Chinese, Portuguese, Spanish; SPEC §3",
                            {"learning_rate": 1e-6, "epochs": 3.0}, UNREPORTED),
    "paper-culture-arabic": Preset("culture (GlobalOpinionQA), Arabic; SPEC §3",
                                   {"learning_rate": 1e-6, "epochs": 5.0}, UNREPORTED),
    # Nothing here is the paper's: a higher learning rate so a two-epoch CPU run on a 135M model moves at all.
    "cpu-quickstart": Preset("the CPU quickstart on the embedded 135M model", {},
                             {**UNREPORTED, "learning_rate": 2e-4, "epochs": 2.0, "max_length": 384}),
})


def preset(name: str) -> Preset:
    if name not in PRESETS:
        raise UserError(f"Unknown training preset {name!r}.", f"use one of: {', '.join(PRESETS)}.")
    return PRESETS[name]


def expand(raw: Mapping[str, Any]) -> dict[str, Any]:
    """`raw` with its preset's values filled in below the values it sets itself."""
    name = raw.get("preset")
    if name is None:
        return dict(raw)
    if not isinstance(name, str):
        raise UserError(f"`preset` must be a name (got {name!r}).", f"use one of: {', '.join(PRESETS)}.")
    return {**preset(name).values(), **raw}


def assumptions(name: str | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    """The settings that hold a preset's assumed (not paper-reported) value: the card lists them."""
    if name is None:
        return {}
    filled = preset(name).assumed
    return {key: settings[key] for key, value in filled.items()
            if key not in preset(name).paper and _same(settings.get(key), value)}


def _same(a: Any, b: Any) -> bool:
    return list(a) == list(b) if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) else a == b
