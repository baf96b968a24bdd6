"""SemVer of model interfaces (semver.*): a new version's inputs and outputs against those of the
highest release below it, and of the lowest release above it when it is inserted between two;
the version numbers must allow every change (registry.formats.interface has the rules,
docs/versioning.md explains them).

The interface compared is the one each manifest declares (`input_shape`, `output_schema`): the
format stage checks it against what the file states, wherever the file states it, and it is what
the catalog, the records and diff.json publish. So the check needs no baseline's model file (a
Git LFS pointer in CI is enough) and says what `modelreg diff` says, even for a TorchScript file
that states no dtype.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from registry.findings import Finding, Position, error, warning
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
from registry.load.yamlsafe import load_yaml_file
from registry.tensors import TensorSpec
from registry.validate.context import RunContext
from registry.validate.result import VersionResult
from registry.versions import core, is_prerelease, is_semver, sort_key


@dataclass(frozen=True, slots=True)
class _Declared:
    """What a manifest declares of a version's interface."""

    version: str
    format: str
    inputs: tuple[TensorSpec, ...]
    outputs: tuple[TensorSpec, ...]


def semver_findings(run: RunContext, results: list[VersionResult]) -> list[Finding]:
    """Findings for each version of `results` that is not published yet: a published version
    was judged when it arrived, and its interface can no longer change."""
    findings: list[Finding] = []
    for result in results:
        manifest = result.manifest
        version = result.version
        if manifest is None or version.relative in run.published or not is_semver(version.version):
            continue
        new = _Declared(version.version, manifest.format, manifest.inputs, manifest.outputs)
        siblings = _siblings(version)
        twin = next((s for s in siblings if sort_key(s) == sort_key(version.version)), None)
        if twin is not None:
            findings.append(_same_precedence(run, result, twin))
            continue
        releases = sorted((s for s in siblings if not is_prerelease(s)), key=sort_key)
        below = [s for s in releases if sort_key(s) < sort_key(version.version)]
        above = [s for s in releases if sort_key(s) > sort_key(version.version)]
        old = _declared(run, version.name, below[-1]) if below else None
        if old is not None:
            findings += _judge(run, result, old, new)
        # Inserted below a published release: that release must still be one it allows.
        published_above = bool(above) and f"{MODELS_DIR}/{version.name}/{above[0]}" in run.published
        later = _declared(run, version.name, above[0]) if published_above else None
        if later is not None and not is_prerelease(version.version):
            findings += _judge(run, result, new, later, inserted=True)
    return findings


def _siblings(version: VersionDir) -> list[str]:
    """The other SemVer version folders of the model."""
    model = version.root / MODELS_DIR / version.name
    try:
        with os.scandir(model) as entries:
            names = [e.name for e in entries if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []
    return [n for n in names if is_semver(n) and n != version.version]


def _declared(run: RunContext, name: str, version: str) -> _Declared | None:
    """The interface a sibling's manifest declares; None when it cannot be read as one (its own
    validation says why)."""
    data = run.manifests.data(f"{name}@{version}")
    if data is None:
        return None
    inputs, outputs = _tensors(data.get("input_shape")), _tensors(data.get("output_schema"))
    if inputs is None or outputs is None or not isinstance(data.get("format"), str):
        return None
    return _Declared(version, data["format"], inputs, outputs)


def _tensors(entries: object) -> tuple[TensorSpec, ...] | None:
    if not isinstance(entries, list) or not all(_is_tensor(e) for e in entries):
        return None
    return tuple(TensorSpec.from_data(e) for e in entries)


def _is_tensor(entry: object) -> bool:
    if not isinstance(entry, Mapping):
        return False
    shape = entry.get("shape")
    return (
        isinstance(entry.get("name"), str)
        and isinstance(entry.get("dtype"), str)
        and (shape is None or isinstance(shape, list))
    )


def _same_precedence(run: RunContext, result: VersionResult, twin: str) -> Finding:
    version = result.version.version
    return error(
        "semver.same-precedence",
        f"{version} and {twin} differ only in build metadata, which SemVer ignores when ordering "
        f"versions: no consumer (nor `latest`) can tell which is newer, and the interface check "
        f"has no release to compare {version} with. Publish it as a new version number "
        f"(e.g. {_next_patch(twin)})",
        result.version.display(),
        _version_position(run, result),
    )


def _next_patch(version: str) -> str:
    found = core(version)
    return f"{found[0]}.{found[1]}.{found[2] + 1}" if found else version


def _judge(
    run: RunContext, result: VersionResult, old: _Declared, new: _Declared, inserted: bool = False
) -> list[Finding]:
    """`old` -> `new` must be a release their numbers allow; `inserted`: the new version is `old`,
    and `new` the published release right above it."""
    display = result.version.display()
    findings = []
    if old.format != new.format:
        findings.append(
            warning(
                "semver.format-changed",
                f"{new.version} is a {new.format} file, {old.version} is {old.format}: its "
                f"consumers need a {new.format} runtime to load it, which no version number "
                f"says; the interface was compared with {old.version}'s as for any release. Say "
                "so in the description (or keep the old format in a version of its own)",
                display,
                _version_position(run, result),
            )
        )
    changes = interface_changes(old.inputs, old.outputs, new.inputs, new.outputs)
    # Equal cores (a pre-release and its release) allow nothing beyond a patch.
    allowed = release_bump(old.version, new.version) or "patch"
    needed = required_bump(changes)
    if BUMPS.index(needed) <= BUMPS.index(allowed):
        return findings
    message = (
        _inserted_message(old, new, allowed, needed, changes)
        if inserted
        else _breaking_message(old.version, new.version, allowed, needed, changes)
    )
    findings.append(
        error("semver.breaking-change", message, display, _version_position(run, result))
    )
    return findings


def _listed(changes: Sequence[InterfaceChange]) -> str:
    return "; ".join(f"{c.text()} (needs {c.needs})" for c in changes)


def _breaking_message(
    baseline: str, version: str, allowed: Bump, needed: Bump, changes: list[InterfaceChange]
) -> str:
    judged = f" (judged as its release {_core(version)})" if is_prerelease(version) else ""
    target = next_release(baseline, needed)
    return (
        f"{version}{judged} is a {allowed} release after {baseline}, the highest release below "
        f"it, but its interface changed in ways that need a {needed} release: "
        f"{_listed(changes)}. Publish it as {target} (or a later {needed} release, or a "
        f"pre-release of one), or restore the interface of {baseline}"
    )


def _inserted_message(
    new: _Declared, later: _Declared, allowed: Bump, needed: Bump, changes: list[InterfaceChange]
) -> str:
    return (
        f"{new.version} goes below the published {later.version}, which would then be a "
        f"{allowed} release after it with interface changes that need a {needed} release: "
        f"{_listed(changes)}. Give {new.version} the interface of {later.version} (or of the "
        "release below it), or publish it above the existing versions"
    )


def _core(version: str) -> str:
    found = core(version)
    return ".".join(map(str, found)) if found else version


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
