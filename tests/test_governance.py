"""Governance in a real Git history: each tier's action on real drift and evaluation reports,
the ModelBlocked event, blocked status in the JSON and the HTML, reviews, new submissions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml
from cyclonedx.schema import SchemaVersion
from cyclonedx.validation.json import JsonStrictValidator

from registry.eventlog.chain import chain
from registry.eventlog.derive import derive
from registry.eventlog.state import replay, tree_state
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.registries import write_version
from tests.helpers import assert_spdx3_valid, commit_all, git, run, spdx3_validation, validate_json

MODEL = VALID_REAL_MODELS["nmp.tflite"]
REVIEW = {"approved_by": "risk-board@example.org", "approved_at": "2025-01-01", "ticket": "GOV-1"}
CONFIG = """\
name: Governance test
base_url: https://models.example.org/
governance:
  tiers:
    tier-3:
      signature_required: false   # signing has its own tests (test_signing.py)
"""


def add_version(root: Path, name: str, version: str, tier: str, **fields: Any) -> Path:
    data = manifest_data(MODEL, name, version)
    data.update(risk_tier=tier, **fields)
    return write_version(root, data, MODEL.path)


def edit_manifest(root: Path, name: str, version: str, **fields: Any) -> None:
    path = root / "models" / name / version / "manifest.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(fields)
    path.write_text(dump_manifest(data))


def drift(root: Path, name: str, version: str, date: str, score: float) -> None:
    report = {
        "kind": "drift",
        "measured_at": f"{date}T06:00:00Z",
        "drift_score": score,
        "window": "7d",
        "monitor": "evidently 0.4",
    }
    write_report(root, name, version, f"{date}-drift.yaml", report)


def evaluation(root: Path, name: str, version: str, date: str, passed: bool) -> None:
    report = {
        "kind": "evaluation",
        "run_id": f"eval-{date}",
        "evaluator": "ci",
        "evaluator_version": "2.1",
        "dataset": "speech",
        "metrics": {"accuracy": 0.91 if passed else 0.52},
        "passed": passed,
    }
    write_report(root, name, version, f"{date}-evaluation.yaml", report)


def write_report(root: Path, name: str, version: str, file: str, data: dict[str, Any]) -> None:
    folder = root / "models" / name / version / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file).write_text(yaml.safe_dump(data, sort_keys=False))


def findings(report: dict[str, Any], code: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["code"] == code]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One version per tier, then drift and evaluation reports, then a review."""
    root = tmp_path_factory.mktemp("governance") / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    datasets = {"datasets": [{"name": "speech"}]}
    add_version(root, "mon", "1.0.0", "tier-1", lineage=datasets)
    add_version(root, "rev", "1.0.0", "tier-2", governance={"review": REVIEW})
    add_version(root, "blk", "1.0.0", "tier-3", governance={"review": REVIEW})
    shas = {"publish": commit_all(root, "publish one version per tier", "2025-01-01T10:00:00Z")}
    drift(root, "mon", "1.0.0", "2025-02-01", 0.2)  # tier-1 threshold 0.15
    evaluation(root, "mon", "1.0.0", "2025-02-01", passed=False)
    drift(root, "rev", "1.0.0", "2025-02-01", 0.1)  # tier-2 threshold 0.08
    drift(root, "blk", "1.0.0", "2025-02-01", 0.05)  # tier-3 threshold 0.03
    shas["reports"] = commit_all(root, "monitoring reports", "2025-02-01T10:00:00Z")
    code, before_review = validate_json(root)
    edit_manifest(
        root, "rev", "1.0.0", governance={"review": {**REVIEW, "approved_at": "2025-02-02"}}
    )
    shas["review"] = commit_all(root, "review the drift of rev", "2025-02-02T10:00:00Z")
    drift(root, "blk", "1.0.0", "2025-03-01", 0.01)  # lower: the block stays
    shas["lower"] = commit_all(root, "blk drift back to normal", "2025-03-01T10:00:00Z")
    site = root.parent / "site"
    build = run("build", "--root", root, "--out", site)
    return {
        "root": root,
        "shas": shas,
        "before_review": (code, before_review),
        "build": build,
        "site": site,
    }


