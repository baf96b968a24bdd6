"""`modelreg add`: a new version folder with the model file and a first manifest."""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from registry.authoring.scaffold import NewVersion, Todo, render, todos
from registry.errors import FormatError, ModelregError, UsageError
from registry.formats import article, detect_file
from registry.infra.hashing import hash_file
from registry.load.config import load_config
from registry.load.layout import VersionDir
from registry.load.manifest import FileRef
from registry.sandbox import Inspector
from registry.versions import MANIFEST_NAME, is_semver

if TYPE_CHECKING:
    from registry.authoring.modelcard import CardImport

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$"


@dataclasses.dataclass(frozen=True, slots=True)
class AddRequest:
    """What the person adding a version says; the rest comes from the file."""

    name: str
    version: str
    url: str | None = None
    license: str | None = None
    risk_tier: str | None = None
    intended_use: str | None = None
    publisher: str | None = None
    publisher_email: str | None = None
    # A Hugging Face model card read by registry.authoring.modelcard: what it maps fills the
    # fields the values above leave empty, and the optional fields it covers.
    card: CardImport | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class Added:
    folder: Path
    manifest: Path
    todos: list[Todo]


def _check_request(name: str, version: str, url: str | None) -> None:
    if not re.match(NAME_PATTERN, name):
        raise UsageError(
            f"--name {name!r}: lowercase letters, digits and `-`, 1-64 characters, "
            "starting and ending with a letter or digit"
        )
    if not is_semver(version):
        raise UsageError(f"--version {version!r} is not SemVer 2.0 (e.g. 1.0.0)")
    if url is not None and not url.startswith("https://"):
        raise UsageError(f"--url {url!r}: artifacts outside the repository are https URLs")


def add_version(root: Path, source: Path, request: AddRequest) -> Added:
    """Create models/<name>/<version>/ from `source`; refuses an existing version."""
    _check_request(request.name, request.version, request.url)
    version = VersionDir(root, request.name, request.version)
    if version.path.exists() or version.path.is_symlink():
        raise ModelregError(
            f"{version.relative}/ already exists; published versions never "
            "change: choose a new version number"
        )
    handler = detect_file(source)
    if source.suffix.lower() not in handler.suffixes:
        raise ModelregError(
            f"{source}: path.suffix-mismatch: {article(handler.title)} is named "
            f"*{' or *'.join(handler.suffixes)}; a consumer picks the loader by the name, so "
            "rename the file first"
        )
    config = load_config(root)
    try:
        with Inspector(config.limits.sandbox) as inspector:
            info = inspector.inspect(handler.name, source)
    except FormatError as exc:
        raise ModelregError(f"{source}: {exc.code}: {exc.message}") from exc
    digest = hash_file(source)
    externals = tuple(FileRef(name, *_digest(source.parent / name)) for name in info.external_files)
    card = request.card
    new = NewVersion(
        name=request.name,
        version=request.version,
        info=info,
        artifact=FileRef(source.name, digest.sha256, digest.size),
        url=request.url,
        external_data=externals,
        license=request.license or (card.license if card else None),
        risk_tier=request.risk_tier,
        intended_use=request.intended_use or (card.intended_use if card else None),
        publisher=request.publisher,
        publisher_email=request.publisher_email,
        optional=card.optional_fields() if card else {},
    )
    text = render(new)
    version.path.mkdir(parents=True)
    try:
        if request.url is None:
            shutil.copyfile(source, version.path / source.name)
            for entry in externals:
                target = version.path / entry.path
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source.parent / entry.path, target)
        (version.path / MANIFEST_NAME).write_text(text, encoding="utf-8")
    except BaseException:
        shutil.rmtree(version.path, ignore_errors=True)  # never leave half a version behind
        raise
    return Added(version.path, version.manifest, todos(text))


def _digest(path: Path) -> tuple[str, int]:
    digest = hash_file(path)
    return digest.sha256, digest.size
