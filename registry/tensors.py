"""TensorSpec: one input or output of a model, as a manifest declares it or a file states it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Dim = int | str | None

# One dtype vocabulary for every format (DESIGN.md); handlers map their own type names onto it.
DTYPES = (
    "float16",
    "bfloat16",
    "float32",
    "float64",
    "int8",
    "int16",
    "int32",
    "int64",
    "uint8",
    "uint16",
    "uint32",
    "uint64",
    "bool",
    "string",
    "complex64",
    "complex128",
)
# Element types some formats report beyond the vocabulary (low-precision floats, resources).
EXTRA_DTYPES = (
    "float8e4m3fn",
    "float8e4m3fnuz",
    "float8e5m2",
    "float8e5m2fnuz",
    "float4e2m1",
    "int4",
    "uint4",
    "resource",
    "variant",
)

# The dtype of a tensor whose element type the format does not state (TorchScript `Tensor`).
UNSTATED_DTYPE = "tensor"


def format_shape(shape: tuple[Dim, ...] | list[Dim] | None) -> str:
    """A shape as a manifest writes it: `[batch, 3, null]`; `unknown` for an unknown rank."""
    if shape is None:
        return "unknown"
    return "[" + ", ".join("null" if d is None else str(d) for d in shape) + "]"


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """One input or output: name, dtype, and shape (None when the rank is unknown)."""

    name: str
    dtype: str
    shape: tuple[Dim, ...] | None

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> TensorSpec:
        shape = data.get("shape")
        return cls(data["name"], data["dtype"], None if shape is None else tuple(shape))

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "dtype": self.dtype,
            "shape": None if self.shape is None else list(self.shape),
        }
