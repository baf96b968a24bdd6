"""The format stage: the file is what the manifest says, parses, and has the declared I/O."""

from __future__ import annotations

from pathlib import Path

from registry.errors import FormatError
from registry.findings import Finding, error
from registry.formats import ModelInfo, describe_content, detect, handlers, read_head
from registry.inspection import inspect_model
from registry.iocompare import compare_io
from registry.manifest import Manifest


def check_format(
    manifest: Manifest, artifact: Path, display: str
) -> tuple[ModelInfo | None, list[Finding]]:
    position = manifest.field_position("format")
    installed = handlers()
    declared = installed.get(manifest.format)
    if declared is None:
        return None, [
            error(
                "format.unknown",
                f"format `{manifest.format}` has no installed handler; installed: "
                f"{', '.join(sorted(installed))} (a plugin adds others)",
                display,
                position,
            )
        ]
    head = read_head(artifact)
    detected = detect(head)
    if detected is None:
        return None, [
            error(
                "format.unrecognized",
                f"{manifest.artifact.path}: not a {declared.title} ({describe_content(head)})",
                display,
                position,
            )
        ]
    if detected.name != declared.name:
        return None, [
            error(
                "format.mismatch",
                f"{manifest.artifact.path} is a {detected.title}, but format says "
                f"`{manifest.format}`; set format: {detected.name}",
                display,
                position,
            )
        ]
    try:
        model = inspect_model(declared, artifact)
    except FormatError as exc:
        return None, [
            error(exc.code, f"{manifest.artifact.path}: {exc.message}", display, position)
        ]
    return model, compare_io(manifest, model, display)
