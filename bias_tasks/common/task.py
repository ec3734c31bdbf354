"""The lm-eval task class of every task that loads documents through `custom_dataset` (YAML `class:`).

lm-eval 0.4.13's `ConfigurableTask.download` (lm_eval/api/task.py) logs "Custom kwargs can be
passed to `--metadata`" for every task whose `custom_dataset` is a function: our twenty tasks and
the culture twins would fill the console with the same hint. This class loads documents the
same way, quietly, and turns a data problem (a `UserError`, e.g. data not prepared) into a one-line
exit naming the command that fixes it, instead of a traceback from inside lm-eval.
"""

from __future__ import annotations

from typing import Any

from lm_eval.api.task import ConfigurableTask

from bias_inheritance.errors import UserError


class PreparedDataTask(ConfigurableTask):
    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        # lm-eval passes the YAML's whole mapping, `class` included, which TaskConfig does not accept.
        super().__init__(config={k: v for k, v in (config or {}).items() if k != "class"}, **kwargs)

    def download(self, dataset_kwargs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        """What ConfigurableTask.download does for a `custom_dataset`, minus its per-task hint."""
        try:
            self.dataset = self.config.custom_dataset(**(self.config.metadata or {}), **(self.config.dataset_kwargs or {}))
        except UserError as error:
            raise SystemExit(f"{self.config.task}: {error}") from None
