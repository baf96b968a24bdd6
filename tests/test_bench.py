"""The benchmark suite runs end to end at a toy size: its figures are not checked here (timing
belongs to `make bench`), only that every measurement is made and printed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import PROJECT

TOY = [
    *("--versions", "12", "--size-mib", "8", "--files", "2", "--repeat", "1"),
    *("--event-commits", "60", "--large-mib", "4", "4", "4", "4", "--build-versions", "4"),
    *("--scale-versions", "24", "--scale-commits", "1", "3", "--catalog-models", "300"),
]


@pytest.mark.browser  # the catalog's part drives Chromium
def test_bench_prints_every_measurement() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/bench.py", *TOY],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for target in (
        "hash 1 file: modelreg / openssl",
        "hash many: --jobs 2 speed-up",
        "memory: validate 8 MiB ONNX + external data",
        "memory: validate 8 MiB TFLite",
        "event log 60 commits: ratio",
        "large ONNX + external data: validate / floor",
        "large ONNX single file: validate / floor",
        "large TFLite: validate / floor",
        "large TFLite, weights past it: validate / floor",
        "cold build beyond validate, per version",
        "build 12: no change / floor",
        "build 12: cold / --force",
        "build 12: one change / --force",
        "changed-since / one version alone",
        "24 in 1 commit(s): no-change rebuild",
        "24 in 1 commit(s): one-version pull request",
        "24 in 1 commit(s): peak memory",
        "24 in 3 commit(s): one-version pull request",
        "catalog 300 models (search.json): first cards",
        "catalog 300 models (search.json): every model read",
        "catalog 300 models (index pages): search",
    ):
        row = next(line for line in lines if line.startswith(target))
        assert row.rstrip().endswith(("met", "MISSED")), row
    # Beside the floor, what the no-change check itself looks at (no target).
    assert any(line.startswith("build 12: no change / its checks") for line in lines)
