"""`bias-inheritance show PATH`: the chain of cards behind any output, as an indented tree.

Each line names a stage, its key, its output and the provenance a reader checks first; parents are
indented under the output made from them, so a result reads down to the data it came from.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bias_inheritance.cards import chain
from bias_inheritance.identity import describe_identity, short_key
from bias_inheritance.schema import RUN_PROVENANCE_FIELDS


def _value(value: Any) -> str:
    """Compact text: model identities described, sha256 hashes cut to 12 digits."""
    if isinstance(value, dict):
        return str(describe_identity(value, digits=12))
    text = str(value)
    return text[:12] if len(text) == 64 and all(c in "0123456789abcdef" for c in text) else text


def _lines(node: dict[str, Any], role: str, depth: int, seen: set[str]) -> list[str]:
    indent = "  " * depth
    if "missing" in node:
        return [f"{indent}{role}: card missing ({node['missing']}, key {short_key(str(node.get('key')))})"]
    status = "" if node.get("status") == "complete" else f" [{node.get('status')}]"
    head = f"{indent}{role}: {node['stage']} {short_key(node['key'])}{status}  {node.get('output', '')}"
    if node["key"] in seen:
        return [head + "  (shown above)"]
    seen.add(node["key"])
    lines = [head]
    if node.get("stale"):
        lines.append(f"{indent}  ! stale: {node['stale']}")
    summary = node.get("summary") or {}
    provenance = summary.get("provenance") or {}
    shown = [f"{name}={_value(provenance[name])}" for name in RUN_PROVENANCE_FIELDS if provenance.get(name) is not None]
    if (summary.get("eval_data") or {}).get("label"):
        shown.append(f"eval_data={summary['eval_data']['label']}")
    if shown:
        lines.append(f"{indent}  " + "  ".join(shown))
    environment = node.get("environment") or {}
    versions = environment.get("versions") or {}
    extra = {k: environment[k] for k in ("device", "dtype") if environment.get(k)}
    if versions or extra:
        picked = {k: versions[k] for k in ("bias-inheritance", "lm-eval", "transformers", "torch") if k in versions}
        lines.append(f"{indent}  " + "  ".join(f"{k}={v}" for k, v in {**extra, **picked}.items()))
    for parent_role, parent in (node.get("parents_cards") or {}).items():
        lines.extend(_lines(parent, parent_role, depth + 1, seen))
    return lines


def render_chain(path: Path, as_json: bool = False) -> str:
    """The card chain of `path` as text (or the full nested JSON)."""
    tree = chain(Path(path))
    if as_json:
        return json.dumps(tree, indent=2, ensure_ascii=False)
    return "\n".join(_lines(tree, "output", 0, set()))