def test_each_tier_acts_on_its_drift_threshold(history: dict[str, Any]) -> None:
    code, report = history["before_review"]
    assert code == 1
    monitor = findings(report, "governance.drift-monitor")
    assert [f["file"] for f in monitor] == ["models/mon/1.0.0/manifest.yaml"]
    assert monitor[0]["severity"] == "warning" and "0.2" in monitor[0]["message"]
    assert monitor[0]["line"] is not None
    review = findings(report, "governance.review-required")
    assert [f["file"] for f in review] == ["models/rev/1.0.0/manifest.yaml"]
    assert review[0]["severity"] == "error" and "2025-02-01" in review[0]["message"]
    blocked = findings(report, "governance.blocked")
    assert [f["file"] for f in blocked] == ["models/blk/1.0.0/manifest.yaml"]
    assert blocked[0]["severity"] == "warning"  # published: blocked, not refused
    assert findings(report, "governance.evaluation-failed")[0]["severity"] == "warning"


def test_validate_text_shows_the_decision(history: dict[str, Any]) -> None:
    code, out, _ = run("validate", "--root", history["root"])
    assert code == 0, out
    assert "governance.blocked" in out and "consumers are refused" in out


def test_model_blocked_event_is_derived_once_and_sticks(history: dict[str, Any]) -> None:
    events = list(chain(derive(history["root"]).records))
    blocked = [e for e in events if e.type == "ModelBlocked"]
    assert [(e.model, e.commit) for e in blocked] == [("blk", history["shas"]["reports"])]
    assert blocked[0].payload["drift_score"] == 0.05
    assert blocked[0].payload["threshold"] == 0.03
    assert blocked[0].payload["report"] == "reports/2025-02-01-drift.yaml"
    drifts = [(e.model, e.payload["drift_score"]) for e in events if e.type == "DriftReported"]
    assert drifts == [("blk", 0.05), ("mon", 0.2), ("rev", 0.1), ("blk", 0.01)]
    assert [e.type for e in events if e.model == "mon" and e.type.startswith("Validation")] == [
        "ValidationFailed"
    ]
    state = replay(events)
    assert state == tree_state(history["root"])
    assert state.versions[("blk", "1.0.0")].status == "blocked"


def test_blocked_status_in_json_html_and_feed(history: dict[str, Any]) -> None:
    code, _, err = history["build"]
    assert code == 0, err
    site = history["site"]
    record = json.loads((site / "v1/models/blk/1.0.0/index.json").read_text())
    assert record["status"] == "blocked"
    governance = record["governance"]
    assert governance["decision"] == "block"
    assert governance["figures"]["blocking_drift_score"] == 0.05
    event = governance["blocked"]["event"]
    log = json.loads((site / "v1/events/1.json").read_text())["events"]
    assert log[event["seq"] - 1]["type"] == "ModelBlocked"
    assert log[event["seq"] - 1]["hash"] == event["hash"]
    assert record["nist_ai_rmf"]["manage"]["status"] == "blocked"
    assert "ModelBlocked" in [
        e["type"] for e in record["nist_ai_rmf"]["manage"]["lifecycle_events"]
    ]
    index = {m["name"]: m for m in json.loads((site / "v1/index.json").read_text())["models"]}
    assert index["blk"]["status"] == "blocked" and index["blk"]["decision"] == "block"
    model = json.loads((site / "v1/models/blk/index.json").read_text())
    assert model["status"] == "blocked"
    page = (site / "models/blk/1.0.0/index.html").read_text()
    assert "Blocked by governance:" in page and "0.05" in page and 'role="alert"' in page
    assert "blocked by governance" in (site / "models/blk/index.html").read_text()
    feed = feedparser.parse((site / "feed.xml").read_text())
    alerts = [e.title for e in feed.entries if "ALERT" in e.title]
    assert alerts and "blk@1.0.0" in alerts[0]


