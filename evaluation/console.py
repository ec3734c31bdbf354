"""A quiet console for lm-eval runs: each kind of warning once, then one line counting the repeats.

lm-eval warns once per task or per document about things that are the same for every task of a
run ("<task>: Custom kwargs can be passed to `--metadata` ...", one per culture task: ~340 lines
for the full glob). The filter below lets the first record of each kind through and counts the
rest; the kind is the message with its leading task name and its numbers blanked out.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from contextlib import contextmanager
from typing import Iterator

# Loggers whose repeated records are folded (our task modules log per-task notes too).
QUIET_LOGGERS = ("lm_eval", "bias_tasks")
_TASK_PREFIX = re.compile(r"^\[?[\w.:-]+\]?:\s+")
_NUMBERS = re.compile(r"\d+(\.\d+)?")
LOGGER = logging.getLogger(__name__)


def message_kind(message: str) -> str:
    """What makes two records "the same warning": the text without task prefix and numbers."""
    return _NUMBERS.sub("#", _TASK_PREFIX.sub("", message, count=1))


class RepeatFilter(logging.Filter):
    """Lets the first record of each kind (at or above `level`) through and counts the others."""

    def __init__(self, level: int = logging.INFO) -> None:
        super().__init__()
        self.level = level
        self.hidden: Counter[str] = Counter()
        self._seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self.level:
            return True
        kind = f"{record.levelno}:{message_kind(record.getMessage())}"
        if kind in self._seen:
            self.hidden[kind] += 1
            return False
        self._seen.add(kind)
        return True


def _loggers() -> list[logging.Logger]:
    """Every logger that exists now under QUIET_LOGGERS (records are filtered where they are made)."""
    # Import the modules that log per task or per document, so their loggers exist before we attach.
    import lm_eval.api.task  # noqa: F401
    import lm_eval.evaluator  # noqa: F401
    import lm_eval.models.huggingface  # noqa: F401

    names = [n for n in logging.root.manager.loggerDict if n.split(".")[0] in QUIET_LOGGERS]
    return [logging.getLogger(n) for n in sorted(set(names) | set(QUIET_LOGGERS))]


@contextmanager
def quiet_repeats() -> Iterator[RepeatFilter]:
    """Fold repeated lm-eval records while the block runs; report how many were hidden after."""
    repeat = RepeatFilter()
    loggers = _loggers()
    for logger in loggers:
        logger.addFilter(repeat)
    try:
        yield repeat
    finally:
        for logger in loggers:
            logger.removeFilter(repeat)
        total = sum(n for kind, n in repeat.hidden.items() if int(kind.split(":", 1)[0]) >= logging.WARNING)
        if total:
            LOGGER.warning("%d repeated warning(s) hidden (the first of each kind is shown above).", total)
