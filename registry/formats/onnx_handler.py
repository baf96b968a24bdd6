"""ONNX: onnx.checker's full check, then the graph's inputs, outputs, opsets and weights."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.errors import FormatError
from registry.formats import onnx_external as external
from registry.formats.base import ModelInfo
from registry.formats.beside import Beside, beside
from registry.tensors import Dim, TensorSpec

if TYPE_CHECKING:
    import onnx

    from registry.sandbox.limits import SandboxLimits

# ModelProto fields (number, wire type) that a serializer may write right after ir_version.
_MODEL_TAGS = {
    (2, 2),
    (3, 2),
    (4, 2),
    (5, 0),
    (6, 2),
    (7, 2),
    (8, 2),
    (14, 2),
    (20, 2),
    (25, 2),
    (26, 2),
}
# Largest element count accepted for one tensor, checked before anything is allocated.
MAX_ELEMENTS = 1 << 40
MAX_PROTOBUF = (2 << 30) - 1  # protobuf's limit on one serialized message
# Nodes local functions may expand into: this many per stored node, and this many more.
MAX_EXPANDED_FACTOR = 100
MAX_EXPANDED_EXTRA = 10_000
# Tensors over this many elements may reach shape inference without their data (weights, not
# the shapes, axes, pads or scales whose values it reads); the checker reads them all.
MAX_INFERENCE_VALUES = 1024
# From this size on, onnx.checker's own parse of the bytes runs in a child beside the Python parse.
CHECK_BESIDE_BYTES = 16 << 20
# Bytes at least of one value in each typed field (packed fixed-size, or one varint byte).
_TYPED_BYTES = {
    "float_data": 4,
    "int32_data": 1,
    "string_data": 1,
    "int64_data": 1,
    "double_data": 8,
    "uint64_data": 1,
}
_TENSOR_DATA_FIELDS = ("raw_data", *_TYPED_BYTES)
# Bits of one element in raw_data, by TensorProto.DataType (strings are never raw).
_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64}
_BITS |= {14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4}
_STANDARD_DOMAINS = {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
_QUANT_OPS = {
    "QuantizeLinear",
    "DequantizeLinear",
    "DynamicQuantizeLinear",
    "QLinearConv",
    "QLinearMatMul",
    "MatMulInteger",
    "ConvInteger",
}
_ONNX_DTYPES = {
    1: "float32",
    2: "uint8",
    3: "int8",
    4: "uint16",
    5: "int16",
    6: "int32",
    7: "int64",
    8: "string",
    9: "bool",
    10: "float16",
    11: "float64",
    12: "uint32",
    13: "uint64",
    14: "complex64",
    15: "complex128",
    16: "bfloat16",
    17: "float8e4m3fn",
    18: "float8e4m3fnuz",
    19: "float8e5m2",
    20: "float8e5m2fnuz",
    21: "uint4",
    22: "int4",
    23: "float4e2m1",
}


def _varint(data: bytes, pos: int) -> tuple[int, int] | None:
    value = shift = 0
    while pos < len(data) and shift < 64:
        byte = data[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7
    return None


def _dtype(elem_type: int) -> str:
    return _ONNX_DTYPES.get(elem_type, f"onnx_type_{elem_type}")


def _type_name(type_proto: Any) -> str:
    """ONNX TypeProto as a dtype of the vocabulary, e.g. sequence<map<int64,float32>>."""
    kind = type_proto.WhichOneof("value")
    if kind == "tensor_type":
        return _dtype(type_proto.tensor_type.elem_type)
    if kind == "sparse_tensor_type":
        return f"sparse<{_dtype(type_proto.sparse_tensor_type.elem_type)}>"
    if kind == "sequence_type":
        return f"sequence<{_type_name(type_proto.sequence_type.elem_type)}>"
    if kind == "map_type":
        key = _dtype(type_proto.map_type.key_type)
        return f"map<{key},{_type_name(type_proto.map_type.value_type)}>"
    if kind == "optional_type":
        return f"optional<{_type_name(type_proto.optional_type.elem_type)}>"
    return "unknown"


def _shape(type_proto: Any) -> tuple[Dim, ...] | None:
    kind = type_proto.WhichOneof("value")
    if kind not in ("tensor_type", "sparse_tensor_type"):
        return None
    tensor = getattr(type_proto, kind)
    if not tensor.HasField("shape"):
        return None
    dims: list[Dim] = []
    for dim in tensor.shape.dim:
        which = dim.WhichOneof("value")
        if which == "dim_value":
            dims.append(dim.dim_value if dim.dim_value >= 0 else None)
        elif which == "dim_param":
            dims.append(_text(dim.dim_param))
        else:
            dims.append(None)
    return tuple(dims)


def _graphs(graph: Any) -> Iterator[Any]:
    """The graph and every subgraph nested in If/Loop/Scan attributes."""
    stack = [graph]
    while stack:
        current = stack.pop()
        yield current
        for node in current.node:
            for attribute in node.attribute:
                if attribute.HasField("g"):
                    stack.append(attribute.g)
                stack.extend(attribute.graphs)


def _numel(dims: Any) -> int:
    return math.prod(max(int(d), 0) for d in dims) if len(dims) else 1


def every_tensor(model: Any) -> list[Any]:
    """Every TensorProto of the model wherever it sits (graph, subgraphs, local functions,
    training info, attributes, sparse tensors), found by walking every message; a field this
    version of onnx does not know is refused: a reader that knows it could see other data there,
    and a zip hidden in one makes an ONNX file that torch would load (security.polyglot)."""
    from google.protobuf.unknown_fields import UnknownFieldSet

    tensors = []
    pending = [model]
    while pending:
        message = pending.pop()
        if len(UnknownFieldSet(message)):
            numbers = sorted({f.field_number for f in UnknownFieldSet(message)})
            raise FormatError(
                "security.polyglot",
                f"a {message.DESCRIPTOR.name} holds field(s) {numbers} that ONNX does not define: "
                "data hidden from ONNX readers (an archive inside the model?)",
            )
        if message.DESCRIPTOR.full_name == "onnx.TensorProto":
            tensors.append(message)
        # Only the message-typed fields: ListFields would also copy every bytes field out
        # (raw_data, the weights: the whole file once more) just to skip it.
        for field in _message_fields(message.DESCRIPTOR):
            if field.is_repeated:
                pending.extend(getattr(message, field.name))
            elif message.HasField(field.name):
                pending.append(getattr(message, field.name))
    return tensors


@functools.cache
def _message_fields(descriptor: Any) -> tuple[Any, ...]:
    """The fields of a message type that hold messages (ONNX defines no map or extension)."""
    return tuple(f for f in descriptor.fields if f.message_type is not None)


def _nodes(graph_nodes: Any) -> Iterator[Any]:
    """Nodes, and the nodes of every subgraph in their attributes (If, Loop, Scan bodies)."""
    pending = list(graph_nodes)
    while pending:
        node = pending.pop()
        yield node
        for attribute in node.attribute:
            if attribute.HasField("g"):
                pending.extend(attribute.g.node)
            for graph in attribute.graphs:
                pending.extend(graph.node)


def _check_expansion(model: Any) -> None:
    """Local functions are inlined by shape inference and by runtimes (onnxruntime): a function
    calling another twice, nested 30 deep, is a 2 KB file that expands to a billion nodes. The
    expanded count is computed (each function's once) and bounded by the stored one."""
    functions = {(f.domain, f.name, f.overload): f for f in model.functions}
    expanded: dict[tuple[str, str, str], int] = {}
    stored = sum(1 for _ in _nodes(model.graph.node))
    for function in model.functions:
        stored += sum(1 for _ in _nodes(function.node))

    def size(nodes: Any, calling: tuple[tuple[str, str, str], ...]) -> int:
        total = 0
        for node in _nodes(nodes):
            key = (node.domain, node.op_type, node.overload)
            total += 1
            if key in functions:
                if key in calling:
                    raise FormatError("format.invalid", f"local function {key[1]} calls itself")
                if key not in expanded:
                    expanded[key] = size(functions[key].node, (*calling, key))
                total += expanded[key]
            if total > MAX_EXPANDED_FACTOR * stored + MAX_EXPANDED_EXTRA:
                raise FormatError(
                    "format.resource-limit",
                    f"its local functions expand {stored} stored nodes into more than {total} "
                    "(each call inlines the callee): shape inference and runtimes would hang",
                )
        return total

    try:
        size(model.graph.node, ())
    except RecursionError:
        raise FormatError("format.resource-limit", "local functions nest too deeply") from None


def _reason(exc: BaseException) -> str:
    """An exception as a message that is never empty (MemoryError and some protobuf errors have
    no text)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _check(data: bytes, folder: Path | None) -> None:
    """onnx.checker without shape inference: the gate. Strict shape inference runs after, and
    only warns: onnx's own function-body inference refuses models onnxruntime runs. It reads the
    file's own bytes (what its path-based form would read again); `folder`: where the model's
    external data is, for a model that has some."""
    import onnx.checker

    try:
        with _working_directory(folder):
            onnx.checker.check_model(data, full_check=False)
    except onnx.checker.ValidationError as exc:
        raise FormatError(
            "format.invalid", f"onnx.checker refused the model: {_reason(exc)}"
        ) from None
    except Exception as exc:  # noqa: BLE001 - the checker's C++ errors arrive in many types
        raise FormatError(
            "format.invalid", f"onnx.checker could not read the model ({_reason(exc)})"
        ) from None


@contextlib.contextmanager
def _working_directory(folder: Path | None) -> Iterator[None]:
    """Given bytes, the checker resolves external data against the working directory (given a
    path, against the path's folder): for the moment of the check, that is the model's folder.
    Checked already (registry.formats.onnx_external), the locations stay inside it."""
    if folder is None:
        yield
        return
    previous = os.open(".", os.O_RDONLY | os.O_CLOEXEC)
    try:
        os.chdir(folder)
        yield
    finally:
        os.fchdir(previous)
        os.close(previous)


def _shape_inference(data: bytes) -> tuple[str, ...]:
    """Strict shape inference of a serialized model, only to warn. onnx's C++ inference is
    called directly: onnx.shape_inference.infer_shapes would parse its result back into Python
    (the weights once more), and only whether it fails matters here."""
    from onnx.onnx_cpp2py_export import shape_inference

    try:
        shape_inference.infer_shapes(data, True, True, False)  # check_type, strict, no data_prop
    except Exception as exc:  # noqa: BLE001 - inference errors arrive in many types
        return (
            f"format.shape-inference: onnx's strict shape inference fails ({_reason(exc)}); "
            "the model passed onnx.checker, check that your runtime loads it",
        )
    return ()


def _check_and_infer(
    model: onnx.ModelProto,
    tensors: list[Any],
    data: bytes,
    folder: Path | None,
    checked: Beside | None = None,
) -> tuple[str, ...]:
    """_check, then strict inference's warnings. Inference reads the values of small tensors
    only (a Reshape's shape, a Slice's starts, a Resize's scales), so for a model whose weights
    are at least half its bytes, the checker checks the file's bytes alone and inference runs
    on the model without the data of its tensors over MAX_INFERENCE_VALUES elements (dropped
    from `model`): serialising the weights for it and parsing them again in C++ doubled what a
    large model costs. Whenever that fails, inference runs on the whole file, so a warning is
    always the one the file itself gives. Any other model takes one C++ parse: the checker's
    full check is the same check followed by the same strict inference
    (ShapeInferenceOptions{check_type, strict, no data_prop}) on what it parsed; whatever it
    raises, the two run apart, so which of them failed is told exactly as before. `checked`:
    the checker run beside (registry.formats.beside); when it did not pass, it runs here."""
    from onnx.onnx_cpp2py_export import checker

    passed = checked is not None and checked.passed()
    large = [t for t in tensors if _numel(t.dims) > MAX_INFERENCE_VALUES]
    if 2 * sum(_held_bytes(t) for t in large) >= len(data):
        if not passed:
            _check(data, folder)
        try:
            weightless = _without_data(model, large)
        except Exception:  # noqa: BLE001 - protobuf's EncodeError, or out of memory
            return _shape_inference(data)
        return _shape_inference(weightless) and _shape_inference(data)
    if passed:  # the full check's second half
        return _shape_inference(data)
    try:
        with _working_directory(folder):
            checker.check_model(data, True, False, False)  # full check, opset check, ONNX domains
    except Exception:  # noqa: BLE001 - told apart below
        _check(data, folder)
        return _shape_inference(data)
    return ()


def _without_data(model: onnx.ModelProto, tensors: list[Any]) -> bytes:
    """`model` serialized with no data in `tensors` (dropped from it)."""
    for tensor in tensors:
        for field in _TENSOR_DATA_FIELDS:
            tensor.ClearField(field)
    serialized: bytes = model.SerializeToString()
    return serialized


def _held_bytes(tensor: Any) -> int:
    """No more than the bytes `tensor`'s data takes in the file, as onnx.checker lets it
    through: raw_data no shorter than its shape and type need, typed values of a byte at least."""
    if tensor.HasField("raw_data"):
        return _numel(tensor.dims) * _BITS.get(tensor.data_type, 0) // 8
    return sum(len(getattr(tensor, field)) * size for field, size in _TYPED_BYTES.items())


def _read_model(source: Path) -> bytes:
    """The whole file, after checking its size: protobuf reads at most 2 GiB."""
    with source.open("rb", buffering=0) as handle:
        size = os.fstat(handle.fileno()).st_size
        if size == 0:
            raise FormatError("format.invalid", "the file is empty, not an ONNX model")
        if size > MAX_PROTOBUF:
            raise FormatError(
                "format.invalid",
                f"the file is {size} bytes; protobuf (and so ONNX) reads at most 2 GiB in one "
                "file: save the weights as external data (onnx.save_model(..., "
                "save_as_external_data=True)) and list those files in artifact.external_data",
            )
        data = handle.read(size + 1)  # not a 2 GiB buffer: the memory limit counts it
    if len(data) != size:
        raise FormatError("format.invalid", "the file changed size while it was read")
    return data


def _text(value: str | bytes) -> str:
    # Strings that are not valid UTF-8 can come back from protobuf as bytes.
    return value.decode("utf-8", errors="replace") if isinstance(value, bytes) else value


class OnnxHandler:
    name = "onnx"
    title = "ONNX model"
    suffixes = (".onnx",)
    # 2: every tensor's external data, unknown fields, checker without inference;
    # 3: inference without the weights of a model made mostly of them
    version = "3"
    preload = ("onnx", "onnx.checker", "numpy")

    def configure(self, limits: SandboxLimits) -> None:
        """Nothing of the registry's limits changes how a model is read: its own bounds
        (MAX_ELEMENTS, MAX_PROTOBUF, MAX_EXPANDED_*) hold within what the sandbox allows."""

    def sniff(self, head: bytes) -> bool:
        # A ModelProto starts with ir_version (field 1, varint) followed by another model field.
        if len(head) < 4 or head[0] != 0x08:
            return False
        parsed = _varint(head, 1)
        if parsed is None or not 1 <= parsed[0] <= 64:
            return False
        tag = _varint(head, parsed[1])
        return tag is not None and (tag[0] >> 3, tag[0] & 7) in _MODEL_TAGS

    def inspect(self, path: Path) -> ModelInfo:
        return self.inspect_opened(path, path.parent)

    def inspect_opened(self, source: Path, folder: Path) -> ModelInfo:
        """The model read from `source` (in the sandbox, the file the validating process opened
        and hashed, as /proc/self/fd/N), its external data from `folder`. The file is read once:
        the Python parse, onnx.checker and shape inference take these bytes (inference, for a
        model made mostly of weights, the parsed model without them). From CHECK_BESIDE_BYTES
        on, the checker's parse of them starts at once in a child, beside the Python parse, the
        two cores each taking one; its answer is asked for where the checker always ran."""
        data = _read_model(source)
        if len(data) < CHECK_BESIDE_BYTES:
            return self._inspect(data, folder, None)
        import onnx.checker  # noqa: F401 - loaded once here, not in the child

        # Given bytes, the checker looks for external data files from the working directory:
        # the child's is the sandbox's empty folder, where it finds none (onnx refuses absolute
        # and `..` locations before it looks, and it only looks: a stat, no open). Its answer
        # counts only for a model without external data, checked here in the model's folder.
        with beside(functools.partial(_check, data, None)) as checked:
            return self._inspect(data, folder, checked)

    def _inspect(self, data: bytes, folder: Path, checked: Beside | None) -> ModelInfo:
        import onnx

        try:
            model = onnx.load_model_from_string(data)
        except Exception as exc:  # noqa: BLE001 - protobuf raises many unrelated types
            raise FormatError(
                "format.invalid", f"not a readable ONNX protobuf: {_reason(exc)}"
            ) from None
        tensors = every_tensor(model)
        for tensor in tensors:
            if _numel(tensor.dims) > MAX_ELEMENTS:
                raise FormatError(
                    "format.invalid",
                    f"tensor {_text(tensor.name)} declares {_numel(tensor.dims)} elements, over "
                    f"the limit {MAX_ELEMENTS}",
                )
        _check_expansion(model)
        # Before the checker touches any external file, every reference must be safe.
        external_files = external.check_external_data(tensors, folder)
        # The gate; it may drop the weights' data from `model`, which describing it never reads.
        if external_files and checked is not None:
            checked.stop()  # its checker found none of the files in its empty folder
            checked = None
        used = folder if external_files else None
        warnings = _check_and_infer(model, tensors, data, used, checked)
        # The model is parsed and passed the checker: describing it reads typed messages, so
        # only their depth can fail it; any other exception there is a bug, not the file's.
        try:
            described = self._describe(model)
        except RecursionError as exc:
            raise FormatError(
                "format.invalid", f"unreadable model structure ({type(exc).__name__}: {exc})"
            ) from None
        return dataclasses.replace(described, external_files=external_files, warnings=warnings)

    def _describe(self, model: onnx.ModelProto) -> ModelInfo:
        graph = model.graph
        initializers = {init.name for init in graph.initializer}
        inputs = tuple(
            TensorSpec(_text(v.name), _type_name(v.type), _shape(v.type))
            for v in graph.input
            if v.name not in initializers
        )
        outputs = tuple(
            TensorSpec(_text(v.name), _type_name(v.type), _shape(v.type)) for v in graph.output
        )
        operators: set[str] = set()
        custom: set[str] = set()
        parameters = 0
        quantized = False
        subgraphs: list[str] = []
        for index, sub in enumerate(_graphs(graph)):
            if index:
                subgraphs.append(_text(sub.name) or f"subgraph_{index}")
            for init in sub.initializer:
                parameters += _numel(init.dims)
                quantized |= init.data_type in (2, 3, 21, 22)
            for node in sub.node:
                domain, op_type = _text(node.domain), _text(node.op_type)
                qualified = f"{domain}::{op_type}" if domain else op_type
                operators.add(qualified)
                quantized |= op_type in _QUANT_OPS
                if domain not in _STANDARD_DOMAINS:
                    custom.add(qualified)
                if op_type == "Constant" and domain in ("", "ai.onnx"):
                    for attribute in node.attribute:
                        if attribute.HasField("t"):
                            parameters += _numel(attribute.t.dims)
        producer = " ".join(_text(p) for p in (model.producer_name, model.producer_version) if p)
        return ModelInfo(
            format=self.name,
            format_version=f"IR {model.ir_version}",
            producer=producer or "unknown",
            inputs=inputs,
            outputs=outputs,
            opsets={(_text(o.domain) or "ai.onnx"): o.version for o in model.opset_import},
            operators=tuple(sorted(operators)),
            parameter_count=parameters,
            quantization="int8" if quantized else None,
            custom_ops=tuple(sorted(custom)),
            subgraphs=tuple(subgraphs),
        )
