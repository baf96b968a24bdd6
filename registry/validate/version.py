"""One version's validation: every stage in order (layout, manifest, semantics, license,
integrity or the remote files, the format, stray files, reports and lineage, governance, the
signature), then its references to other versions, and what the cache keeps of the result."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import Any

from registry.findings import Finding, error, warning
from registry.formats import HEAD_SIZE, LFS_POINTER_PREFIX, ModelInfo
from registry.governance.policy import decide
from registry.infra.background import in_background
from registry.infra.hashing import ChunkedDigest
from registry.load.layout import VersionDir, referenced_manifest
from registry.load.manifest import Manifest, load_manifest
from registry.load.pathrules import open_problem, path_problem
from registry.load.reports import load_reports
from registry.validate.context import KNOWN_DIRS, KNOWN_FILES, RunContext
from registry.validate.format import check_format
from registry.validate.integrity import CheckedFile, OpenedFiles, check_integrity
from registry.validate.license import check_licenses
from registry.validate.lineage import check_lineage
from registry.validate.remote import check_remote
from registry.validate.result import VersionResult
from registry.validate.resultcache import references, to_json
from registry.validate.semantics import check_semantics
from registry.validate.signature import check_signature
from registry.versions import MANIFEST_NAME


def validate_one(version: VersionDir, run: RunContext) -> tuple[VersionResult, dict[str, Any]]:
    """The result, and what the cache keeps of it (with the references it depends on)."""
    result = validate_version(version, run)
    extra = _check_references(run.root, result)
    if extra:
        result = dataclasses.replace(result, findings=result.findings + tuple(extra))
    refs = references(run.cache, result.manifest, run.manifests) if result.manifest else {}
    return result, to_json(result, refs)


def validate_version(version: VersionDir, run: RunContext) -> VersionResult:
    display = version.display()
    if version.manifest.is_symlink():
        finding = error(
            "security.symlink",
            f"{version.relative}/{MANIFEST_NAME} is a symbolic link; commit the file itself",
            display,
        )
        return VersionResult(version, None, None, (finding,))
    if not version.manifest.is_file():
        finding = error(
            "layout.missing-manifest",
            f"{version.relative}/ has no {MANIFEST_NAME}; every version folder needs one "
            "(start from the manifest of another version)",
            display,
        )
        return VersionResult(version, None, None, (finding,))
    max_bytes = run.config.limits.yaml_max_bytes
    manifest, findings = load_manifest(version.manifest, display, max_bytes)
    if manifest is None:
        return VersionResult(version, None, None, tuple(findings))

    def manifest_checks() -> list[Finding]:
        return check_semantics(manifest, version, display) + check_licenses(manifest, display)

    digests: dict[str, ChunkedDigest] = {}
    if manifest.artifact.url is not None and manifest.artifact.path is None:
        findings = manifest_checks()
        artifact, externals, found = check_remote(manifest, display, run.remote_files())
        for relative, checked in externals.items():
            digests[relative] = checked.digest
        if artifact is not None:
            digests[artifact.path.name] = artifact.digest
        findings += found
        model_info = None
        if artifact is not None:
            sha256 = artifact.digest.sha256
            folder = artifact.path.parent
            model_info, found = check_format(
                manifest,
                artifact.path,
                display,
                lambda name, path: run.inspect(name, path, sha256, folder),
            )
            findings += found
    else:
        model_info, findings = _check_local_files(
            manifest, version, display, run, digests, manifest_checks
        )
    findings += _stray_files(manifest, version)
    reports, found = load_reports(version.path, version.relative, max_bytes)
    findings += found + check_lineage(manifest, reports, run.manifests, display)
    decision, found = decide(
        manifest, reports, run.config.governance, version.relative in run.published, display
    )
    findings += found
    signature, found = check_signature(
        run.root, run.config.governance, manifest, version, run.new_signatures
    )
    findings += found
    return VersionResult(
        version,
        manifest,
        model_info,
        tuple(findings),
        tuple(reports),
        decision,
        signature,
        chunks={relative: digest.chunks for relative, digest in digests.items() if digest.chunks},
    )


FormatResult = tuple[ModelInfo | None, list[Finding]]


def _check_local_files(
    manifest: Manifest,
    version: VersionDir,
    display: str,
    run: RunContext,
    digests: dict[str, ChunkedDigest],
    manifest_checks: Callable[[], list[Finding]],
) -> tuple[ModelInfo | None, list[Finding]]:
    """`manifest_checks`' findings, then the integrity and format of the files in the version
    folder, each opened once: hashed and inspected through that descriptor, then checked
    unchanged (registry.validate.integrity). Without the cache the sandbox inspects while this
    process runs `manifest_checks` and hashes (one core each); with it, the inspection waits
    for the digest, its cache key."""
    with OpenedFiles(version.path, chunks=run.chunks or run.cache.enabled) as files:
        started = (
            None if run.cache.enabled else _start_format(manifest, version, display, run, files)
        )
        first = manifest_checks()
        digester = run.cache.digest if run.cache.enabled else None
        artifact, findings = check_integrity(manifest, display, digester, digests, files)
        findings = first + findings
        inspected: FormatResult = started() if started is not None else (None, [])
        if artifact is None:
            inspected = (None, [])  # unreadable or a Git LFS pointer: nothing to inspect
        elif started is None:
            inspected = _check_format(manifest, version, display, run, files, artifact)
        unstable = files.changes(manifest, display)
    if unstable:  # what was inspected may not be what was hashed: nothing of it counts
        return None, findings + unstable
    return inspected[0], findings + inspected[1]


def _check_format(
    manifest: Manifest,
    version: VersionDir,
    display: str,
    run: RunContext,
    files: OpenedFiles,
    artifact: CheckedFile,
) -> FormatResult:
    assert manifest.artifact.path is not None  # a local artifact, opened by check_integrity
    opened = files.open(manifest.artifact.path)
    sha256 = artifact.digest.sha256
    return check_format(
        manifest,
        artifact.path,
        display,
        lambda name, path: run.inspect(name, path, sha256, version.path, opened.fd),
        os.pread(opened.fd, HEAD_SIZE, 0),
    )


def _start_format(
    manifest: Manifest, version: VersionDir, display: str, run: RunContext, files: OpenedFiles
) -> Callable[[], FormatResult] | None:
    """The format check of the artifact, started on a thread (its work is the sandbox's, in
    another process); what waits for its result, or None when the file cannot be opened or is a
    Git LFS pointer (check_integrity reports both)."""
    relative = manifest.artifact.path
    if relative is None or path_problem(relative) or open_problem(version.path, relative):
        return None
    try:
        opened = files.open(relative)
        head = os.pread(opened.fd, HEAD_SIZE, 0)
    except OSError:
        return None
    if head.startswith(LFS_POINTER_PREFIX):
        return None
    target = version.path / relative
    return in_background(
        lambda: check_format(
            manifest,
            target,
            display,
            lambda name, path: run.inspect(name, path, "", version.path, opened.fd),
            head,
        ),
        "modelreg-format",
    )


def _stray_files(manifest: Manifest, version: VersionDir) -> list[Finding]:
    paths = [manifest.artifact.path, *(e.path for e in manifest.artifact.external_data)]
    # A file in a sub-folder is named by its first component (`sub/model.onnx` names `sub`).
    named = {PurePosixPath(p).parts[0] for p in paths if p and PurePosixPath(p).parts}
    findings = []
    for entry in sorted(version.path.iterdir()):
        if entry.name in KNOWN_FILES or entry.name in named:
            continue
        if entry.name in KNOWN_DIRS and entry.is_dir():
            continue
        findings.append(
            warning(
                "layout.unreferenced-file",
                f"{entry.name} is not named by the manifest; remove it or reference it "
                "(artifact.path / artifact.external_data)",
                version.display(entry.name),
            )
        )
    return findings


def _check_references(root: Path, result: VersionResult) -> list[Finding]:
    """`name@version` references must name a version of this registry."""
    manifest = result.manifest
    if manifest is None:
        return []
    findings = []
    references = [
        (("lineage", "base_model"), manifest.base_model),
        (("deprecation", "redirect_to"), manifest.redirect_to),
    ]
    for path, target in references:
        if target is not None and referenced_manifest(root, target) is None:
            findings.append(
                error(
                    "reference.unresolved",
                    f"{'.'.join(path)} `{target}` is not a version in this registry; "
                    "publish it first or fix the reference",
                    result.version.display(),
                    manifest.field_position(*path),
                )
            )
    return findings
