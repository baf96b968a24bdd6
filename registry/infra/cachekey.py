"""What a cache key is made of: the inputs of a result, and the code that computes it.

A key is the SHA-256 of everything a result depends on, including modelreg's own code and
schemas and the versions of the libraries it works with (code_digest): any change to them is a
new cache generation, so that a changed input or a changed reader never finds an old result.
"""

from __future__ import annotations

import hashlib
import json
from functools import cache
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from registry import __version__
from registry.infra.schemadir import schema_dir

# Libraries whose version changes what validation or the build produce.
_LIBRARIES = (
    "onnx",
    "protobuf",
    "torch",  # its archive reader is the TorchScript cross-check
    "tflite",
    "flatbuffers",
    "model-signing",
    "spdx-tools",
    "license-expression",
    "cyclonedx-python-lib",
    "jsonschema",
    "mkdocs",
    "mkdocs-material",
    "jinja2",
    "pyyaml",
)


@cache
def code_digest() -> str:
    """Of modelreg's own code and schemas and the versions of the libraries it works with: any
    change to them is a new cache generation."""
    digest = hashlib.sha256(__version__.encode())
    for name in _LIBRARIES:
        try:
            found = metadata.version(name)
        except metadata.PackageNotFoundError:
            found = "absent"
        digest.update(f"{name}={found}\0".encode())
    package = resources.files("registry")
    for suffix in ("*.py", "*.json", "*.html", "*.css", "*.js", "*.yaml"):
        for path in sorted(Path(str(package)).rglob(suffix)):
            digest.update(path.as_posix().encode() + b"\0" + path.read_bytes())
    for path in sorted(schema_dir().rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def key_of(*parts: Any) -> str:
    """A cache key: the SHA-256 of the canonical JSON of `parts` and of the code."""
    text = json.dumps([code_digest(), *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()
