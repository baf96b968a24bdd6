"""TFLite: the flatbuffer read through the `tflite` package, every index and offset bounds-checked.

The file is memory-mapped, so a model of any size costs only the pages the reader touches; weight
buffers are measured, never loaded.
"""

from __future__ import annotations

import contextlib
import functools
import math
import mmap
import struct
from pathlib import Path
from typing import Any

from registry.errors import FormatError
from registry.formats.base import ModelInfo
from registry.tensors import Dim, TensorSpec

_TFLITE_DTYPES = {
    0: "float32",
    1: "float16",
    2: "int32",
    3: "uint8",
    4: "int64",
    5: "string",
    6: "bool",
    7: "int16",
    8: "complex64",
    9: "int8",
    10: "float64",
    11: "complex128",
    12: "uint64",
    13: "resource",
    14: "variant",
    15: "uint32",
    16: "uint16",
    17: "int4",
    18: "bfloat16",
}
SCHEMA_VERSION = 3
# What the generated flatbuffer accessors raise on damaged input.
_READER_ERRORS = (
    struct.error,
    IndexError,
    ValueError,
    TypeError,
    AttributeError,
    OverflowError,
    UnicodeDecodeError,
    RecursionError,
    MemoryError,
)
# Upper bound on table and vector elements visited, against crafted lengths and offset loops.
VISIT_BUDGET = 20_000_000


