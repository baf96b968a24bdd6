"""Where things are in a registry: its root, models/<name>/<version>/, and paths users pass."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from registry.errors import LayoutError
from registry.findings import Finding, error, warning
from registry.versions import MANIFEST_NAME

MODELS_DIR = "models"


def referenced_manifest(root: Path, reference: str) -> Path | None:
    """The manifest `name@version` names, when it is a regular file of this registry (not a
    link, not outside models/<name>/<version>/)."""
    name, _, version = reference.partition("@")
    path = root / MODELS_DIR / name / version / MANIFEST_NAME
    if not name or not version or "/" in name + version or ".." in (name, version):
        return None
    return path if path.is_file() and not path.is_symlink() else None


CONFIG_NAME = "registry.yaml"
# The one file a model folder holds besides its version folders (registry.load.aliases).
ALIASES_NAME = "aliases.yaml"
REPORTS_DIR = "reports"  # evaluation and drift reports beside a version's manifest


@dataclass(frozen=True, order=True)
class VersionDir:
    """models/<name>/<version>/ of one registry."""

    root: Path
    name: str
    version: str

    @cached_property
    def path(self) -> Path:
        return self.root / MODELS_DIR / self.name / self.version

    @cached_property
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


def _entries(folder: Path) -> list[os.DirEntry[str]]:
    try:
        return sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError:  # missing, not a folder, unreadable
        return []


def _subdirs(folder: Path) -> list[str]:
    """Real sub-folders only: links are never followed (layout_findings reports them)."""
    return [e.name for e in _entries(folder) if e.is_dir(follow_symlinks=False)]


def all_versions(root: Path) -> list[VersionDir]:
    models = root / MODELS_DIR
    return [
        VersionDir(root, name, version)
        for name in _subdirs(models)
        for version in _subdirs(models / name)
    ]


def layout_findings(root: Path) -> list[Finding]:
    """Links and stray files in models/ and models/<name>/, which hold only folders (and a
    model's aliases.yaml)."""
    findings = []
    models = root / MODELS_DIR
    folders = [models] + [models / name for name in _subdirs(models)]
    for folder in folders:
        for entry in _entries(folder):
            relative = Path(entry.path).relative_to(root).as_posix()
            if entry.is_symlink():
                findings.append(
                    error(
                        "security.symlink",
                        f"{relative} is a symbolic link; the registry refuses links: commit the "
                        "folder itself",
                        relative,
                    )
                )
            elif not entry.is_dir(follow_symlinks=False):
                if folder != models and entry.name == ALIASES_NAME:
                    continue
                findings.append(
                    warning(
                        "layout.unexpected-file",
                        f"{relative} is a file where only "
                        f"{'model' if folder == models else 'version'} folders belong; move it",
                        relative,
                    )
                )
    return findings


def require_models(root: Path) -> Path:
    models = root / MODELS_DIR
    if not models.is_dir() or models.is_symlink():
        raise LayoutError(
            f"{root} has no {MODELS_DIR}/ folder; run from a registry's root or pass --root"
        )
    return models


def versions_for_paths(root: Path, paths: list[Path]) -> list[VersionDir]:
    """The version folders that user-given paths (manifest, version, model or models/) denote."""
    models = require_models(root)
    selected: set[VersionDir] = set()
    for given in paths:
        absolute = Path(os.path.abspath(given))  # noqa: PTH100 - keep symlinks unresolved
        if not absolute.exists() and not absolute.is_symlink():
            raise LayoutError(f"{given}: no such file or folder")
        try:
            parts = absolute.relative_to(models).parts
        except ValueError:
            raise LayoutError(
                f"{given} is not inside {MODELS_DIR}/ of the registry at {root}; pass a "
                f"manifest, a version folder or a model folder under {MODELS_DIR}/"
            ) from None
        for depth in range(1, min(len(parts), 3) + 1):
            if (models.joinpath(*parts[:depth])).is_symlink():
                raise LayoutError(
                    f"{given}: {'/'.join(parts[:depth])} is a symbolic link; "
                    "the registry refuses links"
                )
        if len(parts) == 0:
            selected.update(all_versions(root))
        elif len(parts) == 1 and absolute.is_dir():
            selected.update(VersionDir(root, parts[0], v) for v in _subdirs(models / parts[0]))
        elif (len(parts) == 2 and absolute.is_dir()) or (
            len(parts) == 3 and parts[2] == MANIFEST_NAME
        ):
            selected.add(VersionDir(root, parts[0], parts[1]))
        else:
            raise LayoutError(f"{given} is not a model folder, a version folder or a manifest.yaml")
    return sorted(selected)
