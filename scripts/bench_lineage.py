"""Benchmark: validating long `lineage.base_model` chains, against a flat registry.

    python scripts/bench_lineage.py [--chains 1000 3000 10000] [--flat 1000] [--cache]

Each registry is N versions of the tiny example ONNX model (ten versions per model name) in one
Git commit; in a chain every version names the one before it as `lineage.base_model`, so the
last one has N - 1 ancestors. `modelreg validate` runs as its own process, without the cache
unless `--cache` (then with an empty one, then again with nothing changed), and must report no
error. Validation should cost the same per version whatever the depth: the chain's seconds per
version are printed beside the flat registry's.
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


def version_folder(index: int) -> tuple[str, str]:
    """The name and version make_registry gives version `index` (ten per model)."""
    return f"model-{index // 10:05d}", f"1.0.{index % 10}"


def make_chain(root: Path, versions: int) -> None:
    """A registry where version i is derived from version i - 1 (its base model)."""
    make_registry(root, versions, PROJECT)
    for index in range(1, versions):
        manifest = root.joinpath("models", *version_folder(index), "manifest.yaml")
        base = "@".join(version_folder(index - 1))
        text = manifest.read_text()
        manifest.write_text(text.replace("lineage:\n", f"lineage:\n  base_model: {base}\n", 1))
    env = {**os.environ, "GIT_AUTHOR_NAME": "bench", "GIT_AUTHOR_EMAIL": "bench@example.org"}
    env |= {"GIT_COMMITTER_NAME": "bench", "GIT_COMMITTER_EMAIL": "bench@example.org"}
    for command in (["add", "-A"], ["commit", "-q", "--amend", "-m", "synthetic chain"]):
        subprocess.run(["git", *command], cwd=root, env=env, check=True)


def seconds(command: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=cwd, stdout=subprocess.DEVNULL, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} exited with {done.returncode} in {cwd}")
    return time.perf_counter() - start


def measure(kind: str, versions: int, cache: bool) -> list[tuple[str, float]]:
    """(what, seconds) of validating one synthetic registry."""
    with tempfile.TemporaryDirectory(prefix="modelreg-bench-lineage-") as scratch:
        root = Path(scratch) / "registry"
        if kind == "chain":
            make_chain(root, versions)
        else:
            make_registry(root, versions, PROJECT)
        validate = [sys.executable, "-m", "registry", "--quiet", "validate", "--jobs", "1"]
        if not cache:
            return [("no cache", seconds([*validate, "--no-cache"], root))]
        cached = [*validate, "--cache-dir", f"{scratch}/cache"]
        return [("empty cache", seconds(cached, root)), ("no change", seconds(cached, root))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chains", type=int, nargs="*", default=[1_000, 3_000, 10_000])
    parser.add_argument("--flat", type=int, nargs="*", default=[1_000])
    parser.add_argument("--cache", action="store_true", help="with the cache (cold, then warm)")
    args = parser.parse_args()
    print(f"{'registry':<8} {'versions':>8} {'run':<12} {'seconds':>8} {'ms/version':>10}")
    cases = [("flat", n) for n in args.flat] + [("chain", n) for n in args.chains]
    for kind, versions in cases:
        for what, elapsed in measure(kind, versions, args.cache):
            per = elapsed / versions * 1000
            print(f"{kind:<8} {versions:8d} {what:<12} {elapsed:8.1f} {per:10.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
