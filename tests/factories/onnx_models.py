"""Small ONNX models the tests build (nothing committed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from tests.factories.manifests import external_data_manifest

WEIGHTS = np.ones(16, np.float32).tobytes()  # 4x4 float32: what the external tensor reads


def matmul_reading(location: str, extra: dict[str, str] | None = None) -> Any:
    """y[1,4] = x[1,4] @ w[4,4], with w as external data at `location` (64 bytes at 0)."""
    from onnx import TensorProto, helper

    tensor = TensorProto(
        name="w", data_type=TensorProto.FLOAT, dims=[4, 4], data_location=TensorProto.EXTERNAL
    )
    for key, value in {
        "location": location,
        "offset": "0",
        "length": "64",
        **(extra or {}),
    }.items():
        tensor.external_data.add(key=key, value=value)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        [tensor],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


MATMUL_IO = {
    "input_shape": [{"name": "x", "dtype": "float32", "shape": [1, 4]}],
    "output_schema": [{"name": "y", "dtype": "float32", "shape": [1, 4]}],
}


def wide_onnx(folder: Path, columns: int = 81920, weights: str = "weights.bin") -> dict[str, Any]:
    """wide@1.0.0 in `folder`: y = x @ w with w (64 x `columns` float32, 20 MiB by default:
    three 8 MiB chunks) as the external data file `weights`; its manifest."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    values = np.random.default_rng(7).standard_normal((64, columns), dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"])],
        "wide",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["n", columns])],
        [numpy_helper.from_array(values, "w")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    folder.mkdir(parents=True, exist_ok=True)
    onnx.save_model(
        model, folder / "model.onnx", save_as_external_data=True, location=weights, size_threshold=0
    )
    io = {
        "input_shape": [{"name": "x", "dtype": "float32", "shape": ["n", 64]}],
        "output_schema": [{"name": "y", "dtype": "float32", "shape": ["n", columns]}],
    }
    return external_data_manifest(
        folder, io, (weights,), "wide", "A model large enough to be published in several chunks."
    )
