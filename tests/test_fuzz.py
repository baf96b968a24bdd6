"""Fuzz targets for the format parsers and the manifest loader (hypothesis).

Inside `make test` each target runs a few hundred examples; `make fuzz` runs them for long with
FUZZ_EXAMPLES set. Every input must give a result or a FormatError / findings: never another
exception.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.errors import FormatError
from registry.formats.onnx_handler import OnnxHandler
from registry.formats.tflite_handler import TfliteHandler
from registry.formats.torchscript_handler import TorchScriptHandler
from registry.load.yamlsafe import load_yaml_text
from tests.factories import fuzz_targets
from tests.helpers import PROJECT, REAL_MODELS

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "150"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=EXAMPLES <= 150,  # reproducible inside `make test`, exploring under `make fuzz`
)
SEEDS = {
    "onnx": [PROJECT / "models/iris-mlp/1.0.0/model.onnx", REAL_MODELS / "logreg_iris.onnx"],
    "tflite": [PROJECT / "models/keyword-dense/2.0.0/model.tflite"],
    "torchscript": [PROJECT / "models/tiny-convnet/0.1.0/model.pt"],
}
HANDLERS: dict[str, Any] = {
    "onnx": OnnxHandler(),
    "tflite": TfliteHandler(),
    "torchscript": TorchScriptHandler(),
}


@st.composite
def mutated(draw: st.DrawFn, fmt: str) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS[fmt])).read_bytes())
    for _ in range(draw(st.integers(1, 8))):
        action = draw(st.sampled_from(["flip", "set", "cut", "insert", "copy"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if action == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif action == "set" and data:
            data[at] = draw(st.sampled_from([0, 0x7F, 0x80, 0xFF]))
        elif action == "cut":
            del data[at:]
        elif action == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=16))
        elif action == "copy" and data:
            size = draw(st.integers(1, 64))
            data[at:at] = data[at : at + size]
    return bytes(data)


@pytest.mark.parametrize("fmt", sorted(SEEDS))
def test_parser_never_raises_anything_but_format_error(fmt: str) -> None:
    @FUZZ
    @given(mutated(fmt))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as scratch:
            path = Path(scratch) / f"model{SEEDS[fmt][0].suffix}"
            path.write_bytes(data)
            with contextlib.suppress(FormatError):
                HANDLERS[fmt].inspect(path)

    check()


YAML_ALPHABET = st.sampled_from([*list("ab:- \n\t'\"[]{},&*!|>#%@`?<=~01.+eE"), "é", "\r"])


@FUZZ
@given(st.text(YAML_ALPHABET, max_size=300))
def test_manifest_loader_never_raises(text: str) -> None:
    loaded, findings = load_yaml_text(text, "fuzz.yaml")
    assert (loaded is None) == bool(findings)
    for finding in findings:
        assert finding.code.startswith("yaml.") and finding.message


@FUZZ
@given(mutated("torchscript"))
def test_what_the_strict_zip_reader_accepts_every_reader_reads_alike(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "model.pt"
        path.write_bytes(data)
        fuzz_targets.zip_agreement(path)


CODE = st.sampled_from(fuzz_targets.code_seeds())


@st.composite
def edited_code(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(CODE))
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        data[at:at] = draw(st.sampled_from([b"torch.", b"ops.prim.", b"(", b")", b"\n  ", b"x"]))
    return bytes(data)


@FUZZ
@given(edited_code())
def test_the_code_judge_never_raises_anything_but_format_error(data: bytes) -> None:
    fuzz_targets.code_judge(data)


@FUZZ
@given(
    st.binary(max_size=64).map(
        lambda tail: fuzz_targets.lite_seed()[0][: -len(tail) or None] + tail
    )
)
def test_the_bytecode_judge_never_raises_anything_but_format_error(data: bytes) -> None:
    fuzz_targets.lite_bytecode(data)
