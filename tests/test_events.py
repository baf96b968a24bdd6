"""The event log from real Git histories: events, hash chain, replay, publication, tampering."""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import feedparser
import pytest

from registry.build.site import eventpages
from registry.eventlog.chain import GENESIS, canonical, chain, verify_chain
from registry.eventlog.derive import derive
from registry.eventlog.state import replay, tree_state
from tests.factories.manifests import VALID_REAL_MODELS
from tests.factories.registries import add_report, add_version, edit_manifest
from tests.helpers import GIT_IDENTITY, PROJECT, commit_all, git, merge, run

MODEL = VALID_REAL_MODELS["nmp.tflite"]


def events_of(root: Path) -> list[Any]:
    return list(chain(derive(root).records))


@pytest.fixture
def history(tmp_path: Path) -> dict[str, Any]:
    """A registry whose history holds every kind of event, a merge and a Latin-1 author name
    (git re-encodes it to UTF-8 in its output; anything it cannot would become U+FFFD)."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text(
        "name: Events test\nbase_url: https://models.example.org/\n"
    )
    shas = {}
    add_version(root, "alpha", "1.0.0")
    shas["register"] = commit_all(root, "register alpha", "2025-01-01T10:00:00+00:00")
    add_version(root, "alpha", "1.1.0", lineage={"datasets": [{"name": "holdout"}]})
    shas["version"] = commit_all(root, "alpha 1.1.0", "2025-01-02T10:00:00+00:00")
    edit_manifest(root, "alpha", "1.0.0", description="Now with a description.", tags=["audio"])
    shas["edit"] = commit_all(root, "describe alpha 1.0.0", "2025-01-03T10:00:00+00:00")
    add_report(
        root,
        "alpha",
        "1.1.0",
        "2025-01-04-evaluation.yaml",
        {
            "kind": "evaluation",
            "run_id": "run-7",
            "evaluator": "ci",
            "evaluator_version": "1.0",
            "dataset": "holdout",
            "metrics": {"f1": 0.91},
            "passed": True,
        },
    )
    add_report(
        root,
        "alpha",
        "1.1.0",
        "2025-01-04-drift.yaml",
        {
            "kind": "drift",
            "measured_at": "2025-01-04T00:00:00Z",
            "drift_score": 0.02,
            "window": "7d",
            "monitor": "evidently",
        },
    )
    shas["reports"] = commit_all(root, "reports", "2025-01-04T10:00:00+00:00")
    edit_manifest(
        root,
        "alpha",
        "1.0.0",
        status="deprecated",
        deprecation={
            "reason": "superseded",
            "redirect_to": "alpha@1.1.0",
            "effective_at": "2025-01-05",
        },
    )
    shas["deprecate"] = commit_all(root, "deprecate", "2025-01-05T10:00:00+00:00")
    git(root, "checkout", "-q", "-b", "feature")
    add_version(root, "beta", "1.0.0")
    commit_all(root, "beta on a branch", "2025-01-06T10:00:00+00:00")
    git(root, "checkout", "-q", "main")
    merge(root, "feature", "merge feature", "2025-01-07T10:00:00+00:00")
    shas["merge"] = git(root, "rev-parse", "HEAD").strip()
    edit_manifest(root, "beta", "1.0.0", tags=["beta"])
    env = {
        **os.environb,
        **{k.encode(): v.encode() for k, v in GIT_IDENTITY.items()},
        b"GIT_AUTHOR_NAME": b"Jos\xe9 Latin",
        b"GIT_AUTHOR_DATE": b"2025-01-08T10:00:00+00:00",
        b"GIT_COMMITTER_DATE": b"2025-01-08T10:00:00+00:00",
    }
    subprocess.run(["git", "commit", "-q", "-am", "latin-1 author"], cwd=root, env=env, check=True)
    shas["latin"] = git(root, "rev-parse", "HEAD").strip()
    return {"root": root, "shas": shas}


def test_events_of_a_real_history(history: dict[str, Any]) -> None:
    root, shas = history["root"], history["shas"]
    events = events_of(root)
    summary = [(e.seq, e.type, e.model, e.version, e.commit, e.author, e.timestamp) for e in events]
    assert summary == [
        (
            1,
            "ModelRegistered",
            "alpha",
            "1.0.0",
            shas["register"],
            "Registry Tester",
            "2025-01-01T10:00:00Z",
        ),
        (
            2,
            "ModelVersioned",
            "alpha",
            "1.1.0",
            shas["version"],
            "Registry Tester",
            "2025-01-02T10:00:00Z",
        ),
        (
            3,
            "MetadataUpdated",
            "alpha",
            "1.0.0",
            shas["edit"],
            "Registry Tester",
            "2025-01-03T10:00:00Z",
        ),
        (
            4,
            "DriftReported",
            "alpha",
            "1.1.0",
            shas["reports"],
            "Registry Tester",
            "2025-01-04T10:00:00Z",
        ),
        (
            5,
            "ValidationPassed",
            "alpha",
            "1.1.0",
            shas["reports"],
            "Registry Tester",
            "2025-01-04T10:00:00Z",
        ),
        (
            6,
            "ModelDeprecated",
            "alpha",
            "1.0.0",
            shas["deprecate"],
            "Registry Tester",
            "2025-01-05T10:00:00Z",
        ),
        (
            7,
            "ModelRegistered",
            "beta",
            "1.0.0",
            shas["merge"],
            "Registry Tester",
            "2025-01-07T10:00:00Z",
        ),
        (
            8,
            "MetadataUpdated",
            "beta",
            "1.0.0",
            shas["latin"],
            "José Latin",
            "2025-01-08T10:00:00Z",
        ),
    ]
    assert events[0].payload["manifest"]["model_name"] == "alpha"
    assert dict(events[2].payload) == {
        "changes": {"description": "Now with a description.", "tags": ["audio"]},
        "removed": [],
        "unreadable": False,
    }
    assert dict(events[3].payload) == {
        "report": "reports/2025-01-04-drift.yaml",
        "measured_at": "2025-01-04T00:00:00Z",
        "drift_score": 0.02,
        "window": "7d",
        "monitor": "evidently",
    }
    assert events[4].payload["passed"] is True and events[4].payload["run_id"] == "run-7"
    assert events[5].payload["changes"]["deprecation"]["redirect_to"] == "alpha@1.1.0"
    assert events[0].prev == GENESIS
    for before, after in itertools.pairwise(events):
        assert after.prev == before.hash
    assert verify_chain([e.to_json() for e in events]) is None


def test_replay_equals_the_tree(history: dict[str, Any]) -> None:
    root = history["root"]
    state = replay(events_of(root))
    assert state == tree_state(root)
    assert state.versions[("alpha", "1.0.0")].status == "deprecated"
    assert state.models == {"alpha", "beta"}


def test_hash_is_sha256_of_canonical_json(history: dict[str, Any]) -> None:
    import hashlib

    event = events_of(history["root"])[2].to_json()
    body = {k: v for k, v in event.items() if k != "hash"}
    assert (
        canonical(body)
        == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    )
    assert hashlib.sha256(canonical(body)).hexdigest() == event["hash"]


def _build(root: Path, out: Path, *extra: str) -> tuple[int, str, str]:
    return run("build", "--root", root, "--out", out, *extra)


def test_published_log_feed_and_third_party_verification(
    history: dict[str, Any], tmp_path: Path
) -> None:
    root = history["root"]
    (root / "registry.yaml").write_text(
        "name: Events test\nbase_url: https://models.example.org/\nevents_page_size: 10\n"
    )
    for version in ("1.2.0", "1.3.0", "1.4.0"):
        add_version(root, "alpha", version)
        commit_all(root, f"alpha {version}", "2025-01-09T10:00:00+00:00")
    add_version(root, "gamma", "0.1.0")
    commit_all(root, "gamma", "2025-01-10T10:00:00+00:00")
    site = tmp_path / "site"
    code, _, err = _build(root, site)
    assert code == 0, err
    index = json.loads((site / "v1/events.json").read_text())
    assert index["count"] == 12
    assert [(p["url"], p["first_seq"], p["count"], p["complete"]) for p in index["pages"]] == [
        ("events/1.json", 1, 10, True),
        ("events/2.json", 11, 2, False),
    ]
    assert [e["seq"] for e in index["events"]] == [11, 12]
    head = json.loads((site / "v1/log/head.json").read_text())
    assert head["count"] == 12 and head["head"] == index["head"] and head["partial"] is False
    model = json.loads((site / "v1/models/alpha/index.json").read_text())
    assert [e["type"] for e in model["events"]][:3] == [
        "ModelRegistered",
        "ModelVersioned",
        "MetadataUpdated",
    ]
    feed = feedparser.parse((site / "feed.xml").read_bytes())
    assert feed.bozo == 0 and feed.version == "atom10"
    assert len(feed.entries) == 12
    assert feed.entries[0].title.startswith("ModelRegistered: gamma@0.1.0")
    timeline = (site / "timeline.html").read_text()
    assert "ModelDeprecated" in timeline and "alpha@1.0.0 deprecated: superseded" in timeline
    assert "ModelDeprecated" in (site / "models/alpha/1.0.0/index.html").read_text()
    code, out, _ = run("verify-log", site / "v1/log/head.json")
    assert code == 0 and "12 events, chain intact" in out
    # The verifier printed in docs/event-log.md works without modelreg.
    doc = (PROJECT / "docs/event-log.md").read_text()
    snippet = (
        doc.split("```python\n", 1)[1]
        .split("```", 1)[0]
        .replace("https://models.example.org/v1/events.json", (site / "v1/events.json").as_uri())
    )
    done = subprocess.run(
        ["python3", "-I", "-c", snippet], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr


def _tamper(site: Path, page: int, edit: Any) -> None:
    path = site / f"v1/events/{page}.json"
    document = json.loads(path.read_text())
    edit(document["events"])
    path.write_text(json.dumps(document))


@pytest.mark.parametrize(
    ("name", "edit", "seq"),
    [
        ("changed byte", lambda ev: ev[3]["payload"].update(drift_score=0.01), 4),
        ("changed author", lambda ev: ev[1].update(author="Mallory"), 2),
        ("deleted event", lambda ev: ev.pop(2), 3),
        ("reordered", lambda ev: ev.insert(1, ev.pop(2)), 2),
        ("rehashed but prev broken", lambda ev: ev.pop(0), 1),
    ],
)
def test_tampering_is_caught(
    history: dict[str, Any], tmp_path: Path, name: str, edit: Any, seq: int
) -> None:
    root = history["root"]
    site = tmp_path / "published"
    assert _build(root, site)[0] == 0
    _tamper(site, 1, edit)
    code, out, _ = run("verify-log", site / "v1/events.json")
    assert code == 1
    assert f"broken at seq {seq}" in out
    code, _, err = _build(root, tmp_path / "next", "--previous-log", str(site / "v1/log/head.json"))
    assert code == 1
    assert "previous log" in err and f"seq {seq}" in err


def test_force_pushed_rewrite_is_refused(history: dict[str, Any], tmp_path: Path) -> None:
    root, shas = history["root"], history["shas"]
    published = tmp_path / "published"
    assert _build(root, published)[0] == 0
    # Someone rewrites history: drop everything after "edit" and commit something else instead.
    git(root, "reset", "-q", "--hard", shas["edit"])
    edit_manifest(root, "alpha", "1.0.0", description="A different story.")
    commit_all(root, "rewritten", "2025-02-01T10:00:00+00:00")
    code, _, err = _build(
        root, tmp_path / "next", "--previous-log", str(published / "v1/log/head.json")
    )
    assert code == 1
    assert "does not extend the one published" in err and "from seq 4 on" in err
    # Extending the published history is fine.
    git(root, "reset", "-q", "--hard", shas["latin"])
    add_version(root, "alpha", "2.0.0")
    commit_all(root, "alpha 2.0.0", "2025-02-02T10:00:00+00:00")
    code, _, err = _build(
        root, tmp_path / "next", "--previous-log", (published / "v1/log/head.json").as_uri()
    )
    assert code == 0, err


def test_shallow_clone(history: dict[str, Any], tmp_path: Path) -> None:
    clone = tmp_path / "shallow"
    subprocess.run(
        ["git", "clone", "-q", "--depth", "1", history["root"].as_uri(), str(clone)],
        check=True,
        capture_output=True,
    )
    code, _, err = _build(clone, tmp_path / "site")
    assert code == 1 and "shallow clone" in err and "--allow-shallow" in err
    code, _, err = _build(clone, tmp_path / "site", "--allow-shallow")
    assert code == 0, err
    assert json.loads((tmp_path / "site/v1/log/head.json").read_text())["partial"] is True
    code, _, err = _build(clone, tmp_path / "again")  # the cached partial log is not a pass
    assert code == 1 and "shallow clone" in err


def test_events_verb(history: dict[str, Any]) -> None:
    root = history["root"]
    code, out, _ = run("events", "--root", root, "--model", "alpha", "--since", "2025-01-03")
    assert code == 0
    assert [line.split()[2] for line in out.splitlines()] == [
        "MetadataUpdated",
        "DriftReported",
        "ValidationPassed",
        "ModelDeprecated",
    ]
    code, out, _ = run("events", "--root", root, "--json")
    assert [e["seq"] for e in json.loads(out)] == list(range(1, 9))
    assert run("events", "--root", root, "--since", "yesterday")[0] == 2


def test_removed_and_readded_versions_replay(history: dict[str, Any]) -> None:
    root = history["root"]
    shutil.rmtree(root / "models/beta/1.0.0")
    commit_all(root, "remove beta", "2025-03-01T10:00:00+00:00")
    add_version(root, "beta", "1.0.0", description="again")
    commit_all(root, "readd beta", "2025-03-02T10:00:00+00:00")
    events = events_of(root)
    assert [e.type for e in events[-2:]] == ["VersionRemoved", "ModelVersioned"]
    assert events[-1].payload["readded"] is True
    assert replay(events) == tree_state(root)


def test_full_pages_never_change_and_removed_versions_have_no_link(
    history: dict[str, Any], tmp_path: Path
) -> None:
    root = history["root"]
    (root / "registry.yaml").write_text("name: Events test\nevents_page_size: 10\n")
    for version in ("1.2.0", "1.3.0"):
        add_version(root, "alpha", version)
        commit_all(root, f"alpha {version}", "2025-01-09T10:00:00+00:00")
    assert _build(root, tmp_path / "one")[0] == 0  # exactly 10 events: page 1 is full
    shutil.rmtree(root / "models/alpha/1.3.0")
    commit_all(root, "remove 1.3.0", "2025-01-10T10:00:00+00:00")
    assert _build(root, tmp_path / "two")[0] == 0
    page = "v1/events/1.json"
    assert (tmp_path / "one" / page).read_bytes() == (tmp_path / "two" / page).read_bytes()
    timeline = (tmp_path / "two/timeline.html").read_text()
    assert "alpha@1.3.0" in timeline
    assert "models/alpha/1.3.0/index.html" not in timeline


def test_verify_log_checks_the_summaries(history: dict[str, Any], tmp_path: Path) -> None:
    site = tmp_path / "site"
    assert _build(history["root"], site)[0] == 0
    index = site / "v1/events.json"
    original = json.loads(index.read_text())
    for change in ({"count": 999}, {"head": "0" * 64}, {"events": original["events"][:-1]}):
        index.write_text(json.dumps({**original, **change}))
        code, out, _ = run("verify-log", index)
        assert code == 1, change
        assert "events.json" in out
    index.write_text(json.dumps(original))
    head = site / "v1/log/head.json"
    for document in (
        {"head": "x", "links": []},
        {"head": "x", "links": {"events": 5}},
        {"head": "x", "links": {"events": "https://elsewhere.example.org/e.json"}},
    ):
        head.write_text(json.dumps(document))
        code, _, err = run("verify-log", head)
        assert code == 1 and "Traceback" not in err, err


def test_the_timeline_page_shows_the_newest_events_and_the_log_all(
    history: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Bounded like the feed: a page of every event would be tens of megabytes at 100,000
    versions (and held in memory by the build). The log keeps every event."""
    everything = tmp_path / "everything"
    assert _build(history["root"], everything)[0] == 0
    count = json.loads((everything / "v1/events.json").read_text())["count"]
    page = (everything / "timeline.html").read_text()
    assert "Every event of the registry" in page
    assert [int(s) for s in re.findall(r"event (\d+) <code", page)] == list(range(count, 0, -1))

    monkeypatch.setattr(eventpages, "TIMELINE_EVENTS", 3)
    bounded = tmp_path / "bounded"
    assert _build(history["root"], bounded, "--force")[0] == 0
    page = (bounded / "timeline.html").read_text()
    assert f"The newest 3 of the {count} events" in page
    assert [int(s) for s in re.findall(r"event (\d+) <code", page)] == [count, count - 1, count - 2]
    assert json.loads((bounded / "v1/events.json").read_text())["count"] == count
