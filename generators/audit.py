"""The audit of a generated set: what the generator actually wrote, before anyone trains on it.

The bias under study is whatever the generator produced, so every set gets a record of it beside it
(`<name>.audit.json`): the group balance of SPEC §5 (gender per profession; answers per culture),
how evenly each sampled attribute was covered, whom contrastive texts chose (and that one's attributes), what was unusable
(empty, refusals, unparseable) and how many retries it took. `audit_text` prints it for
`bias-inheritance audit PATH`, also for a set still being generated (it says so).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

from bias_inheritance import cards
from bias_inheritance.data.opinions import OPTION_LETTERS
from bias_inheritance.errors import UserError
from bias_inheritance.identity import canonical_json
from bias_inheritance.io import atomic_write_json
from generators.journal import read_journal

AUDIT_SUFFIX = ".audit.json"


@dataclass(frozen=True)
class Groups:
    """SPEC §5 "groups" of one bias: what a row is grouped by, and what is counted in each group.

    `by`: the row fields naming the group, the first one set (a list, such as a contrastive row's two
    cultures, is the group "a vs b"); `counted`: the row field counted; `letters`: count option
    indices as option letters (questions differ in their options, their positions do not).
    """

    by: tuple[str, ...]
    counted: str
    letters: bool = False


GROUPS: Mapping[str, Groups] = {
    "gender": Groups(("profession",), "gender"),
    "culture": Groups(("culture", "cultures"), "answer_index", letters=True),
}
SHARE = ("gender", "female", "male")  # the counted field, and the value whose share of the two is reported
NONE = "(none)"


def audit_path(output: Path) -> Path:
    """`<name>.audit.json` beside a generated `<name>.jsonl` (as its card is `<name>.card.json`)."""
    output = Path(output)
    return output.with_name(output.name.removesuffix(output.suffix) + AUDIT_SUFFIX)


def _label(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return canonical_json(value)
    return str(value)


def _sort_key(label: str) -> tuple:
    """Numbers in numeric order first, then text; one order on every machine."""
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def _sorted(counter: Mapping[str, int]) -> dict[str, int]:
    return {k: counter[k] for k in sorted(counter, key=_sort_key)}


def _flatten(name: str, value: Any, into: dict[str, Counter], positions: bool = True) -> None:
    """Count an attribute's values: mapping items by key, list items pooled and (for two or more,
    such as a contrastive prompt's candidates) also by position, since mention order is a factor too."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            _flatten(f"{name}.{key}", item, into, positions)
    elif isinstance(value, list):
        for position, item in enumerate(value):
            _flatten(name, item, into, positions=False)
            if positions and len(value) > 1:
                _flatten(f"{name}[{position}]", item, into, positions=False)
    else:
        into.setdefault(name, Counter())[_label(value)] += 1


def _distributions(values: Iterable[tuple[str, Any]]) -> dict[str, dict[str, int]]:
    into: dict[str, Counter] = {}
    for name, value in values:
        _flatten(name, value, into)
    return {name: _sorted(into[name]) for name in sorted(into)}


def _groups(bias: str, rows: list[dict]) -> dict[str, Any] | None:
    """SPEC §5 groups over usable rows: per group value (profession, culture), the counted field's counts."""
    if bias not in GROUPS:
        return None
    spec = GROUPS[bias]
    by, counted = " or ".join(spec.by), "option" if spec.letters else spec.counted
    cells: dict[str, Counter] = {}
    for row in rows:
        if row.get("usable", True) and row.get(spec.counted) is not None:
            group = next((row[f] for f in spec.by if row.get(f) is not None), None)
            label = " vs ".join(map(_label, group)) if isinstance(group, list) else _label(group)
            value = OPTION_LETTERS[row[spec.counted]] if spec.letters else _label(row[spec.counted])
            cells.setdefault(label, Counter())[value] += 1
    if not cells:
        return None
    table = {group: _sorted(cells[group]) for group in sorted(cells, key=_sort_key)}
    result: dict[str, Any] = {"by": by, "counted": counted, "cells": table}
    if counted == SHARE[0]:
        shares = {}
        for group, counts in [*table.items(), ("all", sum(cells.values(), Counter()))]:
            known = counts.get(SHARE[1], 0) + counts.get(SHARE[2], 0)
            shares[group] = counts.get(SHARE[1], 0) / known if known else None
        result[f"{SHARE[1]}_share"] = shares
    return result


def _about(rows: list[dict]) -> Iterable[tuple[str, Any]]:
    """Whom contrastive texts are about: the candidate's position (0 = named first) and, when the row
    lists its candidates, that candidate's attributes ("about.gender", "about.name", ...)."""
    for row in rows:
        if "about" not in row:
            continue
        index, candidates = row["about"], (row.get("attributes") or {}).get("candidates")
        yield "about", index
        if isinstance(index, int) and isinstance(candidates, list) and 0 <= index < len(candidates):
            yield "about", candidates[index]


