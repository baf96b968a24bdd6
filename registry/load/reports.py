"""Evaluation and drift reports: models/<name>/<version>/reports/<YYYY-MM-DD>-<kind>[-<n>].yaml,
validated like manifests (safe YAML, a JSON Schema per kind, positions in findings)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from registry.findings import Finding, Position, error
from registry.load.layout import REPORTS_DIR
from registry.load.schemas import validate_against
from registry.load.yamlsafe import DEFAULT_MAX_BYTES, LoadedYaml, load_yaml_file

ReportKind = Literal["evaluation", "drift"]
KINDS: tuple[ReportKind, ...] = ("evaluation", "drift")
NAME = re.compile(r"^(?P<date>\d{4}-\d{2}-\d{2})-(?P<kind>[a-z]+)(?:-(?P<n>[0-9a-z-]+))?\.ya?ml\Z")
SUMMARY_KEYS = {
    "evaluation": ("run_id", "evaluator", "evaluator_version", "dataset", "metrics", "passed"),
    "drift": ("measured_at", "drift_score", "window", "monitor"),
}


@dataclass(frozen=True, slots=True)
class Report:
    path: str  # relative to the version folder: reports/<file>
    kind: ReportKind
    date: str  # from the file name, YYYY-MM-DD
    loaded: LoadedYaml

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "date": self.date, "data": dict(self.data)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Report:
        """The report to_json wrote, without the positions of its fields (the result cache
        keeps the findings, which carry theirs)."""
        return cls(
            path=data["path"],
            kind=data["kind"],
            date=data["date"],
            loaded=LoadedYaml(data["data"], {}),
        )

    @property
    def data(self) -> dict[str, Any]:
        return self.loaded.data

    def position(self, key: str) -> Position:
        return self.loaded.position((key,))

    @property
    def drift_score(self) -> float | None:
        return drift_score(self.data)

    @property
    def passed(self) -> bool | None:
        """Whether an evaluation passed (its schema requires it); None for a drift report."""
        passed = self.data.get("passed")
        return passed if isinstance(passed, bool) else None

    @property
    def dataset(self) -> str | None:
        """The dataset an evaluation names (its schema requires it); None for a drift report."""
        name = self.data.get("dataset")
        return name if isinstance(name, str) else None

    @property
    def when(self) -> str:
        """When it was measured (measured_at), or the date of its file name."""
        return str(self.data.get("measured_at") or self.date)


def drift_score(data: dict[str, Any] | None) -> float | None:
    score = (data or {}).get("drift_score")
    if isinstance(score, bool) or not isinstance(score, int | float):
        return None
    return float(score) if (data or {}).get("kind") == "drift" else None


def report_kind(file_name: str, data: dict[str, Any] | None = None) -> str | None:
    """A report's kind: what its content says, else its file name; None when not a report."""
    match = NAME.match(file_name)
    if match is None:
        return None
    kind = (data or {}).get("kind")
    if kind in KINDS:
        return str(kind)
    return match["kind"] if match["kind"] in KINDS else None


def summary(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """What the event log and the record keep of a report: the fields its schema defines."""
    return {key: data[key] for key in SUMMARY_KEYS[kind] if key in data}


def load_reports(
    folder: Path, display_folder: str, max_bytes: int = DEFAULT_MAX_BYTES
) -> tuple[list[Report], list[Finding]]:
    """Every report of a version folder, oldest first, and the findings of the invalid ones."""
    reports, findings = [], []
    directory = folder / REPORTS_DIR
    if not directory.is_dir() or directory.is_symlink():
        return [], []
    for path in sorted(directory.iterdir()):
        display = f"{display_folder}/{REPORTS_DIR}/{path.name}"
        match = NAME.match(path.name)
        if path.is_symlink() or not path.is_file():
            findings.append(error("report.not-a-file", f"{display} is not a regular file", display))
            continue
        if match is None or match["kind"] not in KINDS:
            findings.append(
                error(
                    "report.name",
                    f"{path.name}: a report is named <YYYY-MM-DD>-<kind>.yaml (kind: evaluation or "
                    "drift), optionally with -<n> before .yaml for several on one day",
                    display,
                )
            )
            continue
        try:
            dt.date.fromisoformat(match["date"])
        except ValueError:
            findings.append(
                error("report.name", f"{path.name}: {match['date']} is not a date", display)
            )
            continue
        loaded, found = load_yaml_file(path, display, max_bytes)
        if loaded is None:
            findings += found
            continue
        kind = loaded.data.get("kind")
        if kind != match["kind"]:
            findings.append(
                error(
                    "report.kind-mismatch",
                    f"the file name says {match['kind']}, but kind is {kind!r}; make them agree",
                    display,
                    loaded.position(("kind",)),
                )
            )
            continue
        found = validate_against(f"report/{kind}.json", loaded, display)
        if found:
            findings += found
            continue
        reports.append(Report(f"{REPORTS_DIR}/{path.name}", kind, match["date"], loaded))
    return sorted(reports, key=_chronological), findings


def _chronological(report: Report) -> tuple[dt.datetime, int, str]:
    """When it was measured, then its -<n> suffix as a number: file names alone sort
    `…-drift-2.yaml` before `…-drift.yaml`."""
    try:
        when = dt.datetime.fromisoformat(report.when.replace("Z", "+00:00"))
    except ValueError:
        when = dt.datetime.fromisoformat(report.date)
    when = when if when.tzinfo else when.replace(tzinfo=dt.UTC)
    suffix = NAME.match(report.path.rsplit("/", 1)[1])
    n = suffix["n"] if suffix and suffix["n"] else "0"
    return when, int(n) if n.isdigit() else 0, n
