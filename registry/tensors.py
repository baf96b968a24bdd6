"""TensorSpec: one input or output of a model, as a manifest declares it or a file states it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

Dim = int | str | None


@dataclass(frozen=True)
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
