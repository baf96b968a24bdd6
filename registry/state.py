"""RegistryState: which versions exist, their status and fields, read two ways that must agree:
by replaying the event log, and from the current tree."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.events import Event
from registry.layout import all_versions
from registry.yamlsafe import load_yaml_file


@dataclass(frozen=True)
class VersionState:
    status: str  # active | deprecated | blocked
    fields: Mapping[str, Any] | None  # the manifest as data; None when it cannot be read


@dataclass(frozen=True)
class RegistryState:
    versions: Mapping[tuple[str, str], VersionState]

    @property
    def models(self) -> set[str]:
        return {name for name, _ in self.versions}


def _status(fields: Mapping[str, Any] | None, blocked: bool) -> str:
    if blocked:
        return "blocked"
    status = (fields or {}).get("status", "active")
    return status if isinstance(status, str) else "active"


def replay(events: Iterable[Event]) -> RegistryState:
    """The state the events describe, applied in order."""
    fields: dict[tuple[str, str], dict[str, Any] | None] = {}
    blocked: set[tuple[str, str]] = set()
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
    return RegistryState(
        {key: VersionState(_status(data, key in blocked), data) for key, data in fields.items()}
    )


def tree_state(root: Path, blocked: Iterable[tuple[str, str]] = ()) -> RegistryState:
    """The state of the working tree: every version folder with a manifest."""
    stopped = set(blocked)
    versions = {}
    for version in all_versions(root):
        if not version.manifest.is_file():
            continue
        loaded, _ = load_yaml_file(version.manifest, version.display())
        data = loaded.data if loaded is not None else None
        key = (version.name, version.version)
        versions[key] = VersionState(_status(data, key in stopped), data)
    return RegistryState(versions)
