"""The governance policy of registry.yaml (`governance:`): what each risk tier requires.

Defaults are the reference design's (DESIGN.md, Governance): drift thresholds 0.15 / 0.08 / 0.03
and actions monitor / review / block for tier-1 / tier-2 / tier-3.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

TIERS = ("tier-1", "tier-2", "tier-3")
# What drift above a tier's threshold leads to (registry.yaml, governance.tiers.<tier>.action).
DriftAction = Literal["monitor", "review", "block"]
ACTIONS: tuple[DriftAction, ...] = ("monitor", "review", "block")


@dataclass(frozen=True, slots=True)
class TierPolicy:
    drift_threshold: float
    action: DriftAction
    review_required: bool  # every new version needs a governance.review record
    signature_required: bool
    reviewers: tuple[str, ...] = ()  # GitHub users or teams (@org/team) routed by CODEOWNERS
    # Aliases only a version meeting this tier's release requirements may hold (aliases.yaml).
    protected_aliases: tuple[str, ...] = ()


_PROD = ("production",)
DEFAULT_TIERS = {
    "tier-1": TierPolicy(0.15, "monitor", review_required=False, signature_required=False),
    "tier-2": TierPolicy(
        0.08, "review", review_required=True, signature_required=False, protected_aliases=_PROD
    ),
    "tier-3": TierPolicy(
        0.03, "block", review_required=True, signature_required=True, protected_aliases=_PROD
    ),
}


@dataclass(frozen=True, slots=True)
class GovernancePolicy:
    tiers: Mapping[str, TierPolicy] = field(default_factory=lambda: dict(DEFAULT_TIERS))
    maintainers: tuple[str, ...] = ()  # owners of everything else in the repository
    trust_roots: tuple[str, ...] = ()  # PEM files of the CAs that may sign models (signing)
    # model name -> the tier governance re-tiered it to (tierfloor), with a reason in the file
    retiered: Mapping[str, str] = field(default_factory=dict)


def governance_from(data: Mapping[str, Any]) -> GovernancePolicy:
    tiers = {}
    for tier in TIERS:
        default = DEFAULT_TIERS[tier]
        given = (data.get("tiers") or {}).get(tier, {})
        tiers[tier] = TierPolicy(
            drift_threshold=float(given.get("drift_threshold", default.drift_threshold)),
            action=given.get("action", default.action),
            review_required=given.get("review_required", default.review_required),
            signature_required=given.get("signature_required", default.signature_required),
            reviewers=tuple(given.get("reviewers", ())),
            protected_aliases=tuple(given.get("protected_aliases", default.protected_aliases)),
        )
    return GovernancePolicy(
        tiers=tiers,
        maintainers=tuple(data.get("maintainers", ())),
        trust_roots=tuple(data.get("trust_roots", ())),
        retiered={name: str(entry["tier"]) for name, entry in (data.get("retiered") or {}).items()},
    )
