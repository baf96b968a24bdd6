"""Where a build may write: the output folder is replaced whole, so it must never hold anything
but a previous site."""

from __future__ import annotations

from pathlib import Path

from registry.build import paths
from registry.errors import ModelregError


class UnsafeOutput(ModelregError):
    """The output folder holds something a build must not replace."""


def check_output(root: Path, out: Path) -> None:
    root, out = root.resolve(), out.resolve()
    if out == root or out in root.parents:
        raise UnsafeOutput(
            f"--out {out} would replace the registry itself; build into a "
            "folder of its own, such as site/"
        )
    models = root / "models"
    if out == models or models in out.parents:
        raise UnsafeOutput(f"--out {out} is inside models/; build into a folder of its own")
    if out.exists() and not out.is_dir():
        raise UnsafeOutput(f"--out {out} is a file; give a folder")
    if out.is_dir() and any(out.iterdir()) and not (out / paths.INDEX_JSON).is_file():
        raise UnsafeOutput(
            f"--out {out} is not empty and is not a site built by modelreg (no "
            f"{paths.INDEX_JSON}); the build replaces the folder whole, so choose a new or empty "
            "one"
        )
    if (out / ".git").exists():
        raise UnsafeOutput(f"--out {out} holds a Git repository; build into a folder of its own")
