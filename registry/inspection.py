"""Running a format handler on a file: the one place that turns bytes into a ModelInfo."""

from __future__ import annotations

from pathlib import Path

from registry.formats import FormatHandler, ModelInfo


def inspect_model(handler: FormatHandler, path: Path) -> ModelInfo:
    """Inspect `path` with `handler`; raises FormatError for a file the handler refuses."""
    return handler.inspect(path)
