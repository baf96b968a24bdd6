"""The signature stage: model.sig verified when present, required when the tier says so, its
certificate judged when it entered the protected branch."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Collection
from pathlib import Path
from typing import Any

from registry.findings import Finding, error
from registry.governance.policy_config import GovernancePolicy
from registry.infra import git
from registry.load.layout import VersionDir
from registry.load.manifest import Manifest
from registry.signing.bundle import SIGNATURE_FILE, claims_of
from registry.signing.verify import SignatureResult, verify_folder


def signed_files(manifest: Manifest) -> dict[str, str]:
    """Relative path -> SHA-256 of every file a signature covers."""
    art = manifest.artifact
    files = {e.path: e.sha256 for e in art.external_data}
    if art.path is not None:
        files[art.path] = art.sha256
    return files


def manifest_claims(manifest: Manifest) -> dict[str, Any]:
    return claims_of(
        manifest.model_name, manifest.version, manifest.publisher.identity, signed_files(manifest)
    )


def signing_commit(root: Path, display: str) -> git.Commit | None:
    """The commit by which model.sig entered the protected branch: the first-parent commit that
    brought it (the merge the forge made), whose committer time is when the certificate must
    have been valid; never a commit or a time the pull request set itself."""
    return git.first_parent_commit(root, f"{git.models_prefix(root)}{display}")


def check_signature(
    root: Path,
    policy: GovernancePolicy,
    manifest: Manifest,
    version: VersionDir,
    new_signatures: Collection[str] = (),
) -> tuple[SignatureResult, list[Finding]]:
    """The signature stage: model.sig verified when present, required when the tier says so.

    The leaf's validity is judged when model.sig entered the branch (signing_commit), except for
    the version folders in `new_signatures` (their model.sig is part of the change under
    review): those are judged now.
    """
    display = version.display(SIGNATURE_FILE)
    required = policy.tiers[manifest.risk_tier].signature_required
    if not (version.path / SIGNATURE_FILE).is_file():
        if not required:
            return SignatureResult(False), []
        return SignatureResult(False), [
            error(
                "signing.required",
                f"{manifest.risk_tier} versions must be signed: run `modelreg sign "
                f"{version.relative} --key KEY --cert CERT --chain CHAIN` with a certificate that "
                "names publisher.identity, and commit model.sig",
                version.display(),
                manifest.field_position("risk_tier"),
            )
        ]
    if manifest.artifact.path is None:
        message = (
            "model.sig can only sign files of the version folder; this version's artifact is a "
            "URL: remove model.sig or commit the file"
        )
        return SignatureResult(True, code="signing.no-file", message=message), [
            error("signing.no-file", message, display)
        ]
    commit = None if version.relative in new_signatures else signing_commit(root, display)
    result = verify_folder(
        version.path,
        signed_files(manifest),
        manifest.publisher.identity,
        [root / name for name in policy.trust_roots],
        commit.time if commit else dt.datetime.now(dt.UTC),  # not committed yet: judged now
        claims=manifest_claims(manifest),
    )
    result = dataclasses.replace(result, commit=commit.sha if commit else None)
    if result.code is None:
        return result, []
    return result, [error(result.code, result.message, display)]
