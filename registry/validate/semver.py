"""SemVer of model interfaces (semver.*): a new version's inputs and outputs, as its file states
them, against those of the highest release below it; the version number must allow every change
(registry.formats.interface has the rules, docs/versioning.md explains them)."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from registry.findings import Finding, Position, Severity, error, warning
from registry.formats.base import ModelInfo
from registry.formats.interface import (
    BUMPS,
    Bump,
    InterfaceChange,
    interface_changes,
    next_release,
    release_bump,
    required_bump,
)
from registry.load.layout import MODELS_DIR, VersionDir
from registry.load.manifest import load_manifest
from registry.load.yamlsafe import load_yaml_file
from registry.tensors import UNSTATED_DTYPE, TensorSpec
from registry.validate.context import RunContext
from registry.validate.format import check_format
from registry.validate.integrity import check_integrity
from registry.validate.result import VersionResult
from registry.versions import core, is_prerelease, is_semver, sort_key


def semver_findings(run: RunContext, results: list[VersionResult]) -> list[Finding]:
    """Findings for each version of `results` that is not published yet: a published version
    was judged when it arrived, and its interface can no longer change."""
    infos = {r.version.relative: _trusted_info(r) for r in results}
    listed: dict[str, list[str]] = {}
    findings: list[Finding] = []
    for result in results:
        new = result.model_info
        if new is None or result.version.relative in run.published:
            continue
        baseline = _baseline(result.version, listed)
        if baseline is None:
            continue
        old = infos[baseline.relative] if baseline.relative in infos else _inspect(run, baseline)
        if old is not None:
            findings += _judge(run, result, new, baseline.version, old)
    return findings


def _trusted_info(result: VersionResult) -> ModelInfo | None:
    """What a version validated in this run says of its file, unless the file is not the one
    its manifest names (the same rule as for a baseline inspected here)."""
    if any(
        f.code.startswith("integrity.") and f.severity == Severity.ERROR for f in result.findings
    ):
        return None
    return result.model_info


def _baseline(version: VersionDir, listed: dict[str, list[str]]) -> VersionDir | None:
    """The highest release (no pre-release) below `version` among its model's folders
    (`listed`: the releases of each model, by precedence, read once per run)."""
    if not is_semver(version.version):
        return None  # the semantics stage reports the version itself
    if version.name not in listed:
        listed[version.name] = _releases(version.root / MODELS_DIR / version.name)
    key = sort_key(version.version)
    below = [name for name in listed[version.name] if sort_key(name) < key]
    return VersionDir(version.root, version.name, below[-1]) if below else None


def _releases(model: Path) -> list[str]:
    try:
        with os.scandir(model) as entries:
            names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return sorted((n for n in names if is_semver(n) and not is_prerelease(n)), key=sort_key)


def _inspect(run: RunContext, baseline: VersionDir) -> ModelInfo | None:
    """The baseline's interface from its file, checked as its validation checks it; None when
    it cannot be had here (its own validation reports why)."""
    display = baseline.display()
    manifest, _ = load_manifest(baseline.manifest, display, run.config.limits.yaml_max_bytes)
    if manifest is None or manifest.artifact.path is None:
        return None  # unreadable, or named by URL: not downloaded for a comparison
    artifact, problems = check_integrity(manifest, display, run.cache.digest)
    if artifact is None or problems:
        return None
    sha256 = artifact.digest.sha256
    info, _ = check_format(
        manifest,
        artifact.path,
        display,
        lambda name, path: run.inspect(name, path, sha256, baseline.path),
    )
    return info


def _judge(
    run: RunContext, result: VersionResult, new: ModelInfo, baseline: str, old: ModelInfo
) -> list[Finding]:
    version = result.version.version
    display = result.version.display()
    findings = []
    if old.format != new.format:
        findings.append(
            warning(
                "semver.format-changed",
                f"{version} is a {new.format} file, {baseline} was {old.format}: its consumers "
                f"need a {new.format} runtime to load it, which no version number says; the "
                f"interface was compared with {baseline}'s as for any release. Say so in the "
                "description (or keep the old format in a version of its own)",
                display,
                _version_position(run, result),
            )
        )
    changes = interface_changes(*_alike(old, new))
    allowed = release_bump(baseline, version)
    needed = required_bump(changes)
    if allowed is None or BUMPS.index(needed) <= BUMPS.index(allowed):
        return findings
    findings.append(
        error(
            "semver.breaking-change",
            _breaking_message(version, baseline, allowed, needed, changes),
            display,
            _version_position(run, result),
        )
    )
    return findings


def _breaking_message(
    version: str, baseline: str, allowed: Bump, needed: Bump, changes: list[InterfaceChange]
) -> str:
    judged = f" (judged as its release {_core(version)})" if is_prerelease(version) else ""
    listed = "; ".join(f"{c.text()} (needs {c.needs})" for c in changes)
    target = next_release(baseline, needed)
    return (
        f"{version}{judged} is a {allowed} release after {baseline}, the highest release below "
        f"it, but its interface changed in ways that need a {needed} release: {listed}. Publish "
        f"it as {target} (or a later {needed} release, or a pre-release of one), or restore the "
        f"interface of {baseline}"
    )


def _core(version: str) -> str:
    found = core(version)
    return ".".join(map(str, found)) if found else version


def _alike(old: ModelInfo, new: ModelInfo) -> tuple[tuple[TensorSpec, ...], ...]:
    """Both interfaces, with what one file cannot state taken from the other, so that only what
    both state is compared: TorchScript names no outputs (they are matched by position) and a
    `Tensor` annotation states neither dtype nor shape."""
    old_out, new_out = old.outputs, new.outputs
    if "output_names" in new.unstated and "output_names" not in old.unstated:
        new_out = _named_as(new_out, old_out)
    elif "output_names" in old.unstated and "output_names" not in new.unstated:
        old_out = _named_as(old_out, new_out)
    old_in, new_in = _stated_alike(old.inputs, new.inputs)
    old_out, new_out = _stated_alike(old_out, new_out)
    return old_in, old_out, new_in, new_out


def _named_as(
    unnamed: tuple[TensorSpec, ...], named: tuple[TensorSpec, ...]
) -> tuple[TensorSpec, ...]:
    return tuple(
        dataclasses.replace(t, name=named[i].name) if i < len(named) else t
        for i, t in enumerate(unnamed)
    )


def _stated_alike(
    old: tuple[TensorSpec, ...], new: tuple[TensorSpec, ...]
) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...]]:
    def fill(
        tensors: tuple[TensorSpec, ...], other: tuple[TensorSpec, ...]
    ) -> tuple[TensorSpec, ...]:
        stated = {t.name: t for t in other if t.dtype != UNSTATED_DTYPE}
        return tuple(
            stated[t.name] if t.dtype == UNSTATED_DTYPE and t.name in stated else t for t in tensors
        )

    return fill(old, new), fill(new, old)


def _version_position(run: RunContext, result: VersionResult) -> Position | None:
    """Where `version:` is in the manifest; a result from the cache kept no positions, so the
    manifest is read again for them."""
    manifest = result.manifest
    if manifest is not None and ("version",) in manifest.loaded.positions:
        position: Position = manifest.field_position("version")
        return position
    loaded, _ = load_yaml_file(
        result.version.manifest, result.version.display(), run.config.limits.yaml_max_bytes
    )
    return loaded.position(("version",)) if loaded is not None else None
