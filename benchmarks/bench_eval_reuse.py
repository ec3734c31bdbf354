"""What per-task keys save: `bias-inheritance evaluate` cold, rerun, and with one task added.

Each run is a subprocess of the CLI with the same cache (the embedded model, the bundled samples):
  cold     tasks A,B into a fresh store                          (the baseline)
  rerun    the same command again                                 (every task reused)
  added    A alone into a fresh store, then A,B into that store   (only B evaluated; timed: the second)
Usage: python benchmarks/bench_eval_reuse.py [--limit N] [--tasks A,B]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def evaluate(cli: str, tasks: str, out: Path, limit: int) -> float:
    start = time.perf_counter()
    subprocess.run([cli, "evaluate", "--tasks", tasks, "--limit", str(limit), "--out", str(out)], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=24)
    parser.add_argument("--tasks", default="bias_inheritance_gender_bios,bias_inheritance_salary")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("bias-inheritance"))
    subprocess.run([cli, "data", "prepare", "all", "--sample"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([cli, "model", "path"], check=True, stdout=subprocess.DEVNULL)
    first = args.tasks.split(",")[0]
    root = Path(tempfile.mkdtemp(prefix="bench-eval-reuse-"))
    try:
        cold = evaluate(cli, args.tasks, root / "cold" / "r.json", args.limit)
        rerun = evaluate(cli, args.tasks, root / "cold" / "r.json", args.limit)
        evaluate(cli, first, root / "added" / "r.json", args.limit)
        added = evaluate(cli, args.tasks, root / "added" / "r.json", args.limit)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"tasks {args.tasks}, --limit {args.limit}, embedded model")
    print(f"cold (both tasks evaluated):      {cold:6.1f} s  1.00x")
    print(f"rerun (both reused):              {rerun:6.1f} s  {rerun / cold:.2f}x")
    print(f"added (only {args.tasks.split(',')[-1]} evaluated): {added:6.1f} s  {added / cold:.2f}x")


if __name__ == "__main__":
    main()
