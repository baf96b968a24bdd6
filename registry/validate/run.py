"""Validation of a registry: every stage for every version, every finding collected."""

from __future__ import annotations

import dataclasses
import multiprocessing.util
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from registry.errors import FormatError, ModelregError
from registry.findings import Finding, error, warning
from registry.formats import ModelInfo, handlers
from registry.governance.policy import decide
from registry.infra import git
from registry.infra.cache import Cache, Write, key_of
from registry.infra.console import Progress, log
from registry.infra.hashing import ChunkedDigest
from registry.infra.parallel import ordered_map
from registry.infra.runoptions import RunOptions
from registry.load.config import RegistryConfig, load_config
from registry.load.layout import (
    MODELS_DIR,
    VersionDir,
    all_versions,
    layout_findings,
    referenced_manifest,
    require_models,
)
from registry.load.manifest import Manifest, load_manifest
from registry.load.reports import REPORTS_DIR, load_reports
from registry.sandbox import Inspector
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE
from registry.validate.docs import check_docs
from registry.validate.format import check_format
from registry.validate.history import (
    changed_folders,
    changed_signatures,
    check_history,
    resolve_base,
)
from registry.validate.integrity import check_integrity
from registry.validate.lineage import ManifestIndex, check_lineage
from registry.validate.remote import UNVERIFIED, RemoteFiles, check_remote
from registry.validate.repository import changed_findings, repository_findings
from registry.validate.result import ValidationReport, VersionResult
from registry.validate.resultcache import (
    KIND,
    folder_state,
    from_json,
    references,
    still_valid,
    to_json,
    version_key,
)
from registry.validate.semantics import check_semantics
from registry.validate.signature import check_signature
from registry.validate.tiers import review_date_findings, tier_findings
from registry.versions import MANIFEST_NAME

# Inspection failures that depend on the moment (a loaded machine), not only on the bytes.
_TRANSIENT = {"format.crashed", "format.timeout"}
# Results that depend on the moment (the network): never kept.
_MOMENTARY = _TRANSIENT | {UNVERIFIED}
# Files a version folder may hold besides those its manifest names.
_KNOWN_FILES = {MANIFEST_NAME, SIGNATURE_FILE, CLAIMS_FILE}
_KNOWN_DIRS = {REPORTS_DIR}


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
    cache: Cache = dataclasses.field(default_factory=lambda: Cache(Path(), enabled=False))
    context: str = ""  # the configuration, for cache keys
    staging: Path = Path()  # where files named by URL are downloaded (outside the repository)

    def remote_files(self) -> RemoteFiles:
        return RemoteFiles(self.staging, self.config.allowed_hosts, self.cache.digest)

    def inspect(self, format_name: str, path: Path, sha256: str, folder: Path) -> ModelInfo:
        """The sandboxed inspection, from the cache when the same bytes were read before by the
        same handler version under the same limits. The other files of the version folder are
        part of the key: a model may read them (ONNX external data). Crashes and timeouts are
        not kept."""
        if not self.cache.enabled:
            return self.inspector.inspect(format_name, path)
        handler = handlers()[format_name]
        beside = [
            (relative, sha)
            for relative, sha in folder_state(self.cache, folder)
            if relative not in _KNOWN_FILES and relative.partition("/")[0] not in _KNOWN_DIRS
        ]
        key = key_of("inspect", format_name, handler.version, sha256, beside, self.config.limits)
        found = self.cache.get("inspect", key)
        if found is not None:
            if "error" in found:
                raise FormatError(found["error"]["code"], found["error"]["message"])
            return ModelInfo.from_json(found["result"])
        try:
            info = self.inspector.inspect(format_name, path)
        except FormatError as exc:
            if exc.code not in _TRANSIENT:
                self.cache.put(
                    "inspect", key, {"error": {"code": exc.code, "message": exc.message}}
                )
            raise
        self.cache.put("inspect", key, {"result": info.to_json()})
        return info


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
    digests: dict[str, ChunkedDigest] = {}
    if manifest.artifact.url is not None and manifest.artifact.path is None:
        artifact, externals, found = check_remote(manifest, display, run.remote_files())
        for relative, checked in externals.items():
            digests[relative] = checked.digest
        if artifact is not None:
            digests[artifact.path.name] = artifact.digest
    else:
        artifact, found = check_integrity(manifest, display, run.cache.digest, digests)
    findings += found
    model_info = None
    if artifact is not None:
        sha256 = artifact.digest.sha256
        folder = artifact.path.parent if manifest.artifact.path is None else version.path
        model_info, found = check_format(
            manifest,
            artifact.path,
            display,
            lambda name, path: run.inspect(name, path, sha256, folder),
        )
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
        version,
        manifest,
        model_info,
        tuple(findings),
        tuple(reports),
        decision,
        signature,
        chunks={relative: digest.chunks for relative, digest in digests.items()},
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


