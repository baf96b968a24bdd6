"""The governance decision for one version (NIST AI RMF Govern), computed in one place.

A version's risk tier decides what its drift reports lead to (registry.yaml, governance.tiers):
- monitor (tier-1 by default): drift over the threshold is a warning and a flag on the catalog;
- review (tier-2): drift over the threshold needs a governance.review approved after the drift
  was measured;
- block (tier-3): a new submission with drift over the threshold fails; a published version
  becomes blocked (a ModelBlocked event; consumers are refused). Blocking is sticky: it takes a
  new version, not a later, lower drift report, to lift it.
Tiers may also require a review for every new version, and a signature.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from registry.findings import Finding, error, warning
from registry.governance.policy_config import GovernancePolicy, TierPolicy
from registry.load.manifest import Manifest
from registry.load.manifest_fields import ManifestStatus, Review
from registry.load.reports import Report

Verdict = Literal["allow", "review", "block"]
DECISIONS: tuple[Verdict, ...] = ("allow", "review", "block")  # in order of severity
# None (in Decision.review_status): the policy asks for no review.
ReviewStatus = Literal["approved", "missing", "outdated"]
# What a version is to its consumers: its manifest's status, unless governance blocked it.
VersionStatus = ManifestStatus | Literal["blocked"]


@dataclass(frozen=True, slots=True)
class Decision:
    """allow: nothing in the policy stands in the way; review: the policy requires a human
    review (`review_status` says whether it is recorded); block: the version must not be used."""

    decision: Verdict
    tier: str
    reasons: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()  # shown on the catalog: drift, evaluation-failed
    figures: Mapping[str, Any] = field(default_factory=dict)
    review: Review | None = None
    review_status: ReviewStatus | None = None
    signature_required: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "risk_tier": self.tier,
            "reasons": list(self.reasons),
            "flags": list(self.flags),
            "figures": dict(self.figures),
            "review": self.review.to_json() if self.review else None,
            "review_status": self.review_status,
            "signature_required": self.signature_required,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Decision:
        """The decision to_json wrote (the result cache), by key: a new field cannot shift."""
        review = data["review"]
        return cls(
            decision=data["decision"],
            tier=data["risk_tier"],
            reasons=tuple(data["reasons"]),
            flags=tuple(data["flags"]),
            figures=data["figures"],
            review=Review.from_data(review) if review is not None else None,
            review_status=data["review_status"],
            signature_required=data["signature_required"],
        )


@dataclass(frozen=True, slots=True)
class Blocking:
    """Why a version is blocked: a drift measurement over its blocking tier's threshold."""

    report: str  # reports/<file>
    drift_score: float
    threshold: float
    risk_tier: str

    @property
    def reason(self) -> str:
        return (
            f"drift {self.drift_score} in {self.report} is over the {self.risk_tier} threshold "
            f"{self.threshold}"
        )

    def to_json(self) -> dict[str, Any]:
        """The payload of the ModelBlocked event (hashed into the log: keep it stable)."""
        return {
            "reason": self.reason,
            "report": self.report,
            "drift_score": self.drift_score,
            "threshold": self.threshold,
            "risk_tier": self.risk_tier,
        }


def blocking_drift(reports: Sequence[Report], threshold: float) -> Report | None:
    """The first drift report over `threshold`: what blocks a version of a blocking tier."""
    return next(
        (r for r in reports if r.kind == "drift" and (r.drift_score or 0) > threshold), None
    )


def blocked_by(
    policy: GovernancePolicy, tier: object, drifts: Sequence[tuple[str, float]]
) -> Blocking | None:
    """Why a version of `tier` with these (report, drift score) measurements is blocked, or
    None: the rule shared by the event log and the tree's state. `tier` is as the manifest
    wrote it (read from history, not validated)."""
    if not isinstance(tier, str):
        return None
    tier_policy = policy.tiers.get(tier)
    if tier_policy is None or tier_policy.action != "block":
        return None
    for report, score in drifts:
        if score > tier_policy.drift_threshold:
            return Blocking(report, score, tier_policy.drift_threshold, tier)
    return None


def blocked_earlier(decision: Decision, reason: str, since: str, seq: int) -> Decision:
    """The decision for a version that a ModelBlocked event of the log blocked: blocking is
    sticky, whatever the reports and the policy say now."""
    if decision.decision == "block":
        return decision
    note = (
        f"blocked since {since} (event #{seq} of the log): {reason}; blocking is permanent: "
        "publish a new version"
    )
    return dataclasses.replace(decision, decision="block", reasons=(*decision.reasons, note))


