"""Aliases (models/<name>/aliases.yaml) in real Git histories: assigned, moved and removed as events
of the hash-chained log, answered for any moment by `modelreg events --alias --at` and by the
published log alone, governed (protected aliases, no alias on a deprecated or blocked version),
published as aliases.json and in each record, and fetched as NAME@ALIAS."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import feedparser
import pytest
import yaml

from registry.eventlog.chain import chain
from registry.eventlog.derive import derive
from registry.eventlog.state import replay, tree_state
from registry.infra.schemafiles import validator
from tests.factories.manifests import VALID_REAL_MODELS, dump_manifest, manifest_data
from tests.factories.registries import write_version
from tests.helpers import commit_all, findings, git, run, validate_json

MODEL = VALID_REAL_MODELS["nmp.tflite"]
REVIEW = {"approved_by": "risk-board@example.org", "approved_at": "2026-01-02"}
CONFIG = """\
name: Alias test
base_url: https://models.example.org/
governance:
  tiers:
    tier-3:
      signature_required: false   # signatures have their own tests (test_signing.py)
"""


def add_version(root: Path, name: str, version: str, tier: str = "tier-1", **fields: Any) -> None:
    data = manifest_data(MODEL, name, version)
    data.update(risk_tier=tier, lineage={"datasets": [{"name": "speech"}]}, **fields)
    write_version(root, data, MODEL.path)


def set_aliases(root: Path, name: str, text: str) -> Path:
    path = root / "models" / name / "aliases.yaml"
    path.write_text(text)
    return path


def report(root: Path, name: str, version: str, date: str, **data: Any) -> None:
    folder = root / "models" / name / version / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    kind = data["kind"]
    (folder / f"{date}-{kind}.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def evaluation(root: Path, name: str, version: str, date: str, passed: bool = True) -> None:
    report(
        root,
        name,
        version,
        date,
        kind="evaluation",
        run_id=f"eval-{date}",
        evaluator="ci",
        evaluator_version="2.1",
        dataset="speech",
        metrics={"accuracy": 0.9 if passed else 0.5},
        passed=passed,
    )


def drift(root: Path, name: str, version: str, date: str, score: float) -> None:
    report(
        root,
        name,
        version,
        date,
        kind="drift",
        measured_at=f"{date}T06:00:00Z",
        drift_score=score,
        window="7d",
        monitor="evidently 0.4",
    )


def edit(root: Path, name: str, version: str, **fields: Any) -> None:
    path = root / "models" / name / version / "manifest.yaml"
    data = yaml.safe_load(path.read_text())
    data.update(fields)
    path.write_text(dump_manifest(data))


def events_of(root: Path) -> list[Any]:
    return list(chain(derive(root).records))


def alias_events(root: Path) -> list[tuple[str, str, str, Any, Any, Any]]:
    return [
        (e.type, e.model, e.payload["alias"], e.payload["from"], e.payload["to"], e.version)
        for e in events_of(root)
        if e.type.startswith("Alias")
    ]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """m (tier-1): 1.0.0 and 1.1.0; production and staging assigned, production moved, staging
    removed, one commit each."""
    root = tmp_path_factory.mktemp("aliases") / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "m", "1.0.0")
    add_version(root, "m", "1.1.0")
    commit_all(root, "two versions", "2026-01-10T09:00:00+00:00")
    set_aliases(root, "m", 'production: "1.0.0"\nstaging: "1.1.0"\n')
    commit_all(root, "assign", "2026-02-01T09:00:00+00:00", author="Release Manager")
    set_aliases(root, "m", 'production: "1.1.0"\nstaging: "1.1.0"\n')
    commit_all(root, "promote 1.1.0", "2026-03-15T09:00:00+00:00")
    set_aliases(root, "m", '# staging is retired\nproduction: "1.1.0"\n')
    commit_all(root, "retire staging", "2026-04-01T09:00:00+00:00")
    return root


def test_assign_move_remove_are_events_of_the_log(history: Path) -> None:
    assert alias_events(history) == [
        ("AliasAssigned", "m", "production", None, "1.0.0", "1.0.0"),
        ("AliasAssigned", "m", "staging", None, "1.1.0", "1.1.0"),
        ("AliasMoved", "m", "production", "1.0.0", "1.1.0", "1.1.0"),
        ("AliasRemoved", "m", "staging", "1.1.0", None, "1.1.0"),
    ]
    events = events_of(history)
    assigned = next(e for e in events if e.type == "AliasAssigned")
    assert assigned.author == "Release Manager" and assigned.timestamp == "2026-02-01T09:00:00Z"
    assert assigned.commit == git(history, "rev-parse", "HEAD~2").strip()
    removed = next(e for e in events if e.type == "AliasRemoved")
    assert removed.payload["reason"] == "unassigned"
    for event in events:  # every alias event fits the published event schema
        assert not list(validator("api/event.json").iter_errors(event.to_json()))
    # The two readings of the registry agree: the log replayed, and the tree.
    state = replay(events)
    assert state == tree_state(history)
    assert state.aliases == {"m": {"production": "1.1.0"}}


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("2026-01-15", "no version"),
        ("2026-02-01T08:59:59Z", "no version"),
        ("2026-02-01", "1.0.0"),  # a date is its end: the assignment at 09:00 counts
        ("2026-03-01", "1.0.0"),
        ("2026-03-15T09:59:59+01:00", "1.0.0"),  # 08:59:59 UTC, a second before it moved
        ("2026-03-15T10:00:00+01:00", "1.1.0"),  # the very second it moved
        ("2026-12-31", "1.1.0"),
    ],
)
def test_which_version_was_production_at_a_moment(
    history: Path, moment: str, expected: str
) -> None:
    code, out, err = run(
        "events", "--root", history, "--model", "m", "--alias", "production", "--at", moment
    )
    assert code == 0, err
    assert out.split(": ", 1)[1].split(" (")[0].strip() == expected, out


def test_the_published_log_alone_answers_the_same(history: Path, tmp_path: Path) -> None:
    """docs/event-log.md's rule, applied to the published events.json without modelreg."""
    site = tmp_path / "site"
    code, _, err = run("build", "--root", history, "--out", site)
    assert code == 0, err
    assert run("verify-log", site / "v1/log/head.json")[0] == 0
    events = json.loads((site / "v1/events.json").read_text())["events"]

    def production_at(moment: str) -> str | None:
        named = None
        for event in sorted(events, key=lambda e: e["seq"]):
            if (
                event["type"] in ("AliasAssigned", "AliasMoved", "AliasRemoved")
                and event["model"] == "m"
                and event["payload"]["alias"] == "production"
                and event["timestamp"] <= moment
            ):
                named = event["payload"]["to"]
        return named

    assert production_at("2026-03-01T00:00:00Z") == "1.0.0"
    assert production_at("2026-03-16T00:00:00Z") == "1.1.0"
    code, out, _ = run(
        "events",
        "--root",
        history,
        "--model",
        "m",
        "--alias",
        "production",
        "--at",
        "2026-03-01T00:00:00Z",
        "--json",
    )
    assert json.loads(out)["version"] == production_at("2026-03-01T00:00:00Z")
    # aliases.json, each record and the model page say the same.
    aliases = json.loads((site / "v1/models/m/aliases.json").read_text())
    assert not list(validator("api/model-aliases.json").iter_errors(aliases))
    assert aliases["aliases"] == {
        "production": {
            "version": "1.1.0",
            "url": "1.1.0/index.json",
            "since": "2026-03-15T09:00:00Z",
            "seq": aliases["aliases"]["production"]["seq"],
            "commit": git(history, "rev-parse", "HEAD~1").strip(),
        }
    }
    assert [h["type"] for h in aliases["history"]] == [
        "AliasAssigned",
        "AliasAssigned",
        "AliasMoved",
        "AliasRemoved",
    ]
    record = json.loads((site / "v1/models/m/1.1.0/index.json").read_text())
    older = json.loads((site / "v1/models/m/1.0.0/index.json").read_text())
    assert record["aliases"] == ["production"] and older["aliases"] == []
    model_page = (site / "models/m/index.html").read_text()
    assert "production" in model_page and "moved from 1.0.0 to 1.1.0" in model_page
    version_page = (site / "models/m/1.1.0/index.html").read_text()
    assert "production" in version_page


