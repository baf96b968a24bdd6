"""Benchmark: peak memory of `modelreg validate` on a 1 GiB ONNX model (weights as external data)
and a 1 GiB TFLite model.

    python scripts/bench_memory.py [--size-mib 1024]

The validation runs as its own process, without the cache (every byte is hashed and the format
checked in the sandbox). The peak is the largest sum of the resident set sizes of that process
and all its descendants (the sandbox's processes), sampled from /proc every 10 ms; the largest
single process, as the kernel counts it, is printed beside it.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

# The project's folder, for tests.factories.example_models (the example networks, any size).
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.factories.example_models import tflite_dense

PAGE = os.sysconf("SC_PAGE_SIZE")
MANIFEST: dict[str, Any] = {
    "schema_version": "1.1",
    "framework": {"name": "tensorflow", "version": "2.15.0"},
    "license": "Apache-2.0",
    "intended_use": "A benchmark model of 1 GiB, never used for anything.",
    "publisher": {"name": "bench"},
    "risk_tier": "tier-1",
}


def _reference(folder: Path, name: str) -> dict[str, Any]:
    digest = hashlib.sha256()
    with (folder / name).open("rb") as handle:
        while data := handle.read(1 << 24):
            digest.update(data)
    return {"path": name, "sha256": digest.hexdigest(), "size": (folder / name).stat().st_size}


def save_matmul(weights: Any, columns: int, path: Path) -> None:
    """The model y = x · w for x[n, 64] and the `weights` w[64, columns], saved at `path`."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "big",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", columns])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save_model(model, path)


def make_onnx(folder: Path, size: int) -> None:
    """MatMul x[n, 64] · w[64, k] whose weights are `size` bytes of external data, written
    in pieces (never held whole in memory)."""
    import numpy as np
    import onnx
    from onnx import TensorProto

    columns = size // (64 * 4)
    with (folder / "weights.bin").open("wb") as out:
        piece = np.random.default_rng(1).standard_normal(1 << 22, dtype=np.float32).tobytes()
        for start in range(0, 64 * columns * 4, len(piece)):
            out.write(piece[: min(len(piece), 64 * columns * 4 - start)])
    weights = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[64, columns])
    weights.data_location = TensorProto.EXTERNAL
    for key, value in (("location", "weights.bin"), ("offset", "0"), ("length", str(size))):
        entry = weights.external_data.add()
        entry.key, entry.value = key, value
    save_matmul(weights, columns, folder / "model.onnx")
    manifest = {
        **MANIFEST,
        "model_name": folder.parent.name,
        "version": "1.0.0",
        "framework": {"name": "onnx", "version": onnx.__version__},
        "format": "onnx",
        "artifact": {**_reference(folder, "model.onnx"), "external_data": []},
        "input_shape": [{"name": "x", "dtype": "float32", "shape": ["n", 64]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": ["n", columns]}],
    }
    manifest["artifact"]["external_data"].append(_reference(folder, "weights.bin"))
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def make_tflite(folder: Path, size: int) -> None:
    """FULLY_CONNECTED + SOFTMAX whose weights are `size` bytes inside the flatbuffer."""
    features = size // 16
    (folder / "model.tflite").write_bytes(tflite_dense(5, features))
    manifest = {
        **MANIFEST,
        "model_name": folder.parent.name,
        "version": "1.0.0",
        "format": "tflite",
        "artifact": _reference(folder, "model.tflite"),
        "input_shape": [{"name": "mfcc", "dtype": "float32", "shape": [1, features]}],
        "output_schema": [{"name": "scores", "dtype": "float32", "shape": [1, 4]}],
    }
    (folder / "manifest.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))


def _tree_rss(root: int) -> int:
    """Resident bytes of process `root` and all its descendants."""
    parents: dict[int, int] = {}
    resident: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            pages = int((entry / "statm").read_text().split()[1])
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
        resident[int(entry.name)] = pages * PAGE
    total, pending = 0, [root]
    while pending:
        pid = pending.pop()
        total += resident.get(pid, 0)
        pending += [child for child, parent in parents.items() if parent == pid]
    return total


def peak_memory(command: list[str], cwd: Path) -> tuple[float, float, float]:
    """Seconds, peak MiB of the process tree (sampled), and the largest single process's peak
    (MiB, from the kernel: wait4 reports the maximum over the process and its descendants)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL)
    peak = 0
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        peak = max(peak, _tree_rss(process.pid))
        time.sleep(0.01)
    elapsed = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed with exit code {process.returncode}")
    return elapsed, peak / (1 << 20), usage.ru_maxrss / 1024


MAKERS = {"onnx": make_onnx, "tflite": make_tflite}


def measure(kind: str, size: int) -> tuple[float, float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        (root / "registry.yaml").write_text("name: memory\nbase_url: https://bench.example.org/\n")
        folder = root / "models" / "big" / "1.0.0"
        folder.mkdir(parents=True)
        # Made by another process: a child forked from this one would start with its memory
        # (the kernel counts the shared pages until exec), which would taint the peak.
        subprocess.run(
            [sys.executable, __file__, "--make", kind, str(folder), "--size-mib", str(size >> 20)],
            check=True,
        )
        return peak_memory(
            [sys.executable, "-m", "registry", "--quiet", "validate", "--no-cache", str(folder)],
            root,
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--make", nargs=2, metavar=("KIND", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    size = args.size_mib << 20
    if args.make:
        MAKERS[args.make[0]](Path(args.make[1]), size)
        return 0
    print(f"{'model':28} {'seconds':>8} {'peak MiB (tree)':>16} {'largest process MiB':>20}")
    for kind, name in (("onnx", "ONNX + external data"), ("tflite", "TFLite")):
        seconds, tree, largest = measure(kind, size)
        print(f"{name + f' {args.size_mib} MiB':28} {seconds:8.1f} {tree:16.0f} {largest:20.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
