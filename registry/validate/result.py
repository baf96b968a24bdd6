"""What validation found: one result per version, and the report of a whole run (a leaf: the
reporters, the catalog and the SBOMs import it, not the validation run)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from registry.findings import Finding, has_errors
from registry.formats.base import ModelInfo
from registry.governance.policy import Decision
from registry.infra.interned import interned
from registry.load.layout import VersionDir
from registry.load.manifest import Manifest
from registry.load.reports import Report
from registry.load.yamlsafe import LoadedYaml
from registry.signing.verify import SignatureResult


@dataclass(frozen=True, slots=True)
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

    def to_json(self) -> dict[str, Any]:
        """What the result cache keeps: `version` is what the entry is found by, and
        `inputs_key` the entry's key itself."""
        return {
            "chunks": {relative: list(digests) for relative, digests in self.chunks.items()},
            "manifest": dict(self.manifest.data) if self.manifest else None,
            "model_info": self.model_info.to_json() if self.model_info else None,
            "findings": [f.to_json() for f in self.findings],
            "reports": [r.to_json() for r in self.reports],
            "decision": self.decision.to_json() if self.decision else None,
            "signature": self.signature.to_json() if self.signature else None,
        }

    @classmethod
    def from_json(cls, version: VersionDir, data: Mapping[str, Any]) -> VersionResult:
        """The result to_json wrote for `version`, every field by name (a new field cannot shift
        the others). Positions in the manifest and reports are not kept: the findings already
        carry theirs. Strings are interned: a build keeps every version's result."""
        data = interned(data)
        manifest, info = data["manifest"], data["model_info"]
        decision, signature = data["decision"], data["signature"]
        return cls(
            version=version,
            manifest=(
                Manifest.from_loaded(version.manifest, LoadedYaml(manifest, {}))
                if manifest is not None
                else None
            ),
            model_info=ModelInfo.from_json(info) if info else None,
            findings=tuple(Finding.from_json(f) for f in data["findings"]),
            reports=tuple(Report.from_json(r) for r in data["reports"]),
            decision=Decision.from_json(decision) if decision else None,
            signature=SignatureResult.from_json(signature) if signature else None,
            chunks={relative: tuple(digests) for relative, digests in data["chunks"].items()},
        )


@dataclass(frozen=True, slots=True)
class ValidationReport:
    results: tuple[VersionResult, ...]
    findings: tuple[Finding, ...]  # of the registry as a whole (references between versions)

    def all_findings(self) -> list[Finding]:
        every = [f for r in self.results for f in r.findings] + list(self.findings)
        return sorted(every, key=Finding.sort_key)

    def ok(self, strict: bool = False) -> bool:
        return not has_errors(self.all_findings(), strict)
