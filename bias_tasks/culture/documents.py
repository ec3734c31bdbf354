"""Prepared culture rows as lm-eval documents: the prompt, and the provenance every metric row carries.

Only metric values survive a plain `lm_eval` run, so each document holds its share of the reserved
provenance metrics (schema.PROVENANCE_METRICS): 1.0 in `synthetic_sample` for rows of the bundled
sample, 1.0 in `unverified_data` for rows of a real file that did not match its pin. A row is at
most one of the two; `data_source` names the source for the per-sample logs.
"""

from __future__ import annotations

from typing import Any

from bias_inheritance import schema
from bias_inheritance.data import culture
from bias_inheritance.data.culture_registry import get_dataset
from bias_tasks.common.docs import as_dataset, data_folder
from bias_tasks.culture.prompts import instruction


def _flag(value: Any) -> bool:
    """A metadata switch given as JSON (true) or as text ("true", "1", "yes")."""
    return value.strip().lower() in ("1", "true", "yes") if isinstance(value, str) else bool(value)


def provenance(source: culture.CultureSource, key: str) -> dict[str, Any]:
    """The provenance fields of every document of dataset `key` read from `source`."""
    synthetic = source.synthetic
    return {
        "data_source": source.label,
        schema.SYNTHETIC_SAMPLE_METRIC: float(synthetic),
        schema.UNVERIFIED_DATA_METRIC: float(not synthetic and not source.datasets[key]["verified"]),
    }


def load_docs(dataset: str, persona: Any = False, **metadata: Any) -> Any:
    """Prepared rows of one dataset (named by the task's dataset_kwargs) with their prompt and provenance.

    `metadata` is lm-eval's `--metadata` merged with the YAML's: `culture_data_dir` reads another
    prepared folder, `persona` adds the culture cue; other keys are ignored.
    """
    rows, source = culture.load_rows(dataset, data_folder("culture", metadata))
    spec, use_persona, fields = get_dataset(dataset), _flag(persona), provenance(source, dataset)
    for row in rows:
        row["prompt"] = instruction(spec, row["text"], persona=use_persona)
        row.update(fields)
    return as_dataset(rows)
