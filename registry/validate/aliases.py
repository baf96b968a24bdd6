"""Validation of models/<name>/aliases.yaml: every alias names a version of the model that can hold
it (published, valid, neither deprecated nor blocked), and a protected alias (registry.yaml,
governance.tiers.<tier>.protected_aliases) only a version that meets its tier's release
requirements: a review newer than its latest drift report when the tier requires reviews, a
verifying signature when it requires signatures, and a passed evaluation.

An assignment that is new (not in aliases.yaml at the base, or at HEAD without one) is refused; one
that was published and no longer holds (a later drift report, a block) is a warning: the log
already removed a blocked version's aliases, and the next change of the file must fix it.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

from registry.errors import ModelregError
from registry.findings import Finding, Severity
from registry.governance.policy_config import TIERS, TierPolicy
from registry.infra import git
from registry.load.aliases import AliasFile, declared_aliases, display, load_alias_file
from registry.load.layout import ALIASES_NAME, MODELS_DIR, VersionDir
from registry.validate.context import RunContext
from registry.validate.result import VersionResult


def alias_models(root: Path, selected: Iterable[VersionDir], since: str | None) -> list[str]:
    """The models whose aliases a run checks: those of the selected versions, and those whose
    aliases.yaml changed since `since`."""
    names = {v.name for v in selected}
    if since is not None and git.is_repository(root):
        prefix = git.models_prefix(root)
        for change in git.diff_against(root, since, f"{prefix}{MODELS_DIR}"):
            parts = change.path[len(prefix) :].split("/")
            if len(parts) == 3 and parts[2] == ALIASES_NAME:
                names.add(parts[1])
    return sorted(n for n in names if (root / MODELS_DIR / n).is_dir())


# Each checked model's aliases.yaml as loaded once for the run: the file (None when invalid)
# and its findings.
AliasFiles = dict[str, tuple[AliasFile | None, list[Finding]]]


def load_alias_files(root: Path, models: Iterable[str], max_bytes: int) -> AliasFiles:
    return {name: load_alias_file(root, name, max_bytes) for name in models}


def alias_targets(
    root: Path, files: AliasFiles, selected: Sequence[VersionDir]
) -> list[VersionDir]:
    """Versions the aliases name that the run would not validate otherwise: whether they may
    hold an alias depends on their own validation."""
    chosen = set(selected)
    extra = []
    for name, (found, _) in files.items():
        for version in sorted(set(found.aliases.values()) if found else ()):
            target = VersionDir(root, name, version)
            if target not in chosen and target.manifest.is_file():
                chosen.add(target)
                extra.append(target)
    return extra


def _published_aliases(
    root: Path, names: Sequence[str], base: str | None
) -> dict[str, dict[str, str]]:
    """Each model's aliases.yaml at `base` (default HEAD), read in one `git cat-file` run; none
    outside Git or before the first commit."""
    if not names or not git.is_repository(root):
        return {}
    try:
        rev = git.resolve(root, base or "HEAD")
    except (git.GitError, ModelregError):
        return {}
    prefix = git.models_prefix(root)
    wanted = {name: f"{rev}:{prefix}{MODELS_DIR}/{name}/{ALIASES_NAME}" for name in names}
    blobs = git.read_blobs(root, list(wanted.values()))
    return {
        name: declared_aliases(blobs[object_name], name) for name, object_name in wanted.items()
    }


def model_tier(run: RunContext, name: str) -> str | None:
    """A model's tier: the one registry.yaml re-tiered it to, else the highest any of its
    versions declares (governance.tier-lowered keeps new versions from going below it)."""
    retiered = run.config.governance.retiered.get(name)
    if retiered in TIERS:
        return retiered
    declared = set()
    folder = run.root / MODELS_DIR / name
    for entry in sorted(folder.iterdir()) if folder.is_dir() else ():
        data = run.manifests.data(f"{name}@{entry.name}") if entry.is_dir() else None
        tier = data.get("risk_tier") if data is not None else None
        if tier in TIERS:
            declared.add(tier)
    return max(declared, key=TIERS.index, default=None)


def _missing_requirements(result: VersionResult, tier: TierPolicy) -> list[str]:
    """What the version lacks of its tier's release requirements, in words."""
    manifest = result.manifest
    assert manifest is not None
    missing = []
    if tier.review_required:
        drifts = [r for r in result.reports if r.kind == "drift"]
        since = drifts[-1].when[:10] if drifts else None
        review = manifest.review
        if review is None:
            missing.append("a governance.review record")
        elif since is not None and review.approved_at[:10] < since:
            missing.append(
                f"a governance.review newer than its latest drift report ({drifts[-1].path}, "
                f"{since}; the review is of {review.approved_at[:10]})"
            )
    if tier.signature_required and not (result.signature and result.signature.verified):
        missing.append("a verifying signature (model.sig: modelreg sign)")
    evaluations = [r for r in result.reports if r.kind == "evaluation"]
    if not evaluations:
        missing.append("a passed evaluation report (reports/<date>-evaluation.yaml)")
    elif evaluations[-1].passed is not True:
        missing.append(f"a passed evaluation report (the latest, {evaluations[-1].path}, failed)")
    return missing


