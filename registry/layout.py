"""Where things are in a registry: its root, models/<name>/<version>/, and paths users pass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from registry.errors import LayoutError
from registry.versions import MANIFEST_NAME

MODELS_DIR = "models"
CONFIG_NAME = "registry.yaml"


@dataclass(frozen=True, order=True)
class VersionDir:
    """models/<name>/<version>/ of one registry."""

    root: Path
    name: str
    version: str

    @property
    def path(self) -> Path:
        return self.root / MODELS_DIR / self.name / self.version

    @property
    def manifest(self) -> Path:
        return self.path / MANIFEST_NAME

    @property
    def relative(self) -> str:
        """models/<name>/<version>, as findings and the site name it."""
        return f"{MODELS_DIR}/{self.name}/{self.version}"

    def display(self, file: str = MANIFEST_NAME) -> str:
        return f"{self.relative}/{file}"

    @property
    def id(self) -> str:
        return f"{self.name}@{self.version}"


def find_root(start: Path) -> Path:
    """The nearest folder at or above `start` holding registry.yaml or models/."""
    current = start.resolve()
    for candidate in (current, *current.parents):
        if (candidate / CONFIG_NAME).is_file() or (candidate / MODELS_DIR).is_dir():
            return candidate
    raise LayoutError(
        f"{start} is not inside a registry (no {CONFIG_NAME} or {MODELS_DIR}/ found above it); "
        "run from the registry's root or pass --root"
    )


def _subdirs(folder: Path) -> list[str]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except FileNotFoundError:
        return []
    # Symlinked folders are listed too, so that validation can refuse them by name.
    return [e.name for e in entries if e.is_dir(follow_symlinks=False) or e.is_symlink()]


def all_versions(root: Path) -> list[VersionDir]:
    models = root / MODELS_DIR
    return [
        VersionDir(root, name, version)
        for name in _subdirs(models)
        for version in _subdirs(models / name)
    ]


def versions_for_paths(root: Path, paths: list[Path]) -> list[VersionDir]:
    """The version folders that user-given paths (manifest, version, model or models/) denote."""
    models = (root / MODELS_DIR).resolve()
    selected: set[VersionDir] = set()
    for given in paths:
        absolute = Path(os.path.abspath(given))  # noqa: PTH100 - keep symlinks unresolved
        if not absolute.exists() and not absolute.is_symlink():
            raise LayoutError(f"{given}: no such file or folder")
        try:
            parts = absolute.relative_to(models).parts
        except ValueError:
            try:
                parts = absolute.resolve().relative_to(models).parts
            except ValueError:
                raise LayoutError(
                    f"{given} is not inside {MODELS_DIR}/ of the registry at {root}; pass a "
                    f"manifest, a version folder or a model folder under {MODELS_DIR}/"
                ) from None
        if len(parts) == 0:
            selected.update(all_versions(root))
        elif len(parts) == 1:
            selected.update(VersionDir(root, parts[0], v) for v in _subdirs(models / parts[0]))
        else:
            selected.add(VersionDir(root, parts[0], parts[1]))
    return sorted(selected)