class _Decider:
    def __init__(self, manifest: Manifest, tier: TierPolicy, published: bool, display: str):
        self.manifest = manifest
        self.tier = tier
        self.published = published
        self.display = display
        self.where = manifest.field_position("risk_tier")
        self.review = manifest.review
        self.verdict: Verdict = "allow"
        self.review_status: ReviewStatus | None = None
        self.reasons: list[str] = []
        self.flags: list[str] = []
        self.findings: list[Finding] = []
        self.figures: dict[str, Any] = {
            "drift_threshold": tier.drift_threshold,
            "action": tier.action,
        }

    def escalate(self, to: Verdict) -> None:
        self.verdict = max(self.verdict, to, key=DECISIONS.index)

    def flag(self, flag: str, reason: str, code: str, message: str) -> None:
        """A catalog flag, its reason in the decision, and a warning on the manifest."""
        self.flags.append(flag)
        self.reasons.append(reason)
        self.findings.append(warning(code, message, self.display, self.where))

    def need_review(self, why: str, since: str | None, problem: str) -> None:
        """A human review is required; recorded on or after `since` (a date) when given."""
        self.escalate("review")
        approved = self.review.approved_at[:10] if self.review else ""
        if self.review and (since is None or approved >= since[:10]):
            self.review_status = "approved"
            self.reasons.append(f"{why}; reviewed by {self.review.approved_by} on {approved}")
            return
        self.review_status = "outdated" if self.review else "missing"
        self.reasons.append(f"{why}; the review is {self.review_status}")
        self.findings.append(
            error(
                "governance.review-required",
                problem,
                self.display,
                self.manifest.field_position("governance") if self.review else self.where,
            )
        )

    def drift(self, reports: Sequence[Report]) -> None:
        tier, name = self.tier, self.manifest.risk_tier
        drifts = [r for r in reports if r.kind == "drift"]
        if not drifts:
            return
        latest = drifts[-1]
        self.figures.update(
            drift_score=latest.drift_score, drift_report=latest.path, drift_measured_at=latest.when
        )
        # Blocking looks at every report (it is sticky); the others at the latest measurement.
        over = (
            blocking_drift(reports, tier.drift_threshold)
            if tier.action == "block"
            else (latest if (latest.drift_score or 0) > tier.drift_threshold else None)
        )
        if over is None:
            return
        text = (
            f"drift {over.drift_score} ({over.path}) is over the {name} threshold "
            f"{tier.drift_threshold}"
        )
        if tier.action == "block":
            self.escalate("block")
            self.reasons.append(text)
            self.figures.update(blocking_report=over.path, blocking_drift_score=over.drift_score)
            if self.published:
                self.findings.append(
                    warning(
                        "governance.blocked",
                        f"{text}: the published version is blocked and "
                        "consumers are refused; publish a new version",
                        self.display,
                        self.where,
                    )
                )
            else:
                self.findings.append(
                    error(
                        "governance.blocked",
                        f"{text}: a new {name} submission with this drift is refused",
                        self.display,
                        self.where,
                    )
                )
        elif tier.action == "review":
            self.need_review(
                text,
                over.when,
                (
                    f"{text}: record a governance.review approved on or after {over.when[:10]} "
                    '(governance: {review: {approved_by: ..., approved_at: "YYYY-MM-DD"}})'
                ),
            )
        else:
            self.flag(
                "drift",
                f"{text}; monitored",
                "governance.drift-monitor",
                f"{text}: keep monitoring it (flagged on the catalog)",
            )

    def evaluations(self, reports: Sequence[Report]) -> None:
        evaluations = [r for r in reports if r.kind == "evaluation"]
        if not evaluations:
            return
        latest = evaluations[-1]
        self.figures.update(evaluation_passed=latest.passed, evaluation_report=latest.path)
        if latest.passed is False:
            text = f"the latest evaluation ({latest.path}) did not pass"
            self.flag("evaluation-failed", text, "governance.evaluation-failed", text)


def decide(
    manifest: Manifest,
    reports: Sequence[Report],
    policy: GovernancePolicy,
    published: bool,
    display: str,
) -> tuple[Decision, list[Finding]]:
    """The decision for one version under `policy`; `published`: the version was published
    before this change (a new submission is held to the policy more strictly)."""
    tier = policy.tiers[manifest.risk_tier]
    decider = _Decider(manifest, tier, published, display)
    if tier.review_required:
        problem = (
            f"{manifest.risk_tier} requires a governance.review record for every new "
            "version: add governance: {review: {approved_by: ..., approved_at: "
            '"YYYY-MM-DD"}}'
        )
        if published and not decider.review:
            # Published before the policy asked for it: shown, not refused.
            decider.escalate("review")
            decider.review_status = "missing"
            decider.reasons.append(
                f"{manifest.risk_tier} versions need a recorded human review;"
                " this one was published without"
            )
            decider.findings.append(
                warning("governance.review-required", problem, display, decider.where)
            )
        else:
            decider.need_review(
                f"{manifest.risk_tier} versions need a recorded human review", None, problem
            )
    decider.drift(reports)
    decider.evaluations(reports)
    if tier.signature_required:
        decider.reasons.append(f"{manifest.risk_tier} versions must be signed")
    return Decision(
        decision=decider.verdict,
        tier=manifest.risk_tier,
        reasons=tuple(decider.reasons),
        flags=tuple(decider.flags),
        figures=decider.figures,
        review=decider.review,
        review_status=decider.review_status,
        signature_required=tier.signature_required,
    ), decider.findings