def validate_registry(
    root: Path,
    versions: list[VersionDir] | None = None,
    base: str | None = None,
    since: str | None = None,
    options: RunOptions | None = None,
) -> ValidationReport:
    """Validate `versions` (default: every version under models/) of the registry at `root`.

    With `base` (a Git revision), also check that nothing published at `base` was rewritten.
    With `since`, `versions` are those changed since that revision, and the repository checks
    look at the changed paths only. The cost follows the versions given: nothing here lists the
    whole registry unless asked to. `options`: the cache, parallel jobs, a shard.
    """
    options = options or RunOptions()
    config = load_config(root)
    require_models(root)
    selected = all_versions(root) if versions is None else versions
    if options.shard is not None:
        selected = [v for v in selected if options.shard.holds(v.id)]
    cache = Cache(root, options.cache, cache_dir=options.cache_dir)
    # Downloads are kept in the cache (outside the repository), else for this run only.
    scratch = None if cache.enabled else tempfile.TemporaryDirectory(prefix="modelreg-remote-")
    run = _Run(
        root,
        config,
        Inspector(config.limits.sandbox),
        ManifestIndex(root, config.limits.yaml_max_bytes),
        _published(root, base),
        frozenset(changed_signatures(root, resolve_base(root, base))) if base else frozenset(),
        cache,
        config_context(root, config),
        Path(scratch.name) if scratch is not None else cache.folder / "remote",
    )
    try:
        with Progress("validating", len(selected), "versions") as progress:
            results = _validate_all(run, selected, options.jobs, progress)
    finally:
        run.inspector.dispose()
        cache.close()
        if scratch is not None:
            scratch.cleanup()
    scope: list[Finding] = []
    first_shard = options.shard is None or options.shard.index == 1
    if versions is None and first_shard:
        scope += layout_findings(root) + repository_findings(root) + check_docs(root)
    elif since is not None and first_shard:
        scope += changed_findings(root, resolve_base(root, since)) + check_docs(root)
    if base is not None and first_shard:
        scope += check_history(root, base)
    scope += _governance_findings(run, results, base or since)
    unique = list({(f.code, f.file): f for f in scope}.values())  # a link: on disk and in Git
    return _attach(results, unique)


def _governance_findings(
    run: _Run, results: list[VersionResult], base: str | None
) -> list[Finding]:
    """Across versions: tiers that fall (every version of each checked model is read), and
    reviews dated after their commit (today for manifests under review)."""
    checked = [r.manifest for r in results if r.manifest is not None]
    tiers: dict[str, dict[str, str]] = {}
    for name in sorted({m.model_name for m in checked}):
        model_folder = run.root / MODELS_DIR / name
        if not model_folder.is_dir():
            continue  # a model_name that is not its folder's: manifest.name-folder-mismatch
        for folder in sorted(model_folder.iterdir()):
            data = run.manifests.data(f"{name}@{folder.name}") if folder.is_dir() else None
            if data is not None and isinstance(data.get("risk_tier"), str):
                tiers.setdefault(name, {})[folder.name] = data["risk_tier"]
    reviewed = [m for m in checked if (m.data.get("governance") or {}).get("review")]
    under_review: set[str] = set()
    if reviewed and git.head(run.root) is not None:  # changed since the base, or not committed
        for ref in {base or "HEAD", "HEAD"}:
            under_review |= {
                f.relative for f in changed_folders(run.root, resolve_base(run.root, ref))
            }
    return tier_findings(checked, tiers, run.config.governance.retiered) + review_date_findings(
        run.root, reviewed, under_review
    )