def test_fetch_by_alias(history: Path, tmp_path: Path, serve: Any) -> None:
    site = tmp_path / "site"
    assert run("build", "--root", history, "--out", site)[0] == 0
    url = serve(site)
    code, out, err = run("fetch", "m@production", "--registry", url + "v1/", "--to", tmp_path / "a")
    assert code == 0, err
    assert "m@1.1.0" in out
    assert (tmp_path / "a" / MODEL.path.name).read_bytes() == MODEL.path.read_bytes()
    code, _, err = run("fetch", "m@staging", "--registry", url, "--to", tmp_path / "b")
    assert code == 1 and "m has no alias 'staging' (aliases: production)" in err
    assert not (tmp_path / "b").exists()
    # An aliases.json that names a version whose record does not list the alias: refused.
    document = json.loads((site / "v1/models/m/aliases.json").read_text())
    document["aliases"]["production"]["version"] = "1.0.0"
    (site / "v1/models/m/aliases.json").write_text(json.dumps(document))
    code, _, err = run("fetch", "m@production", "--registry", url, "--to", tmp_path / "c")
    assert code == 1 and "registry is inconsistent" in err


def test_invalid_alias_files_name_the_line(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "m", "1.0.0")
    set_aliases(root, "m", 'production: "1.0.0"\nProd: "1.0.0"\nlatest: "1.0.0"\nbeta: 1.0\n')
    code, result = validate_json(root)
    assert code == 1
    found = {(f["line"], f["message"].split(";")[0]) for f in findings(result, "alias.invalid")}
    assert found == {
        (
            2,
            "`Prod` is not an alias name: a lowercase letter, then lowercase letters, digits and "
            "`-`, at most 64 characters (production, staging, champion)",
        ),
        (3, "`latest` is reserved: the catalog computes it (the highest active release)"),
        (4, "version `1.0` is read as a number"),
    }
    assert all(f["file"] == "models/m/aliases.yaml" for f in result["findings"])
    set_aliases(root, "m", 'production: "1.0.0"\nstaging: "2.0.0"\n')
    code, result = validate_json(root)
    [unknown] = findings(result, "alias.unknown-version")
    assert code == 1 and unknown["line"] == 2 and "not a version of m" in unknown["message"]


