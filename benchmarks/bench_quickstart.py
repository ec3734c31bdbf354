"""Time and peak memory of `bias-inheritance quickstart` on this machine.

Runs the quickstart twice in a subprocess with a fresh cache and output folder: the cold run does
everything (model conversion included), the warm run shows what resuming costs. Peak memory is the
child's maximum resident set size. Usage: python benchmarks/bench_quickstart.py [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def run_once(cli: str, out: Path, cache: Path) -> tuple[float, float]:
    env = {**os.environ, "BIAS_INHERITANCE_CACHE": str(cache)}
    start = time.perf_counter()
    subprocess.run([cli, "quickstart", "--out", str(out)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    peak_mib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # Linux reports KiB
    return wall, peak_mib


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="keep outputs here instead of a temporary folder")
    args = parser.parse_args()
    cli = str(Path(sys.executable).with_name("bias-inheritance"))
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench-quickstart-"))
    try:
        cold = run_once(cli, root / "out", root / "cache")
        warm = run_once(cli, root / "out", root / "cache")
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}")
    print(f"cold run (fresh cache, model conversion included): {cold[0]:.0f} s, peak RSS {cold[1]:.0f} MiB")
    print(f"warm run (everything reused): {warm[0]:.0f} s ({warm[0] / cold[0]:.2f} x the cold run)")


if __name__ == "__main__":
    main()
