"""`bias-inheritance sweep`: an experiment's grid as a graph of keyed pieces, run once each, anywhere.

The plan (pipeline/plan.py) holds the pieces: pools, the base, the cells, the rounds. A piece
first makes the pieces it needs, then holds its claim (pipeline/claims.py) while it runs, so
workers that share an output folder (local processes, Slurm jobs, `--shard i/n` of any scheduler)
never make a piece twice and wait for a piece another worker is making. Every stage reuses an output only under its key, so a
second run does no work and a killed run resumes where it stopped.

Progress and the work each worker did go to `<out>/sweep/events.jsonl` (one line per piece: ran
or reused, seconds); results JSON of the base, the controls and every cell lie in `<out>/results/`.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from bias_inheritance import cards
from bias_inheritance.errors import UserError
from pipeline.claims import Claims
from pipeline.experiment import Experiment, load_config
from pipeline.plan import Piece, Plan, make_plan
from pipeline.run import Stages

EXECUTORS = ("inline", "local", "slurm")
DATA_CLAIM = "data"
EVENTS = "events.jsonl"
BOARD_FOLDER = "board"


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """`--shard i/n`: shard i (0-based) of n."""
    if text is None:
        return None
    try:
        index, count = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise UserError(f"--shard {text!r} is not i/n.", "pass e.g. --shard 0/4 (shards 0 to 3 of 4).") from None
    if count < 1 or not 0 <= index < count:
        raise UserError(f"--shard {text}: i must be in 0..n-1 and n at least 1.", "pass e.g. --shard 0/4.")
    return index, count


# --------------------------------------------------------------------------- state


def _status(output: Path) -> str | None:
    card = cards.read_card(cards.card_path(output))
    return None if card is None else str(card.get("status"))


def piece_state(plan: Plan, piece: Piece) -> str:
    """done (its final output's card is complete), partial (something of it exists) or todo.

    Read from the cards alone (no model, no keys): a run still checks every key before reusing.
    """
    paths = plan.paths
    if piece.kind == "generate":
        final, parts = (paths.pool(piece.cell) if piece.cell else paths.augmented(piece.bias_type, piece.seed)), []
    elif piece.kind == "base":
        final, parts = paths.base_results, []
    else:
        final, parts = paths.cell_results(piece.cell), [paths.adapter(piece.cell), paths.mixed(piece.cell)]
    if _status(final) == "complete":
        return "done"
    if _status(final) is not None or any(_status(p) is not None for p in parts):
        return "partial"
    return "todo"


def work_left(plan: Plan) -> dict[str, int]:
    """Generations, trainings and evaluations not finished yet."""
    left = {"generations": 0, "trainings": 0, "evaluations": 0}
    for piece in plan.pieces:
        if piece_state(plan, piece) == "done":
            continue
        if piece.kind == "generate":
            left["generations"] += 1
        elif piece.kind == "base":
            left["evaluations"] += 1
        else:
            left["evaluations"] += 1
            left["trainings"] += _status(plan.paths.adapter(piece.cell)) != "complete"
    return left


# --------------------------------------------------------------------------- running pieces


@dataclass
class Worker:
    """One process's share of a sweep: its stages (model and tasks loaded once), claims and event log."""

    plan: Plan
    stages: Stages = field(init=False)
    claims: Claims = field(init=False)
    finished: set[str] = field(default_factory=set)
    ran: list[tuple[str, float]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.stages = Stages(self.plan.experiment, self.plan.paths)
        self.claims = Claims(self.plan.paths.root)

    def prepare(self) -> None:
        """Data, plan and tasks: checked (and the run's data prepared, once across workers) before any model."""
        with self.claims.claim(DATA_CLAIM):
            _ = self.stages.tasks

    def run(self, piece_id: str) -> None:
        """Make `piece_id` and what it needs; reuse what is finished; wait for what another worker holds."""
        if piece_id in self.finished:
            return
        piece = self.plan.by_id[piece_id]
        for need in piece.needs:
            self.run(need)
        with self.claims.claim(piece.id):
            before = piece_state(self.plan, piece)
            started = time.monotonic()
            self._make(piece)
            seconds = time.monotonic() - started
        event = "reused" if before == "done" else "ran"
        if event == "ran":
            self.ran.append((piece.id, seconds))
        self._log({"piece": piece.id, "event": event, "seconds": round(seconds, 3), "pid": os.getpid()})
        self.finished.add(piece.id)

    def _make(self, piece: Piece) -> None:
        stages = self.stages
        if piece.kind == "generate" and piece.cell is not None:
            stages.generate_round(piece.cell)
        elif piece.kind == "generate":
            stages.generate(piece.bias_type, piece.seed)
        elif piece.kind == "base":
            stages.base()
        else:
            with self.claims.claim(f"mix/{self.plan.paths.mixed(piece.cell)}"):  # shared by the mitigations
                stages.mix(piece.cell)
            stages.train(piece.cell)
            stages.evaluate_cell(piece.cell)

    def _log(self, record: dict[str, Any]) -> None:
        path = self.plan.paths.root / "sweep" / EVENTS
        path.parent.mkdir(parents=True, exist_ok=True)
        line = (json.dumps(record) + "\n").encode("utf-8")
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            os.write(descriptor, line)  # one write of a short line: whole under O_APPEND
        finally:
            os.close(descriptor)


def read_events(out: Path) -> list[dict[str, Any]]:
    path = Path(out) / "sweep" / EVENTS
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# --------------------------------------------------------------------------- progress and dry run


def _clock(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


def progress_line(plan: Plan, claims: Claims, started: float, ran: list[tuple[str, float]]) -> str:
    """Cells done, running (claimed by any worker) and left, elapsed time and an estimate of what is left."""
    states = {p.id: piece_state(plan, p) for p in plan.cells}
    done = sum(s == "done" for s in states.values())
    running = sum(1 for p in plan.cells if states[p.id] != "done" and claims.held(p.id))
    left = len(states) - done - running
    elapsed = time.monotonic() - started
    cell_times = [s for piece, s in ran if piece.startswith("cell/")]
    eta = f"ETA {_clock(sum(cell_times) / len(cell_times) * (left + running))}" if cell_times else "ETA unknown"
    return f"[sweep] cells: {done} done, {running} running, {left} left | elapsed {_clock(elapsed)} | {eta}"


def describe(plan: Plan) -> dict[str, Any]:
    """What a dry run prints and returns: every piece, its state, and the work left."""
    pieces = [{"piece": p.id, "kind": p.kind, "state": piece_state(plan, p),
               "label": p.cell.label if p.cell else p.id} for p in plan.pieces]
    return {"out": str(plan.paths.root), "cells": [p for p in pieces if p["kind"] == "cell"],
            "pieces": pieces, "work_left": work_left(plan)}


def _print_dry_run(summary: dict[str, Any]) -> None:
    print(f"{'piece':60s} state")
    for piece in summary["pieces"]:
        print(f"{piece['piece']:60s} {piece['state']}")
    left = summary["work_left"]
    print(f"work left: {left['generations']} generation(s), {left['trainings']} training(s), "
          f"{left['evaluations']} evaluation(s)", flush=True)


# --------------------------------------------------------------------------- entry points


def run_pieces(plan: Plan, piece_ids: Iterable[str], *, say_progress: bool = True) -> Worker:
    """Make the pieces in this process (the inline executor, a shard, a worker subprocess)."""
    worker = Worker(plan)
    worker.prepare()
    started = time.monotonic()
    for piece_id in piece_ids:
        worker.run(piece_id)
        if say_progress:
            print(progress_line(plan, worker.claims, started, worker.ran), flush=True)
    return worker


def results_files(plan: Plan) -> list[Path]:
    paths = [plan.paths.base_results] + [plan.paths.cell_results(p.cell) for p in plan.cells]
    return [p for p in paths if p.is_file()]


def _build_board(out: Path) -> dict[str, Path] | None:
    """The leaderboard of the sweep's results, when the leaderboard stage offers `build_board`."""
    try:
        from leaderboard.build import build_board
    except (ImportError, AttributeError):
        return None
    return build_board([out / "results"], out / BOARD_FOLDER)


def run_plan(experiment: Experiment, out: Path) -> dict[str, Path]:
    """Every piece of `experiment` in this process (`bias-inheritance quickstart`); the paths to open."""
    plan = make_plan(experiment, out)
    run_pieces(plan, [p.id for p in plan.leaves()])
    outputs: dict[str, Path] = {"data": plan.paths.root / "data", "base results": plan.paths.base_results}
    outputs.update({f"{p.cell.label} results": plan.paths.cell_results(p.cell) for p in plan.cells})
    board = _build_board(plan.paths.root)
    if board:
        outputs.update({f"board {kind}": path for kind, path in board.items()})
    print("Outputs (`bias-inheritance show PATH` prints what each was made from):")
    for name, path in outputs.items():
        print(f"  {name:36s} {path}")
    return outputs


def parse_slurm_parameters(pairs: Iterable[str]) -> dict[str, Any]:
    """`KEY=VALUE` strings -> submitit parameters (whole numbers become ints): `slurm_partition=gpu`,
    `gpus_per_node=1`, `timeout_min=240`."""
    parameters: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise UserError(f"--slurm {pair!r} is not KEY=VALUE.", "pass e.g. --slurm slurm_partition=gpu --slurm gpus_per_node=1.")
        value = value.strip()
        parameters[key.strip()] = int(value) if value.isdigit() else value
    return parameters


def run_sweep(config: str | Path, out: Path, *, dry_run: bool = False, executor: str = "inline",
              shard: str | None = None, workers: int = 1, slurm_parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run (or with `dry_run` only describe) the sweep of `config` (a shipped name or a YAML path) into `out`.

    `executor`: inline (this process), local (a subprocess per piece, `workers` at once) or slurm
    (submitit job arrays). `shard` "i/n" runs only every n-th cell, sharing pools and the base
    with the other shards through claims. Returns the pieces' states, what this call ran, the
    results files and the board's files.
    """
    from pipeline import executors

    if executor not in EXECUTORS:
        raise UserError(f"Unknown executor {executor!r}.", f"use one of: {', '.join(EXECUTORS)}.")
    experiment = load_config(config)
    out = Path(out)
    plan = make_plan(experiment, out)
    part = parse_shard(shard)
    if dry_run:
        summary = describe(plan)
        _print_dry_run(summary)
        return summary
    started = time.monotonic()
    leaves = [p.id for p in plan.leaves(part)]
    if executor == "inline":
        ran = [piece for piece, _ in run_pieces(plan, leaves).ran]
    elif executor == "local":
        ran = executors.run_local(config, out, plan, leaves, workers=workers, events=read_events)
    else:
        ran = executors.run_slurm(config, out, plan, leaves, parameters=slurm_parameters, piece_runner=run_piece)
    summary = describe(plan)
    summary.update(ran=ran, seconds=round(time.monotonic() - started, 3), results=[str(p) for p in results_files(plan)])
    complete = all(p["state"] == "done" for p in summary["pieces"])
    stale = bool(ran) or not (out / BOARD_FOLDER).is_dir()  # a run that made nothing leaves the board as it is
    board = _build_board(out) if complete and stale else None
    summary["board"] = {k: str(v) for k, v in (board or {}).items()}
    print(f"[sweep] {sum(p['state'] == 'done' for p in summary['cells'])}/{len(summary['cells'])} cells done "
          f"in {_clock(summary['seconds'])}; results in {out / 'results'}"
          + (f"; board {summary['board'].get('html') or summary['board'].get('md')}" if board else ""), flush=True)
    return summary


def run_experiment(experiment: Experiment, run_dir: Path) -> dict[str, Path]:
    """Run every cell of `experiment` into `run_dir` in this process; returns the paths a person will want to open."""
    return run_plan(experiment, Path(run_dir))


def run_piece(config: str, out: str, piece_ids: list[str]) -> list[str]:
    """Make `piece_ids` of the sweep of `config` in `out`; returns those that did work (not reused)."""
    plan = make_plan(load_config(config), Path(out))
    unknown = sorted(set(piece_ids) - set(plan.by_id))
    if unknown:
        raise UserError(f"No piece {unknown[0]!r} in the sweep of {config}.", "list the pieces with --dry-run.")
    return [piece for piece, _ in run_pieces(plan, piece_ids, say_progress=False).ran]
