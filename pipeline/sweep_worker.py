"""One piece of a sweep in its own process: `python -m pipeline.sweep_worker --config C --out O --piece ID`.

The local executor and Slurm jobs run this; it makes the piece and what it needs (claims keep the
other workers from making the same piece), so a worker can start in any order.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence

from pipeline.cli import guarded
from pipeline.sweep import run_piece


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipeline.sweep_worker", description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", required=True, help="a shipped config's name or a YAML path")
    parser.add_argument("--out", required=True)
    parser.add_argument("--piece", action="append", required=True, help="a piece id (repeatable)")
    args = parser.parse_args(argv)
    return guarded(lambda: run_piece(args.config, args.out, args.piece))


if __name__ == "__main__":
    sys.exit(main())
