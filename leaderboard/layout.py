"""Which task tables the Markdown page has.

Sixteen culture tasks (and their `_ll` twins, and their groups) would make dozens of two-column
tables; tasks that read the same data family, share lm-eval's output type and report the same
measurements are one family of tasks, shown as one table per measurement (rows = runs, columns =
tasks). A task with no such siblings keeps its own table (rows = runs, columns = measurements).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from leaderboard.results import RunRecord, TaskEntry


@dataclass(frozen=True)
class TaskTable:
    title: str
    tasks: tuple[str, ...]  # one task, or the family of tasks that are the columns
    measurements: tuple[str, ...]  # the columns of a one-task table; the one measurement of a family table

    @property
    def is_family(self) -> bool:
        return len(self.tasks) > 1


def short_names(names: set[str]) -> dict[str, str]:
    """Task names without their shared prefix (`bias_inheritance_`), cut after an underscore or hyphen."""
    if len(names) < 2:
        return {name: name for name in names}
    prefix = os.path.commonprefix(sorted(names))
    prefix = prefix[: max(prefix.rfind("_"), prefix.rfind("-")) + 1]
    return {name: name[len(prefix):] or name for name in names}


def task_tables(records: list[RunRecord]) -> list[TaskTable]:
    """Tables in a stable order: one-task tables, then family tables, then groups; each by name."""
    entries: dict[str, TaskEntry] = {}
    measured: dict[str, set[str]] = {}
    for record in records:
        for name, entry in record.tasks.items():
            entries.setdefault(name, entry)
            measured.setdefault(name, set()).update(entry.metrics.measurements)
    families: dict[tuple, list[str]] = {}
    for name, entry in sorted(entries.items()):
        if measured[name]:  # a task that reports only provenance metrics has no table
            key = (entry.is_group, entry.family, entry.output_type, frozenset(measured[name]))
            families.setdefault(key, []).append(name)
    tables = []
    for (is_group, family, output_type, names), tasks in sorted(
        families.items(), key=lambda kv: (kv[0][0], len(kv[1]) > 1, kv[1][0])
    ):
        if len(tasks) == 1:
            tables.append(TaskTable(tasks[0], (tasks[0],), tuple(sorted(names))))
            continue
        kind = f"{family or 'other'} {'groups' if is_group else 'tasks'}" + (f" ({output_type})" if output_type else "")
        tables += [TaskTable(f"{kind}: {measurement}", tuple(tasks), (measurement,)) for measurement in sorted(names)]
    return tables