def test_a_deprecated_version_holds_no_alias(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "m", "1.0.0")
    add_version(root, "m", "1.1.0")
    set_aliases(root, "m", 'production: "1.0.0"\n')
    commit_all(root, "one", "2026-01-10T09:00:00+00:00")
    deprecation = {"reason": "superseded", "effective_at": "2026-02-01", "redirect_to": "m@1.1.0"}
    edit(root, "m", "1.0.0", status="deprecated", deprecation=deprecation)
    code, result = validate_json(root)
    [refused] = findings(result, "alias.unusable-version")
    assert code == 1 and "deprecated" in refused["message"] and refused["line"] == 1
    set_aliases(root, "m", 'production: "1.1.0"\n')  # moved in the same change: accepted
    code, result = validate_json(root)
    assert code == 0, result["findings"]
    commit_all(root, "deprecate 1.0.0", "2026-02-01T09:00:00+00:00")
    types = [(e.type, e.version) for e in events_of(root)][-2:]
    assert types == [("ModelDeprecated", "1.0.0"), ("AliasMoved", "1.1.0")]


def test_a_protected_alias_needs_what_the_tier_requires(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "g", "1.0.0", tier="tier-2", governance={"review": REVIEW})
    commit_all(root, "tier-2 model", "2026-01-10T09:00:00+00:00")
    set_aliases(root, "g", 'staging: "1.0.0"\nproduction: "1.0.0"\n')
    code, result = validate_json(root)
    [refused] = findings(result, "alias.protected")  # staging is not protected
    assert code == 1 and refused["line"] == 2
    assert "protected for tier-2 models" in refused["message"]
    assert "a passed evaluation report" in refused["message"]
    evaluation(root, "g", "1.0.0", "2026-01-05", passed=False)
    code, result = validate_json(root)
    assert code == 1 and "2026-01-05-evaluation.yaml, failed" in str(
        findings(result, "alias.protected")
    )
    evaluation(root, "g", "1.0.0", "2026-01-06", passed=True)
    drift(root, "g", "1.0.0", "2026-01-07", 0.01)  # measured after the review of 2026-01-02
    code, result = validate_json(root)
    [refused] = findings(result, "alias.protected")
    assert code == 1 and "newer than its latest drift report" in refused["message"]
    edit(root, "g", "1.0.0", governance={"review": {**REVIEW, "approved_at": "2026-01-08"}})
    code, result = validate_json(root)
    assert code == 0, result["findings"]
    commit_all(root, "promote", "2026-01-09T09:00:00+00:00")
    # Published, then a new drift report: the assignment stands, pointed out as a warning.
    drift(root, "g", "1.0.0", "2026-01-20", 0.02)
    commit_all(root, "drift", "2026-01-20T09:00:00+00:00")
    code, result = validate_json(root)
    [stale] = findings(result, "alias.protected")
    assert code == 0 and stale["severity"] == "warning"
    # A version of a tier that requires a signature it lacks cannot hold one at all.
    (root / "registry.yaml").write_text("name: Alias test\n")  # tier-3 signatures required
    add_version(root, "s", "1.0.0", tier="tier-3", governance={"review": REVIEW})
    set_aliases(root, "s", 'production: "1.0.0"\n')
    code, result = validate_json(root)
    assert code == 1 and findings(result, "alias.unusable-version")


