"""Coverage-guided fuzzing (atheris/libFuzzer) of the format parsers and the manifest loader.

    python scripts/fuzz.py TARGET [--seconds 600] [--corpus DIR]
    TARGET: onnx | tflite | torchscript | manifest | zip | torchscript-code | lite-bytecode

Every input must either be read or be refused with a FormatError (the parsers) or with findings
(the manifest loader); any other exception is a crash, and libFuzzer saves the input as
crash-<hash> in the working folder. `zip` also checks a property: what the strict zip reader
accepts, Python's zipfile and torch's reader read alike. Inputs that take over 10 s are reported
as timeouts. The seed corpus is the example registry's files (and, for the lite bytecode, a
scripted nn.Linear). `make fuzz` runs every target.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import atheris

PROJECT = Path(__file__).resolve().parent.parent
SEEDS = {
    "onnx": ["models/iris-mlp/1.0.0/model.onnx", "models/iris-mlp/1.1.0/model.onnx"],
    "tflite": ["models/keyword-dense/2.0.0/model.tflite"],
    "torchscript": ["models/tiny-convnet/0.1.0/model.pt"],
    "manifest": [
        f"models/{p}/manifest.yaml"
        for p in ("iris-mlp/1.0.0", "iris-mlp/1.1.0", "keyword-dense/2.0.0", "tiny-convnet/0.1.0")
    ],
    "zip": ["models/tiny-convnet/0.1.0/model.pt"],
    "torchscript-code": [],  # the example archive's code files, written at start
    "lite-bytecode": [],  # a scripted nn.Linear's bytecode.pkl, written at start
}
sys.path.insert(0, str(PROJECT))  # tests.factories.fuzz_targets

with atheris.instrument_imports():
    from registry.errors import FormatError
    from registry.formats.onnx_handler import OnnxHandler
    from registry.formats.tflite_handler import TfliteHandler
    from registry.formats.torchscript_handler import TorchScriptHandler
    from registry.load.manifest import schema_for
    from registry.load.schemas import validate_against
    from registry.load.yamlsafe import load_yaml_bytes
    from tests.factories import fuzz_targets

HANDLERS: dict[str, Any] = {
    "onnx": OnnxHandler(),
    "tflite": TfliteHandler(),
    "torchscript": TorchScriptHandler(),
}


def parser_target(name: str) -> Any:
    handler = HANDLERS[name]
    scratch = Path(tempfile.mkdtemp(prefix=f"fuzz-{name}-"))
    path = scratch / f"input{handler.suffixes[0]}"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        with contextlib.suppress(FormatError):
            handler.inspect(path)

    return one_input


def manifest_target(data: bytes) -> None:
    loaded, findings = load_yaml_bytes(data, "fuzz.yaml")
    if loaded is None:
        assert findings and all(f.code.startswith("yaml.") for f in findings)
        return
    schema, _ = schema_for(loaded, "fuzz.yaml")
    if schema is not None:
        validate_against(schema, loaded, "fuzz.yaml")


def file_target(check: Any) -> Any:
    """A target whose reader takes a path: each input written to one scratch file."""
    path = Path(tempfile.mkdtemp(prefix="fuzz-")) / "input.pt"

    def one_input(data: bytes) -> None:
        path.write_bytes(data)
        check(path)

    return one_input


def generated_seeds(target: str) -> list[bytes]:
    if target == "torchscript-code":
        return fuzz_targets.code_seeds()
    if target == "lite-bytecode":
        return [fuzz_targets.lite_seed()[0]]
    return []


TARGETS: dict[str, Any] = {
    "manifest": lambda: manifest_target,
    "zip": lambda: file_target(fuzz_targets.zip_agreement),
    "torchscript-code": lambda: fuzz_targets.code_judge,
    "lite-bytecode": lambda: fuzz_targets.lite_bytecode,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("target", choices=sorted(SEEDS))
    parser.add_argument("--seconds", type=int, default=600)
    parser.add_argument("--corpus", type=Path, help="corpus folder (default: a temporary one)")
    args, rest = parser.parse_known_args()
    corpus = args.corpus or Path(tempfile.mkdtemp(prefix=f"corpus-{args.target}-"))
    corpus.mkdir(parents=True, exist_ok=True)
    for seed in SEEDS[args.target]:
        (corpus / Path(seed).name.replace("/", "_")).write_bytes((PROJECT / seed).read_bytes())
    for index, data in enumerate(generated_seeds(args.target)):
        (corpus / f"seed-{index}").write_bytes(data)
    make = TARGETS.get(args.target)
    target = make() if make is not None else parser_target(args.target)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    atheris.Setup(
        [
            sys.argv[0],
            f"-max_total_time={args.seconds}",
            "-timeout=10",
            "-rss_limit_mb=4096",
            "-print_final_stats=1",
            *rest,
            str(corpus),
        ],
        target,
    )
    atheris.Fuzz()
    return 0


if __name__ == "__main__":
    sys.exit(main())
