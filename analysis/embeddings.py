"""`bias-inheritance analyze embeddings DATASET`: are generated rows distributed like the original ones? (SPEC §5)

The rows' raw texts (a biography, or a culture row's question with its persona) are represented by
the final-layer mean of the model (the alignment loss's φ); original and generated rows are compared
with the energy distance (effect size with a bootstrap 95 % interval) and a permutation test whose
p-value is reported with its resolution 1/(B + 1). One comparison over every generated row, one per
bias type, and a 3-D PCA figure per bias type (original and generated in two colours).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from analysis.two_sample import compare
from bias_inheritance import cards
from bias_inheritance.errors import UserError
from bias_inheritance.identity import model_identity
from bias_inheritance.io import atomic_write_json, read_jsonl
from bias_inheritance.lineage import adapter_upstream, provenance, upstream
from bias_inheritance.model import resolve_model
from bias_inheritance.provenance import package_versions

STAGE = "analyze"
EMBEDDINGS_VERSION = 1
EMBEDDINGS_JSON = "embeddings.json"
TEXT_FIELDS = ("text", "question_text")  # what a gender row and a culture row say
_FIX = "pass another --out, or delete that folder."


def _text(index: int, row: dict) -> str:
    for field in TEXT_FIELDS:
        if isinstance(row.get(field), str) and row[field].strip():
            return row[field]
    raise UserError(f"Row {index} ({row.get('id')}) of the dataset has no text ({' or '.join(TEXT_FIELDS)}).",
                    "pass a mixed set written by `bias-inheritance mix`.")


def analyze_embeddings(dataset: Path, out: Path, *, model: str = "embedded", adapter: Path | None = None,
                       permutations: int = 999, seed: int = 0, batch_size: int = 16, device: str = "auto") -> Path:
    """embeddings.json (statistic, interval, p-value and its resolution, row counts; per bias type)
    and the PCA figures in `out`; reused only under the same key."""
    from analysis.embeddings_figure import draw_pca
    from analysis.representations import represent

    dataset, out = Path(dataset), Path(out)
    rows = read_jsonl(dataset)
    texts = [_text(i, row) for i, row in enumerate(rows)]
    generated = [row.get("origin") == "augmented" for row in rows]
    if sum(generated) < 2 or len(rows) - sum(generated) < 2:
        raise UserError(f"{dataset} has {len(rows) - sum(generated)} original and {sum(generated)} generated rows.",
                        "pass a mix with at least two rows of each (γ between 0 and 1).")
    data = upstream("data", dataset, rows)
    adapter_id, adapter_up = adapter_upstream(adapter) if adapter else (None, None)
    upstreams = [u for u in (data, adapter_up) if u is not None]
    parents = {u.role: u.parent for u in upstreams if u.parent is not None}
    identity = model_identity(resolve_model(model))
    inputs = {"data_sha256": data.content_sha256, "model": identity, "adapter": adapter_id,
              "permutations": permutations, "seed": seed, "version": EMBEDDINGS_VERSION}
    key = cards.stage_key(STAGE, inputs, parents)
    if cards.check_reuse(out, STAGE, key, inputs, what="Embedding analysis", fix=_FIX) == "complete":
        return out / EMBEDDINGS_JSON
    cards.write_card(out, STAGE, inputs, parents=parents, status="partial")
    vectors = represent(model, texts, adapter=adapter, batch_size=batch_size, device=device)
    mask = np.asarray(generated)
    types = sorted({str(row.get("bias_type")) for row, g in zip(rows, generated) if g})
    original = vectors[~mask]
    comparisons: dict[str, Any] = {}
    for name in ["all", *types]:
        chosen = mask & np.asarray([name == "all" or str(row.get("bias_type")) == name for row in rows])
        if chosen.sum() >= 2:
            comparisons[name] = compare(original, vectors[chosen], permutations=permutations, seed=seed).to_dict()
    figures = draw_pca(vectors, mask, [str(row.get("bias_type")) for row in rows], types, out)
    overall = comparisons["all"]
    document = {
        **overall, "dataset": str(dataset.resolve()), "model": identity, "adapter": str(adapter) if adapter else None,
        "representation": "final-layer mean over the text's tokens (trainers.alignment.masked_mean) of the raw row text",
        "note": f"a permutation p-value cannot go below 1/(B + 1) = {overall['p_value_resolution']:.2g}",
        "by_bias_type": {k: v for k, v in comparisons.items() if k != "all"},
        "figures": {k: str(v) for k, v in figures.items()},
        "provenance": provenance({"model": identity}, upstreams), "versions": package_versions(),
    }
    atomic_write_json(out / EMBEDDINGS_JSON, document)
    cards.write_card(out, STAGE, inputs, parents=parents, summary={
        "p_value": overall["p_value"], "energy_distance": overall["value"], "provenance": document["provenance"]})
    return out / EMBEDDINGS_JSON
