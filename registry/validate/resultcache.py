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
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from registry.findings import Finding, Severity
from registry.formats import ModelInfo
from registry.governance.policy import Decision
from registry.infra.cache import Cache, key_of
from registry.load.layout import VersionDir, referenced_manifest
from registry.load.manifest import Manifest, base_model
from registry.load.reports import Report
from registry.load.yamlsafe import LoadedYaml
from registry.signing.bundle import SIGNATURE_FILE
from registry.signing.verify import SignatureResult
from registry.validate.lineage import ManifestIndex
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
    base = base_model(manifest.data)
    redirect = (manifest.data.get("deprecation") or {}).get("redirect_to")
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


def to_json(
    manifest: Manifest | None,
    model_info: ModelInfo | None,
    findings: tuple[Finding, ...],
    reports: tuple[Report, ...],
    decision: Decision | None,
    signature: SignatureResult | None,
    refs: References,
    chunks: Mapping[str, tuple[str, ...]],
) -> dict[str, Any]:
    return {
        "chunks": {relative: list(digests) for relative, digests in chunks.items()},
        "manifest": dict(manifest.data) if manifest else None,
        "model_info": model_info.to_json() if model_info else None,
        "findings": [f.to_json() for f in findings],
        "reports": [
            {"path": r.path, "kind": r.kind, "date": r.date, "data": r.data} for r in reports
        ],
        "decision": decision.to_json() if decision else None,
        "signature": signature.to_json() if signature else None,
        "references": refs,
    }


def _finding(data: dict[str, Any]) -> Finding:
    return Finding(
        Severity(data["severity"]),
        data["code"],
        data["message"],
        data["file"],
        data["line"],
        data["column"],
    )


def _decision(data: dict[str, Any]) -> Decision:
    return Decision(
        data["decision"],
        data["risk_tier"],
        tuple(data["reasons"]),
        tuple(data["flags"]),
        data["figures"],
        data["review"],
        data["review_status"],
        data["signature_required"],
    )


def _signature(data: dict[str, Any]) -> SignatureResult:
    return SignatureResult(
        data["present"],
        data["verified"],
        data["problem"],
        data["message"],
        data["identity"],
        data["issuer"],
        data["signed_at"],
        bool(data.get("claims_signed")),
        data.get("commit"),
    )


def from_json(version: VersionDir, data: dict[str, Any]) -> tuple[Any, ...]:
    """The fields of a VersionResult after `version`, from to_json's output. Positions in the
    manifest and reports are not kept: the findings already carry theirs."""
    manifest = (
        Manifest.from_loaded(version.manifest, LoadedYaml(data["manifest"], {}))
        if data["manifest"] is not None
        else None
    )
    return (
        manifest,
        ModelInfo.from_json(data["model_info"]) if data["model_info"] else None,
        tuple(_finding(f) for f in data["findings"]),
        tuple(
            Report(r["path"], r["kind"], r["date"], LoadedYaml(r["data"], {}))
            for r in data["reports"]
        ),
        _decision(data["decision"]) if data["decision"] else None,
        _signature(data["signature"]) if data["signature"] else None,
        "",
        {relative: tuple(digests) for relative, digests in data["chunks"].items()},
    )


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