class _Reader:
    """Bounds checks and a visit budget around the generated flatbuffer accessors."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.budget = VISIT_BUDGET

    def visit(self, count: int = 1) -> None:
        self.budget -= count
        if self.budget < 0:
            raise FormatError("format.invalid", "the flatbuffer is too large or loops on itself")

    def vector(
        self, obj: Any, field: int, element_size: int, what: str, visited: bool = True
    ) -> int:
        """Length of the vector in vtable slot `field`, after checking it lies inside the file.
        `visited`: its elements will be read one by one (weights are not: they only count
        against the file's size, or every large model would exhaust the budget)."""
        table = obj._tab
        offset = table.Offset(field)
        if not offset:
            return 0
        start = table.Vector(offset)
        length = table.VectorLen(offset)
        if start < 0 or start + length * element_size > self.size:
            raise FormatError("format.invalid", f"{what} extends past the end of the file")
        if visited:
            self.visit(length)
        return int(length)

    def index(self, value: int, limit: int, what: str, optional: bool = False) -> int:
        if (optional and value == -1) or 0 <= value < limit:
            return value
        raise FormatError("format.invalid", f"{what} {value} is out of range (0..{limit - 1})")


def _text(raw: bytes | None) -> str:
    return raw.decode("utf-8", errors="replace") if raw else ""


@functools.cache
def _builtin_names() -> dict[int, str]:
    from tflite.BuiltinOperator import BuiltinOperator

    return {v: k for k, v in vars(BuiltinOperator).items() if isinstance(v, int)}


def _operator_name(code: Any) -> str:
    if code.CustomCode():
        return "custom:" + _text(code.CustomCode())
    # Codes past 127 live in builtin_code; older files only fill deprecated_builtin_code.
    builtin = max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
    return _builtin_names().get(builtin, f"BUILTIN_{builtin}")


class TfliteHandler:
    name = "tflite"
    title = "TFLite model"
    suffixes = (".tflite",)
    version = "2"  # 2: weights no longer count against the visit budget

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 8 and head[4:8] == b"TFL3"

    def inspect(self, path: Path) -> ModelInfo:
        size = path.stat().st_size
        if size < 8:
            raise FormatError("format.invalid", f"{size} bytes is too short for a TFLite model")
        with path.open("rb") as handle:
            mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            return self._describe(memoryview(mapped), size)
        except FormatError:
            raise
        except _READER_ERRORS as exc:
            raise FormatError(
                "format.invalid", f"corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})"
            ) from None
        finally:
            # Views of the map may still live in a traceback; the map then closes when they go.
            with contextlib.suppress(BufferError):
                mapped.close()

    def _describe(self, buffer: memoryview, size: int) -> ModelInfo:
        import tflite

        if bytes(buffer[4:8]) != b"TFL3":
            raise FormatError("format.invalid", "missing the TFL3 file identifier")
        root = struct.unpack_from("<I", buffer, 0)[0]
        if not 8 <= root < size:
            raise FormatError("format.invalid", "the root table offset is outside the file")
        reader = _Reader(size)
        model = tflite.Model.GetRootAsModel(buffer, 0)
        if model.Version() != SCHEMA_VERSION:
            raise FormatError(
                "format.invalid",
                f"TFLite schema version {model.Version()}; only version {SCHEMA_VERSION} is read",
            )
        n_codes = reader.vector(model, 6, 4, "operator_codes")
        n_subgraphs = reader.vector(model, 8, 4, "subgraphs")
        n_buffers = reader.vector(model, 12, 4, "buffers")
        if n_subgraphs < 1:
            raise FormatError("format.invalid", "the model has no subgraph")
        operators = [_operator_name(model.OperatorCodes(i)) for i in range(n_codes)]
        buffer_sizes = [self._buffer_size(reader, model.Buffers(i), size) for i in range(n_buffers)]

        subgraph_names: list[str] = []
        parameters = 0
        quantized = False
        io: tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]] = ((), ())
        for s in range(n_subgraphs):
            graph = model.Subgraphs(s)
            n_tensors = reader.vector(graph, 4, 4, f"subgraph {s} tensors")
            tensors = [graph.Tensors(t) for t in range(n_tensors)]
            for t, tensor in enumerate(tensors):
                reader.vector(tensor, 4, 4, f"tensor {t} shape")
                reader.vector(tensor, 18, 4, f"tensor {t} shape_signature")
                b = reader.index(tensor.Buffer(), max(n_buffers, 1), f"tensor {t} buffer index")
                if n_buffers and buffer_sizes[b]:
                    parameters += (
                        math.prod(int(d) for d in tensor.ShapeAsNumpy())
                        if tensor.ShapeLength()
                        else 1
                    )
                q = tensor.Quantization()
                quantized |= bool(q is not None and q.ScaleLength() > 0)
            n_ops = reader.vector(graph, 10, 4, f"subgraph {s} operators")
            for o in range(n_ops):
                op = graph.Operators(o)
                reader.index(op.OpcodeIndex(), n_codes, f"operator {o} opcode index")
                for side, field in (("input", 6), ("output", 8)):
                    count = reader.vector(op, field, 4, f"operator {o} {side}s")
                    values = op.InputsAsNumpy() if side == "input" else op.OutputsAsNumpy()
                    for k in range(count):
                        reader.index(int(values[k]), n_tensors, f"operator {o} {side}", True)
            ends = []
            for field, accessor in ((6, graph.InputsAsNumpy), (8, graph.OutputsAsNumpy)):
                count = reader.vector(graph, field, 4, f"subgraph {s} inputs/outputs")
                indices = [int(i) for i in accessor()] if count else []
                ends.append(
                    tuple(
                        self._spec(tensors[reader.index(i, n_tensors, "subgraph tensor index")])
                        for i in indices
                    )
                )
            if s == 0:
                io = (ends[0], ends[1])
            subgraph_names.append(_text(graph.Name()) or f"subgraph_{s}")
        return ModelInfo(
            format=self.name,
            format_version=f"schema {SCHEMA_VERSION}",
            producer=_text(model.Description()) or "unknown",
            inputs=io[0],
            outputs=io[1],
            operators=tuple(sorted(set(operators))),
            parameter_count=parameters,
            quantization="int8" if quantized else None,
            custom_ops=tuple(sorted({op for op in operators if op.startswith("custom:")})),
            subgraphs=tuple(subgraph_names),
            signatures=self._signatures(reader, model, n_subgraphs),
        )

    @staticmethod
    def _buffer_size(reader: _Reader, buf: Any, size: int) -> int:
        length = reader.vector(buf, 4, 1, "buffer data", visited=False)
        if length:
            return length
        # Models over 2 GB keep weights after the flatbuffer, addressed by offset and size.
        offset, nbytes = buf.Offset(), buf.Size()
        if offset > 1 and offset + nbytes > size:
            raise FormatError(
                "format.invalid", "a buffer's offset+size lies past the end of the file"
            )
        return int(nbytes) if offset > 1 else 0

    @staticmethod
    def _spec(tensor: Any) -> TensorSpec:
        shape = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
        if tensor.ShapeSignatureLength():
            shape = [int(d) for d in tensor.ShapeSignatureAsNumpy()]
        dims: tuple[Dim, ...] = tuple(d if d >= 0 else None for d in shape)
        dtype = _TFLITE_DTYPES.get(tensor.Type(), f"tflite_type_{tensor.Type()}")
        return TensorSpec(_text(tensor.Name()), dtype, dims)

    @staticmethod
    def _signatures(
        reader: _Reader, model: Any, n_subgraphs: int
    ) -> dict[str, dict[str, tuple[str, ...]]]:
        signatures: dict[str, dict[str, tuple[str, ...]]] = {}
        for i in range(reader.vector(model, 18, 4, "signature_defs")):
            sig = model.SignatureDefs(i)
            reader.index(sig.SubgraphIndex(), n_subgraphs, "signature subgraph index")
            n_in = reader.vector(sig, 4, 4, "signature inputs")
            n_out = reader.vector(sig, 6, 4, "signature outputs")
            signatures[_text(sig.SignatureKey())] = {
                "inputs": tuple(_text(sig.Inputs(j).Name()) for j in range(n_in)),
                "outputs": tuple(_text(sig.Outputs(j).Name()) for j in range(n_out)),
            }
        return signatures
