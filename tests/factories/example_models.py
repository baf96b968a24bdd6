"""The networks of the example registry (models/), built with seeded weights: the same arguments
always give the same bytes.

scripts/make_examples.py writes models/ from them (`make examples`); the tests and the benchmarks
build other sizes of the same networks (a 24 MiB or 1 GiB TFLite model, weights past 4 GiB).
They live here, not in the registry package, because only the project's own tooling needs them
and they need the development extras (torch, onnx, tflite, flatbuffers).
"""

from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Callable
from typing import Any

import numpy as np


def onnx_mlp(seed: int, hidden: int, label: bool = False) -> bytes:
    """Iris-sized MLP: features[batch, 4] -> probabilities[batch, 3]; with `label`, also the
    most probable class, label[batch] int64 (an output added after the others: a minor release)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    w1 = rng.normal(0, 0.5, (4, hidden)).astype(np.float32)
    b1 = np.zeros(hidden, np.float32)
    w2 = rng.normal(0, 0.5, (hidden, 3)).astype(np.float32)
    b2 = np.zeros(3, np.float32)
    nodes = [
        helper.make_node("Gemm", ["features", "w1", "b1"], ["h"]),
        helper.make_node("Relu", ["h"], ["h_relu"]),
        helper.make_node("Gemm", ["h_relu", "w2", "b2"], ["logits"]),
        helper.make_node("Softmax", ["logits"], ["probabilities"], axis=1),
    ]
    outputs = [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 3])]
    if label:
        nodes.append(helper.make_node("ArgMax", ["probabilities"], ["label"], axis=1, keepdims=0))
        outputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
    graph = helper.make_graph(
        nodes,
        "iris_mlp",
        [helper.make_tensor_value_info("features", TensorProto.FLOAT, ["batch", 4])],
        outputs,
        [
            numpy_helper.from_array(a, n)
            for a, n in ((w1, "w1"), (b1, "b1"), (w2, "w2"), (b2, "b2"))
        ],
    )
    model = helper.make_model(
        graph,
        producer_name="modelreg-examples",
        producer_version="1",
        opset_imports=[helper.make_opsetid("", 17)],
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    return bytes(model.SerializeToString(deterministic=True))


def torchscript_convnet(seed: int) -> bytes:
    """A small CNN: image[batch, 1, 8, 8] -> logits[batch, 2], scripted and saved."""
    import torch

    torch.manual_seed(seed)

    class TinyConvNet(torch.nn.Module):
        # TorchScript names a class after its module: the committed archive's is `__torch__`,
        # that of a class defined in a script (scripts/make_examples.py made it first).
        _jit_override_qualname = "__torch__.TinyConvNet"

        def __init__(self) -> None:
            super().__init__()
            self.conv = torch.nn.Conv2d(1, 4, 3, padding=1)
            self.head = torch.nn.Linear(4 * 8 * 8, 2)

        def forward(self, image: torch.Tensor) -> torch.Tensor:
            features = torch.relu(self.conv(image))
            logits: torch.Tensor = self.head(features.flatten(1))
            return logits

    scripted = torch.jit.script(TinyConvNet())
    buffer = io.BytesIO()
    torch.jit.save(scripted, buffer)
    return _deterministic_archive(buffer.getvalue())


def _deterministic_archive(archive: bytes) -> bytes:
    """Rewrite torch.jit.save's zip so that the same module always gives the same bytes.

    Dropped: the `.debug_pkl` entries (source ranges naming this script's absolute path; loading
    does not need them). Pinned: the random half of `.data/serialization_id`. Kept: entry order and
    the 64-byte alignment of every entry's data that torch's own writer uses.
    """
    source = zipfile.ZipFile(io.BytesIO(archive))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as target:
        for info in source.infolist():
            if info.filename.endswith(".debug_pkl"):
                continue
            data = source.read(info)
            if info.filename.endswith(".data/serialization_id"):
                data = data[:20] + b"0" * (len(data) - 20)
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            header = 30 + len(info.filename.encode()) + 4  # local header + padding field header
            padding = -(out.tell() + header) % 64
            entry.extra = struct.pack("<HH", 0x4246, padding) + b"Z" * padding
            target.writestr(entry, data)
    return out.getvalue()


def tflite_dense(seed: int, features: int = 16, weights_offset: int | None = None) -> bytes:
    """FULLY_CONNECTED + SOFTMAX: mfcc[1, features] float32 -> scores[1, 4] float32 (the
    benchmarks make one of 1 GiB with a large `features`). With `weights_offset`, the weights
    are addressed by offset and size after the flatbuffer, as converters write models over
    2 GB: the caller writes them there (the returned bytes are the flatbuffer alone)."""
    import importlib

    import flatbuffers

    # The tflite package re-exports each table's class under its module's name; the builder
    # functions live in the modules themselves.
    def schema(name: str) -> Any:
        return importlib.import_module(f"tflite.{name}")

    Buffer, Model, Operator, OperatorCode, SignatureDef, SubGraph, Tensor, TensorMap = (
        schema(n)
        for n in (
            "Buffer",
            "Model",
            "Operator",
            "OperatorCode",
            "SignatureDef",
            "SubGraph",
            "Tensor",
            "TensorMap",
        )
    )
    from tflite.BuiltinOperator import BuiltinOperator
    from tflite.BuiltinOptions import BuiltinOptions
    from tflite.TensorType import TensorType

    rng = np.random.default_rng(seed)
    weights = np.resize(rng.normal(0, 0.3, (4, 16)).astype("<f4"), (4, features)).tobytes()
    bias = np.zeros(4, "<f4").tobytes()
    b = flatbuffers.Builder(1024)

    def vector(start: Callable[[object, int], None], items: list[int], kind: str) -> int:
        start(b, len(items))
        for item in reversed(items):
            {"int": b.PrependInt32, "off": b.PrependUOffsetTRelative}[kind](item)
        return int(b.EndVector())

    def make_buffer(data: bytes, offset: int | None = None) -> int:
        data_vec = b.CreateByteVector(data) if data and offset is None else None
        Buffer.BufferStart(b)
        if data_vec is not None:
            Buffer.BufferAddData(b, data_vec)
        if offset is not None:
            Buffer.BufferAddOffset(b, offset)
            Buffer.BufferAddSize(b, len(data))
        return int(Buffer.BufferEnd(b))

    buffers = [make_buffer(b""), make_buffer(weights, weights_offset), make_buffer(bias)]
    buffers += [make_buffer(b"") for _ in range(3)]

    def make_tensor(name: str, shape: list[int], buffer: int) -> int:
        name_off = b.CreateString(name)
        shape_off = vector(Tensor.TensorStartShapeVector, shape, "int")
        Tensor.TensorStart(b)
        Tensor.TensorAddShape(b, shape_off)
        Tensor.TensorAddType(b, TensorType.FLOAT32)
        Tensor.TensorAddBuffer(b, buffer)
        Tensor.TensorAddName(b, name_off)
        return int(Tensor.TensorEnd(b))

    tensors = [
        make_tensor("mfcc", [1, features], 3),
        make_tensor("dense/weights", [4, features], 1),
        make_tensor("dense/bias", [4], 2),
        make_tensor("dense/output", [1, 4], 4),
        make_tensor("scores", [1, 4], 5),
    ]

    def make_operator(
        opcode: int, inputs: list[int], outputs: list[int], options: tuple[int, int] | None = None
    ) -> int:
        in_off = vector(Operator.OperatorStartInputsVector, inputs, "int")
        out_off = vector(Operator.OperatorStartOutputsVector, outputs, "int")
        Operator.OperatorStart(b)
        Operator.OperatorAddOpcodeIndex(b, opcode)
        Operator.OperatorAddInputs(b, in_off)
        Operator.OperatorAddOutputs(b, out_off)
        if options is not None:
            Operator.OperatorAddBuiltinOptionsType(b, options[0])
            Operator.OperatorAddBuiltinOptions(b, options[1])
        return int(Operator.OperatorEnd(b))

    # SOFTMAX's beta defaults to 0 (a constant output) when its options table is missing.
    SoftmaxOptions = schema("SoftmaxOptions")
    SoftmaxOptions.SoftmaxOptionsStart(b)
    SoftmaxOptions.SoftmaxOptionsAddBeta(b, 1.0)
    softmax_options = SoftmaxOptions.SoftmaxOptionsEnd(b)
    operators = [
        make_operator(0, [0, 1, 2], [3]),
        make_operator(1, [3], [4], (BuiltinOptions.SoftmaxOptions, softmax_options)),
    ]
    codes = []
    for builtin in (BuiltinOperator.FULLY_CONNECTED, BuiltinOperator.SOFTMAX):
        OperatorCode.OperatorCodeStart(b)
        OperatorCode.OperatorCodeAddDeprecatedBuiltinCode(b, builtin)
        OperatorCode.OperatorCodeAddBuiltinCode(b, builtin)
        OperatorCode.OperatorCodeAddVersion(b, 1)
        codes.append(int(OperatorCode.OperatorCodeEnd(b)))

    graph_name = b.CreateString("main")
    tensors_off = vector(SubGraph.SubGraphStartTensorsVector, tensors, "off")
    inputs_off = vector(SubGraph.SubGraphStartInputsVector, [0], "int")
    outputs_off = vector(SubGraph.SubGraphStartOutputsVector, [4], "int")
    operators_off = vector(SubGraph.SubGraphStartOperatorsVector, operators, "off")
    SubGraph.SubGraphStart(b)
    SubGraph.SubGraphAddTensors(b, tensors_off)
    SubGraph.SubGraphAddInputs(b, inputs_off)
    SubGraph.SubGraphAddOutputs(b, outputs_off)
    SubGraph.SubGraphAddOperators(b, operators_off)
    SubGraph.SubGraphAddName(b, graph_name)
    subgraph = SubGraph.SubGraphEnd(b)

    def tensor_map(name: str, index: int) -> int:
        name_off = b.CreateString(name)
        TensorMap.TensorMapStart(b)
        TensorMap.TensorMapAddName(b, name_off)
        TensorMap.TensorMapAddTensorIndex(b, index)
        return int(TensorMap.TensorMapEnd(b))

    sig_inputs = vector(SignatureDef.SignatureDefStartInputsVector, [tensor_map("mfcc", 0)], "off")
    sig_outputs = vector(
        SignatureDef.SignatureDefStartOutputsVector, [tensor_map("scores", 4)], "off"
    )
    sig_key = b.CreateString("serving_default")
    SignatureDef.SignatureDefStart(b)
    SignatureDef.SignatureDefAddInputs(b, sig_inputs)
    SignatureDef.SignatureDefAddOutputs(b, sig_outputs)
    SignatureDef.SignatureDefAddSignatureKey(b, sig_key)
    SignatureDef.SignatureDefAddSubgraphIndex(b, 0)
    signature = SignatureDef.SignatureDefEnd(b)

    description = b.CreateString("modelreg-examples")
    codes_off = vector(Model.ModelStartOperatorCodesVector, codes, "off")
    subgraphs_off = vector(Model.ModelStartSubgraphsVector, [subgraph], "off")
    buffers_off = vector(Model.ModelStartBuffersVector, buffers, "off")
    signatures_off = vector(Model.ModelStartSignatureDefsVector, [signature], "off")
    Model.ModelStart(b)
    Model.ModelAddVersion(b, 3)
    Model.ModelAddOperatorCodes(b, codes_off)
    Model.ModelAddSubgraphs(b, subgraphs_off)
    Model.ModelAddDescription(b, description)
    Model.ModelAddBuffers(b, buffers_off)
    Model.ModelAddSignatureDefs(b, signatures_off)
    b.Finish(Model.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())
