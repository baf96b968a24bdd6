"""models/<name>/aliases.yaml: alias names (`production`, `staging`, ...) mapped to versions of the
model, and the rule that says which of them hold: an alias names a version only while that version
is published, not deprecated and not blocked. The event log, the tree's state, validation and the
site all apply this one rule (`effective_aliases`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from registry.findings import Finding, Position, error
from registry.infra.schemafiles import validator
from registry.load.layout import ALIASES_NAME, MODELS_DIR
from registry.load.yamlsafe import DEFAULT_MAX_BYTES, LoadedYaml, load_yaml_bytes, load_yaml_file

SCHEMA = "aliases.json"
# Computed by the catalog (the highest active release), so never an alias of aliases.yaml.
RESERVED = frozenset({"latest"})


@dataclass(frozen=True, slots=True)
class AliasFile:
    """A valid aliases.yaml: alias -> version, with where each alias is written."""

    aliases: Mapping[str, str]
    loaded: LoadedYaml | None = None

    def position(self, alias: str) -> Position:
        return self.loaded.position((alias,)) if self.loaded else Position(1, 1)


def display(name: str) -> str:
    return f"{MODELS_DIR}/{name}/{ALIASES_NAME}"


def _problem(alias: str, version: object, loaded: LoadedYaml) -> str | None:
    """What is wrong with one entry, in words, or None."""
    errors = list(validator(SCHEMA).iter_errors({alias: version}))
    if not errors:
        return None
    if any(e.validator in ("pattern", "maxLength", "not", "type") and not e.path for e in errors):
        if alias in RESERVED:
            return f"`{alias}` is reserved: the catalog computes it (the highest active release)"
        return (
            f"`{alias}` is not an alias name: a lowercase letter, then lowercase letters, digits "
            "and `-`, at most 64 characters (production, staging, champion)"
        )
    written = loaded.plain_non_strings.get((alias,))
    if written is not None:
        return f'version `{written}` is read as a number; quote it: {alias}: "{written}"'
    return f"{version!r} is not a SemVer version such as 1.0.0 or 2.1.0-rc.1"


def check_aliases(loaded: LoadedYaml, file: str) -> tuple[AliasFile | None, list[Finding]]:
    findings = [
        error(
            "alias.invalid",
            f'{problem}; an alias maps to a version of this model, e.g. production: "1.0.0"',
            file,
            loaded.position((alias,)),
        )
        for alias, version in loaded.data.items()
        if (problem := _problem(alias, version, loaded)) is not None
    ]
    if findings:
        return None, findings
    return AliasFile({alias: str(v) for alias, v in loaded.data.items()}, loaded), []


def load_alias_file(
    root: Path, name: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[AliasFile | None, list[Finding]]:
    """The model's aliases.yaml; an empty AliasFile when there is none."""
    path = root / MODELS_DIR / name / ALIASES_NAME
    if not path.exists() and not path.is_symlink():
        return AliasFile({}), []
    file = display(name)
    if path.is_symlink() or not path.is_file():
        return None, [
            error(
                "security.symlink" if path.is_symlink() else "alias.invalid",
                f"{file} must be a regular file (not a link or a folder): commit the file itself",
                file,
            )
        ]
    loaded, findings = load_yaml_file(path, file, max_bytes)
    if loaded is None:
        return None, findings
    return check_aliases(loaded, file)


def declared_aliases(raw: bytes | None, name: str) -> dict[str, str]:
    """What an aliases.yaml from history declares; nothing when absent or invalid (validation
    refused it, and a file that names no valid alias holds none)."""
    if raw is None:
        return {}
    loaded, _ = load_yaml_bytes(raw, display(name))
    found = check_aliases(loaded, display(name))[0] if loaded is not None else None
    return dict(found.aliases) if found is not None else {}


def effective_aliases(declared: Mapping[str, str], usable: Callable[[str], bool]) -> dict[str, str]:
    """The aliases that hold: those naming a version that can be used (published, neither
    deprecated nor blocked)."""
    return {alias: version for alias, version in sorted(declared.items()) if usable(version)}


def alias_changes(
    before: Mapping[str, str], after: Mapping[str, str]
) -> list[tuple[str, str, str | None, str | None]]:
    """(event type, alias, from, to) turning `before` into `after`, by alias name."""
    changes: list[tuple[str, str, str | None, str | None]] = []
    for alias in sorted(set(before) | set(after)):
        old, new = before.get(alias), after.get(alias)
        if old == new:
            continue
        kind = "AliasAssigned" if old is None else "AliasRemoved" if new is None else "AliasMoved"
        changes.append((kind, alias, old, new))
    return changes
