"""The benchmark suite runs end to end at a toy size: its figures are not checked here (timing
belongs to `make bench`), only that every measurement is made and printed."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import PROJECT


def test_bench_prints_every_measurement() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", "--versions", "12", "--size-mib", "8", "--files", "2"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    measurements = [line.split("  ")[0] for line in lines[3:]]
    assert len(measurements) == 19
    for target in (
        "hash 1 file: modelreg / openssl",
        "hash many: --jobs 2 speed-up",
        "memory: validate 8 MiB ONNX + external data",
        "memory: validate 8 MiB TFLite",
        "build 12: cold / no change",
        "build 12: one change / no change",
        "changed-since / one version alone",
    ):
        row = next(line for line in lines if line.startswith(target))
        assert row.rstrip().endswith(("met", "MISSED")), row
