"""Declared inputs/outputs (the manifest) against those extracted from the model file."""

from __future__ import annotations

from registry.findings import Finding, Position, error, info
from registry.formats.base import ModelInfo
from registry.load.manifest import Manifest
from registry.tensors import UNSTATED_DTYPE, Dim, TensorSpec, format_shape

_FIELDS = {"input": "input_shape", "output": "output_schema"}


def _dims_compatible(declared: Dim, extracted: Dim) -> bool:
    """A fixed dim must match exactly; a symbolic or unknown dim needs a symbol or null."""
    if isinstance(extracted, int):
        return declared == extracted
    return not isinstance(declared, int)


class _Comparison:
    def __init__(self, manifest: Manifest, display: str) -> None:
        self.manifest = manifest
        self.display = display
        self.findings: list[Finding] = []
        self.unverified: list[str] = []

    def at(self, side: str, index: int, *rest: str) -> Position:
        position: Position = self.manifest.field_position(_FIELDS[side], index, *rest)
        return position

    def fail(self, code: str, message: str, position: Position) -> None:
        self.findings.append(error(code, message, self.display, position))

    def pair(
        self, side: str, index: int, declared: TensorSpec, extracted: TensorSpec, check_name: bool
    ) -> None:
        label = f"{side} {index} `{declared.name}`"
        if check_name and declared.name != extracted.name:
            self.fail(
                "io.name-mismatch",
                f"{side} {index} is named `{extracted.name}` in the model file, not "
                f"`{declared.name}`; use the model's name",
                self.at(side, index, "name"),
            )
        if extracted.dtype == UNSTATED_DTYPE:
            self.unverified.append(f"{label} dtype")
        elif declared.dtype != extracted.dtype:
            self.fail(
                "io.dtype-mismatch",
                f"{label} is {extracted.dtype} in the model file, declared {declared.dtype}",
                self.at(side, index, "dtype"),
            )
        if extracted.shape is None:
            if declared.shape is not None:  # the manifest states more than the file can
                self.unverified.append(f"{label} shape")
            return
        if declared.shape is None:
            self.fail(
                "io.rank-mismatch",
                f"{label} has shape {format_shape(extracted.shape)} in the model file, "
                "declared null; declare the shape",
                self.at(side, index, "shape"),
            )
            return
        if len(declared.shape) != len(extracted.shape):
            self.fail(
                "io.rank-mismatch",
                f"{label} has rank {len(extracted.shape)} {format_shape(extracted.shape)} in "
                f"the model file, declared rank {len(declared.shape)} "
                f"{format_shape(declared.shape)}",
                self.at(side, index, "shape"),
            )
            return
        for axis, (want, got) in enumerate(zip(declared.shape, extracted.shape, strict=True)):
            if not _dims_compatible(want, got):
                expected = "a symbol or null" if not isinstance(got, int) else str(got)
                self.fail(
                    "io.dim-mismatch",
                    f"{label} dim {axis} is {'dynamic' if not isinstance(got, int) else got} in "
                    f"the model file (shape {format_shape(extracted.shape)}), declared "
                    f"{'null' if want is None else want}; declare {expected}",
                    self.at(side, index, "shape"),
                )

    def side(
        self,
        side: str,
        declared: tuple[TensorSpec, ...],
        extracted: tuple[TensorSpec, ...],
        names_stated: bool,
    ) -> None:
        if len(declared) == len(extracted):
            for index, (want, got) in enumerate(zip(declared, extracted, strict=True)):
                self.pair(side, index, want, got, names_stated)
            return
        if not names_stated:
            self.fail(
                "io.count-mismatch",
                f"the model file has {len(extracted)} {side}(s); {_FIELDS[side]} declares "
                f"{len(declared)}",
                self.manifest.field_position(_FIELDS[side]),
            )
            return
        by_name = {t.name: (i, t) for i, t in enumerate(extracted)}
        declared_names = {t.name for t in declared}
        for index, want in enumerate(declared):
            match = by_name.get(want.name)
            if match is None:
                self.fail(
                    "io.not-in-model",
                    f"{side} `{want.name}` is declared but the model file has no such {side} "
                    f"(it has {', '.join(t.name for t in extracted) or 'none'}); remove it",
                    self.at(side, index),
                )
            else:
                self.pair(side, index, want, match[1], check_name=False)
        for got in extracted:
            if got.name not in declared_names:
                self.fail(
                    "io.undeclared",
                    f"the model file has {side} `{got.name}` ({got.dtype}, shape "
                    f"{format_shape(got.shape)}) that {_FIELDS[side]} does not declare; add it",
                    self.manifest.field_position(_FIELDS[side]),
                )


def compare_io(manifest: Manifest, model: ModelInfo, display: str) -> list[Finding]:
    """Findings for every difference between declared and extracted inputs and outputs."""
    comparison = _Comparison(manifest, display)
    comparison.side("input", manifest.inputs, model.inputs, names_stated=True)
    outputs_named = "output_names" not in model.unstated
    comparison.side("output", manifest.outputs, model.outputs, names_stated=outputs_named)
    if not outputs_named:
        comparison.unverified.append("output names")
    findings = comparison.findings
    if comparison.unverified:
        findings.append(
            info(
                "io.unverifiable",
                f"{model.format} files do not state these, so they were not checked: "
                + ", ".join(comparison.unverified),
                display,
                manifest.field_position("input_shape"),
            )
        )
    return findings
