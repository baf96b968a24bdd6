"""What validation found: one result per version, and the report of a whole run (a leaf: the
reporters, the catalog and the SBOMs import it, not the validation run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from registry.findings import Finding, has_errors
from registry.formats.base import ModelInfo
from registry.governance.policy import Decision
from registry.load.layout import VersionDir
from registry.load.manifest import Manifest
from registry.load.reports import Report
from registry.signing.verify import SignatureResult


@dataclass(frozen=True)
class VersionResult:
    version: VersionDir
    manifest: Manifest | None
    model_info: ModelInfo | None
    findings: tuple[Finding, ...]
    reports: tuple[Report, ...] = ()
    decision: Decision | None = None  # the governance decision (allow, review or block)
    signature: SignatureResult | None = None
    inputs_key: str = ""  # what the result was computed from, for the build's cache ("": none)
    # Chunk digests (registry.merkle) of each file the manifest names, by relative path.
    chunks: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def ok(self, strict: bool = False) -> bool:
        return not has_errors(self.findings, strict)


@dataclass(frozen=True)
class ValidationReport:
    results: tuple[VersionResult, ...]
    findings: tuple[Finding, ...]  # of the registry as a whole (references between versions)

    def all_findings(self) -> list[Finding]:
        every = [f for r in self.results for f in r.findings] + list(self.findings)
        return sorted(every, key=Finding.sort_key)

    def ok(self, strict: bool = False) -> bool:
        return not has_errors(self.all_findings(), strict)
