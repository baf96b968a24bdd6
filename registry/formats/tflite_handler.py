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
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from registry.errors import FormatError
from registry.formats.base import ModelInfo
from registry.formats.flatwalk import FlatWalk
from registry.formats.zipstrict import TAIL_SEARCH, StrictZip
from registry.tensors import Dim, TensorSpec

if TYPE_CHECKING:
    from registry.sandbox.limits import SandboxLimits

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
# Bytes a real file may hold after the last one its flatbuffer refers to (alignment padding).
TRAILING_SLACK = 16
MAX_ASSOCIATED_FILES = 1000
_ZIP_END = b"PK\x05\x06"
_OWN_PACKAGE = __name__.partition(".")[0] + "."  # "registry."


def _raised_by_reader(exc: BaseException) -> bool:
    """Whether the generated accessors (`tflite`, `flatbuffers`, numpy beneath them) raised
    `exc` on damaged bytes: its innermost Python frame is theirs. Raised in this package's own
    code, it is a bug. Exhaustion (recursion, memory) is the file's wherever it strikes."""
    if isinstance(exc, RecursionError | MemoryError):
        return True
    innermost = exc.__traceback__
    while innermost is not None and innermost.tb_next is not None:
        innermost = innermost.tb_next
    module = innermost.tb_frame.f_globals.get("__name__", "") if innermost else ""
    return not str(module).startswith(_OWN_PACKAGE)


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


def _associated_files(handle: BinaryIO, size: int, end: int) -> None:
    """What follows the flatbuffer may only be the zip of associated files that TFLite model
    metadata appends (label maps, vocabularies): one archive, read alike by every zip reader, of
    plain files without folders, so that torch's reader (which needs a root folder) can never
    take it for a TorchScript archive. Anything else after the model is refused."""
    handle.seek(end)
    padding = handle.read(TRAILING_SLACK + 4)
    starts = [padding.find(s) for s in (b"PK\x03\x04", _ZIP_END) if s in padding]
    start = end + min(starts) if starts else -1
    if start < 0 or padding[: start - end].strip(b"\0"):
        raise FormatError(
            "security.polyglot",
            f"the file goes on for {size - end} bytes after the last one its flatbuffer refers "
            "to: data no TFLite reader sees",
        )
    archive = StrictZip(handle, size, MAX_ASSOCIATED_FILES, start=start)
    folders = [e.name for e in archive.entries if "/" in e.name or e.name.endswith(".pkl")]
    if folders:
        raise FormatError(
            "security.polyglot",
            f"the archive appended to the model holds {folders[0]}: associated files are plain "
            "files, and torch could load an archive with folders as TorchScript",
        )


