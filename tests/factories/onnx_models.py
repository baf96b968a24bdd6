"""Small ONNX models the tests build (nothing committed)."""

from __future__ import annotations

from typing import Any

import numpy as np

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
