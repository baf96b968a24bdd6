"""Benchmark: what the sandbox costs per model file.

    python scripts/bench_sandbox.py [--repeat 20]

For each example and real model file, the mean time of an in-process inspection (the handler
alone) and of a sandboxed one (a forked, resource-limited child of the zygote), and their
difference; plus the one-off cost of starting the zygote.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

from registry.formats import detect, read_head
from registry.sandbox import Inspector

PROJECT = Path(__file__).resolve().parent.parent
FILES = [
    PROJECT / "models/iris-mlp/1.0.0/model.onnx",
    PROJECT / "models/keyword-dense/2.0.0/model.tflite",
    PROJECT / "models/tiny-convnet/0.1.0/model.pt",
    PROJECT.parent / "shared/real-models/silero_vad.onnx",
    PROJECT.parent / "shared/real-models/okay_nabu.tflite",
    PROJECT.parent / "shared/real-models/silero_vad.jit",
]


def mean_ms(action: object, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.mean(times) * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    start = time.perf_counter()
    with Inspector() as inspector:
        inspector.inspect("onnx", FILES[0])
        startup = (time.perf_counter() - start) * 1000
        print(f"zygote start and first inspection: {startup:.0f} ms")
        print(f"{'file':28} {'in-process ms':>14} {'sandboxed ms':>13} {'overhead ms':>12}")
        overheads = []
        for path in FILES:
            handler = detect(read_head(path))
            assert handler is not None
            direct = mean_ms(lambda h=handler, p=path: h.inspect(p), args.repeat)
            boxed = mean_ms(lambda h=handler, p=path: inspector.inspect(h.name, p), args.repeat)
            overheads.append(boxed - direct)
            print(f"{path.name:28} {direct:14.1f} {boxed:13.1f} {boxed - direct:12.1f}")
    print(f"mean overhead per file: {statistics.mean(overheads):.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
