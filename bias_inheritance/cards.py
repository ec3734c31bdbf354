"""Cards: the JSON record every stage writes beside its output, and the rules for reusing outputs.

A card holds the stage, its key (the hash of its full input record, see `identity`), that record,
the cards of the inputs it was made from (`parents`: path and key), a summary of the output, the
environment, and a status: "partial" while the stage runs, "complete" once the output is whole.
Cards chain: a result names the adapter's card, which names the mix's, which names D_a's and D_o's;
`chain()` walks that chain for `bias-inheritance show`.

Reuse is decided by `check_reuse`: an output is reused (or resumed) only when its card carries the
same key; an output without a card, or with another key, is never used silently.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Mapping

from bias_inheritance.errors import UserError
from bias_inheritance.identity import differing_inputs, input_key
from bias_inheritance.io import atomic_write_json, read_json
from bias_inheritance.provenance import package_versions
from bias_inheritance.schema import CARD_SUFFIX, FOLDER_CARD

CARD_VERSION = 1
# select: a subset of prepared rows (a culture's D_o); features, attribute, unlearn: BiasDiff (issue 11)
STAGES = ("prepare", "select", "generate", "mix", "train", "features", "attribute", "unlearn", "evaluate", "rescore",
          "analyze")

Reuse = Literal["absent", "partial", "complete"]


def card_path(output: Path) -> Path:
    """`<folder>/card.json` for a folder output, `<name>.card.json` beside a file output."""
    output = Path(output)
    if output.is_dir() or not output.suffix:
        return output / FOLDER_CARD
    return output.with_name(output.name.removesuffix(output.suffix) + CARD_SUFFIX)


@dataclass(frozen=True)
class Parent:
    """An input that is itself an output of this harness: where its card is and the key it had."""

    role: str
    card: Path
    key: str
    stage: str

    def to_dict(self) -> dict[str, str]:
        return {"card": str(Path(self.card).resolve()), "key": self.key, "stage": self.stage}


def parent(role: str, output: Path) -> Parent:
    """The card of an upstream output, required complete: its key becomes one of our inputs."""
    path = card_path(output)
    card = read_card(path)
    if card is None:
        raise UserError(f"{output} has no card ({path.name}), so what made it is unknown.",
                        "recreate it with this version of bias-inheritance.")
    if card.get("status") != "complete":
        raise UserError(f"{output} is unfinished (its card says {card.get('status')!r}).", "re-run the stage that writes it.")
    return Parent(role=role, card=path, key=str(card["key"]), stage=str(card["stage"]))


def stage_key(stage: str, inputs: Mapping[str, Any], parents: Mapping[str, Parent] | None = None) -> str:
    """The key of a stage run: its stage name, its own inputs and its parents' keys."""
    return input_key({"stage": stage, "inputs": inputs, "parents": {r: p.key for r, p in (parents or {}).items()}})


def read_card(path: Path) -> dict[str, Any] | None:
    """A card, or None when there is none; a corrupt card is a one-line error."""
    path = Path(path)
    if not path.is_file():
        return None
    card = read_json(path)
    if not isinstance(card, dict) or "key" not in card or "stage" not in card:
        raise UserError(f"{path} is not a bias-inheritance card.", "delete it and re-run the stage.")
    return card


def write_card(
    output: Path,
    stage: str,
    inputs: Mapping[str, Any],
    *,
    parents: Mapping[str, Parent] | None = None,
    status: Literal["partial", "complete"] = "complete",
    summary: Mapping[str, Any] | None = None,
    environment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write (atomically) and return the card of `output`."""
    if stage not in STAGES:
        raise ValueError(f"unknown stage {stage!r}")
    parents = dict(parents or {})
    card = {
        "card_version": CARD_VERSION,
        "stage": stage,
        "key": stage_key(stage, inputs, parents),
        "status": status,
        "output": str(Path(output).resolve()),
        "inputs": dict(inputs),
        "parents": {role: p.to_dict() for role, p in parents.items()},
        "summary": dict(summary or {}),
        "environment": {"versions": package_versions(), **dict(environment or {})},
        "written": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    }
    atomic_write_json(card_path(output), card)
    return card


def check_reuse(output: Path, stage: str, key: str, inputs: Mapping[str, Any], *, what: str, fix: str) -> Reuse:
    """Whether `output` may be reused ("complete"), resumed ("partial") or must be made ("absent").

    An output whose card has another key, or that exists without a card, raises a UserError that
    names the differing inputs; it is never reused or overwritten silently.
    """
    output = Path(output)
    card = read_card(card_path(output))
    if card is None:
        if output.exists() and (output.is_file() or any(output.iterdir())):
            raise UserError(f"{what} {output} exists but has no card, so its inputs are unknown.", fix)
        return "absent"
    if card["key"] != key:
        differ = differing_inputs(card.get("inputs", {}), dict(inputs))
        if card.get("stage") != stage:
            differ = [f"stage ({card.get('stage')} != {stage})"]
        named = ", ".join(differ[:8]) or "upstream data (a parent's key)"
        raise UserError(f"{what} {output} was made from other inputs ({named} differ).", fix)
    return "complete" if card.get("status") == "complete" else "partial"


def chain(output_or_card: Path) -> dict[str, Any]:
    """The card of an output with its parents' cards nested under `parents_cards` (for `show`)."""
    path = Path(output_or_card)
    card_file = path if path.name.endswith(CARD_SUFFIX) or path.name == FOLDER_CARD else card_path(path)
    card = read_card(card_file)
    if card is None:
        raise UserError(f"{path} has no card ({card_file.name}).", "pass an output written by bias-inheritance.")
    nested: dict[str, Any] = {}
    for role, info in card.get("parents", {}).items():
        parent_file = Path(info["card"])
        parent_card = read_card(parent_file)
        if parent_card is None:
            nested[role] = {"missing": str(parent_file), "key": info.get("key")}
        else:
            nested[role] = chain(parent_file)
            if parent_card["key"] != info.get("key"):
                nested[role]["stale"] = f"card now has key {parent_card['key'][:12]}, this output was made from {str(info.get('key'))[:12]}"
    return {**card, "parents_cards": nested}