def test_monitor_flag_and_review_in_the_catalog(history: dict[str, Any]) -> None:
    site = history["site"]
    index = {m["name"]: m for m in json.loads((site / "v1/index.json").read_text())["models"]}
    assert index["mon"]["flags"] == ["drift", "evaluation-failed"]
    assert index["mon"]["decision"] == "allow" and index["mon"]["status"] == "active"
    home = (site / "index.html").read_text()
    for flag in ("drift", "evaluation-failed"):  # the ⚑ is hidden from screen readers
        assert f'<span aria-hidden="true">⚑</span> {flag}</span>' in home
    rev = json.loads((site / "v1/models/rev/1.0.0/index.json").read_text())["governance"]
    assert rev["decision"] == "review" and rev["review_status"] == "approved"
    assert rev["review"]["approved_at"] == "2025-02-02"
    assert any("reviewed by risk-board@example.org" in r for r in rev["reasons"])
    page = (site / "models/rev/1.0.0/index.html").read_text()
    assert "approved by risk-board@example.org on 2025-02-02" in page
    evidence = json.loads((site / "v1/models/mon/1.0.0/index.json").read_text())["nist_ai_rmf"]
    assert evidence["measure"]["drift_reports"] == ["reports/2025-02-01-drift.yaml"]
    assert evidence["measure"]["evaluation_passed"] is False
    assert evidence["map"]["datasets"] == ["speech"]
    assert "NIST AI RMF evidence" in (site / "models/mon/1.0.0/index.html").read_text()


def test_fetch_refuses_the_blocked_version(history: dict[str, Any], tmp_path: Path) -> None:
    code, _, err = run("fetch", "blk@1.0.0", "--registry", history["site"], "--to", tmp_path)
    assert code == 1 and "blocked" in err and "0.05" in err
    assert list(tmp_path.iterdir()) == []


def test_sboms_carry_the_risk_assessment_and_pass_their_validators(
    history: dict[str, Any],
) -> None:
    folder = history["site"] / "v1/models/blk/1.0.0"
    assert_spdx3_valid(spdx3_validation(folder / "sbom.spdx3.json"))
    graph = json.loads((folder / "sbom.spdx3.json").read_text())["@graph"]
    package = next(e for e in graph if e["type"] == "ai_AIPackage")
    assert package["ai_safetyRiskAssessment"] == "high"
    assert {"key": "drift_score", "value": "0.03"} in [
        {"key": d["key"], "value": d["value"]} for d in package["ai_metricDecisionThreshold"]
    ]
    statements = [e["statement"] for e in graph if e["type"] == "Annotation"]
    assert any("decision: block; status: blocked" in s for s in statements)
    tool = Path(sys.executable).parent / "pyspdxtools"
    spdx2 = subprocess.run([str(tool), "-i", str(folder / "sbom.spdx.json")], check=False)
    assert spdx2.returncode == 0
    text = (folder / "sbom.cdx.json").read_text()
    assert JsonStrictValidator(SchemaVersion.V1_6).validate_str(text) is None
    properties = {
        p["name"]: p["value"]
        for p in json.loads(text)["metadata"]["component"]["modelCard"]["properties"]
    }
    assert properties["modelreg:governance_decision"] == "block"
    assert properties["modelreg:status"] == "blocked"
    assert properties["modelreg:drift_score"] == "0.01"


def _clone(history: dict[str, Any], tmp_path: Path) -> Path:
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(history["root"]), str(clone))
    git(clone, "checkout", "-q", "-b", "submission")
    return clone


def test_new_tier3_submission_with_drift_fails(history: dict[str, Any], tmp_path: Path) -> None:
    clone = _clone(history, tmp_path)
    add_version(clone, "blk", "1.1.0", "tier-3", governance={"review": REVIEW})
    commit_all(clone, "blk 1.1.0", "2025-04-01T10:00:00Z")
    assert validate_json(clone, "--base", "main")[0] == 0
    drift(clone, "blk", "1.1.0", "2025-04-02", 0.04)
    commit_all(clone, "blk 1.1.0 drifts", "2025-04-02T10:00:00Z")
    code, report = validate_json(clone, "--base", "main")
    assert code == 1
    refused = findings(report, "governance.blocked")
    assert [(f["file"], f["severity"]) for f in refused] == [
        ("models/blk/1.0.0/manifest.yaml", "warning"),  # published: blocked
        ("models/blk/1.1.0/manifest.yaml", "error"),  # new: refused
    ]
    assert "new tier-3 submission" in refused[1]["message"]


def test_new_tier2_and_tier3_versions_need_a_review(
    history: dict[str, Any], tmp_path: Path
) -> None:
    clone = _clone(history, tmp_path)
    add_version(clone, "rev", "1.1.0", "tier-2")
    add_version(clone, "blk", "2.0.0", "tier-3")
    add_version(clone, "mon", "1.1.0", "tier-1", lineage={"datasets": [{"name": "speech"}]})
    code, report = validate_json(clone, "--base", "main")
    assert code == 1
    files = sorted(f["file"] for f in findings(report, "governance.review-required"))
    assert files == ["models/blk/2.0.0/manifest.yaml", "models/rev/1.1.0/manifest.yaml"]


