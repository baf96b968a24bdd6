"""Governance across versions: a model's risk tier never silently falls, and a review is not
dated after the commit that recorded it.

A model's tier is the highest tier any of its versions had: a new version declaring `tier-1` for
a model whose earlier versions were `tier-3` would skip the review, the signature and the drift
block they required, and become `latest` (governance.tier-lowered). Re-tiering a model is a
governance decision, recorded in registry.yaml (`governance.retiered`, with a reason) and so
reviewed by the governance owners CODEOWNERS names for that file.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path

from registry.findings import Finding, error
from registry.governance.policy_config import TIERS
from registry.infra import git
from registry.load.manifest import Manifest
from registry.validate.result import VersionResult
from registry.versions import MANIFEST_NAME, sort_key


def tier_findings(
    checked: Iterable[Manifest], tiers: Mapping[str, Mapping[str, str]], retiered: Mapping[str, str]
) -> list[Finding]:
    """Each checked version whose tier is lower than an earlier version's of the same model
    (`tiers`: every version's tier of each model, by name), unless registry.yaml re-tiered the
    model (then its tier is the floor)."""
    findings = []
    for manifest in checked:
        name = manifest.model_name
        if manifest.risk_tier not in TIERS:
            continue
        earlier = [
            (version, tier)
            for version, tier in tiers.get(name, {}).items()
            if tier in TIERS and sort_key(version) < sort_key(manifest.version)
        ]
        floor = retiered.get(name)
        highest = max(earlier, key=lambda item: TIERS.index(item[1]), default=None)
        if floor is None and highest is not None:
            floor = highest[1]
        if floor is not None and TIERS.index(manifest.risk_tier) < TIERS.index(floor):
            source = (
                f"registry.yaml re-tiered {name} to {floor}"
                if name in retiered
                else f"{name}@{highest[0] if highest else '?'} is {floor}"
            )
            findings.append(_lowered(manifest, floor, source))
    return findings


def _display(manifest: Manifest) -> str:
    return f"models/{manifest.model_name}/{manifest.version}/{MANIFEST_NAME}"


def _lowered(manifest: Manifest, floor: str, source: str) -> Finding:
    return error(
        "governance.tier-lowered",
        f"risk_tier is {manifest.risk_tier}, but {source}: a model's tier is the highest any of "
        "its versions had, so a new version cannot lower it (and skip the reviews, signatures "
        f"and blocks {floor} requires); declare {floor}, or record the re-tiering with its reason "
        "in registry.yaml (governance: {retiered: {" + manifest.model_name + ": {tier: ..., "
        "reason: ...}}}), reviewed by the governance owners",
        _display(manifest),
        manifest.field_position("risk_tier"),
    )


def review_date_findings(
    root: Path, manifests: Iterable[Manifest], under_review: set[str]
) -> list[Finding]:
    """A governance.review approved after the commit that recorded it: the date is invented.
    A manifest under review (changed, or not committed) is compared with today."""
    today = dt.datetime.now(dt.UTC).date()
    prefix = git.models_prefix(root)
    findings = []
    for manifest in manifests:
        approved = _date(manifest.review.approved_at if manifest.review else None)
        if approved is None:
            continue
        relative = f"models/{manifest.model_name}/{manifest.version}"
        bound = today
        if relative not in under_review:
            commit = git.first_parent_commit(root, f"{prefix}{relative}/{MANIFEST_NAME}")
            bound = commit.time.astimezone(dt.UTC).date() if commit is not None else today
        if approved > bound:
            findings.append(
                error(
                    "governance.review-date",
                    f"governance.review.approved_at is {approved}, after {bound}, when this "
                    "manifest was committed: a review cannot be approved in the future; record "
                    "the date it was really approved",
                    _display(manifest),
                    manifest.field_position("governance", "review", "approved_at"),
                )
            )
    return findings


def report_date_findings(results: Iterable[VersionResult]) -> list[Finding]:
    """A report dated after tomorrow (UTC: a day of slack for time zones): a future date would
    make it the latest evaluation or drift measurement for good, hiding the real ones that
    follow. Judged with this run's clock at every run, so never kept in the result cache."""
    limit = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    findings = []
    for result in results:
        for report in result.reports:
            when = _date(report.when)
            if when is not None and when > limit:
                findings.append(
                    error(
                        "report.future-date",
                        f"{report.path} is dated {when}, in the future: a report records a "
                        "measurement already made; name the file and set measured_at with the "
                        "date it was made",
                        result.version.display(report.path),
                    )
                )
    return findings


def _date(value: object) -> dt.date | None:
    text = str(value or "")[:10]
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None
