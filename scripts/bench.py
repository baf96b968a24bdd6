"""The benchmark suite: every performance target, measured side by side in one run, in one table.

    python scripts/bench.py [--versions 10000] [--scale-versions 100000] [--only PART]
    (make bench; PART, repeatable: hash, memory, events, large, build, registry, scale, catalog)

- hash: `modelreg hash` against `openssl dgst -sha256` on one page-cached file (best of 3), and
  many files with `--jobs 2` against `--jobs 1`;
- memory: peak memory validating a large ONNX model with external data and a large TFLite model;
- events: deriving the event log against a bare `git log --name-status` (bench_events);
- large: `validate --no-cache` of one large model against openssl + a bare parse (bench_large);
- build: a cold build's cost per version beyond `validate --no-cache` (bench_build);
- registry: a synthetic registry's cold build, the rebuild with nothing changed against
  `git ls-tree -r HEAD -- models` + a stat of the output folder, the cached rebuild (--force)
  and one changed version, `validate --changed-since`, `--jobs 2` against `--jobs 1`;
- scale: 100,000 versions with files of their own, in one commit and in 1,000 (bench_scale);
- catalog: the home page over 100,000 models in Chromium against a bare fetch() (bench_catalog).

Every command runs as its own process, as a user would run it. The full run takes hours on two
cores (the 100,000-version cold builds most of it); `--only` runs parts.
"""

from __future__ import annotations

import argparse
import compileall
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_build
import bench_catalog
import bench_events
import bench_large
import bench_scale
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
        checked("hash 1 file: modelreg / openssl", openssl / ours, ">= 0.95"),
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
    out = root.parent / "site"
    build = [*MODELREG, "build", "--out", str(out)]
    cold = seconds(build, root)
    unchanged = min(seconds(build, root) for _ in range(3))
    floor = bench_scale.floor(root, out)
    checks = bench_scale.checks_floor(root, out)
    cached = min(
        seconds([*build, "--force"], root) for _ in range(2)
    )  # the second reuses the spare
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
        (f"build {n}: no change", f"{unchanged:.3f} s", "", ""),
        ("floor: git ls-tree -r HEAD -- models + stat", f"{floor:.3f} s", "", ""),
        checked(f"build {n}: no change / floor", unchanged / floor, "<= 3"),
        ("floor of its checks: git status + find -printf", f"{checks:.3f} s", "", ""),
        (f"build {n}: no change / its checks", f"{unchanged / checks:.2f} x", "", ""),
        (f"build {n}: --force, every result from the cache", f"{cached:.1f} s", "", ""),
        checked(f"build {n}: cold / --force", cold / cached, ">= 10"),
        (f"build {n}: one version changed", f"{changed:.1f} s", "", ""),
        checked(f"build {n}: one change / --force", changed / cached, "<= 2"),
        (f"validate {n} --changed-since (1 changed)", f"{since:.2f} s", "", ""),
        ("validate 1-version registry", f"{alone:.2f} s", "", ""),
        checked("changed-since / one version alone", since / alone, "<= 1.5"),
        (f"validate {n} (no cache): --jobs 1", f"{jobs_one:.1f} s", "", ""),
        (f"validate {n} (no cache): --jobs 2", f"{jobs_two:.1f} s", "", ""),
        (f"validate {n}: --jobs 2 speed-up", f"{jobs_one / jobs_two:.2f} x", "", ""),
    ]


def bench_events_part(sizes: list[int], repeat: int) -> list[Row]:
    rows = []
    for commits in sizes:
        derive, log, _peak, ratios = bench_events.best_pair(commits, repeat)
        n = f"{commits:,}"
        figure = f"{derive:.2f} s / {log:.2f} s (pairs {ratios[0]:.2f}-{ratios[-1]:.2f})"
        rows.append((f"event log {n} commits: derive / git log", figure, "", ""))
        rows.append(checked(f"event log {n} commits: ratio", derive / log, "<= 2"))
    return rows


def bench_large_part(scratch: Path, mib: list[int], repeat: int) -> list[Row]:
    names = ("onnx_external_mib", "onnx_single_mib", "tflite_mib", "tflite_offset_mib")
    sizes = argparse.Namespace(**dict(zip(names, mib, strict=True)))
    rows = []
    for model in bench_large.models(sizes):
        m = bench_large.measure_model(model, scratch, repeat, keep=False)
        figure = f"{min(m.found.validate):.2f} s (floor {m.floor:.2f} s, {m.size / 1e6:.0f} MB)"
        rows.append((f"validate 1 large model: {model.label}", figure, "", ""))
        rows.append(checked(f"large {model.label}: validate / floor", m.ratio, "<= 1.3"))
    return rows


