"""Validation reports as text, JSON (schema/validate-report.json) or GitHub workflow commands."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from registry import __version__
from registry.findings import Finding, Severity, printable
from registry.infra.text import markdown_code, one_line
from registry.validate.result import ValidationReport

_GITHUB_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def _counts(findings: list[Finding]) -> Counter[Severity]:
    return Counter(f.severity for f in findings)


def summary_line(report: ValidationReport, strict: bool) -> str:
    findings = report.all_findings()
    counts = _counts(findings)
    verdict = "passed" if report.ok(strict) else "FAILED"
    return (
        f"{len(report.results)} version(s) checked: {counts[Severity.ERROR]} error(s), "
        f"{counts[Severity.WARNING]} warning(s), {counts[Severity.INFO]} info — {verdict}"
    )


def decision_lines(report: ValidationReport) -> list[str]:
    """The governance decision of each version the policy has something to say about."""
    return [
        f"governance {r.version.id}: {r.decision.decision} ({r.decision.tier}): "
        + "; ".join(r.decision.reasons)
        for r in report.results
        if r.decision is not None and r.decision.reasons
    ]


def to_text(report: ValidationReport, strict: bool) -> str:
    """One line per finding, whatever its message holds (newlines and controls escaped)."""
    lines = [
        one_line(
            f"{f.file}:{f.line or 1}:{f.column or 1}: {f.severity.value} {f.code}: {f.message}"
        )
        for f in report.all_findings()
    ]
    lines += [one_line(line) for line in decision_lines(report)]
    lines.append(summary_line(report, strict))
    return "\n".join(lines) + "\n"


def to_json_data(report: ValidationReport, strict: bool) -> dict[str, Any]:
    findings = report.all_findings()
    counts = _counts(findings)
    return {
        "tool": "modelreg",
        "tool_version": __version__,
        "ok": report.ok(strict),
        "strict": strict,
        "summary": {
            "versions": len(report.results),
            "errors": counts[Severity.ERROR],
            "warnings": counts[Severity.WARNING],
            "infos": counts[Severity.INFO],
        },
        "versions": [
            {
                "id": r.version.id,
                "path": r.version.relative,
                "ok": r.ok(strict),
                "format": r.manifest.format if r.manifest else None,
                "model_info": r.model_info.to_json() if r.model_info else None,
                "governance": r.decision.to_json() if r.decision else None,
                "signature": r.signature.to_json() if r.signature else None,
            }
            for r in report.results
        ],
        "findings": [f.to_json() for f in findings],
    }


def to_json(report: ValidationReport, strict: bool) -> str:
    return (
        json.dumps(_printable_data(to_json_data(report, strict)), indent=2, sort_keys=True) + "\n"
    )


def _printable_data(value: Any) -> Any:
    """Every text of the report as `printable` writes it: a version folder's name may hold
    bytes that are not UTF-8, which JSON readers would all read as one U+FFFD."""
    if isinstance(value, str):
        return value if value.isascii() else printable(value)
    if isinstance(value, dict):
        return {_printable_data(k): _printable_data(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_printable_data(item) for item in value]
    return value


def _escape_data(text: str) -> str:
    """Workflow-command encoding; other controls and bidi characters shown escaped."""
    encoded = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return one_line(encoded)


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def to_github(report: ValidationReport, strict: bool) -> str:
    """Workflow commands: one annotation per finding, on its manifest line."""
    lines = []
    for f in report.all_findings():
        properties = [f"file={_escape_property(f.file)}"]
        if f.line:
            properties.append(f"line={f.line}")
        if f.column:
            properties.append(f"col={f.column}")
        properties.append(f"title={_escape_property(f.code)}")
        lines.append(
            f"::{_GITHUB_LEVEL[f.severity]} {','.join(properties)}::{_escape_data(f.message)}"
        )
    lines.append(summary_line(report, strict))
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return markdown_code(text)


def github_summary(report: ValidationReport, strict: bool) -> str:
    """Markdown for $GITHUB_STEP_SUMMARY: the verdict, then a table of findings per version."""
    findings = report.all_findings()
    icon = "✅" if report.ok(strict) else "❌"
    out = [f"## {icon} modelreg validate", "", summary_line(report, strict), ""]
    out += ["| version | result | governance |", "|---|---|---|"]
    for r in report.results:
        decision = r.decision.decision if r.decision else ""
        out.append(
            f"| {_cell(r.version.id)} | {'passed' if r.ok(strict) else '**failed**'} | "
            f"{_cell(decision)} |"
        )
    if findings:
        out += ["", "| severity | code | where | message |", "|---|---|---|---|"]
        for f in findings:
            where = f"{f.file}:{f.line}" if f.line else f.file
            out.append(
                f"| {f.severity.value} | {_cell(f.code)} | {_cell(where)} | {_cell(f.message)} |"
            )
    return "\n".join(out) + "\n"
