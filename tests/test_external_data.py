"""ONNX external data: every external file is hashed like the artifact itself."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import numpy as np

from tests.factories.registries import write_version
from tests.helpers import error_codes, validate_json


def _external_model(folder: Path) -> None:
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.arange(4096, dtype=np.float32).reshape(64, 64), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", 64])],
        [weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True)
    onnx.save_model(
        model,
        folder / "model.onnx",
        save_as_external_data=True,
        location="weights.bin",
        size_threshold=0,
    )


def _manifest(folder: Path) -> dict[str, Any]:
    def ref(name: str) -> dict[str, Any]:
        data = (folder / name).read_bytes()
        return {"path": name, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}

    return {
        "schema_version": "1.1",
        "model_name": "ext",
        "version": "1.0.0",
        "framework": {"name": "onnx", "version": "1.17.0"},
        "format": "onnx",
        "artifact": {**ref("model.onnx"), "external_data": [ref("weights.bin")]},
        "input_shape": [{"name": "x", "dtype": "float32", "shape": ["n", 64]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": ["n", 64]}],
        "license": "MIT",
        "intended_use": "A model whose weights live in an external file.",
        "publisher": {"name": "tests"},
        "risk_tier": "tier-1",
    }


def test_external_data_is_hashed(tmp_path: Path) -> None:
    folder = tmp_path / "models/ext/1.0.0"
    _external_model(folder)
    data = _manifest(folder)
    write_version(tmp_path, data)
    code, report = validate_json(tmp_path)
    assert code == 0, report["findings"]

    data["artifact"]["external_data"][0]["sha256"] = "0" * 64
    write_version(tmp_path, data)
    code, report = validate_json(tmp_path)
    assert code == 1
    assert error_codes(report) == {"integrity.sha256-mismatch"}
    finding = report["findings"][0]
    assert "weights.bin" in finding["message"]

    (folder / "weights.bin").unlink()
    code, report = validate_json(tmp_path)
    assert "integrity.missing-file" in error_codes(report)