def bench_build_part(scratch: Path, versions: int) -> list[Row]:
    root = scratch / "per-version"
    make_registry(root, versions, PROJECT)
    bench_build.make_distinct(root)
    validate = bench_build.measure(bench_build.modelreg("validate", "--no-cache"), root)
    site = scratch / "per-version-site"
    cold = bench_build.cold_build(root, scratch, out=site)
    wall = bench_build.per_version(cold.wall, validate.wall, versions)
    cpu = bench_build.per_version(cold.cpu, validate.cpu, versions)
    floor = bench_build.files_floor(site, scratch, versions)
    n = f"{versions:,}"
    return [
        (
            f"cold build {n} distinct / validate",
            f"{cold.wall:.1f} s / {validate.wall:.1f} s",
            "",
            "",
        ),
        (
            "cold build beyond validate, per version",
            f"{wall:.2f} ms wall, {cpu:.2f} ms CPU (its files written bare: {floor:.2f} ms)",
            "<= 2 ms",
            verdict(max(wall, cpu) <= 2),
        ),
    ]


def bench_scale_part(scratch: Path, versions: int, shapes: list[int]) -> list[Row]:
    rows = []
    for commits in shapes:
        rows += bench_scale.scale(scratch, versions, commits, 2, build=True)
    return rows


def bench_catalog_part(models: int, repeat: int) -> list[Row]:
    found = bench_catalog.run(models, repeat, None)
    rows = []
    for source, label in (("search", "search.json"), ("pages", "index pages")):
        figures = found[source]
        floor = min(figures["fetch"]) / 1000
        for key, what in (
            ("first", "first cards"),
            ("ready", "every model read"),
            ("search", "search"),
        ):
            best = min(figures[key]) / 1000
            rows.append(
                (
                    f"catalog {models:,} models ({label}): {what}",
                    f"{best:.3f} s (bare fetch {floor:.3f} s)",
                    "< 1 s",
                    verdict(best < 1),
                )
            )
    return rows


def print_table(rows: list[Row]) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    header = ("measurement", "figure", "target", "")
    widths = [max(w, len(h)) for w, h in zip(widths, header, strict=True)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


PARTS = ("hash", "memory", "events", "large", "build", "registry", "scale", "catalog")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, default=10_000)
    parser.add_argument("--build-versions", type=int, default=2_000, help="the per-version cost")
    parser.add_argument("--scale-versions", type=int, default=100_000)
    parser.add_argument("--scale-commits", type=int, nargs="+", default=[1, 1000])
    parser.add_argument("--catalog-models", type=int, default=100_000)
    parser.add_argument("--event-commits", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument(
        "--large-mib",
        type=int,
        nargs=4,
        default=[1024, 477, 1024, 3072],
        help="ONNX + external data, single-file ONNX, TFLite, TFLite with weights past it",
    )
    parser.add_argument("--size-mib", type=int, default=1024, help="the single and large files")
    parser.add_argument("--files", type=int, default=16, help="64 MiB files hashed together")
    parser.add_argument("--repeat", type=int, default=3, help="pairs for events and large")
    parser.add_argument("--only", choices=PARTS, action="append")
    args = parser.parse_args()
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    # Every command measured starts Python: byte-compiled modules, as `pip install` writes them
    # and a first run would (unless PYTHONDONTWRITEBYTECODE is set, as on some CI machines).
    compileall.compile_dir(PROJECT / "registry", quiet=1)
    steps: dict[str, Callable[[Path], list[Row]]] = {
        "hash": lambda scratch: bench_hash(scratch, args.size_mib, args.files),
        "memory": lambda _: bench_memory(args.size_mib),
        "events": lambda _: bench_events_part(args.event_commits, args.repeat),
        "large": lambda scratch: bench_large_part(scratch, args.large_mib, args.repeat),
        "build": lambda scratch: bench_build_part(scratch, args.build_versions),
        "registry": lambda scratch: bench_registry(scratch, args.versions),
        "scale": lambda scratch: bench_scale_part(scratch, args.scale_versions, args.scale_commits),
        "catalog": lambda _: bench_catalog_part(args.catalog_models, args.repeat),
    }
    rows: list[Row] = []
    for name, step in steps.items():
        if not args.only or name in args.only:
            print(f"measuring {name}...", file=sys.stderr, flush=True)
            with tempfile.TemporaryDirectory() as scratch:  # each part's disk freed after it
                rows += step(Path(scratch))
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
