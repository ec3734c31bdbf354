"""3-D PCA of original and generated rows' representations, one figure per bias type (PNG and SVG)."""

from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np


def draw_pca(vectors: np.ndarray, generated: np.ndarray, bias_types: Sequence[str], types: Sequence[str],
             out: Path) -> dict[str, Path]:
    """PCA fitted on every row (so all figures share axes); original rows grey-blue, generated orange."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.decomposition import PCA

    components = min(3, vectors.shape[0], vectors.shape[1])
    projected = PCA(n_components=components, random_state=0).fit_transform(vectors)
    if components < 3:
        projected = np.pad(projected, ((0, 0), (0, 3 - components)))
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    for bias_type in types:
        chosen = generated & (np.asarray(bias_types) == bias_type)
        figure = plt.figure(figsize=(5, 4.5))
        axis = figure.add_subplot(projection="3d")
        for rows, colour, label in ((~generated, "#1f77b4", f"original (n = {int((~generated).sum())})"),
                                    (chosen, "#ff7f0e", f"generated, type {bias_type} (n = {int(chosen.sum())})")):
            axis.scatter(*projected[rows].T, s=10, c=colour, label=label, alpha=0.7)
        axis.set_xlabel("PC 1")
        axis.set_ylabel("PC 2")
        axis.set_zlabel("PC 3")
        axis.legend(fontsize=7)
        axis.set_title(f"Final-layer representations, bias type {bias_type}", fontsize=9)
        for suffix in ("png", "svg"):
            path = out / f"pca_type{bias_type}.{suffix}"
            figure.savefig(path, metadata={"Date": None} if suffix == "svg" else None)
            written[f"type{bias_type}_{suffix}"] = path
        plt.close(figure)
    return written