def test_blocking_a_version_removes_its_aliases_with_an_alert(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "b", "1.0.0", tier="tier-3", governance={"review": REVIEW})
    add_version(root, "b", "1.1.0", tier="tier-3", governance={"review": REVIEW})
    for version in ("1.0.0", "1.1.0"):
        evaluation(root, "b", version, "2026-01-03")
    set_aliases(root, "b", 'production: "1.0.0"\nstaging: "1.1.0"\n')
    commit_all(root, "release", "2026-01-10T09:00:00+00:00")
    assert validate_json(root)[0] == 0
    drift(root, "b", "1.0.0", "2026-02-01", 0.5)  # over tier-3's 0.03: blocked
    commit_all(root, "drift report", "2026-02-01T09:00:00+00:00")
    last = [(e.type, e.version, dict(e.payload)) for e in events_of(root)][-2:]
    assert last[0][0] == "ModelBlocked"
    assert last[1] == (
        "AliasRemoved",
        "1.0.0",
        {"alias": "production", "from": "1.0.0", "to": None, "reason": "blocked"},
    )
    assert replay(events_of(root)) == tree_state(root)
    code, result = validate_json(root)
    [stale] = findings(result, "alias.blocked-version")
    assert code == 0 and stale["severity"] == "warning" and stale["line"] == 1
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site)
    assert code == 0, err
    aliases = json.loads((site / "v1/models/b/aliases.json").read_text())
    assert list(aliases["aliases"]) == ["staging"]
    feed = feedparser.parse((site / "feed.xml").read_text())
    assert any(
        e.title == "AliasRemoved: ALERT b@production removed from 1.0.0: 1.0.0 is blocked"
        for e in feed.entries
    ), [e.title for e in feed.entries]
    # Moving an alias onto the blocked version is a change, and refused.
    set_aliases(root, "b", 'production: "1.1.0"\nstaging: "1.0.0"\n')
    code, result = validate_json(root)
    [refused] = findings(result, "alias.blocked-version")
    assert code == 1 and refused["severity"] == "error" and refused["line"] == 2


def test_a_pull_request_that_only_moves_an_alias(tmp_path: Path) -> None:
    """--changed-since validates the version the alias now names, and judges the move."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "g", "1.0.0", tier="tier-2", governance={"review": REVIEW})
    add_version(root, "g", "1.1.0", tier="tier-2", governance={"review": REVIEW})
    evaluation(root, "g", "1.0.0", "2026-01-03")
    set_aliases(root, "g", 'production: "1.0.0"\n')
    commit_all(root, "release", "2026-01-10T09:00:00+00:00")
    git(root, "checkout", "-q", "-b", "promote")
    set_aliases(root, "g", 'production: "1.1.0"\n')
    commit_all(root, "promote 1.1.0", "2026-01-11T09:00:00+00:00")
    code, result = validate_json(root, "--base", "main", "--changed-since", "main")
    assert code == 1
    assert [r["id"] for r in result["versions"]] == ["g@1.1.0"]
    [refused] = findings(result, "alias.protected")
    assert "a passed evaluation report" in refused["message"]


def test_codeowners_route_aliases(history: Path) -> None:
    config = CONFIG + "    tier-1:\n      reviewers: ['@org/release']\n"
    (history / "registry.yaml").write_text(config)
    try:
        assert run("codeowners", "--root", history)[0] == 0
        text = (history / ".github/CODEOWNERS").read_text()
        assert "/models/m/aliases.yaml @org/release" in text.splitlines()
    finally:
        git(history, "checkout", "-q", "--", "registry.yaml")
        (history / ".github/CODEOWNERS").unlink()


def test_what_an_attacker_tried(tmp_path: Path) -> None:
    """A protected alias is judged by the model's tier, not by a lower tier a pre-release of
    the model declares; a newline does not make `production` another alias."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "g", "1.0.0", tier="tier-2", governance={"review": REVIEW})
    evaluation(root, "g", "1.0.0", "2026-01-03")
    set_aliases(root, "g", 'production: "1.0.0"\n')
    commit_all(root, "release", "2026-01-10T09:00:00+00:00")
    add_version(root, "g", "1.0.0-alpha", tier="tier-1")
    set_aliases(root, "g", 'production: "1.0.0-alpha"\n')
    code, result = validate_json(root)
    [refused] = findings(result, "alias.protected")
    assert code == 1 and "protected for tier-2 models" in refused["message"]
    set_aliases(root, "g", '"production\\n": "1.0.0-alpha"\n')
    code, result = validate_json(root)
    [invalid] = findings(result, "alias.invalid")
    assert code == 1 and "is not an alias name" in invalid["message"]


