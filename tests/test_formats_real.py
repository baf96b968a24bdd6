"""Each format handler on the real third-party model files."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from registry.errors import FormatError
from registry.formats import describe_content, detect, handlers, read_head
from registry.formats.flatwalk import MIN_BUDGET
from registry.formats.onnx_handler import OnnxHandler
from registry.formats.tflite_handler import TfliteHandler
from registry.formats.torchscript_handler import TorchScriptHandler
from registry.tensors import TensorSpec
from tests.helpers import PROJECT, REAL_MODELS


def test_builtins_come_from_entry_points() -> None:
    from importlib.metadata import entry_points

    names = {e.name for e in entry_points(group="modelreg.formats")}
    assert {"onnx", "tflite", "torchscript"} <= names
    assert set(handlers()) >= {"onnx", "tflite", "torchscript"}


@pytest.mark.parametrize(
    ("file", "expected"),
    [
        ("silero_vad.onnx", "onnx"),
        ("logreg_iris.onnx", "onnx"),
        ("nmp.onnx", "onnx"),
        ("mul_1.onnx", "onnx"),
        ("nmp.tflite", "tflite"),
        ("okay_nabu.tflite", "tflite"),
        ("silero_vad.jit", "torchscript"),
        ("facenet_pnet.pt", None),
    ],
)
def test_detection_by_content(file: str, expected: str | None) -> None:
    handler = detect(read_head(REAL_MODELS / file))
    assert (handler.name if handler else None) == expected


def test_silero_onnx_nested_subgraphs() -> None:
    info = OnnxHandler().inspect(REAL_MODELS / "silero_vad.onnx")
    assert info.format_version == "IR 8"
    assert info.opsets == {"ai.onnx": 16}
    assert [t.name for t in info.inputs] == ["input", "state", "sr"]
    assert info.inputs[1] == TensorSpec("state", "float32", (2, None, 128))
    assert info.inputs[2] == TensorSpec("sr", "int64", ())
    assert len(info.subgraphs) >= 40  # weights live in Constant nodes of nested If branches
    assert info.parameter_count > 300_000
    assert "If" in info.operators


def test_logreg_sequence_of_maps_output() -> None:
    info = OnnxHandler().inspect(REAL_MODELS / "logreg_iris.onnx")
    assert info.opsets == {"ai.onnx.ml": 1}
    assert info.outputs == (
        TensorSpec("label", "int64", (3,)),
        TensorSpec("probabilities", "sequence<map<int64,float32>>", None),
    )
    assert info.format_version == "IR 3"


def test_mul_1_refused_with_the_checker_reason() -> None:
    with pytest.raises(FormatError) as caught:
        OnnxHandler().inspect(REAL_MODELS / "mul_1.onnx")
    assert caught.value.code == "format.invalid"
    assert "W in initializer but not in graph input" in caught.value.message


def test_okay_nabu_two_subgraphs_int8() -> None:
    info = TfliteHandler().inspect(REAL_MODELS / "okay_nabu.tflite")
    assert info.subgraphs == ("main", "NoOp")
    assert info.quantization == "int8"
    assert info.inputs == (TensorSpec("serving_default_input_audio:0", "int8", (1, 3, 40)),)
    assert info.outputs == (TensorSpec("StatefulPartitionedCall:0", "uint8", (1, 1)),)
    assert "CALL_ONCE" in info.operators and "VAR_HANDLE" in info.operators


def test_nmp_tflite_signature_and_dynamic_batch() -> None:
    info = TfliteHandler().inspect(REAL_MODELS / "nmp.tflite")
    assert info.signatures == {
        "serving_default": {"inputs": ("input_2",), "outputs": ("contour", "note", "onset")}
    }
    assert info.inputs[0].shape == (None, 43844, 1)  # shape_signature -1: unknown
    assert info.quantization is None


def test_tflite_weights_larger_than_the_visit_budget(tmp_path: Path) -> None:
    """The visit budget bounds what is walked, not the weights' bytes: a 24 MiB model passes."""
    from tests.factories.example_models import tflite_dense

    features = MIN_BUDGET // 16 + 4096
    path = tmp_path / "large.tflite"
    path.write_bytes(tflite_dense(5, features))
    info = TfliteHandler().inspect(path)
    assert info.parameter_count == 4 * features + 4
    assert [spec.shape for spec in info.inputs] == [(1, features)]