class _ModelAliases:
    def __init__(self, run: RunContext, name: str, aliases: AliasFile, published: dict[str, str]):
        self.run, self.name, self.aliases, self.published = run, name, aliases, published
        self.file = display(name)
        self.findings: list[Finding] = []
        self.model_tier = model_tier(run, name)

    def add(self, severity: Severity, code: str, alias: str, message: str) -> None:
        self.findings.append(
            Finding.at(severity, code, message, self.file, self.aliases.position(alias))
        )

    def check(self, alias: str, version: str, result: VersionResult | None) -> None:
        subject = f"`{alias}` names {self.name}@{version}"
        new = self.published.get(alias) != version
        # A change is refused; a published assignment that stopped holding is pointed out.
        severity = Severity.ERROR if new else Severity.WARNING
        if result is None:
            self.add(
                Severity.ERROR,
                "alias.unknown-version",
                alias,
                f"{subject}, which is not a version of {self.name}; name a version folder "
                f"under {MODELS_DIR}/{self.name}/",
            )
            return
        manifest = result.manifest
        if manifest is None or not result.ok():
            # Its own errors fail the run; a warning here lets `build --allow-invalid` leave the
            # version (and so the alias) out instead of refusing the whole registry.
            self.add(
                Severity.WARNING,
                "alias.unusable-version",
                alias,
                f"{subject}, which does not validate, so the alias holds no version; fix it "
                f"(modelreg validate {result.version.relative}) or name another version",
            )
            return
        if manifest.status == "deprecated":
            self.add(
                Severity.ERROR,
                "alias.unusable-version",
                alias,
                f"{subject}, which is deprecated: a deprecated version holds no alias; move "
                f"`{alias}` to a supported version (or remove it) in the same change",
            )
            return
        if result.decision is not None and result.decision.decision == "block":
            self.add(
                severity,
                "alias.blocked-version",
                alias,
                f"{subject}, which governance blocked ({'; '.join(result.decision.reasons)}): a "
                f"blocked version holds no alias (the log removed it); move `{alias}` to another "
                "version or remove it",
            )
            return
        # The model's tier, not the version's own: a tier-1 pre-release of a tier-2 model must
        # not carry `production` past the tier-2 requirements.
        name = self.model_tier or manifest.risk_tier
        tier = self.run.config.governance.tiers[name]
        if alias not in tier.protected_aliases:
            return
        missing = _missing_requirements(result, tier)
        if missing:
            self.add(
                severity,
                "alias.protected",
                alias,
                f"{subject}, but `{alias}` is protected for {name} models "
                f"(registry.yaml, governance.tiers.{name}.protected_aliases) and "
                f"the version lacks {'; '.join(missing)}; add what is missing to "
                f"{result.version.relative}/ first, or leave `{alias}` where it was",
            )


def alias_findings(
    run: RunContext, results: Sequence[VersionResult], files: AliasFiles, base: str | None
) -> list[Finding]:
    """The findings about the alias files; `results` hold every version they name that exists
    (alias_targets). `base`: what published means (default HEAD)."""
    by_id = {r.version.id: r for r in results}
    findings = [finding for _, problems in files.values() for finding in problems]
    held = {name: found for name, (found, _) in files.items() if found and found.aliases}
    published = _published_aliases(run.root, list(held), base)
    for name, found in held.items():
        model = _ModelAliases(run, name, found, published.get(name, {}))
        for alias, version in sorted(found.aliases.items()):
            model.check(alias, version, by_id.get(f"{name}@{version}"))
        findings += model.findings
    return findings
