"""Where the JSON Schemas are: a module of its own so that the cache key's code digest finds
them without importing the validators."""

from __future__ import annotations

from pathlib import Path


def schema_dir() -> Path:
    """schema/ of a source checkout, or its copy inside an installed wheel."""
    package = Path(__file__).resolve().parent.parent  # registry/
    bundled = package / "_schema"
    return bundled if bundled.is_dir() else package.parent / "schema"
