"""A version's validation result in the cache: what it depends on, and the result as JSON.

The key covers the version folder's files (each by its SHA-256, from the cache's stat fast path),
the configuration, the code, and the facts from outside the folder that validation reads:
whether the version is published, whether its signature is new in the change, when model.sig
was committed. Versions it references are recorded when the result is stored, and compared again
when it is found: its redirect by the digest of its manifest, its base model by one fingerprint
of every manifest on the chain of base models (registry.ancestry; one entry per version of the
chain would make a registry that is one long chain cost the square of its length). A changed or
removed reference means the result is computed again.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from registry.infra.cache import Cache, key_of
from registry.load.layout import VersionDir, referenced_manifest
from registry.load.manifest import Manifest
from registry.signing.bundle import SIGNATURE_FILE
from registry.validate.lineage import ManifestIndex
from registry.validate.result import VersionResult
from registry.validate.signature import signing_commit

KIND = "version"


def folder_state(cache: Cache, folder: Path) -> list[tuple[str, str]]:
    """(relative path, SHA-256 or what the entry is) for everything under a version folder."""
    state: list[tuple[str, str]] = []
    pending = [(str(folder), "")]
    while pending:  # os.scandir: one call per folder, no Path objects (a hot path)
        directory, prefix = pending.pop()
        with os.scandir(directory) as entries:
            for entry in entries:
                relative = prefix + entry.name
                if entry.is_symlink():
                    state.append((relative, f"symlink:{Path(entry.path).readlink()}"))
                elif entry.is_dir():
                    pending.append((entry.path, relative + "/"))
                elif entry.is_file():
                    try:
                        state.append((relative, cache.digest(entry.path).sha256))
                    except OSError as exc:  # validation reports it; here it is only a state
                        state.append((relative, f"unreadable:{exc.errno}"))
                else:
                    state.append((relative, "special"))
    return sorted(state)


def version_key(
    cache: Cache,
    version: VersionDir,
    context: Any,
    published: bool,
    new_signature: bool,
) -> str | None:
    """The key of a version's result; None when the result depends on the moment: a signature
    that is new or uncommitted is judged against the clock (its certificate may expire)."""
    signed_at = None
    if (version.path / SIGNATURE_FILE).is_file():
        if new_signature:
            return None
        commit = signing_commit(version.root, version.display(SIGNATURE_FILE))
        if commit is None:
            return None
        signed_at = f"{commit.sha} {commit.time.astimezone(dt.UTC).isoformat()}"
    return key_of(
        KIND, version.relative, context, folder_state(cache, version.path), published, signed_at
    )


References = dict[str, dict[str, str | None]]


def references(cache: Cache, manifest: Manifest, index: ManifestIndex) -> References:
    """The versions a result depends on: `manifests`, the redirect with the SHA-256 of its
    manifest (None: there is none); `lineage`, the base model with the fingerprint of its chain."""
    base, redirect = manifest.base_model, manifest.redirect_to
    return {
        "manifests": {redirect: manifest_digest(cache, index.root, redirect)} if redirect else {},
        "lineage": {base: chain_fingerprint(cache, index, base)} if base else {},
    }


def manifest_digest(cache: Cache, root: Path, reference: str) -> str | None:
    path = referenced_manifest(root, reference)
    return None if path is None else cache.digest(path).sha256


def chain_fingerprint(cache: Cache, index: ManifestIndex, reference: str) -> str:
    """Of every manifest on the chain of base models from `reference`, itself included; each
    manifest is digested once per run, whatever the number of versions derived from it."""
    return index.ancestry.fingerprint(
        reference, lambda ref: manifest_digest(cache, index.root, ref)
    )


def to_json(result: VersionResult, refs: References) -> dict[str, Any]:
    """The cache entry: the result, and the references to compare again when it is found."""
    return {**result.to_json(), "references": refs}


def from_json(version: VersionDir, data: dict[str, Any]) -> VersionResult:
    """The result of a cache entry to_json wrote for `version` (inputs_key left to the caller)."""
    return VersionResult.from_json(version, data)


def still_valid(cache: Cache, index: ManifestIndex, data: dict[str, Any]) -> bool:
    """Whether every version the stored result referenced is as it was."""
    refs = data["references"]
    return all(
        manifest_digest(cache, index.root, ref) == digest
        for ref, digest in refs.get("manifests", {}).items()
    ) and all(
        chain_fingerprint(cache, index, ref) == digest
        for ref, digest in refs.get("lineage", {}).items()
    )