def test_an_alias_on_an_invalid_version_does_not_stop_allow_invalid(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "m", "1.0.0")
    add_version(root, "m", "1.1.0", license="NOT-A-LICENSE")
    set_aliases(root, "m", 'production: "1.0.0"\nstaging: "1.1.0"\n')
    commit_all(root, "one good, one bad", "2026-01-10T09:00:00+00:00")
    code, result = validate_json(root)
    [unusable] = findings(result, "alias.unusable-version")
    assert code == 1 and unusable["severity"] == "warning" and unusable["line"] == 2
    site = tmp_path / "site"
    code, _, err = run("build", "--root", root, "--out", site, "--allow-invalid")
    assert code == 0, err
    aliases = json.loads((site / "v1/models/m/aliases.json").read_text())
    assert list(aliases["aliases"]) == ["production"]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        ("0999-01-01", "no version"),  # a 3-digit year no longer sorts after every timestamp
        ("20260401", "1.1.0"),  # an ISO date without dashes is a date too: its end
    ],
)
def test_odd_moments(history: Path, moment: str, expected: str) -> None:
    code, out, err = run(
        "events", "--root", history, "--model", "m", "--alias", "production", "--at", moment
    )
    assert code == 0, err
    assert out.split(": ", 1)[1].split(" (")[0].strip() == expected, out


def test_an_out_of_range_moment_is_a_usage_error(history: Path) -> None:
    code, _, err = run(
        "events", "--root", history, "--model", "m", "--alias", "production",
        "--at", "9999-12-31T23:59:59-01:00",
    )  # fmt: skip
    assert code == 2 and "--at" in err and "internal error" not in err


def test_since_does_not_hide_the_assignment_at_a_moment(history: Path) -> None:
    code, out, _ = run(
        "events", "--root", history, "--model", "m", "--alias", "production",
        "--since", "2026-04-01", "--at", "2026-12-31",
    )  # fmt: skip
    assert code == 0 and ": 1.1.0 (" in out


def test_a_future_dated_evaluation_cannot_stand_in_for_the_latest(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(CONFIG)
    add_version(root, "g", "1.0.0", tier="tier-2", governance={"review": REVIEW})
    evaluation(root, "g", "1.0.0", "2026-01-03", passed=False)
    evaluation(root, "g", "1.0.0", "2099-01-01", passed=True)
    set_aliases(root, "g", 'production: "1.0.0"\n')
    code, result = validate_json(root)
    [future] = findings(result, "report.future-date")
    assert code == 1 and future["file"] == "models/g/1.0.0/reports/2099-01-01-evaluation.yaml"


def test_diff_takes_aliases_locally(history: Path) -> None:
    code, out, err = run("diff", "m@1.0.0", "m@production", "--root", history)
    assert code == 0, err
    assert out.startswith("m@1.0.0 -> m@1.1.0")
    code, _, err = run("diff", "m@1.0.0", "m@staging", "--root", history)
    assert code == 1 and "names no such alias (aliases: production)" in err


def test_a_pinned_log_decides_what_an_alias_names(history: Path, tmp_path: Path) -> None:
    """aliases.json is not covered by the log's hash chain: with --log-head, the alias must name
    the same version in the pinned log."""
    site = tmp_path / "site"
    assert run("build", "--root", history, "--out", site)[0] == 0
    head = json.loads((site / "v1/log/head.json").read_text())
    pin = f"{head['count']}:{head['head']}"
    code, out, err = run("fetch", "m@production", "--registry", site, "--to", tmp_path / "a",
                         "--log-head", pin)  # fmt: skip
    assert code == 0 and "m@1.1.0" in out, err
    # A hostile copy of the site: aliases.json and 1.0.0's record both say production = 1.0.0.
    aliases = site / "v1/models/m/aliases.json"
    document = json.loads(aliases.read_text())
    document["aliases"]["production"].update(version="1.0.0", url="1.0.0/index.json")
    aliases.write_text(json.dumps(document))
    record_path = site / "v1/models/m/1.0.0/index.json"
    record = json.loads(record_path.read_text())
    record["aliases"] = ["production"]
    record_path.write_text(json.dumps(record))
    code, _, err = run("fetch", "m@production", "--registry", site, "--to", tmp_path / "b",
                       "--log-head", pin)  # fmt: skip
    assert code == 1 and "the pinned log (up to seq" in err and "names 1.1.0" in err
    assert not (tmp_path / "b").exists()
