"""RegistryState: which versions exist, their status and fields, read two ways that must agree:
by replaying the event log, and from the current tree."""

from __future__ import annotations

import copy
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.eventlog.chain import Event
from registry.governance.policy import blocked_by
from registry.load.aliases import effective_aliases, load_alias_file
from registry.load.config import load_config
from registry.load.layout import REPORTS_DIR, all_versions
from registry.load.reports import drift_score, report_kind
from registry.load.yamlsafe import load_yaml_file

# The statuses of a version that can hold no alias.
UNUSABLE = frozenset({"deprecated", "blocked"})


@dataclass(frozen=True, slots=True)
class VersionState:
    # A VersionStatus for a valid manifest; kept a str because Git history holds manifests as
    # committed, unvalidated, and both readings must report the same string for them.
    status: str
    fields: Mapping[str, Any] | None  # the manifest as data; None when it cannot be read


@dataclass(frozen=True, slots=True)
class RegistryState:
    versions: Mapping[tuple[str, str], VersionState]
    # model -> the aliases that hold (registry.load.aliases); models without any are absent
    aliases: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    @property
    def models(self) -> set[str]:
        return {name for name, _ in self.versions}


def _status(fields: Mapping[str, Any] | None, blocked: bool) -> str:
    # An unreadable manifest states nothing, not even what blocked the version (its tier).
    if blocked and fields is not None:
        return "blocked"
    status = (fields or {}).get("status", "active")
    return status if isinstance(status, str) else "active"


def replay(events: Iterable[Event]) -> RegistryState:
    """The state the events describe, applied in order."""
    fields: dict[tuple[str, str], dict[str, Any] | None] = {}
    blocked: set[tuple[str, str]] = set()
    aliases: dict[str, dict[str, str]] = {}
    for event in events:
        key = (event.model, event.version)
        payload = event.payload
        if event.type in ("ModelRegistered", "ModelVersioned"):
            manifest = payload.get("manifest")
            fields[key] = copy.deepcopy(dict(manifest)) if manifest is not None else None
            blocked.discard(key)
        elif event.type in ("MetadataUpdated", "ModelDeprecated") and key in fields:
            if payload.get("unreadable"):
                fields[key] = None
                continue
            current = fields[key] or {}
            current.update(copy.deepcopy(dict(payload.get("changes", {}))))
            for name in payload.get("removed", []):
                current.pop(name, None)
            fields[key] = current
        elif event.type == "VersionRemoved":
            fields.pop(key, None)
            blocked.discard(key)
        elif event.type == "ModelBlocked":
            blocked.add(key)
        elif event.type in ("AliasAssigned", "AliasMoved"):
            aliases.setdefault(event.model, {})[payload["alias"]] = payload["to"]
        elif event.type == "AliasRemoved":
            held = aliases.get(event.model, {})
            held.pop(payload["alias"], None)
            if not held:
                aliases.pop(event.model, None)
    return RegistryState(
        {key: VersionState(_status(data, key in blocked), data) for key, data in fields.items()},
        aliases,
    )


def _drifts(folder: Path) -> list[tuple[str, float]]:
    """(report, drift score) of the drift reports in a version folder, by file name."""
    reports = folder / REPORTS_DIR
    if not reports.is_dir():
        return []
    found = []
    for path in sorted(reports.iterdir()):
        if report_kind(path.name) != "drift" or not path.is_file():
            continue
        loaded, _ = load_yaml_file(path, path.name)
        score = drift_score(loaded.data if loaded is not None else None)
        if score is not None:
            found.append((f"{REPORTS_DIR}/{path.name}", score))
    return found


def tree_state(root: Path) -> RegistryState:
    """The state of the working tree: every version folder with a manifest, blocked as the
    governance policy of registry.yaml says."""
    policy = load_config(root).governance
    versions = {}
    for version in all_versions(root):
        if not version.manifest.is_file():
            continue
        loaded, _ = load_yaml_file(version.manifest, version.display())
        data = loaded.data if loaded is not None else None
        tier = (data or {}).get("risk_tier")
        blocked = blocked_by(policy, tier, _drifts(version.path)) is not None
        versions[(version.name, version.version)] = VersionState(_status(data, blocked), data)
    return RegistryState(versions, _tree_aliases(root, versions))


def _tree_aliases(
    root: Path, versions: Mapping[tuple[str, str], VersionState]
) -> dict[str, dict[str, str]]:
    """Each model's aliases.yaml, as far as its versions can hold them."""

    def usable(name: str, version: str) -> bool:
        state = versions.get((name, version))
        return state is not None and state.fields is not None and state.status not in UNUSABLE

    held = {}
    for name in sorted({name for name, _ in versions}):
        found, _ = load_alias_file(root, name)
        declared = found.aliases if found is not None else {}
        table = effective_aliases(declared, functools.partial(usable, name))
        if table:
            held[name] = table
    return held
