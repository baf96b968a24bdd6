"""Versions: the manifest schema versions and file names (constants the CLI needs without loading
the engine), and SemVer 2.0 precedence for ordering model versions and choosing the latest."""

from __future__ import annotations

import re

SUPPORTED_SCHEMA_VERSIONS = ("1.0", "1.1", "1.2")
LATEST_SCHEMA_VERSION = SUPPORTED_SCHEMA_VERSIONS[-1]
MANIFEST_NAME = "manifest.yaml"

_SEMVER = re.compile(
    r"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)"
    r"(?:-((?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+([0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?\Z"
)

# A release sorts after all of its pre-releases; numeric identifiers sort before alphanumeric ones.
_RELEASE = (2, 0, "")
SortKey = tuple[int, int, int, tuple[tuple[int, int, str], ...]]


def is_semver(version: str) -> bool:
    return _SEMVER.match(version) is not None


def sort_key(version: str) -> SortKey:
    """Precedence key; strings that are not SemVer sort first, in text order among themselves."""
    match = _SEMVER.match(version)
    if match is None:
        return (-1, -1, -1, ((0, 0, version),))
    major, minor, patch, pre, _build = match.groups()
    if pre is None:
        return (int(major), int(minor), int(patch), (_RELEASE,))
    parts = tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split("."))
    return (int(major), int(minor), int(patch), parts)


def is_prerelease(version: str) -> bool:
    match = _SEMVER.match(version)
    return bool(match and match.group(4))


def core(version: str) -> tuple[int, int, int] | None:
    """MAJOR.MINOR.PATCH of a SemVer string, without pre-release or build; None if not SemVer."""
    match = _SEMVER.match(version)
    if match is None:
        return None
    return (int(match.group(1)), int(match.group(2)), int(match.group(3)))
