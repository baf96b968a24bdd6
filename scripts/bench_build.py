"""Benchmark: a cold `modelreg build` against `validate --no-cache` of the same registry.

    python scripts/bench_build.py [--versions 2000] [--repeat 3] [--profile build.prof]

Each registry is many versions of the tiny example ONNX model, each file made distinct (its own
doc_string) so that nothing is inspected once for many versions, in one Git commit. Both
commands run as their own process, side by side in the same run: `validate --no-cache` (hashing,
inspection, validation) is the floor, a build with an empty cache folder does that plus the
catalog, the event log, the records, SBOMs and pages. Their difference per version is what the
build adds (issue 19 target 3: at most 2 ms), printed from wall times and from CPU times (on a
shared machine the CPU figure is the steadier one). Peak memory is the build process's maximum
resident set size. --profile writes a cProfile of one more cold build (read it with pstats).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from synthetic import GIT_ENV, make_registry

PROJECT = Path(__file__).resolve().parent.parent
TARGET_MS = 2.0  # per version, beyond hashing and inspection


@dataclass(frozen=True)
class Run:
    """One child process: wall seconds, CPU seconds (user + system, with the children it waited
    for: the sandbox's), peak RSS in MiB."""

    wall: float
    cpu: float
    peak: float


def measure(command: list[str], cwd: Path) -> Run:
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(command)} failed")
    return Run(elapsed, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024)


def doc_string(text: str) -> bytes:
    """ModelProto field 6 (doc_string) as protobuf bytes: appended to a model, it replaces the
    model's doc_string (the last value of a scalar field wins), so the file stays valid ONNX."""
    data = text.encode()
    assert len(data) < 128  # a one-byte length
    return bytes([6 << 3 | 2, len(data)]) + data


def make_distinct(root: Path) -> None:
    """Give each version's model.onnx bytes of its own, and its manifest the new digest."""
    for manifest in sorted(root.glob("models/*/*/manifest.yaml")):
        model = manifest.parent / "model.onnx"
        old = model.read_bytes()
        new = old + doc_string(f"synthetic {manifest.parent.parent.name}@{manifest.parent.name}")
        model.write_bytes(new)
        text = manifest.read_text()
        text = text.replace(hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest())
        manifest.write_text(text.replace(f"size: {len(old)}\n", f"size: {len(new)}\n"))
    env = {**os.environ, **GIT_ENV}
    for command in (["add", "-A"], ["commit", "-q", "--amend", "--no-edit"]):
        subprocess.run(["git", *command], cwd=root, env=env, check=True)


def modelreg(*args: str) -> list[str]:
    return [sys.executable, "-m", "registry", "--quiet", *args]


def cold_build(
    root: Path, scratch: Path, prefix: list[str] | None = None, out: Path | None = None
) -> Run:
    """A build into a new folder (or `out`) with a new, empty cache folder."""
    cache = Path(tempfile.mkdtemp(dir=scratch, prefix="cache-"))
    out = out or Path(tempfile.mkdtemp(dir=scratch, prefix="site-")) / "site"
    command = modelreg("build", "--out", str(out), "--cache-dir", str(cache))
    if prefix:  # e.g. `python -m cProfile -o FILE`: the same command under a profiler
        command = [sys.executable, *prefix, *command[1:]]
    return measure(command, root)


def files_floor(site: Path, scratch: Path, count: int) -> float:
    """CPU ms a version to write bare (open, write, close, in one new folder of the same file
    system) files of the sizes of the built site's model and version files: what writing them
    costs before anything modelreg does. On ext4 a file made minutes after many were deleted
    costs several times more (docs/performance.md, "Cold build"), and this shows it."""
    sizes = [
        path.stat().st_size
        for folder in (site / "v1" / "models", site / "models")
        for path in folder.rglob("*")
        if path.is_file()
    ]
    contents = {size: os.urandom(size) for size in set(sizes)}
    target = Path(tempfile.mkdtemp(dir=scratch, prefix="floor-"))
    started = time.process_time()
    for index, size in enumerate(sizes):
        with (target / str(index)).open("wb") as handle:
            handle.write(contents[size])
    return (time.process_time() - started) / count * 1000


def per_version(build: float, validate: float, count: int) -> float:
    """What the build adds to validation, in ms per version."""
    return (build - validate) / count * 1000


def report(count: int, validate: Run, build: Run, floor: float) -> tuple[float, float]:
    """One row of the table; (extra wall, extra CPU) in ms per version."""
    wall = per_version(build.wall, validate.wall, count)
    cpu = per_version(build.cpu, validate.cpu, count)
    met = "yes" if max(wall, cpu) <= TARGET_MS else "no"  # both, on a shared machine
    print(
        f"{count:8d} {validate.wall:8.1f} {build.wall:8.1f} {wall:8.2f}"
        f" {validate.cpu:8.1f} {build.cpu:8.1f} {cpu:8.2f} {floor:8.2f} {TARGET_MS:6.1f}"
        f" {met:>4} {build.peak:8.0f}"
    )
    return wall, cpu


def spread(label: str, values: list[float]) -> None:
    values = sorted(values)
    print(f"{'':8} {label}: best {values[0]:.2f} ms/version, spread {values[-1] - values[0]:.2f}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--versions", type=int, nargs="+", default=[2000])
    parser.add_argument("--repeat", type=int, default=1, help="runs per size (best is kept)")
    parser.add_argument("--profile", type=Path, help="cProfile one more cold build into FILE")
    args = parser.parse_args()
    print(
        f"{'versions':>8} {'valid. s':>8} {'build s':>8} {'+ms/v':>8} {'valid. c':>8}"
        f" {'build c':>8} {'+cpu/v':>8} {'files/v':>8} {'target':>6} {'met':>4} {'peak MiB':>8}"
    )
    print(
        f"{'':8} (s: wall seconds, c: CPU seconds; +: (build - validate) per version, ms;"
        " files/v: the site's files written bare, CPU ms per version)"
    )
    for count in args.versions:
        with tempfile.TemporaryDirectory() as folder:
            scratch = Path(folder)
            root = scratch / "registry"
            make_registry(root, count, PROJECT)
            make_distinct(root)
            extras = []
            for _ in range(args.repeat):
                validate = measure(modelreg("validate", "--no-cache"), root)
                site = Path(tempfile.mkdtemp(dir=scratch, prefix="site-")) / "site"
                build = cold_build(root, scratch, out=site)
                extras.append(report(count, validate, build, files_floor(site, scratch, count)))
            if len(extras) > 1:
                spread("wall", [wall for wall, _ in extras])
                spread("CPU", [cpu for _, cpu in extras])
            if args.profile is not None:
                cold_build(root, scratch, ["-m", "cProfile", "-o", str(args.profile.resolve())])
                print(f"{'':8} profile of a cold build: {args.profile}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
