"""Validation of a registry: every stage for every version, every finding collected."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from registry import git
from registry.config import RegistryConfig, load_config
from registry.console import Progress, log
from registry.errors import ModelregError
from registry.findings import Finding, error, has_errors, warning
from registry.formatcheck import check_format
from registry.formats import ModelInfo
from registry.immutability import changed_signatures, check_history, resolve_base
from registry.integrity import check_integrity
from registry.layout import VersionDir, all_versions, layout_findings, require_models
from registry.lineage import ManifestIndex, check_lineage
from registry.manifest import Manifest, load_manifest
from registry.policy import Decision, decide
from registry.repocheck import changed_findings, repository_findings
from registry.reports import REPORTS_DIR, Report, load_reports
from registry.sandbox import Inspector
from registry.semantics import check_semantics
from registry.signature import SignatureResult, check_signature
from registry.signing import SIGNATURE_FILE
from registry.versions import MANIFEST_NAME

# Files a version folder may hold besides those its manifest names.
_KNOWN_FILES = {MANIFEST_NAME, SIGNATURE_FILE}
_KNOWN_DIRS = {REPORTS_DIR}


@dataclass(frozen=True)
class VersionResult:
    version: VersionDir
    manifest: Manifest | None
    model_info: ModelInfo | None
    findings: tuple[Finding, ...]
    reports: tuple[Report, ...] = ()
    decision: Decision | None = None  # the governance decision (allow, review or block)
    signature: SignatureResult | None = None

    def ok(self, strict: bool = False) -> bool:
        return not has_errors(self.findings, strict)


@dataclass(frozen=True)
class ValidationReport:
    results: tuple[VersionResult, ...]
    findings: tuple[Finding, ...]  # of the registry as a whole (references between versions)

    def all_findings(self) -> list[Finding]:
        every = [f for r in self.results for f in r.findings] + list(self.findings)
        return sorted(every, key=Finding.sort_key)

    def ok(self, strict: bool = False) -> bool:
        return not has_errors(self.all_findings(), strict)


def _stray_files(manifest: Manifest, version: VersionDir) -> list[Finding]:
    paths = [manifest.artifact.path, *(e.path for e in manifest.artifact.external_data)]
    # A file in a sub-folder is named by its first component (`sub/model.onnx` names `sub`).
    named = {PurePosixPath(p).parts[0] for p in paths if p and PurePosixPath(p).parts}
    findings = []
    for entry in sorted(version.path.iterdir()):
        if entry.name in _KNOWN_FILES or entry.name in named:
            continue
        if entry.name in _KNOWN_DIRS and entry.is_dir():
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


@dataclass(frozen=True)
class _Run:
    """What every version's validation in one run shares."""

    root: Path
    config: RegistryConfig
    inspector: Inspector
    manifests: ManifestIndex
    published: frozenset[str]  # models/<name>/<version> folders already published
    new_signatures: frozenset[str] = frozenset()  # folders whose model.sig changed since --base


def validate_version(version: VersionDir, run: _Run) -> VersionResult:
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
    findings = check_semantics(manifest, version, display)
    artifact, found = check_integrity(manifest, display)
    findings += found
    model_info = None
    if artifact is not None:
        model_info, found = check_format(manifest, artifact.path, display, run.inspector)
        findings += found
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
        version, manifest, model_info, tuple(findings), tuple(reports), decision, signature
    )


def _published(root: Path, base: str | None) -> frozenset[str]:
    """Version folders published at `base` (default: committed at HEAD); none outside Git."""
    if not git.is_repository(root):
        return frozenset()
    prefix = git.models_prefix(root)
    try:
        files = git.tracked_files(root, resolve_base(root, base or "HEAD"), f"{prefix}models")
    except ModelregError:
        return frozenset()  # no commit yet
    suffix = "/" + MANIFEST_NAME
    return frozenset(f[len(prefix) : -len(suffix)] for f in files if f.endswith(suffix))


def _exists(root: Path, reference: str) -> bool:
    name, _, version = reference.partition("@")
    return (root / "models" / name / version / MANIFEST_NAME).is_file()


def _check_references(root: Path, result: VersionResult) -> list[Finding]:
    """`name@version` references must name a version of this registry."""
    manifest = result.manifest
    if manifest is None:
        return []
    findings = []
    references = [
        (("lineage", "base_model"), (manifest.data.get("lineage") or {}).get("base_model")),
        (
            ("deprecation", "redirect_to"),
            (manifest.data.get("deprecation") or {}).get("redirect_to"),
        ),
    ]
    for path, target in references:
        if target is not None and not _exists(root, target):
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


def validate_registry(
    root: Path,
    versions: list[VersionDir] | None = None,
    base: str | None = None,
    since: str | None = None,
) -> ValidationReport:
    """Validate `versions` (default: every version under models/) of the registry at `root`.

    With `base` (a Git revision), also check that nothing published at `base` was rewritten.
    With `since`, `versions` are those changed since that revision, and the repository checks
    look at the changed paths only. The cost follows the versions given: nothing here lists the
    whole registry unless asked to.
    """
    config = load_config(root)
    require_models(root)
    results = []
    selected = all_versions(root) if versions is None else versions
    with (
        Inspector(config.limits.sandbox) as inspector,
        Progress("validating", len(selected), "versions") as progress,
    ):
        run = _Run(
            root,
            config,
            inspector,
            ManifestIndex(root, config.limits.yaml_max_bytes),
            _published(root, base),
            frozenset(changed_signatures(root, resolve_base(root, base))) if base else frozenset(),
        )
        for version in selected:
            result = _validate_one(version, run)
            results.append(result)
            log(
                "validated",
                f"{version.id}: {'ok' if result.ok() else 'failed'}",
                detail=True,
                version=version.id,
                ok=result.ok(),
                findings=len(result.findings),
            )
            progress.update()
    scope: list[Finding] = []
    if versions is None:
        scope += layout_findings(root) + repository_findings(root)
    elif since is not None:
        scope += changed_findings(root, resolve_base(root, since))
    if base is not None:
        scope += check_history(root, base)
    unique = list({(f.code, f.file): f for f in scope}.values())  # a link: on disk and in Git
    return _attach(results, unique)


def _attach(results: list[VersionResult], findings: list[Finding]) -> ValidationReport:
    """Findings about a file of a checked version belong to that version's result."""
    by_folder = {r.version.relative + "/": index for index, r in enumerate(results)}
    extra: dict[int, list[Finding]] = {}
    remaining = []
    for finding in findings:
        owner = next(
            (i for folder, i in by_folder.items() if finding.file.startswith(folder)), None
        )
        if owner is None:
            remaining.append(finding)
        else:
            extra.setdefault(owner, []).append(finding)
    merged = tuple(
        dataclasses.replace(r, findings=r.findings + tuple(extra[i])) if i in extra else r
        for i, r in enumerate(results)
    )
    return ValidationReport(merged, tuple(remaining))


def _validate_one(version: VersionDir, run: _Run) -> VersionResult:
    result = validate_version(version, run)
    extra = _check_references(run.root, result)
    if extra:
        result = dataclasses.replace(result, findings=result.findings + tuple(extra))
    return result
