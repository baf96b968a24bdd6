"""What a format handler is, and the ModelInfo it extracts from a model file."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from registry.tensors import TensorSpec

if TYPE_CHECKING:  # registry.sandbox imports this module: its types only, not at run time
    from registry.sandbox.limits import SandboxLimits


@dataclass(frozen=True, slots=True)
class ModelInfo:
    """What a model file says about itself, extracted without running it."""

    format: str
    format_version: str
    producer: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]
    # ONNX: opset per domain; TFLite: operator codes; TorchScript: the ops the code calls.
    opsets: Mapping[str, int] = field(default_factory=dict)
    operators: tuple[str, ...] = ()
    parameter_count: int = 0
    quantization: str | None = None
    custom_ops: tuple[str, ...] = ()
    subgraphs: tuple[str, ...] = ()
    signatures: Mapping[str, Mapping[str, tuple[str, ...]]] = field(default_factory=dict)
    # Which properties of inputs/outputs the format cannot state (e.g. TorchScript shapes).
    unstated: tuple[str, ...] = ()
    # Files beside the model that it reads (ONNX external data), relative to its folder.
    external_files: tuple[str, ...] = ()
    # "code: message" (e.g. "format.shape-inference: ..."): each becomes a warning finding.
    warnings: tuple[str, ...] = ()

    def coded_warnings(self) -> list[tuple[str, str]]:
        """(finding code, message) of each warning; `format.warning` when it names no code."""
        found = []
        for text in self.warnings:
            code, separator, message = text.partition(": ")
            if separator and "." in code and " " not in code:
                found.append((code, message))
            else:
                found.append(("format.warning", text))
        return found

    def to_json(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "format_version": self.format_version,
            "producer": self.producer,
            "inputs": [t.to_json() for t in self.inputs],
            "outputs": [t.to_json() for t in self.outputs],
            "opsets": dict(sorted(self.opsets.items())),
            "operators": list(self.operators),
            "parameter_count": self.parameter_count,
            "quantization": self.quantization,
            "custom_ops": list(self.custom_ops),
            "subgraphs": list(self.subgraphs),
            "signatures": {
                key: {side: list(names) for side, names in sides.items()}
                for key, sides in sorted(self.signatures.items())
            },
            "unstated": list(self.unstated),
            "external_files": list(self.external_files),
            "warnings": list(self.warnings),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ModelInfo:
        return cls(
            format=data["format"],
            format_version=data["format_version"],
            producer=data["producer"],
            inputs=tuple(TensorSpec.from_data(t) for t in data["inputs"]),
            outputs=tuple(TensorSpec.from_data(t) for t in data["outputs"]),
            opsets=dict(data["opsets"]),
            operators=tuple(data["operators"]),
            parameter_count=data["parameter_count"],
            quantization=data["quantization"],
            custom_ops=tuple(data["custom_ops"]),
            subgraphs=tuple(data["subgraphs"]),
            signatures={
                key: {side: tuple(names) for side, names in sides.items()}
                for key, sides in data["signatures"].items()
            },
            unstated=tuple(data["unstated"]),
            external_files=tuple(data["external_files"]),
            warnings=tuple(data["warnings"]),
        )


@runtime_checkable
class FormatHandler(Protocol):
    """One model file format. Registered under the `modelreg.formats` entry-point group, as a
    class that takes no argument; a plugin imports what it needs from registry.formats.api.

    `inspect` raises registry.errors.FormatError (with a stable finding code) for a file that is
    not a valid model of this format; it never executes code from the file. Any other exception
    is a bug of the handler, reported as `format.crashed`.

    Three members are optional, so that a plugin written before them keeps working:
    - `inspect_opened(self, source: Path, folder: Path) -> ModelInfo`: inspect the file that
      `source` names (in the sandbox, /proc/self/fd/N: the very file the validating process opened
      and hashed), with the files beside it in `folder`; without it the sandbox calls `inspect`
      with the file's path;
    - `preload: tuple[str, ...]`, the modules the sandbox imports once, before it forks the first
      child that inspects a file of this format, so that no child pays for them (("torch",));
    - `configure(self, limits: SandboxLimits) -> None`, called once in the sandbox before any
      inspect with the registry's limits (registry.yaml `limits.sandbox`).
    """

    name: str
    title: str  # what a file of this format is called in messages, e.g. "TorchScript archive"
    suffixes: tuple[str, ...]
    # Bumped whenever inspect() may return something different for the same bytes (cache key).
    version: str

    def sniff(self, head: bytes) -> bool:
        """Whether the first bytes of a file look like this format (by content, not by name)."""
        ...

    def inspect(self, path: Path) -> ModelInfo:
        """Parse and check the file, and describe it."""
        ...


def preload_of(handler: FormatHandler) -> tuple[str, ...]:
    """What `handler` asks the sandbox to import ahead (optional member `preload`)."""
    return tuple(getattr(handler, "preload", ()))


def configure(handler: FormatHandler, limits: SandboxLimits) -> None:
    """Hand `handler` the limits it will run under, when it takes them (`configure`)."""
    take = getattr(handler, "configure", None)
    if callable(take):
        take(limits)


# What FormatHandler asks of a handler (its attributes, then its methods), to name what a plugin
# lacks.
PROTOCOL_MEMBERS = (
    *FormatHandler.__annotations__,
    *(n for n, v in vars(FormatHandler).items() if callable(v) and not n.startswith("_")),
)
