"""Governance across versions and time: a model's tier never falls without a recorded
re-tiering; who published a version, under which license, and the review and signature that let
it in never change once published; a review is not dated after its commit."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from registry.signing.sign import sign_folder
from tests.factories.registries import add_version, edit_manifest
from tests.helpers import commit_all, git, run
from tests.pki import NOW, publisher_files

REVIEW = {"approved_by": "risk-board@example.org", "approved_at": "2025-01-01"}
TIERS = "governance:\n  tiers:\n    tier-3:\n      signature_required: false\n"


def _validate(root: Path, *extra: str) -> tuple[int, list[tuple[str, str]], list[dict[str, Any]]]:
    code, out, err = run("validate", "--root", root, "--format", "json", *extra)
    assert out, err
    findings = json.loads(out)["findings"]
    errors = sorted((f["code"], f["file"]) for f in findings if f["severity"] == "error")
    return code, errors, findings


@pytest.fixture
def tiered(tmp_path: Path) -> Path:
    """det 1.0.0 published as tier-3 (reviewed), on main; a pull-request branch checked out."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: tiers\n" + TIERS)
    add_version(root, "det", "1.0.0", risk_tier="tier-3", governance={"review": REVIEW})
    commit_all(root, "det 1.0.0 as tier-3", "2025-01-02T10:00:00+00:00")
    git(root, "checkout", "-q", "-b", "pull-request")
    return root


# -- tiers --------------------------------------------------------------------------------------
def test_a_new_version_cannot_lower_the_tier(tiered: Path) -> None:
    add_version(tiered, "det", "1.1.0", risk_tier="tier-1")
    for extra in ((), ("--base", "main", "--changed-since", "main")):
        code, errors, findings = _validate(tiered, *extra)
        assert code == 1
        assert errors == [("governance.tier-lowered", "models/det/1.1.0/manifest.yaml")]
        lowered = next(f for f in findings if f["code"] == "governance.tier-lowered")
        assert "det@1.0.0 is tier-3" in lowered["message"] and lowered["line"]


def test_an_earlier_lower_tier_and_a_raised_tier_are_fine(tiered: Path) -> None:
    add_version(tiered, "det", "0.9.0", risk_tier="tier-1")  # older than the tier-3 version
    add_version(tiered, "det", "2.0.0", risk_tier="tier-3", governance={"review": REVIEW})
    code, errors, _ = _validate(tiered)
    assert code == 0, errors


def test_a_recorded_re_tiering_allows_a_lower_tier(tiered: Path) -> None:
    add_version(tiered, "det", "1.1.0", risk_tier="tier-1")
    config = tiered / "registry.yaml"
    config.write_text(config.read_text() + "  retiered:\n    det:\n      tier: tier-1\n")
    code, _, err = run("validate", "--root", tiered)
    assert code != 0 and "governance.retiered.det.reason" in err  # the reason is required
    config.write_text(
        config.read_text() + "      reason: the detector no longer gates access decisions\n"
    )
    code, errors, _ = _validate(tiered)
    assert code == 0, errors


# -- what stays as it was published -------------------------------------------------------------
@pytest.mark.parametrize(
    ("change", "why"),
    [
        ({"license": "MIT"}, "`license`"),
        ({"publisher": {"name": "Someone Else", "email": "else@example.org"}}, "`publisher`"),
        ({"governance": {"review": {**REVIEW, "approved_by": "x@example.org"}}}, "changed"),
        ({"governance": {}}, "removed"),
    ],
)
def test_published_provenance_is_immutable(tiered: Path, change: dict[str, Any], why: str) -> None:
    edit_manifest(tiered, "det", "1.0.0", **change)
    code, errors, findings = _validate(tiered, "--base", "main")
    assert code == 1
    assert ("history.immutable-field", "models/det/1.0.0/manifest.yaml") in errors
    assert any(why in f["message"] for f in findings if f["code"] == "history.immutable-field")


def test_a_review_may_be_added_to_a_published_version(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: reviews\n")
    add_version(root, "plain", "1.0.0")
    commit_all(root, "published without a review")
    edit_manifest(root, "plain", "1.0.0", governance={"review": REVIEW})
    code, errors, _ = _validate(root, "--base", "HEAD")
    assert code == 0, errors


def _signer(tmp_path: Path, identity: str) -> Any:
    day = dt.timedelta(days=1)
    return publisher_files(tmp_path / identity, identity, NOW - day, NOW + 30 * day)


def test_a_signature_may_be_added_but_never_replaced(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    first, second = _signer(tmp_path, "first@example.org"), _signer(tmp_path, "second@example.org")
    (root / "ca").mkdir()
    shutil.copyfile(first.root, root / "ca/first.pem")
    (root / "registry.yaml").write_text("name: signed\n")
    folder = add_version(root, "plain", "1.0.0")
    commit_all(root, "published unsigned")
    sign_folder(folder, first.key, first.certificate, [first.chain], ["nmp.tflite"])
    code, errors, _ = _validate(root, "--base", "HEAD")
    assert ("history.immutable-field", "models/plain/1.0.0/model.sig") not in errors
    commit_all(root, "signed later")
    sign_folder(folder, second.key, second.certificate, [second.chain], ["nmp.tflite"])
    code, errors, _ = _validate(root, "--base", "HEAD")
    assert code == 1 and ("history.immutable-field", "models/plain/1.0.0/model.sig") in errors
    (folder / "model.sig").unlink()
    code, errors, _ = _validate(root, "--base", "HEAD")
    assert code == 1 and ("history.immutable-field", "models/plain/1.0.0/model.sig") in errors


# -- review dates -------------------------------------------------------------------------------
def test_a_review_dated_after_its_commit_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: dates\n")
    future = {**REVIEW, "approved_at": "2025-03-01"}
    add_version(root, "det", "1.0.0", risk_tier="tier-2", governance={"review": future})
    commit_all(root, "reviewed, they say, two months from now", "2025-01-01T10:00:00+00:00")
    code, errors, findings = _validate(root)
    assert code == 1 and errors == [("governance.review-date", "models/det/1.0.0/manifest.yaml")]
    assert "2025-03-01, after 2025-01-01" in findings[0]["message"]
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    add_version(
        root,
        "det",
        "1.1.0",
        risk_tier="tier-2",
        governance={"review": {**REVIEW, "approved_at": tomorrow}},
    )
    code, errors, _ = _validate(root, "--base", "HEAD", "--changed-since", "HEAD")
    assert ("governance.review-date", "models/det/1.1.0/manifest.yaml") in errors


def test_a_version_committed_on_the_branch_is_under_review_until_the_base_holds_it(
    tmp_path: Path,
) -> None:
    """Changed since --base (here committed on the pull request's branch, the work tree clean):
    its review is compared with today. Once the base holds it, with the date of its commit."""
    root = tmp_path / "registry"
    root.mkdir()
    (root / "registry.yaml").write_text("name: dates\n")
    add_version(root, "det", "1.0.0", risk_tier="tier-2", governance={"review": REVIEW})
    base = commit_all(root, "published", "2025-01-01T10:00:00+00:00")
    later = {**REVIEW, "approved_at": "2025-06-01"}  # after the branch's commit, before today
    add_version(root, "det", "1.1.0", risk_tier="tier-2", governance={"review": later})
    commit_all(root, "a new version, reviewed since", "2025-01-01T11:00:00+00:00")
    code, errors, _ = _validate(root, "--base", base, "--changed-since", base)
    assert (code, errors) == (0, [])
    code, errors, _ = _validate(root, "--base", "HEAD")
    assert ("governance.review-date", "models/det/1.1.0/manifest.yaml") in errors
