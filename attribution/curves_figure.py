"""The coverage and precision curves of an attribution run, as PNG (to look at) and SVG (for papers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

FIGURE = "curves"
_STYLE = {"method": ("-", "o", "gradient attribution"), "loss": ("--", "s", "loss baseline (highest first)"),
          "random": (":", "", "random selection (mean, 95 % range)"), "control": ("-.", "^", "attribution on the control mix")}


def write_figure(curves: Mapping[str, Any], out: Path) -> dict[str, Path]:
    """Coverage (left) and precision (right) against the selected share p, every row of the mix."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = dict(curves["by_bias_type"]["all"])
    if "control" in curves:
        lines["control"] = curves["control"]["all"]["method"]
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.6))
    for axis, measure in zip(axes, ("coverage", "precision")):
        for name in ("method", "loss", "random", "control"):
            if name not in lines:
                continue
            points = lines[name]
            style, marker, label = _STYLE[name]
            x = [100 * p["p"] for p in points]
            axis.plot(x, [p[measure] for p in points], linestyle=style, marker=marker or None, label=label)
            if name == "random":
                axis.fill_between(x, [p[f"{measure}_low"] for p in points], [p[f"{measure}_high"] for p in points],
                                  alpha=0.15)
        axis.set_xlabel("rows selected, p (%)")
        axis.set_ylabel(measure)
        axis.set_ylim(-0.02, 1.02)
        axis.grid(alpha=0.3)
    planted = curves["by_bias_type"]["all"]["planted"]
    figure.suptitle(f"Finding the planted rows: {planted} augmented of {curves['rows']}", fontsize=10)
    axes[0].legend(fontsize=7, loc="lower right")
    figure.tight_layout()
    written = {}
    for suffix in ("png", "svg"):
        path = Path(out) / f"{FIGURE}.{suffix}"
        figure.savefig(path, metadata={"Date": None} if suffix == "svg" else None)
        written[f"figure_{suffix}"] = path
    plt.close(figure)
    return written
