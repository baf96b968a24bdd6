"""What was published stays published: the working tree against a base revision (`--base REF`).

Only the paths that changed since the base are examined, so the cost follows the size of the
change, not of the registry.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from registry.errors import ModelregError
from registry.findings import Finding, Position, error
from registry.governance.policy_config import TIERS
from registry.infra import git
from registry.load.config import load_config
from registry.load.jsonequal import same_json
from registry.load.layout import CONFIG_NAME, VersionDir, all_versions
from registry.load.manifest_fields import IMMUTABLE_FIELDS
from registry.load.yamlsafe import LoadedYaml, load_yaml_bytes, load_yaml_file
from registry.signing.bundle import CLAIMS_FILE, SIGNATURE_FILE
from registry.versions import MANIFEST_NAME

# Files of a published version that may still change: the manifest's mutable fields.
MUTABLE_FILES = {MANIFEST_NAME}
# Files that may be added to a published version, never changed or deleted once there: a
# signature added later is fine; replacing it (another certificate holder re-signing) is not.
ADD_ONLY_FILES = {SIGNATURE_FILE, CLAIMS_FILE}
# Manifest fields fixed once published besides the artifact's (who published it, under which
# license); and those that may be added but not changed or removed (the review that let it in).
PUBLISHED_FIELDS = IMMUTABLE_FIELDS | {"license", "publisher"}
ADD_ONLY_FIELDS = (("governance", "review"),)


@dataclass
class _Folder:
    """The changes under one models/<name>/<version>/ since the base."""

    name: str
    version: str
    changes: dict[str, git.Change] = field(default_factory=dict)  # relative path -> change

    @property
    def relative(self) -> str:
        return f"models/{self.name}/{self.version}"


# Characters and pairs a reader takes for one another: folded to one spelling.
_LOOKALIKES = (("rn", "m"), ("vv", "w"), ("cl", "d"), ("1", "l"), ("i", "l"), ("0", "o"))


def confusable(name: str) -> str:
    """What a name reads as: case, `-`/`_` and look-alikes folded (iris-m1p reads iris-mlp)."""
    folded = re.sub(r"[-_]", "", name.casefold())
    for pair, into in _LOOKALIKES:
        folded = folded.replace(pair, into)
    return folded


MIN_EDITED = 5  # shorter names one character apart (vit, vgg) are too common to flag


def _confusable(a: str, b: str) -> bool:
    return a == b or (min(len(a), len(b)) >= MIN_EDITED and within_one_edit(a, b))


def within_one_edit(a: str, b: str) -> bool:
    """Whether one insertion, deletion or substitution turns `a` into `b` (or they are equal)."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) > len(b):
        a, b = b, a
    for index, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            rest = index + 1
            return a[index:] == b[rest:] if len(a) < len(b) else a[rest:] == b[rest:]
    return True


def changed_folders(root: Path, base: str, until: str | None = None) -> list[_Folder]:
    """Version folders with changes between `base` and the working tree (untracked files too),
    or between commits `base` and `until`."""
    prefix = git.models_prefix(root)
    pathspec = f"{prefix}models"
    changes = (
        git.diff_against(root, base, pathspec)
        if until is None
        else git.diff_between(root, base, until, pathspec)
    )
    return _by_folder(changes, prefix)


def _by_folder(changes: Iterable[git.Change], prefix: str) -> list[_Folder]:
    folders: dict[tuple[str, str], _Folder] = {}
    for change in changes:
        parts = change.path[len(prefix) :].split("/", 3)
        if len(parts) == 4 and parts[0] == "models":
            folder = folders.setdefault((parts[1], parts[2]), _Folder(parts[1], parts[2]))
            folder.changes[parts[3]] = change
    return [folders[key] for key in sorted(folders)]


def resolve_base(root: Path, ref: str) -> str:
    try:
        return git.resolve(root, ref)
    except git.GitError as exc:
        raise ModelregError(
            f"cannot find the base revision {ref!r} ({exc}); fetch it first (in CI: "
            "actions/checkout with fetch-depth: 0)"
        ) from exc