def build_audit(rows: list[dict], *, requested: int | None, complete: bool, torn_bytes: int = 0,
                duplicates: int = 0) -> dict[str, Any]:
    """The audit of generated rows (deterministic: equal rows give an equal audit)."""
    usable = [r for r in rows if r.get("usable", True)]
    attempts = Counter(int(r.get("attempts", 1)) for r in rows)
    biases = sorted({str(r.get("bias", "gender")) for r in rows})
    result: dict[str, Any] = {
        "status": "complete" if complete else "partial",
        "requested": requested,
        "rows": len(rows),
        "usable": len(usable),
        "bias": biases,
        "bias_types": _sorted(Counter(_label(r.get("bias_type")) for r in rows)),
        "empty": sum(not str(r.get("text", "")).strip() for r in rows),
        "unusable_reasons": _sorted(Counter(_label(r.get("unusable_reason")) for r in rows if not r.get("usable", True))),
        "retries": {
            "rows_retried": sum(n for a, n in attempts.items() if a > 1),
            "extra_generations": sum((a - 1) * n for a, n in attempts.items()),
            "usable_after_retry": sum(1 for r in usable if int(r.get("attempts", 1)) > 1),
            "attempts": _sorted(Counter({str(a): n for a, n in attempts.items()})),
        },
        "groups": {bias: _groups(bias, [r for r in rows if r.get("bias", "gender") == bias]) for bias in biases},
        "attributes": _distributions((name, value) for r in rows for name, value in (r.get("attributes") or {}).items()),
        "about": _distributions(_about(usable)),
    }
    if torn_bytes or duplicates:
        result["journal"] = {"torn_bytes": torn_bytes, "duplicates": duplicates}
    return result


def write_audit(output: Path, rows: list[dict], *, requested: int | None, complete: bool) -> Path:
    """Write (atomically) the audit beside `output`."""
    path = audit_path(output)
    atomic_write_json(path, {"file": Path(output).name, **build_audit(rows, requested=requested, complete=complete)})
    return path


def audit_of(path: Path) -> dict[str, Any]:
    """The audit of a generated file as it is now (finished or still being generated)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"{path} does not exist.", "pass a JSON-lines file written by `bias-inheritance generate`.")
    contents = read_journal(path)
    card = cards.read_card(cards.card_path(path))
    requested = (card or {}).get("inputs", {}).get("count")
    complete = card is not None and card.get("status") == "complete"
    return build_audit(contents.rows, requested=requested, complete=complete,
                       torn_bytes=contents.torn_bytes, duplicates=contents.duplicates)


def _counts(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{value} {n}" for value, n in counts.items()) or "none"


def _group_lines(bias: str, groups: Mapping[str, Any]) -> list[str]:
    share_name = f"{SHARE[1]}_share"
    shares = groups.get(share_name)
    values = sorted({v for counts in groups["cells"].values() for v in counts}, key=_sort_key)
    width = max([len(groups["by"]), *map(len, groups["cells"])]) + 2
    header = groups["by"].ljust(width) + "".join(v.rjust(10) for v in values) + (f"{share_name:>15}" if shares else "")
    lines = [f"{bias} groups (usable rows): {groups['counted']} per {groups['by']}", "  " + header]
    total: Counter = sum((Counter(counts) for counts in groups["cells"].values()), Counter())
    for group, counts in [*groups["cells"].items(), ("all", total)]:
        line = group.ljust(width) + "".join(str(counts.get(v, 0)).rjust(10) for v in values)
        if shares:
            share = shares[group]
            line += f"{'-' if share is None else f'{share:.3f}':>15}"
        lines.append("  " + line)
    return lines


def render(audit: Mapping[str, Any], name: str) -> str:
    """The audit as text for a terminal."""
    of = f" of {audit['requested']} requested" if audit.get("requested") is not None else ""
    lines = [f"Audit of {name} ({audit['status']}): {audit['rows']} rows{of}, {audit['usable']} usable"]
    if audit["status"] != "complete":
        lines.append("PARTIAL: generation has not finished (or the file has no complete card); counts cover the rows so far.")
    if audit.get("journal"):
        lines.append(f"journal: a torn last line of {audit['journal']['torn_bytes']} bytes ignored, "
                     f"{audit['journal']['duplicates']} duplicate rows ignored")
    types = ", ".join(f"{t} ({n} rows)" for t, n in audit["bias_types"].items())
    lines.append(f"bias: {', '.join(audit['bias']) or NONE}; bias types: {types or NONE}")
    unusable = audit["rows"] - audit["usable"]
    lines.append(f"unusable: {unusable} ({_counts(audit['unusable_reasons'])}); empty texts: {audit['empty']}")
    retries = audit["retries"]
    lines.append(f"retries: {retries['rows_retried']} rows retried ({retries['extra_generations']} extra generations), "
                 f"{retries['usable_after_retry']} usable after a retry")
    for bias, groups in audit["groups"].items():
        if groups:
            lines.extend(_group_lines(bias, groups))
    if audit["attributes"]:
        lines.append("attributes:")
        lines.extend(f"  {name}: {_counts(counts)}" for name, counts in audit["attributes"].items())
    if audit["about"]:
        lines.append("about (usable rows; whom a contrastive text is about, 0 = the candidate named first):")
        lines.extend(f"  {name}: {_counts(counts)}" for name, counts in audit["about"].items())
    return "\n".join(lines)


def audit_text(path: Path) -> str:
    """What `bias-inheritance audit PATH` prints."""
    return render(audit_of(path), str(path))
