"""The benchmark suite: every performance target, measured side by side in one run, in one table.

    python scripts/bench.py [--versions 10000] [--size-mib 1024] [--files 16] [--only PART]
    (make bench; PART: hash, memory or registry, repeatable)

- hash: `modelreg hash` against `openssl dgst -sha256` on one page-cached file (best of 3), and
  many files with `--jobs 2` against `--jobs 1`;
- memory: peak memory validating a large ONNX model with external data and a large TFLite model;
- build: a synthetic registry's cold build (empty cache), the rebuild with nothing changed, and the
  rebuild after one changed version (a commit editing one manifest);
- changed-since: `validate --changed-since` with that one change against validating the same
  version alone in a one-version registry (both without cache, so both do the version's work);
- jobs: a full validation without cache, `--jobs 2` against `--jobs 1`.

Every command runs as its own process, as a user would run it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_hash import best_time, make_file
from bench_memory import measure as measure_memory
from synthetic import GIT_ENV, make_registry

PROJECT = Path(__file__).resolve().parent.parent
MODELREG = [sys.executable, "-m", "registry", "--quiet"]
Row = tuple[str, str, str, str]  # measurement, figure, target, verdict


def seconds(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def checked(name: str, ratio: float, target: str) -> Row:
    """A ratio against its target, written as ">= 0.9" or "<= 2"."""
    operator, limit = target.split()
    ok = ratio >= float(limit) if operator == ">=" else ratio <= float(limit)
    return (name, f"{ratio:.2f} x", f"{target} x", verdict(ok))


def bench_hash(scratch: Path, size_mib: int, files: int) -> list[Row]:
    big = scratch / "one.bin"
    make_file(big, size_mib << 20)
    openssl = best_time(["openssl", "dgst", "-sha256", str(big)], 3)
    ours = best_time([*MODELREG, "hash", str(big)], 3)
    big.unlink()
    many = [scratch / f"many-{i}.bin" for i in range(files)]
    for path in many:
        make_file(path, 64 << 20)
    names = [str(p) for p in many]
    one = best_time([*MODELREG, "hash", "--jobs", "1", *names], 3)
    two = best_time([*MODELREG, "hash", "--jobs", "2", *names], 3)
    for path in many:
        path.unlink()
    gb = (size_mib << 20) / 1e9
    return [
        ("hash 1 file: openssl dgst -sha256", f"{openssl:.3f} s ({gb / openssl:.2f} GB/s)", "", ""),
        ("hash 1 file: modelreg hash", f"{ours:.3f} s ({gb / ours:.2f} GB/s)", "", ""),
        checked("hash 1 file: modelreg / openssl", openssl / ours, ">= 0.9"),
        (f"hash {files} x 64 MiB: --jobs 1", f"{one:.3f} s", "", ""),
        (f"hash {files} x 64 MiB: --jobs 2", f"{two:.3f} s", "", ""),
        checked("hash many: --jobs 2 speed-up", one / two, ">= 1.7"),
    ]


def bench_memory(size_mib: int) -> list[Row]:
    rows = []
    for kind, name in (("onnx", "ONNX + external data"), ("tflite", "TFLite")):
        _, tree, largest = measure_memory(kind, size_mib << 20)
        megabytes = tree * (1 << 20) / 1e6
        figure = f"{megabytes:.0f} MB (largest process {largest * (1 << 20) / 1e6:.0f} MB)"
        what = f"memory: validate {size_mib} MiB {name}"
        rows.append((what, figure, "<= 300 MB", verdict(megabytes <= 300)))
    return rows


def commit_one_change(root: Path, index: int) -> str:
    """Edit one manifest's description and commit it; the version's folder."""
    folder = f"models/model-{index // 10:05d}/1.0.{index % 10}"
    manifest = root / folder / "manifest.yaml"
    manifest.write_text(manifest.read_text().replace("Benchmark model", "Changed benchmark model"))
    env = {**os.environ, **GIT_ENV, "GIT_COMMITTER_DATE": "2025-02-01T00:00:00+00:00"}
    for command in (["add", "-A"], ["commit", "-q", "-m", "change one version"]):
        subprocess.run(["git", *command], cwd=root, env=env, check=True)
    return folder


def bench_registry(scratch: Path, versions: int) -> list[Row]:
    root = scratch / "registry"
    make_registry(root, versions, PROJECT)
    build = [*MODELREG, "build", "--out", str(root.parent / "site")]
    cold = seconds(build, root)
    warm = seconds(build, root)
    warm = min(warm, seconds(build, root))  # best of two: the second also reuses the spare
    commit_one_change(root, versions // 2)
    changed = seconds(build, root)
    validate = [*MODELREG, "validate", "--no-cache"]
    since = seconds([*validate, "--changed-since", "HEAD~1"], root)
    alone_root = scratch / "alone"
    make_registry(alone_root, 1, PROJECT)
    alone = min(seconds(validate, alone_root) for _ in range(3))
    jobs_one = seconds([*validate, "--jobs", "1"], root)
    jobs_two = seconds([*validate, "--jobs", "2"], root)
    n = f"{versions:,}"
    return [
        (f"build {n}: cold (empty cache)", f"{cold:.1f} s", "", ""),
        (f"build {n}: no change", f"{warm:.1f} s", "", ""),
        checked(f"build {n}: cold / no change", cold / warm, ">= 10"),
        (f"build {n}: one version changed", f"{changed:.1f} s", "", ""),
        checked(f"build {n}: one change / no change", changed / warm, "<= 2"),
        (f"validate {n} --changed-since (1 changed)", f"{since:.2f} s", "", ""),
        ("validate 1-version registry", f"{alone:.2f} s", "", ""),
        checked("changed-since / one version alone", since / alone, "<= 1.5"),
        (f"validate {n} (no cache): --jobs 1", f"{jobs_one:.1f} s", "", ""),
        (f"validate {n} (no cache): --jobs 2", f"{jobs_two:.1f} s", "", ""),
        (f"validate {n}: --jobs 2 speed-up", f"{jobs_one / jobs_two:.2f} x", "", ""),
    ]


def print_table(rows: list[Row]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("measurement", "figure", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--size-mib", type=int, default=1024, help="the single and large files")
    parser.add_argument("--files", type=int, default=16, help="64 MiB files hashed together")
    parser.add_argument("--only", choices=["hash", "memory", "registry"], action="append")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    steps: dict[str, Callable[[Path], list[Row]]] = {
        "hash": lambda scratch: bench_hash(scratch, args.size_mib, args.files),
        "memory": lambda _: bench_memory(args.size_mib),
        "registry": lambda scratch: bench_registry(scratch, args.versions),
    }
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        for name, step in steps.items():
            if not args.only or name in args.only:
                print(f"measuring {name}...", file=sys.stderr, flush=True)
                rows += step(Path(scratch))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