def test_a_published_tier_may_rise_but_not_fall(history: dict[str, Any], tmp_path: Path) -> None:
    clone = _clone(history, tmp_path)
    edit_manifest(clone, "blk", "1.0.0", risk_tier="tier-1")
    edit_manifest(clone, "mon", "1.0.0", risk_tier="tier-2", governance={"review": REVIEW})
    code, report = validate_json(clone, "--base", "main")
    lowered = findings(report, "history.risk-tier-lowered")
    assert code == 1 and [f["file"] for f in lowered] == ["models/blk/1.0.0/manifest.yaml"]
    assert lowered[0]["line"] is not None


def test_a_policy_change_blocks_from_its_own_commit(
    history: dict[str, Any], tmp_path: Path
) -> None:
    clone = _clone(history, tmp_path)
    config = yaml.safe_load((clone / "registry.yaml").read_text())
    config["governance"]["tiers"]["tier-1"] = {"action": "block", "drift_threshold": 0.1}
    (clone / "registry.yaml").write_text(yaml.safe_dump(config))
    sha = commit_all(clone, "tier-1 now blocks", "2025-05-01T10:00:00Z")
    events = list(chain(derive(clone).records))
    blocked = [(e.model, e.commit) for e in events if e.type == "ModelBlocked"]
    assert blocked == [("blk", history["shas"]["reports"]), ("mon", sha)]
    assert replay(events) == tree_state(clone)
    # An invalid registry.yaml in history leaves the policy as it was.
    (clone / "registry.yaml").write_text("name: [unclosed\n")
    commit_all(clone, "broken config", "2025-05-02T10:00:00Z")
    assert [e.type for e in chain(derive(clone).records)][-1] == "ModelBlocked"


def test_a_looser_policy_does_not_lift_a_block(history: dict[str, Any], tmp_path: Path) -> None:
    clone = _clone(history, tmp_path)
    config = yaml.safe_load((clone / "registry.yaml").read_text())
    config["governance"]["tiers"]["tier-3"]["drift_threshold"] = 0.5
    (clone / "registry.yaml").write_text(yaml.safe_dump(config))
    commit_all(clone, "looser tier-3", "2025-05-01T10:00:00Z")
    assert validate_json(clone)[0] == 0  # nothing blocks under the new policy alone...
    site = tmp_path / "site"
    assert run("build", "--root", clone, "--out", site)[0] == 0
    governance = json.loads((site / "v1/models/blk/1.0.0/index.json").read_text())["governance"]
    assert governance["decision"] == "block"  # ... but the log's ModelBlocked stands
    assert any("blocked since 2025-02-01" in reason for reason in governance["reasons"])
    assert governance["blocked"]["event"] is not None


def test_reports_of_one_day_are_ordered_by_measurement(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "rev", "1.0.0", "tier-2", governance={"review": REVIEW})
    write_report(
        root,
        "rev",
        "1.0.0",
        "2025-07-01-drift.yaml",
        {
            "kind": "drift",
            "measured_at": "2025-07-01T06:00:00Z",
            "drift_score": 0.01,
            "window": "1d",
            "monitor": "m",
        },
    )
    write_report(
        root,
        "rev",
        "1.0.0",
        "2025-07-01-drift-2.yaml",
        {
            "kind": "drift",
            "measured_at": "2025-07-01T18:00:00Z",
            "drift_score": 0.5,
            "window": "1d",
            "monitor": "m",
        },
    )
    code, report = validate_json(root)
    assert code == 1
    assert "drift-2.yaml" in findings(report, "governance.review-required")[0]["message"]


def test_a_policy_change_revalidates_every_version(history: dict[str, Any], tmp_path: Path) -> None:
    clone = _clone(history, tmp_path)
    config = yaml.safe_load((clone / "registry.yaml").read_text())
    config["governance"]["tiers"]["tier-3"] = {"signature_required": True}
    (clone / "registry.yaml").write_text(yaml.safe_dump(config))
    code, report = validate_json(clone, "--changed-since", "main")
    assert report["summary"]["versions"] == 3
    assert code == 1 and findings(report, "signing.required")