class _Checker:
    def __init__(self, root: Path, base: str, ref: str) -> None:
        self.root = root
        self.base = base
        self.ref = ref
        self.blobs = git.BlobReader(root)
        self.prefix = git.models_prefix(root)
        self.findings: list[Finding] = []
        self.similar_allowed = frozenset(load_config(root).similar_names_allowed)

    def fail(self, code: str, message: str, file: str, position: Position | None = None) -> None:
        self.findings.append(error(code, message, file, position))

    def base_manifest(self, folder: _Folder) -> LoadedYaml | None:
        data = self.blobs.read_path(self.base, f"{self.prefix}{folder.relative}/{MANIFEST_NAME}")
        if data is None:
            return None
        loaded, _ = load_yaml_bytes(data, f"{folder.relative}/{MANIFEST_NAME}")
        return loaded

    def published(self, folder: _Folder) -> bool:
        change = folder.changes.get(MANIFEST_NAME)
        if change is not None:
            return change.status != "A"
        return self.base_manifest(folder) is not None

    def check_published(self, folder: _Folder, added: list[_Folder]) -> None:
        display = f"{folder.relative}/{MANIFEST_NAME}"
        manifest = folder.changes.get(MANIFEST_NAME)
        before = self.base_manifest(folder)
        if manifest is not None and manifest.status == "D":
            self.removed(folder, before, added, display)
            return
        if manifest is not None and before is not None:
            after, _ = load_yaml_file(self.root / display, display)
            if after is not None:
                self.check_tier(folder, before, after, display)
                self.check_fields(folder, before, after, display)
        for relative, change in sorted(folder.changes.items()):
            if relative in MUTABLE_FILES or change.status == "A":
                continue
            if relative in ADD_ONLY_FILES:
                self.fail(
                    "history.immutable-field",
                    f"{folder.relative}/{relative} of the published version "
                    f"{folder.name}@{folder.version} was "
                    f"{'deleted' if change.status == 'D' else 'replaced'} since {self.ref}; a "
                    "signature may be added to a published version, never changed or removed: "
                    "publish a new version to sign it again",
                    f"{folder.relative}/{relative}",
                )
                continue
            what = "was deleted" if change.status == "D" else "changed"
            self.fail(
                "history.file-changed",
                f"{folder.relative}/{relative} of the published version "
                f"{folder.name}@{folder.version} {what} since {self.ref}; published files never "
                "change: publish a new version with the new file",
                f"{folder.relative}/{relative}",
            )

    def check_fields(
        self, folder: _Folder, before: LoadedYaml, after: LoadedYaml, display: str
    ) -> None:
        for name in sorted(PUBLISHED_FIELDS):
            if not same_json(before.data.get(name), after.data.get(name)):
                self.fail(
                    "history.immutable-field",
                    f"`{name}` of the published version {folder.name}@{folder.version} "
                    f"changed since {self.ref}; it is immutable: publish a new version "
                    "instead (and deprecate this one if it must not be used)"
                    + (
                        "; a license correction is a new version or a deprecation"
                        if name == "license"
                        else ""
                    ),
                    display,
                    after.position((name,)),
                )
        for path in ADD_ONLY_FIELDS:
            old, new = _at(before.data, path), _at(after.data, path)
            if old is not None and not same_json(old, new):
                dotted = ".".join(path)
                self.fail(
                    "history.immutable-field",
                    f"`{dotted}` of the published version {folder.name}@{folder.version} was "
                    f"{'removed' if new is None else 'changed'} since {self.ref}; the record "
                    "that let it be published stays as it was: it may be added, never changed",
                    display,
                    after.position(path if new is not None else path[:1]),
                )

    def check_tier(
        self, folder: _Folder, before: LoadedYaml, after: LoadedYaml, display: str
    ) -> None:
        """A published version's risk tier may rise, never fall: lowering it would lift what
        governance decided (a block, a required review or signature) without a review."""
        old, new = before.data.get("risk_tier"), after.data.get("risk_tier")
        if old in TIERS and new in TIERS and TIERS.index(new) < TIERS.index(old):
            self.fail(
                "history.risk-tier-lowered",
                f"risk_tier of the published version {folder.name}@{folder.version} went from "
                f"{old} to {new}; a published version's tier may only rise: publish a new "
                "version with the lower tier (reviewed like any new version)",
                display,
                after.position(("risk_tier",)),
            )

    def removed(
        self, folder: _Folder, before: LoadedYaml | None, added: list[_Folder], display: str
    ) -> None:
        sha = ((before.data.get("artifact") or {}) if before else {}).get("sha256")
        # The same model's new folders first: a rename usually keeps the model name.
        for other in sorted(added, key=lambda f: (f.name != folder.name, f.relative)):
            other_display = f"{other.relative}/{MANIFEST_NAME}"
            loaded, _ = load_yaml_file(self.root / other_display, other_display)
            if (
                sha
                and loaded is not None
                and (loaded.data.get("artifact") or {}).get("sha256") == sha
            ):
                self.fail(
                    "history.version-renamed",
                    f"the published version {folder.name}@{folder.version} was moved to "
                    f"{other.relative}; published versions keep their name: restore it, and "
                    "publish the new name as a new version if you need one",
                    f"{other.relative}/{MANIFEST_NAME}",
                )
                return
        self.fail(
            "history.version-removed",
            f"the published version {folder.name}@{folder.version} was removed; published "
            "versions stay: set `status: deprecated` with a `deprecation` record instead",
            display,
        )

    def check_added(self, folder: _Folder, base_names: set[str]) -> None:
        display = f"{folder.relative}/{MANIFEST_NAME}"
        if git.path_existed(self.root, self.base, f"{self.prefix}{folder.relative}/"):
            self.fail(
                "history.version-reused",
                f"{folder.name}@{folder.version} was published before (and later removed); a "
                "version number is never reused: publish a new version number",
                display,
            )
        if folder.name not in base_names and folder.name not in self.similar_allowed:
            folded = confusable(folder.name)
            twin = next((n for n in sorted(base_names) if _confusable(folded, confusable(n))), None)
            if twin is not None:
                self.fail(
                    "history.confusable-name",
                    f"the new model name `{folder.name}` reads almost like the existing `{twin}` "
                    "(one character apart once case, `-`/`_` and look-alikes such as 1/l, 0/o, "
                    f"rn/m are folded); publish under `{twin}`, choose a distinct name, or have "
                    "the maintainers list it in registry.yaml `similar_names_allowed`",
                    display,
                )


