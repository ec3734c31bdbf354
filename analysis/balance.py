"""Group balance of generated data (SPEC §5): the generators' audits charted per group and bias type.

Gender: the share of female biographies per profession (of those whose gender could be read), with
a Clopper–Pearson 95 % interval from the counts, one bar per bias type; 0.5 is balance. Culture:
the share of each answer option per culture (or culture pair). The numbers are the audits' own
(generators/audit.py), so the chart shows exactly what the mix was cut from.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

from scipy.stats import binomtest

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.io import atomic_write_json, read_json
from bias_inheritance.provenance import package_versions
from generators.audit import AUDIT_SUFFIX, SHARE

BALANCE_JSON = "balance.json"


def find_audits(paths: Sequence[Path]) -> list[Path]:
    """Audit files named, or found under folders (a sweep's `augmented/`); none is a one-line error."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found += sorted(path.rglob(f"*{AUDIT_SUFFIX}"))
        elif path.name.endswith(AUDIT_SUFFIX) and path.is_file():
            found.append(path)
        else:
            raise UserError(f"{path} is neither an audit ({AUDIT_SUFFIX}) nor a folder holding audits.",
                            "pass a generated set's .audit.json or a sweep's output folder.")
    if not found:
        raise UserError(f"No {AUDIT_SUFFIX} files under {', '.join(map(str, paths))}.",
                        "generate a set first (`bias-inheritance generate` writes its audit beside it).")
    return found


def _share(counts: dict[str, int]) -> dict[str, Any]:
    """Female share of the rows whose gender was read, with its exact 95 % interval."""
    female, male = counts.get(SHARE[1], 0), counts.get(SHARE[2], 0)
    known = female + male
    if not known:
        return {"female": female, "known": 0, "share": None, "low": None, "high": None}
    interval = binomtest(female, known).proportion_ci(0.95)
    return {"female": female, "known": known, "share": female / known, "low": interval.low, "high": interval.high,
            "unread": sum(counts.values()) - known}


def balance_of(audit: dict[str, Any]) -> dict[str, Any]:
    """One audit's groups as shares: gender per profession, or answer options per culture."""
    rows: dict[str, Any] = {}
    for bias, groups in (audit.get("groups") or {}).items():
        cells = groups.get("cells") or {}
        if groups.get("counted") == SHARE[0]:
            total: dict[str, int] = {}
            for counts in cells.values():
                for value, n in counts.items():
                    total[value] = total.get(value, 0) + n
            rows[bias] = {group: _share(counts) for group, counts in [*cells.items(), ("all", total)]}
        else:
            rows[bias] = {group: {option: n / sum(counts.values()) for option, n in counts.items()}
                          for group, counts in cells.items() if sum(counts.values())}
    return rows


def _type_label(audit: dict[str, Any], path: Path) -> str:
    types = sorted((audit.get("bias_types") or {}).keys())
    return f"type {', '.join(types)}" if types else path.name


def analyze_balance(paths: Sequence[Path], out: Path) -> dict[str, Path]:
    """balance.json and the charts (PNG + SVG) of every audit under `paths`, into `out`."""
    from analysis.balance_figure import draw_balance

    audits = find_audits(paths)
    entries = []
    for path in audits:
        audit = read_json(path)
        entries.append({"audit": str(path.resolve()), "file": audit.get("file"), "bias_type": _type_label(audit, path),
                        "rows": audit.get("rows"), "usable": audit.get("usable"), "status": audit.get("status"),
                        "generator": _generator(path), "balance": balance_of(audit)})
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    document = {"analysis": "group balance of generated data (SPEC §5)", "sets": entries,
                "gender_interval": "Clopper-Pearson 95 % of the female share among rows whose gender was read",
                "versions": package_versions()}
    written = {"json": out / BALANCE_JSON}
    atomic_write_json(written["json"], document)
    written.update(draw_balance(entries, out))
    return written


def _generator(audit: Path) -> Any:
    """The generator named by the generated set's card (beside the audit), when it has one."""
    generated = audit.with_name(audit.name.removesuffix(AUDIT_SUFFIX) + ".jsonl")
    card = cards.read_card(cards.card_path(generated)) or {}
    return (card.get("inputs") or {}).get("generator")