def config_context(root: Path, config: RegistryConfig) -> str:
    """What of the configuration every result depends on: the settings and the trust roots."""
    roots = [(name, (root / name).read_bytes().hex()) for name in config.governance.trust_roots]
    return key_of("config", repr(config), roots)


def _validate_all(
    run: _Run, selected: list[VersionDir], jobs: int, progress: Progress
) -> list[VersionResult]:
    """Every result: from the cache when nothing it depends on changed, else computed; on
    `jobs` processes when there are several."""
    results = []
    if jobs <= 1 or len(selected) < 2:
        for version in selected:
            key, stored, live = _settle(version, run)
            result = live or VersionResult(version, *from_json(version, stored))
            results.append(dataclasses.replace(result, inputs_key=key))
            _done(results[-1], progress)
        return results
    global _WORKER_RUN
    _WORKER_RUN = run  # inherited by the forked workers
    try:
        settled = ordered_map(_settle_in_worker, selected, jobs, _start_worker, chunksize=8)
        for version, (key, stored, writes) in zip(selected, settled, strict=True):
            run.cache.apply(writes)
            result = VersionResult(version, *from_json(version, stored))
            results.append(dataclasses.replace(result, inputs_key=key))
            _done(results[-1], progress)
    finally:
        _WORKER_RUN = None
    return results


def _settle(version: VersionDir, run: _Run) -> tuple[str, dict[str, Any], VersionResult | None]:
    """The key of `version`'s inputs ("" when not cached) and its stored result, from the cache
    or validated now (then also the live result, which keeps the manifest's positions)."""
    key = None
    if run.cache.enabled:
        key = version_key(
            run.cache,
            version,
            run.context,
            version.relative in run.published,
            version.relative in run.new_signatures,
        )
    if key is not None:
        found = run.cache.get(KIND, key)
        if found is not None and still_valid(run.cache, run.manifests, found):
            return key, found, None
    result, stored = _validate_one(version, run)
    if key is not None and not any(f.code in _MOMENTARY for f in result.findings):
        run.cache.put(KIND, key, stored)
    return key or "", stored, result


_WORKER_RUN: _Run | None = None


def _start_worker() -> None:
    """In a forked worker: its own sandbox, and a cache whose writes go back to the parent."""
    global _WORKER_RUN
    assert _WORKER_RUN is not None
    own = _WORKER_RUN.cache.worker()
    inspector = Inspector(_WORKER_RUN.config.limits.sandbox)
    _WORKER_RUN = dataclasses.replace(_WORKER_RUN, inspector=inspector, cache=own)
    # Workers end with os._exit: multiprocessing's finalizers are what still runs.
    multiprocessing.util.Finalize(inspector, inspector.dispose, exitpriority=10)
    multiprocessing.util.Finalize(own, own.close, exitpriority=10)


def _settle_in_worker(version: VersionDir) -> tuple[str, dict[str, Any], list[Write]]:
    assert _WORKER_RUN is not None
    key, stored, _ = _settle(version, _WORKER_RUN)
    return key, stored, _WORKER_RUN.cache.drain()


def _done(result: VersionResult, progress: Progress) -> None:
    log(
        "validated",
        f"{result.version.id}: {'ok' if result.ok() else 'failed'}",
        detail=True,
        version=result.version.id,
        ok=result.ok(),
        findings=len(result.findings),
    )
    progress.update()


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


def _validate_one(version: VersionDir, run: _Run) -> tuple[VersionResult, dict[str, Any]]:
    """The result, and what the cache keeps of it (with the references it depends on)."""
    result = validate_version(version, run)
    extra = _check_references(run.root, result)
    if extra:
        result = dataclasses.replace(result, findings=result.findings + tuple(extra))
    refs = references(run.cache, result.manifest, run.manifests) if result.manifest else {}
    stored = to_json(
        result.manifest,
        result.model_info,
        result.findings,
        result.reports,
        result.decision,
        result.signature,
        refs,
        result.chunks,
    )
    return result, stored
