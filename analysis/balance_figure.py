"""Charts of group balance: female share per profession (one bar per bias type, with its interval),
and answer-option shares per culture (one panel per bias type)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence


def _save(figure: Any, out: Path, name: str) -> dict[str, Path]:
    written = {}
    for suffix in ("png", "svg"):
        path = out / f"{name}.{suffix}"
        figure.savefig(path, metadata={"Date": None} if suffix == "svg" else None)
        written[f"{name}_{suffix}"] = path
    return written


def draw_balance(entries: Sequence[dict[str, Any]], out: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written: dict[str, Path] = {}
    gender = [e for e in entries if "gender" in e["balance"]]
    if gender:
        groups = sorted({g for e in gender for g in e["balance"]["gender"]} - {"all"}) + ["all"]
        figure, axis = plt.subplots(figsize=(max(6, 1.2 * len(groups)), 3.8))
        width = 0.8 / len(gender)
        for k, entry in enumerate(gender):
            shares = entry["balance"]["gender"]
            xs = [i + (k - (len(gender) - 1) / 2) * width for i in range(len(groups))]
            ys = [(shares.get(g) or {}).get("share") for g in groups]
            drawn = [(x, y, shares[g]) for x, y, g in zip(xs, ys, groups) if y is not None]
            axis.bar([d[0] for d in drawn], [d[1] for d in drawn], width,
                     yerr=[[d[1] - d[2]["low"] for d in drawn], [d[2]["high"] - d[1] for d in drawn]],
                     capsize=2, label=entry["bias_type"])
            for x, _, share in drawn:  # the rows each bar counts: its n
                axis.text(x, 1.01, f"n={share['known']}", ha="center", va="bottom", fontsize=5, rotation=90)
        axis.axhline(0.5, color="grey", linestyle=":", linewidth=1)
        axis.set_xticks(range(len(groups)), groups, rotation=20)
        axis.set_ylim(0, 1.12)
        axis.set_ylabel("female share of generated biographies")
        axis.set_title("Group balance per profession (bars: 95 % interval; 0.5 is balance)", fontsize=9)
        axis.legend(fontsize=7)
        figure.tight_layout()
        written.update(_save(figure, out, "balance_gender"))
        plt.close(figure)
    culture = [e for e in entries if "culture" in e["balance"]]
    if culture:
        figure, axes = plt.subplots(1, len(culture), figsize=(4.5 * len(culture), 3.6), squeeze=False)
        for axis, entry in zip(axes[0], culture):
            shares = entry["balance"]["culture"]
            groups = list(shares)
            options = sorted({o for s in shares.values() for o in s})
            bottom = [0.0] * len(groups)
            for option in options:
                values = [shares[g].get(option, 0.0) for g in groups]
                axis.bar(range(len(groups)), values, bottom=bottom, label=option)
                bottom = [b + v for b, v in zip(bottom, values)]
            axis.set_xticks(range(len(groups)), groups, rotation=20, fontsize=7)
            axis.set_title(f"answers per culture, {entry['bias_type']}", fontsize=9)
        axes[0][0].set_ylabel("share of answers")
        axes[0][-1].legend(fontsize=7, title="option")
        figure.tight_layout()
        written.update(_save(figure, out, "balance_culture"))
        plt.close(figure)
    return written
