"""Benchmark: full `modelreg build` time and peak memory on synthetic registries.

    python scripts/bench_build.py [--versions 1000 10000]

Each registry is many versions of the tiny example ONNX model, committed in one Git commit. The
build runs as its own process; peak memory is that process's maximum resident set size.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import make_registry

PROJECT = Path(__file__).resolve().parent.parent


def measure(command: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS in MiB of one child process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return elapsed, usage.ru_maxrss / 1024


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    print(f"{'versions':>8} {'build s':>8} {'ms/version':>10} {'peak MiB':>9}")
    for count in args.versions:
        with tempfile.TemporaryDirectory() as scratch:
            root = Path(scratch) / "registry"
            make_registry(root, count, PROJECT)
            seconds, peak = measure(
                [sys.executable, "-m", "registry", "build", "--out", str(root / "site")], root
            )
        print(f"{count:8d} {seconds:8.1f} {seconds / count * 1000:10.1f} {peak:9.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