def _at(data: object, path: tuple[str, ...]) -> object:
    for key in path:
        data = data.get(key) if isinstance(data, Mapping) else None
    return data


def check_history(root: Path, ref: str, folders: Iterable[_Folder] | None = None) -> list[Finding]:
    """Every way the working tree rewrites what `ref` had published."""
    base = resolve_base(root, ref)
    checker = _Checker(root, base, ref)
    try:
        changed = list(folders) if folders is not None else changed_folders(root, base)
        new = [f for f in changed if not checker.published(f)]
        base_names = set(git.list_dir(root, base, f"{checker.prefix}models"))
        for folder in changed:
            if folder in new:
                checker.check_added(folder, base_names)
            else:
                checker.check_published(folder, [f for f in new if (root / f.relative).is_dir()])
    finally:
        checker.blobs.close()
    return checker.findings


def changed_versions(root: Path, ref: str) -> list[VersionDir]:
    """The version folders changed since `ref` that still exist: what --changed-since checks.
    Every version when the policy changed (registry.yaml or a trust root): it applies to all."""
    base = resolve_base(root, ref)
    if policy_changed(root, base):
        return all_versions(root)
    return _existing(root, changed_folders(root, base))


def changed_tracked_versions(root: Path, ref: str) -> list[VersionDir]:
    """The version folders whose tracked files changed since `ref`: most often every one
    changed_versions will name, known before Git has listed the untracked files (a walk of
    every folder of the working tree), so that the sandbox can start for them meanwhile."""
    base = resolve_base(root, ref)
    prefix = git.models_prefix(root)
    return _existing(root, _by_folder(git.diff_tracked(root, base, f"{prefix}models"), prefix))


def _existing(root: Path, folders: Iterable[_Folder]) -> list[VersionDir]:
    return [
        VersionDir(root, f.name, f.version)
        for f in folders
        if (root / f.relative).is_dir() and not (root / f.relative).is_symlink()
    ]


def policy_changed(root: Path, base: str) -> bool:
    prefix = git.models_prefix(root)
    files = [CONFIG_NAME, *load_config(root).governance.trust_roots]
    return any(git.diff_against(root, base, f"{prefix}{name}") for name in files)


def changed_signatures(root: Path, base: str) -> set[str]:
    """models/<name>/<version> folders whose model.sig is new or changed since `base`."""
    prefix = git.models_prefix(root)
    return {
        change.path[len(prefix) :].rsplit("/", 1)[0]
        for change in git.diff_against(root, base, f"{prefix}models")
        if change.status != "D" and change.path.endswith(f"/{SIGNATURE_FILE}")
    }
