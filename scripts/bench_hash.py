"""Benchmark: `modelreg hash` against `openssl dgst -sha256` on the same page-cached file.

    python scripts/bench_hash.py [--size-mib 1024] [--repeat 3]

Prints the best-of-N wall time and throughput of each command, measured side by side in one run,
and their ratio (modelreg / openssl). The file is random data in a temporary folder, read once
beforehand so that both commands hash from the page cache.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def best_time(command: list[str], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - start)
    return best


def make_file(path: Path, size: int) -> None:
    chunk = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(chunk)
    with path.open("rb") as handle:  # into the page cache
        while handle.read(1 << 24):
            pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    modelreg = [sys.executable, "-m", "registry", "hash"]
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "blob.bin"
        size = args.size_mib << 20
        make_file(path, size)
        rows = [
            (
                "openssl dgst -sha256",
                best_time(["openssl", "dgst", "-sha256", str(path)], args.repeat),
            ),
            ("modelreg hash", best_time([*modelreg, str(path)], args.repeat)),
        ]
    print(
        f"{'command':24} {'seconds':>8} {'GB/s':>7}   ({args.size_mib} MiB, best of {args.repeat})"
    )
    for name, seconds in rows:
        print(f"{name:24} {seconds:8.3f} {size / seconds / 1e9:7.3f}")
    print(f"ratio modelreg/openssl throughput: {rows[0][1] / rows[1][1]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
