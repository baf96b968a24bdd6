"""ONNX external data: which files a model's tensors point to, checked before anything reads them.

Only the keys location, offset, length and checksum are accepted; a location must be a plain
relative path inside the model's folder (no `..`, no link), and offset+length must lie inside it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from registry.errors import FormatError
from registry.load.pathrules import normalized, open_problem, path_problem

ALLOWED_KEYS = frozenset({"location", "offset", "length", "checksum"})
EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL


def _integer(value: str, key: str, tensor: str) -> int:
    if not (value.isascii() and value.isdigit()):  # "²" is a digit to str.isdigit, not to int
        raise FormatError(
            "format.external-data",
            f"tensor {tensor}: external data {key} {value!r} is not a non-negative integer",
        )
    return int(value)


def check_external_data(tensors: Iterable[Any], folder: Path) -> tuple[str, ...]:
    """The external files the tensors use (normalized), after checking every reference."""
    sizes: dict[str, int] = {}
    for tensor in tensors:
        if tensor.data_location != EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        unknown = sorted(set(entries) - ALLOWED_KEYS)
        if unknown:
            raise FormatError(
                "format.external-data",
                f"tensor {tensor.name}: external data key(s) {', '.join(unknown)} are not allowed "
                f"(only {', '.join(sorted(ALLOWED_KEYS))})",
            )
        location = entries.get("location", "")
        problem = path_problem(location)
        if problem is None:
            location = normalized(location)
            if location not in sizes:
                opened = open_problem(folder, location)
                if opened is not None:
                    problem = opened
                else:
                    sizes[location] = (folder / location).stat().st_size
        if problem is not None:
            raise FormatError(
                "format.external-data",
                f"tensor {tensor.name}: external data location {entries.get('location')!r} "
                f"{problem[1]}",
            )
        offset = _integer(entries.get("offset", "0"), "offset", tensor.name)
        length = _integer(
            entries.get("length", str(sizes[location] - offset)), "length", tensor.name
        )
        if offset + length > sizes[location]:
            raise FormatError(
                "format.external-data",
                f"tensor {tensor.name}: offset {offset} + length {length} lies past the end of "
                f"{location} ({sizes[location]} bytes)",
            )
    return tuple(sorted(sizes))
