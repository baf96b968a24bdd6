"""The integrity stage for an artifact named by URL: download it (and its external data) into a
staging folder outside the repository, then check it as a file in the repository would be."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from registry.findings import Finding, error
from registry.infra.download import RemoteError, download
from registry.infra.urlnames import url_file_name
from registry.load.manifest import Manifest
from registry.load.pathrules import normalized, path_problem
from registry.validate.integrity import CheckedFile, Digester
from registry.validate.repository import name_problem

UNVERIFIED = "integrity.unverified-remote"


@dataclass(frozen=True, slots=True)
class RemoteFiles:
    """Where and how a run downloads: the staging root and the hosts registry.yaml allows."""

    staging: Path
    allowed_hosts: tuple[str, ...]
    digester: Digester


def _fetch(
    url: str,
    sha256: str,
    size: int,
    target: Path,
    remote: RemoteFiles,
    label: str,
    manifest: Manifest,
    display: str,
    field: tuple[str | int, ...],
) -> tuple[CheckedFile | None, list[Finding]]:
    position = manifest.field_position(*field)
    if target.is_file() and not target.is_symlink():
        digest = remote.digester(target)  # downloaded before: the cache's signed stat
        if (digest.sha256, digest.size) == (sha256, size):
            return CheckedFile(target, digest), []
    try:
        got = download(url, sha256, size, target, remote.allowed_hosts)
    except RemoteError as exc:
        return None, [
            error(
                UNVERIFIED,
                f"{label} was not verified: {exc}; a version is published only once every file "
                "it names was checked",
                display,
                position,
            )
        ]
    for key, downloaded, stated, what in (
        ("size", got.size, size, f"{got.size} bytes"),
        ("sha256", got.sha256, sha256, f"with SHA-256 {got.sha256}"),
    ):
        if downloaded != stated:
            return None, [
                error(
                    f"integrity.{key}-mismatch",
                    f"{label} downloaded {what}, the manifest says {stated}",
                    display,
                    manifest.field_position(*field[:-1], key),
                )
            ]
    return CheckedFile(target, remote.digester(target)), []


def _plain_path(path: str) -> bool:
    """A path the repository's own name rules would accept (registry.validate.repository)."""
    return path_problem(path) is None and all(
        name_problem(part) is None for part in PurePosixPath(path).parts
    )


def check_remote(
    manifest: Manifest, display: str, remote: RemoteFiles
) -> tuple[CheckedFile | None, dict[str, CheckedFile], list[Finding]]:
    """The downloaded artifact (None when it could not be verified), the external files by
    relative path, and the findings."""
    art = manifest.artifact
    assert art.url is not None
    folder = remote.staging / art.sha256
    name = url_file_name(art.url)
    taken = {name.casefold()}  # names compared as a case-insensitive file system would
    artifact, findings = _fetch(
        art.url,
        art.sha256,
        art.size,
        folder / name,
        remote,
        f"artifact.url {art.url}",
        manifest,
        display,
        ("artifact", "url"),
    )
    externals: dict[str, CheckedFile] = {}
    for index, extra in enumerate(art.external_data):
        field = ("artifact", "external_data", index, "url")
        relative = normalized(extra.path) if _plain_path(extra.path) else None
        if extra.url is None or relative is None or relative.casefold() in taken:
            findings.append(
                error(
                    UNVERIFIED,
                    f"external data {extra.path} of an artifact named by URL needs a url of its "
                    f"own and a plain ASCII path other than the artifact's name ({name}) and "
                    "the other files' (compared ignoring case)",
                    display,
                    manifest.field_position("artifact", "external_data", index),
                )
            )
            continue
        checked, found = _fetch(
            extra.url,
            extra.sha256,
            extra.size,
            folder / relative,
            remote,
            f"external data {extra.url}",
            manifest,
            display,
            field,
        )
        findings += found
        taken.add(relative.casefold())
        if checked is not None:
            externals[relative] = checked
    return (artifact if not findings else None), externals, findings
