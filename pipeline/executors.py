"""Where a sweep's pieces run: local subprocesses, or Slurm job arrays through `submitit` (an optional extra).

Both run `pipeline.sweep_worker` on pieces of the same plan; claims (pipeline/claims.py) make any
order safe, and the dependencies here only keep a worker from idling on a pool another worker makes:
the generation pools (and the base evaluation and controls, which need no pool) go first, the cells
after them.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from bias_inheritance.errors import UserError
from pipeline.plan import Plan


SLURM_FOLDER = "slurm"
# One GPU per job, an 8B LoRA cell's day; override with `parameters` (submitit's names, e.g. slurm_partition).
SLURM_DEFAULTS: Mapping[str, Any] = {"gpus_per_node": 1, "tasks_per_node": 1, "timeout_min": 24 * 60,
                                     "name": "bias-inheritance"}


def waves(plan: Plan, leaves: Sequence[str]) -> list[list[str]]:
    """The leaves and everything they need, in waves: a piece runs in the wave after the deepest
    piece it needs (pools, the base and the controls first; round r after round r - 1's pool)."""
    by_id = plan.by_id
    depth: dict[str, int] = {}

    def visit(piece: str) -> int:
        if piece not in depth:
            depth[piece] = 1 + max((visit(need) for need in by_id[piece].needs), default=-1)
        return depth[piece]

    for leaf in leaves:
        visit(leaf)
    order = list(by_id).index
    return [sorted((p for p, d in depth.items() if d == level), key=order) for level in range(max(depth.values(), default=-1) + 1)]


def worker_command(config: str | Path, out: Path, piece: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.sweep_worker", "--config", str(config), "--out", str(out), "--piece", piece]


def run_local(config: str | Path, out: Path, plan: Plan, leaves: Sequence[str], *, workers: int = 1,
              events: Callable[[Path], list[dict]]) -> list[str]:
    """Each piece in its own process, up to `workers` at once, a piece started once what it needs is made.

    Returns the pieces that ran (did work), read from the sweep's event log.
    """

    if workers < 1:
        raise UserError(f"workers must be at least 1 (got {workers}).", "pass 1 or more.")
    config = _portable(config)
    before = len(events(out))
    by_id = plan.by_id
    pending = [piece for wave in waves(plan, leaves) for piece in wave]
    finished: set[str] = set()
    running: dict[str, subprocess.Popen] = {}
    failed: list[str] = []
    while pending or running:
        for piece in [p for p in pending if set(by_id[p].needs) <= finished][: max(0, workers - len(running))]:
            pending.remove(piece)
            running[piece] = subprocess.Popen(worker_command(config, out, piece))
        time.sleep(0.2)
        for piece, process in list(running.items()):
            if process.poll() is None:
                continue
            del running[piece]
            if process.returncode:
                failed.append(piece)
            finished.add(piece)
        if failed and not running:
            break
    if failed:
        raise UserError(f"{len(failed)} piece(s) failed, first {failed[0]} (its error is printed above).",
                        "fix it and run the sweep again: finished pieces are reused.")
    return [e["piece"] for e in events(out)[before:] if e["event"] == "ran"]


def _portable(config: str | Path) -> str:
    """A config as another process (or node) names it: a shipped name, or an absolute path."""
    from pipeline.experiment import SHIPPED

    return str(config) if str(config) in SHIPPED else str(Path(config).expanduser().resolve())


def run_slurm(config: str | Path, out: Path, plan: Plan, leaves: Sequence[str], *, cluster: str | None = None,
              parameters: Mapping[str, Any] | None = None,
              piece_runner: Callable[[str, str, list[str]], list[str]]) -> list[str]:
    """Submit the waves as job arrays (the cells' array depends on the pools' jobs) and wait for them.

    `cluster`: submitit's executor ("slurm"; "local" or "debug" to try the graph without Slurm).
    """
    try:
        import submitit
    except ImportError:
        raise UserError("--executor slurm needs submitit.", "pip install 'bias-inheritance[slurm]' (or submitit).") from None

    config, out = _portable(config), Path(out).resolve()
    executor = submitit.AutoExecutor(folder=out / "sweep" / SLURM_FOLDER, cluster=cluster)
    try:
        executor.update_parameters(**{**SLURM_DEFAULTS, **(parameters or {})})
    except (NameError, ValueError, TypeError) as exc:  # submitit names the unknown or ill-typed parameter
        first = str(exc).splitlines()[0]
        raise UserError(f"Bad Slurm parameter: {first}", "use submitit's names, e.g. slurm_partition, gpus_per_node, "
                        "cpus_per_task, timeout_min, mem_gb.") from None
    ran: list[str] = []
    previous: list[Any] = []
    for wave in waves(plan, leaves):
        if previous and executor.cluster == "slurm":
            ids = ":".join(str(job.job_id) for job in previous)
            executor.update_parameters(slurm_additional_parameters={"dependency": f"afterok:{ids}"})
        elif previous:  # no scheduler to hold the jobs back: wait here
            ran += [piece for job in previous for piece in job.result()]
            previous = []
        with executor.batch():
            jobs = [executor.submit(piece_runner, config, str(out), [piece]) for piece in wave]
        print(f"[sweep] submitted {len(jobs)} job(s): {', '.join(wave[:4])}{' ...' if len(wave) > 4 else ''}", flush=True)
        previous = (previous + jobs) if executor.cluster == "slurm" else jobs
    ran += [piece for job in previous for piece in job.result()]
    return ran
