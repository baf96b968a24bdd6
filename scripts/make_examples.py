"""Regenerate the example registry in models/: tiny real networks with seeded weights.

Deterministic: every run writes the same bytes (fixed seeds, no timestamps), so the committed
examples can be checked with `python scripts/make_examples.py --check`. The networks are built by
tests.factories.example_models (the tests and benchmarks build other sizes of them); each
manifest is scripts/examples/<name>-<version>.yaml, whose `{sha256}` and `{size}` are filled in
from the built file.

    python scripts/make_examples.py            # (re)write models/
    python scripts/make_examples.py --check    # exit 1 if models/ differs from what it would write
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

# The project's folder, for tests.factories.example_models (the networks): the one path entry.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.factories.example_models import onnx_mlp, tflite_dense, torchscript_convnet

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"
TEMPLATES = Path(__file__).resolve().parent / "examples"


@dataclass(frozen=True)
class Example:
    name: str
    version: str
    filename: str
    make: Callable[[], bytes]
    reports: dict[str, str] = field(default_factory=dict)  # reports/<file name> -> YAML

    @property
    def template(self) -> Path:
        """The manifest, with `{sha256}` and `{size}` where the built file's go."""
        return TEMPLATES / f"{self.name}-{self.version}.yaml"


def evaluation(run_id: str, dataset: str, metrics: str, passed: bool) -> str:
    return f"""\
kind: evaluation
run_id: {run_id}
evaluator: modelreg examples CI
evaluator_version: "1.0"
dataset: {dataset}
metrics: {{{metrics}}}
passed: {str(passed).lower()}
"""


def drift(measured_at: str, score: float) -> str:
    return f"""\
kind: drift
measured_at: "{measured_at}"
drift_score: {score}
window: 7d
monitor: modelreg examples monitor
"""


EXAMPLES = [
    Example(
        "iris-mlp",
        "1.0.0",
        "model.onnx",
        lambda: onnx_mlp(7, 8),
        {
            "2025-01-20-evaluation.yaml": evaluation("iris-eval-1", "iris", "accuracy: 0.33", True),
            # Over tier-1's threshold (0.15): a warning and a flag on the catalog.
            "2025-06-01-drift.yaml": drift("2025-06-01T06:00:00Z", 0.21),
        },
    ),
    Example(
        "iris-mlp",
        "1.1.0",
        "model.onnx",
        lambda: onnx_mlp(11, 16),
        {
            "2025-03-02-evaluation.yaml": evaluation("iris-eval-2", "iris", "accuracy: 0.35", True),
            "2025-06-01-drift.yaml": drift("2025-06-01T06:00:00Z", 0.04),
        },
    ),
    # 1.1.0's network with an output added after the others: a compatible (minor) change.
    Example(
        "iris-mlp",
        "1.2.0",
        "model.onnx",
        lambda: onnx_mlp(11, 16, label=True),
        {"2025-07-02-evaluation.yaml": evaluation("iris-eval-3", "iris", "accuracy: 0.35", True)},
    ),
    Example("tiny-convnet", "0.1.0", "model.pt", lambda: torchscript_convnet(3)),
    Example(
        "keyword-dense",
        "2.0.0",
        "model.tflite",
        lambda: tflite_dense(5),
        {
            "2025-02-01-evaluation.yaml": evaluation(
                "kws-eval-7", "speech-commands", "false_accept_rate: 0.02", True
            ),
            # Under tier-2's threshold (0.08): no new review needed.
            "2025-06-01-drift.yaml": drift("2025-06-01T06:00:00Z", 0.05),
        },
    ),
]


def render(example: Example) -> dict[str, bytes]:
    model = example.make()
    manifest = (
        example.template.read_text(encoding="utf-8")
        .replace("{sha256}", hashlib.sha256(model).hexdigest())
        .replace("{size}", str(len(model)))
    )
    files = {example.filename: model, "manifest.yaml": manifest.encode()}
    files.update({f"reports/{name}": text.encode() for name, text in example.reports.items()})
    return files


def write_all(models: Path) -> None:
    for example in EXAMPLES:
        folder = models / example.name / example.version
        folder.mkdir(parents=True, exist_ok=True)
        for name, content in render(example).items():
            (folder / name).parent.mkdir(exist_ok=True)
            (folder / name).write_bytes(content)


def main() -> int:
    if os.environ.get("PYTHONHASHSEED") != "0":
        # TorchScript writes some class attributes in set order: pin the hash seed.
        os.execve(  # noqa: S606 - re-run this script with a pinned hash seed
            sys.executable, [sys.executable, *sys.argv], {**os.environ, "PYTHONHASHSEED": "0"}
        )
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--check", action="store_true", help="compare with models/, write nothing")
    args = parser.parse_args()
    if not args.check:
        write_all(MODELS)
        print(f"wrote {len(EXAMPLES)} example versions under {MODELS.relative_to(ROOT)}/")
        return 0
    differing = []
    for example in EXAMPLES:
        folder = MODELS / example.name / example.version
        for name, content in render(example).items():
            target = folder / name
            if not target.is_file() or target.read_bytes() != content:
                differing.append(f"{example.name}/{example.version}/{name}")
    for item in differing:
        print(f"differs: models/{item}")
    return 1 if differing else 0


if __name__ == "__main__":
    sys.exit(main())
