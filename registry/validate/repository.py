"""Repository checks on names and modes as Git records them, not only as the filesystem shows.

Under models/: no symbolic links (mode 120000) and no submodules (160000); no name with a
backslash, a control character, a leading `-`, or non-ASCII characters (look-alikes such as a
Cyrillic o in a file name); no two paths that differ only by case.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from registry.findings import Finding, error
from registry.infra import git

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def name_problem(component: str) -> tuple[str, str] | None:
    if "\\" in component or _CONTROL.search(component):
        return "security.unsafe-name", "contains a backslash or a control character"
    if component.startswith("-"):
        return "security.unsafe-name", "starts with `-`, which tools read as an option"
    if not component.isascii():
        return (
            "security.non-ascii-name",
            "has non-ASCII characters (a look-alike of an ASCII name?); use ASCII names",
        )
    return None


def check_entries(entries: Iterable[tuple[str, str]], prefix: str = "") -> list[Finding]:
    """Findings for (mode, path) entries; paths relative to the repository's top level."""
    findings: list[Finding] = []
    seen: dict[str, str] = {}  # case-folded path prefix -> the first spelling met
    reported: set[str] = set()
    for mode, full in sorted(entries, key=lambda e: e[1]):
        path = full[len(prefix) :]
        if mode == "120000":
            findings.append(
                error(
                    "security.symlink",
                    f"{path} is a symbolic link in Git; commit the file itself",
                    path,
                )
            )
        elif mode == "160000":
            findings.append(
                error(
                    "security.submodule",
                    f"{path} is a Git submodule; a registry holds its files itself",
                    path,
                )
            )
        parts = path.split("/")
        for depth, component in enumerate(parts, start=1):
            problem = name_problem(component)
            shown = "/".join(parts[:depth])
            if problem and shown not in reported:
                reported.add(shown)
                findings.append(
                    error(problem[0], f"{shown}: the name {component!r} {problem[1]}", shown)
                )
        for depth in range(1, len(parts) + 1):
            prefix_path = "/".join(parts[:depth])
            first = seen.setdefault(prefix_path.casefold(), prefix_path)
            if first != prefix_path and prefix_path not in reported:
                reported.add(prefix_path)
                findings.append(
                    error(
                        "security.case-collision",
                        f"{prefix_path} and {first} differ only by case: they collide on "
                        "case-insensitive filesystems (macOS, Windows)",
                        prefix_path,
                    )
                )
    return findings


def repository_findings(root: Path) -> list[Finding]:
    """The checks over everything under models/ in the index (and untracked files)."""
    if not git.is_repository(root):
        return []
    prefix = git.models_prefix(root)
    return check_entries(git.index_entries(root, f"{prefix}models"), prefix)


def changed_findings(root: Path, base: str) -> list[Finding]:
    """The same checks over the paths changed since `base` only."""
    prefix = git.models_prefix(root)
    changes = git.diff_against(root, base, f"{prefix}models")
    return check_entries([(c.new_mode, c.path) for c in changes if c.status != "D"], prefix)
