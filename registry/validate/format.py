"""The format stage: the file is what the manifest says, parses, and has the declared I/O."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path, PurePosixPath

from registry.errors import FormatError
from registry.findings import Finding, error, warning
from registry.formats import ModelInfo, article, describe_content, detect, handlers, read_head
from registry.load.manifest import Manifest
from registry.load.pathrules import normalized
from registry.validate.io import compare_io

# Reads a file with a format's handler (registry.sandbox.Inspector.inspect, or a cache of it).
Inspect = Callable[[str, Path], ModelInfo]


def check_format(
    manifest: Manifest, artifact: Path, display: str, inspect: Inspect, head: bytes | None = None
) -> tuple[ModelInfo | None, list[Finding]]:
    """`head`: the file's first bytes when the caller read them (through the descriptor the
    inspection reads), else read here."""
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
    if head is None:
        head = read_head(artifact)
    detected = detect(head, manifest.format)
    if detected is None:
        return None, [
            error(
                "format.unrecognized",
                f"{manifest.artifact.path}: not {article(declared.title)} "
                f"({describe_content(head)})",
                display,
                position,
            )
        ]
    if detected.name != declared.name:
        return None, [
            error(
                "format.mismatch",
                f"{manifest.artifact.path} is {article(detected.title)}, but format says "
                f"`{manifest.format}`; set format: {detected.name}",
                display,
                position,
            )
        ]
    named = manifest.artifact.path  # a URL artifact keeps whatever name its server gives
    if named is not None and PurePosixPath(named).suffix.lower() not in declared.suffixes:
        return None, [
            error(
                "path.suffix-mismatch",
                f"{manifest.artifact.path}: a file of format `{declared.name}` is named "
                f"*{' or *'.join(declared.suffixes)}; a consumer picks the loader by the name, "
                "so rename it (and artifact.path) accordingly",
                display,
                manifest.field_position("artifact", "path"),
            )
        ]
    try:
        model = inspect(declared.name, artifact)
    except FormatError as exc:
        return None, [
            error(exc.code, f"{manifest.artifact.path}: {exc.message}", display, position)
        ]
    return model, (
        compare_io(manifest, model, display)
        + _external_files(manifest, model, display)
        + [warning(code, message, display, position) for code, message in model.coded_warnings()]
    )


def _external_files(manifest: Manifest, model: ModelInfo, display: str) -> list[Finding]:
    """Every file the model reads must be pinned by hash in artifact.external_data."""
    listed = {normalized(e.path) for e in manifest.artifact.external_data}
    findings = [
        error(
            "integrity.unlisted-external-data",
            f"the model reads {used}, which artifact.external_data does not list; add it with "
            "its sha256 and size (modelreg hash prints them)",
            display,
            manifest.field_position("artifact"),
        )
        for used in model.external_files
        if used not in listed
    ]
    findings += [
        warning(
            "integrity.unused-external-data",
            f"artifact.external_data lists {extra}, which the model does not read; remove it",
            display,
            manifest.field_position("artifact", "external_data"),
        )
        for extra in sorted(listed - set(model.external_files))
    ]
    return findings