def test_silero_jit_forward_signature_read_statically() -> None:
    info = TorchScriptHandler().inspect(REAL_MODELS / "silero_vad.jit")
    assert info.inputs == (TensorSpec("x", "tensor", None), TensorSpec("sr", "int64", ()))
    assert info.outputs == (TensorSpec("output_0", "tensor", None),)
    assert info.format_version == "archive 3"
    assert info.parameter_count > 500_000
    assert "output_names" in info.unstated


def test_facenet_legacy_pickle_is_described() -> None:
    head = read_head(REAL_MODELS / "facenet_pnet.pt")
    assert detect(head) is None
    assert describe_content(head) == "legacy torch.save pickle"


def test_torch_save_zip_is_not_torchscript(tmp_path: Path) -> None:
    import torch

    path = tmp_path / "checkpoint.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    assert detect(read_head(path)) is not None  # a zip: sniffed, then refused by inspection
    with pytest.raises(FormatError) as caught:
        TorchScriptHandler().inspect(path)
    assert caught.value.code == "format.not-torchscript"
    assert "torch.save checkpoint" in caught.value.message


def test_tflite_that_is_also_a_zip_is_detected_as_tflite(tmp_path: Path) -> None:
    # TFLite models with metadata carry their associated files as a zip appended to the flatbuffer.
    path = tmp_path / "with_metadata.tflite"
    path.write_bytes((REAL_MODELS / "nmp.tflite").read_bytes())
    with zipfile.ZipFile(path, "a") as archive:
        archive.writestr("labels.txt", "contour\nnote\nonset\n")
    assert zipfile.is_zipfile(path)
    handler = detect(read_head(path))
    assert handler is not None and handler.name == "tflite"
    assert handler.inspect(path).signatures["serving_default"]["inputs"] == ("input_2",)


def test_inspecting_torchscript_never_loads_the_archive() -> None:
    """Nothing runs code from the archive: torch's archive reader is the only part of torch the
    inspection uses (as a cross-check); every way torch has of loading a module is disabled."""
    code = (
        "import sys; from pathlib import Path\n"
        "import torch, torch.jit\n"
        "def refuse(*args, **kwargs): raise AssertionError('a loader was called')\n"
        "torch.jit.load = torch.load = torch._C.import_ir_module = refuse\n"
        "torch._C._load_for_lite_interpreter = refuse\n"
        "from registry.formats.torchscript_handler import TorchScriptHandler\n"
        f"TorchScriptHandler().inspect(Path({str(REAL_MODELS / 'silero_vad.jit')!r}))\n"
        "assert 'torch.jit.mobile' not in sys.modules\n"
        "print('clean')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "clean"


def test_inspect_cli_json(tmp_path: Path) -> None:
    from tests.helpers import run

    code, out, _ = run("inspect", REAL_MODELS / "nmp.tflite", "--json")
    assert code == 0
    data = json.loads(out)
    assert data["format"] == "tflite" and data["subgraphs"] == ["main"]
    code, _, err = run("inspect", REAL_MODELS / "facenet_pnet.pt")
    assert code == 1
    assert "legacy torch.save pickle" in err


def test_scripted_module_roundtrip_signature(tmp_path: Path) -> None:
    """A freshly scripted module: forward's parameters, scalar types and tuple outputs."""
    import torch

    class Two(torch.nn.Module):
        def forward(
            self, audio: torch.Tensor, rate: int, gain: float
        ) -> tuple[torch.Tensor, torch.Tensor]:
            return audio * gain, audio + rate

    buffer = io.BytesIO()
    torch.jit.save(torch.jit.script(Two()), buffer)
    path = tmp_path / "two.pt"
    path.write_bytes(buffer.getvalue())
    info = TorchScriptHandler().inspect(path)
    assert info.inputs == (
        TensorSpec("audio", "tensor", None),
        TensorSpec("rate", "int64", ()),
        TensorSpec("gain", "float64", ()),
    )
    assert [t.name for t in info.outputs] == ["output_0", "output_1"]