class TfliteHandler:
    name = "tflite"
    title = "TFLite model"
    suffixes = (".tflite",)
    version = "3"  # 3: every object bounds-checked, no aliasing, nothing after the flatbuffer
    checks_own_tail = True  # metadata may append a zip of associated files: judged here
    preload = ("tflite", "numpy")

    def configure(self, limits: SandboxLimits) -> None:
        """Nothing of the registry's limits changes how a model is read: its own bounds (the
        file's size, FlatWalk's budget, MAX_ASSOCIATED_FILES) hold within what the sandbox
        allows."""

    def sniff(self, head: bytes) -> bool:
        return len(head) >= 8 and head[4:8] == b"TFL3"

    def inspect_opened(self, source: Path, folder: Path) -> ModelInfo:
        """The file `source` names; nothing beside it is read."""
        return self.inspect(source)

    def inspect(self, path: Path) -> ModelInfo:
        size = path.stat().st_size
        if size < 8:
            raise FormatError("format.invalid", f"{size} bytes is too short for a TFLite model")
        handle = path.open("rb")
        mapped = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
        try:
            try:
                info, end = self._describe(memoryview(mapped), size)
            except _READER_ERRORS as exc:
                if not _raised_by_reader(exc):
                    raise  # a bug of this package: loud, never a finding about the file
                raise FormatError(
                    "format.invalid", f"corrupt TFLite flatbuffer ({type(exc).__name__}: {exc})"
                ) from None
            if size - end > TRAILING_SLACK or _ZIP_END in mapped[max(end, size - TAIL_SEARCH) :]:
                _associated_files(handle, size, end)
            return info
        finally:
            # Views of the map may still live in a traceback; the map then closes when they go.
            with contextlib.suppress(BufferError):
                mapped.close()
            handle.close()

    def _describe(self, buffer: memoryview, size: int) -> tuple[ModelInfo, int]:
        """The model's description and where its flatbuffer ends."""
        import tflite

        if bytes(buffer[4:8]) != b"TFL3":
            raise FormatError("format.invalid", "missing the TFL3 file identifier")
        root = struct.unpack_from("<I", buffer, 0)[0]
        if not 8 <= root < size:
            raise FormatError("format.invalid", "the root table offset is outside the file")
        walk = FlatWalk(buffer, size)
        model = tflite.Model.GetRootAsModel(buffer, 0)
        walk.table(model, "the model")
        if model.Version() != SCHEMA_VERSION:
            raise FormatError(
                "format.invalid",
                f"TFLite schema version {model.Version()}; only version {SCHEMA_VERSION} is read",
            )
        operators = self._operator_codes(walk, model)
        n_buffers = walk.vector(model, 12, 4, "buffers")
        buffer_sizes = [self._buffer(walk, model.Buffers(i), i) for i in range(n_buffers)]
        walk.string(model, 10, "the description")
        walk.vector(model, 14, 4, "metadata_buffer")
        for i in range(walk.vector(model, 16, 4, "metadata")):
            entry = model.Metadata(i)
            walk.table(entry, f"metadata {i}")
            walk.string(entry, 4, f"metadata {i} name")
            walk.index(entry.Buffer(), max(n_buffers, 1), f"metadata {i} buffer index")
        n_subgraphs = walk.vector(model, 8, 4, "subgraphs")
        if n_subgraphs < 1:
            raise FormatError("format.invalid", "the model has no subgraph")
        graphs = [
            self._subgraph(walk, model.Subgraphs(s), s, len(operators), buffer_sizes)
            for s in range(n_subgraphs)
        ]
        signatures = self._signatures(walk, model, n_subgraphs)
        io = graphs[0].inputs, graphs[0].outputs
        return ModelInfo(
            format=self.name,
            format_version=f"schema {SCHEMA_VERSION}",
            producer=_text(model.Description()) or "unknown",
            inputs=io[0],
            outputs=io[1],
            operators=tuple(sorted(set(operators))),
            parameter_count=sum(g.parameters for g in graphs),
            quantization="int8" if any(g.quantized for g in graphs) else None,
            custom_ops=tuple(sorted({op for op in operators if op.startswith("custom:")})),
            subgraphs=tuple(g.name or f"subgraph_{i}" for i, g in enumerate(graphs)),
            signatures=signatures,
        ), walk.end

    @staticmethod
    def _operator_codes(walk: FlatWalk, model: Any) -> list[str]:
        names = []
        for i in range(walk.vector(model, 6, 4, "operator_codes")):
            code = model.OperatorCodes(i)
            walk.table(code, f"operator code {i}")
            walk.string(code, 6, f"operator code {i} custom name")
            names.append(_operator_name(code))
        return names

    @staticmethod
    def _buffer(walk: FlatWalk, buf: Any, index: int) -> int:
        walk.table(buf, f"buffer {index}")
        length = walk.vector(buf, 4, 1, f"buffer {index} data", visited=False)
        if length:
            return length
        # Models over 2 GB keep weights after the flatbuffer, addressed by offset and size.
        offset, nbytes = buf.Offset(), buf.Size()
        walk.beyond(offset, nbytes, f"buffer {index}")
        return int(nbytes) if offset > 1 else 0

    def _subgraph(
        self, walk: FlatWalk, graph: Any, s: int, n_codes: int, buffer_sizes: list[int]
    ) -> _Graph:
        walk.table(graph, f"subgraph {s}")
        walk.string(graph, 12, f"subgraph {s} name")
        n_tensors = walk.vector(graph, 4, 4, f"subgraph {s} tensors")
        tensors = [graph.Tensors(t) for t in range(n_tensors)]
        parameters = 0
        quantized = False
        for t, tensor in enumerate(tensors):
            where = f"subgraph {s} tensor {t}"
            walk.table(tensor, where)
            walk.vector(tensor, 4, 4, f"{where} shape")
            walk.vector(tensor, 18, 4, f"{where} shape_signature")
            walk.string(tensor, 10, f"{where} name")
            walk.union(tensor, 16, f"{where} sparsity")
            for v in range(walk.vector(tensor, 22, 4, f"{where} variant tensors")):
                walk.table(tensor.VariantTensors(v), f"{where} variant {v}")
            b = walk.index(tensor.Buffer(), max(len(buffer_sizes), 1), f"{where} buffer index")
            if buffer_sizes and buffer_sizes[b]:
                parameters += (
                    math.prod(int(d) for d in tensor.ShapeAsNumpy()) if tensor.ShapeLength() else 1
                )
            q = tensor.Quantization()
            if q is not None:
                walk.table(q, f"{where} quantization")
                for slot, width in ((4, 4), (6, 4), (8, 4), (10, 8)):
                    walk.vector(q, slot, width, f"{where} quantization", visited=False)
                walk.union(q, 14, f"{where} quantization details")
                quantized |= q.ScaleLength() > 0
        for o in range(walk.vector(graph, 10, 4, f"subgraph {s} operators")):
            self._operator(
                walk, graph.Operators(o), f"subgraph {s} operator {o}", n_codes, n_tensors
            )
        ends = []
        for slot, accessor in ((6, graph.InputsAsNumpy), (8, graph.OutputsAsNumpy)):
            count = walk.vector(graph, slot, 4, f"subgraph {s} inputs/outputs")
            indices = [int(i) for i in accessor()] if count else []
            ends.append(
                tuple(
                    self._spec(tensors[walk.index(i, n_tensors, "subgraph tensor index")])
                    for i in indices
                )
            )
        return _Graph(_text(graph.Name()), ends[0], ends[1], parameters, quantized)

    @staticmethod
    def _operator(walk: FlatWalk, op: Any, where: str, n_codes: int, n_tensors: int) -> None:
        walk.table(op, where)
        walk.index(op.OpcodeIndex(), n_codes, f"{where} opcode index")
        for side, slot in (("input", 6), ("output", 8), ("intermediate", 20)):
            count = walk.vector(op, slot, 4, f"{where} {side}s")
            if count:
                values = getattr(op, f"{side.capitalize()}sAsNumpy")()
                for k in range(count):
                    walk.index(int(values[k]), n_tensors, f"{where} {side}", True)
        walk.vector(op, 14, 1, f"{where} custom options", visited=False)
        walk.vector(op, 18, 1, f"{where} mutating inputs", visited=False)
        walk.union(op, 12, f"{where} options")
        walk.union(op, 28, f"{where} options")
        walk.beyond(op.LargeCustomOptionsOffset(), op.LargeCustomOptionsSize(), where)

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
        walk: FlatWalk, model: Any, n_subgraphs: int
    ) -> dict[str, dict[str, tuple[str, ...]]]:
        signatures: dict[str, dict[str, tuple[str, ...]]] = {}
        for i in range(walk.vector(model, 18, 4, "signature_defs")):
            sig = model.SignatureDefs(i)
            walk.table(sig, f"signature {i}")
            walk.string(sig, 8, f"signature {i} key")
            walk.index(sig.SubgraphIndex(), n_subgraphs, "signature subgraph index")
            sides: dict[str, tuple[str, ...]] = {}
            for side, slot, accessor in (("inputs", 4, sig.Inputs), ("outputs", 6, sig.Outputs)):
                names = []
                for j in range(walk.vector(sig, slot, 4, f"signature {i} {side}")):
                    tensor_map = accessor(j)
                    walk.table(tensor_map, f"signature {i} {side} {j}")
                    walk.string(tensor_map, 4, f"signature {i} {side} {j} name")
                    names.append(_text(tensor_map.Name()))
                sides[side] = tuple(names)
            signatures[_text(sig.SignatureKey())] = sides
        return signatures


@dataclass(frozen=True, slots=True)
class _Graph:
    name: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    parameters: int
    quantized: bool
