"""Signatures with the real model-signing package and a PKI made here (root CA, intermediate,
leaf; EC P-256): a valid signature passes, and each way one can be wrong fails with its code."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

from registry.signing.sign import sign_folder
from tests.factories.manifests import VALID_REAL_MODELS, manifest_data
from tests.factories.registries import write_version
from tests.helpers import (
    cache_index,
    commit_all,
    git,
    left_nothing,
    merge,
    run,
    sha256_of,
    validate_json,
)
from tests.pki import NOW, Publisher, publisher_files, root_authority

MODEL = VALID_REAL_MODELS["nmp.tflite"]
OTHER = VALID_REAL_MODELS["okay_nabu.tflite"]
IDENTITY = "publisher@example.org"
REVIEW = {"approved_by": "risk-board@example.org", "approved_at": "2025-01-01"}
NOW_ISO = NOW.strftime("%Y-%m-%dT%H:%M:%SZ")


def registry(
    tmp_path: Path,
    identity: str = IDENTITY,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
) -> tuple[Path, Publisher]:
    """A registry trusting a fresh root CA, with one tier-3 version (signature required)."""
    root = tmp_path / "registry"
    pki = publisher_files(tmp_path / "pki", identity, not_before, not_after)
    (root / "ca").mkdir(parents=True)
    shutil.copyfile(pki.root, root / "ca/root.pem")
    (root / "registry.yaml").write_text(
        "name: Signing test\nbase_url: https://models.example.org/\n"
        "governance:\n  trust_roots: [ca/root.pem]\n"
    )
    data = manifest_data(MODEL, "signed", "1.0.0")
    data.update(risk_tier="tier-3", governance={"review": REVIEW})
    data["publisher"]["identity"] = IDENTITY
    write_version(root, data, MODEL.path)
    return root, pki


def sign(root: Path, pki: Publisher, version: str = "1.0.0") -> tuple[int, str, str]:
    folder = root / "models/signed" / version
    return run("sign", folder, "--key", pki.key, "--cert", pki.certificate, "--chain", pki.chain)


def problems(report: dict[str, Any]) -> list[str]:
    return sorted(f["code"] for f in report["findings"] if f["severity"] == "error")


def test_valid_signature_passes_and_is_recorded(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    code, out, err = sign(root, pki)
    assert code == 0, err
    assert "model.sig" in out and IDENTITY in out
    commit_all(root, "signed", NOW_ISO)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    record = json.loads((site / "v1/models/signed/1.0.0/index.json").read_text())
    signature = record["signature"]
    assert signature["verified"] is True and signature["identity"] == IDENTITY
    assert signature["issuer"] == "CN=modelreg test intermediate"
    assert (site / "v1/models/signed/1.0.0" / signature["href"]).read_bytes() == (
        root / "models/signed/1.0.0/model.sig"
    ).read_bytes()
    assert record["nist_ai_rmf"]["govern"]["signed_by"] == IDENTITY
    assert (site / "v1/trust-roots/1.pem").read_bytes() == pki.root.read_bytes()
    assert (
        "signed by publisher@example.org" in (site / "models/signed/1.0.0/index.html").read_text()
    )
    # fetch verifies it: against the registry's published roots, or the consumer's own.
    code, out, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "a")
    assert code == 0, err
    assert f"signed by {IDENTITY} (files and claims signed)" in out
    assert signature["claims_signed"] is True
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["nmp.tflite"]
    code, out, _ = run(
        "fetch", "signed", "--registry", site, "--to", tmp_path / "b", "--trust-root", pki.root
    )
    assert code == 0
    stranger = root_authority("someone else").write_certificate(tmp_path / "stranger.pem")
    code, _, err = run(
        "fetch", "signed", "--registry", site, "--to", tmp_path / "c", "--trust-root", stranger
    )
    assert code == 1 and "signing.untrusted" in err
    assert left_nothing(tmp_path / "c")


def test_fetch_can_require_a_signature(tmp_path: Path) -> None:
    root, _ = registry(tmp_path)
    data = manifest_data(MODEL, "plain", "1.0.0")
    write_version(root, data, MODEL.path)
    shutil.rmtree(root / "models/signed")
    commit_all(root, "unsigned tier-1", NOW_ISO)
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    code, _, err = run(
        "fetch", "plain", "--registry", site, "--to", tmp_path / "a", "--require-signature"
    )
    assert code == 1 and "not signed" in err
    assert run("fetch", "plain", "--registry", site, "--to", tmp_path / "b")[0] == 0


def test_wrong_root_is_untrusted(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    assert sign(root, pki)[0] == 0
    root_authority("another CA").write_certificate(root / "ca/root.pem")
    commit_all(root, "signed", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.untrusted"]
    finding = next(f for f in report["findings"] if f["code"] == "signing.untrusted")
    assert finding["file"] == "models/signed/1.0.0/model.sig"


def test_expired_leaf_fails_but_validity_is_judged_at_commit_time(tmp_path: Path) -> None:
    leaf = (NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=30))
    root, pki = registry(tmp_path, IDENTITY, *leaf)
    code, _, err = sign(root, pki)
    assert code == 1 and "not now" in err  # `modelreg sign` refuses an expired certificate
    folder = root / "models/signed/1.0.0"
    sign_folder(folder, pki.key, pki.certificate, [pki.chain], ["nmp.tflite"])
    commit_all(root, "signed late", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.expired"]
    # Committed while the certificate was valid: the signature stays good after it expires...
    day = dt.timedelta(days=1)
    again, _ = registry(tmp_path / "again", IDENTITY, *leaf)
    shutil.copyfile(root / "ca/root.pem", again / "ca/root.pem")
    commit_all(again, "unsigned", (NOW - 46 * day).strftime("%Y-%m-%dT%H:%M:%SZ"))
    shutil.copyfile(folder / "model.sig", again / "models/signed/1.0.0/model.sig")
    commit_all(again, "signed in time", (NOW - 45 * day).strftime("%Y-%m-%dT%H:%M:%SZ"))
    code, report = validate_json(again)
    assert code == 0, report["findings"]
    # ... but a commit date is what its author says: a signature new in the change under review
    # (--base) is judged now.
    code, report = validate_json(again, "--base", "HEAD~1")
    assert code == 1 and problems(report) == ["signing.expired"]


def test_tampered_artifact_fails(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    assert sign(root, pki)[0] == 0
    artifact = root / "models/signed/1.0.0/nmp.tflite"
    data = bytearray(artifact.read_bytes())
    data[-1] ^= 0x01
    artifact.write_bytes(bytes(data))
    commit_all(root, "tampered", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1
    assert "signing.artifact-mismatch" in problems(report)
    assert "integrity.sha256-mismatch" in problems(report)


def test_signature_made_for_another_file_fails(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    other = tmp_path / "other"
    other.mkdir()
    shutil.copyfile(OTHER.path, other / "nmp.tflite")  # same name, other bytes
    sign_folder(other, pki.key, pki.certificate, [pki.chain])
    shutil.copyfile(other / "model.sig", root / "models/signed/1.0.0/model.sig")
    commit_all(root, "borrowed signature", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.digest-mismatch"]


def test_identity_mismatch_fails(tmp_path: Path) -> None:
    root, pki = registry(tmp_path, identity="impostor@example.org")
    code, _, err = sign(root, pki)
    assert code == 1 and "impostor@example.org" in err and IDENTITY in err
    sign_folder(root / "models/signed/1.0.0", pki.key, pki.certificate, [pki.chain], ["nmp.tflite"])
    commit_all(root, "signed by someone else", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.identity-mismatch"]


def test_uri_identity_of_a_workload_verifies(tmp_path: Path) -> None:
    workflow = "https://github.com/example/models/.github/workflows/release.yml@refs/heads/main"
    root, pki = registry(tmp_path, identity=workflow)
    manifest = root / "models/signed/1.0.0/manifest.yaml"
    manifest.write_text(
        manifest.read_text().replace(f"identity: {IDENTITY}", f"identity: {workflow}")
    )
    assert sign(root, pki)[0] == 0
    commit_all(root, "signed by CI", NOW_ISO)
    code, report = validate_json(root)
    assert code == 0, report["findings"]


def test_tier3_requires_a_signature_and_trust_roots(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    commit_all(root, "unsigned", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.required"]
    assert sign(root, pki)[0] == 0
    (root / "registry.yaml").write_text("name: Signing test\n")
    commit_all(root, "no trust roots", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.no-trust-roots"]


def test_stray_files_are_not_signed_and_fetch_still_verifies(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    (root / "models/signed/1.0.0/NOTES.txt").write_text("not part of the model\n")
    assert sign(root, pki)[0] == 0
    (root / "models/signed/1.0.0/LATER.txt").write_text("added after signing\n")
    commit_all(root, "signed, with stray files", NOW_ISO)
    code, report = validate_json(root)
    assert code == 0, report["findings"]
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    code, out, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "got")
    assert code == 0, err
    assert f"signed by {IDENTITY}" in out


def test_a_leaf_issued_by_the_root_needs_no_chain(tmp_path: Path) -> None:
    root, _ = registry(tmp_path)
    authority = root_authority("direct root")
    authority.write_certificate(root / "ca/root.pem")
    leaf = authority.issue("publisher", identity=IDENTITY)
    key, cert = leaf.write_key(tmp_path / "k.pem"), leaf.write_certificate(tmp_path / "c.pem")
    folder = root / "models/signed/1.0.0"
    code, _, err = run("sign", folder, "--key", key, "--cert", cert)
    assert code == 0, err
    commit_all(root, "signed", NOW_ISO)
    assert validate_json(root)[0] == 0
    # Under an intermediate the chain is needed, and the message says so.
    other, pki = registry(tmp_path / "other")
    code, _, err = run(
        "sign", other / "models/signed/1.0.0", "--key", pki.key, "--cert", pki.certificate
    )
    assert code == 1 and "--chain" in err


def test_identity_may_be_any_of_the_certificate_names(tmp_path: Path) -> None:
    root, _ = registry(tmp_path)
    authority = root_authority()
    authority.write_certificate(root / "ca/root.pem")
    leaf = authority.issue("publisher", identity=["https://ci.example.org/release", IDENTITY])
    key, cert = leaf.write_key(tmp_path / "k.pem"), leaf.write_certificate(tmp_path / "c.pem")
    assert run("sign", root / "models/signed/1.0.0", "--key", key, "--cert", cert)[0] == 0
    commit_all(root, "signed", NOW_ISO)
    code, report = validate_json(root)
    assert code == 0, report["findings"]


def test_hostile_signature_files_are_findings(tmp_path: Path) -> None:
    root, _ = registry(tmp_path)
    sig = root / "models/signed/1.0.0/model.sig"
    for content in (b"[" * 100_000, b"not json", b'{"verificationMaterial": 1}', b" " * (2 << 20)):
        sig.write_bytes(content)
        code, report = validate_json(root)
        assert code == 1 and problems(report) == ["signing.invalid"], content[:20]


def test_trust_roots_must_be_certificates_of_the_repository(tmp_path: Path) -> None:
    root, _ = registry(tmp_path)
    (root / "ca/root.pem").unlink()
    (root / "ca/root.pem").symlink_to("/etc/hostname")
    code, _, err = run("validate", "--root", root)
    assert code == 1 and "symbolic link" in err
    (root / "ca/root.pem").unlink()
    (root / "ca/root.pem").write_text("SECRET=1\n")
    code, _, err = run("validate", "--root", root)
    assert code == 1 and "not a PEM certificate" in err


def test_fetch_survives_a_hostile_record(tmp_path: Path) -> None:
    root, pki = registry(tmp_path)
    assert sign(root, pki)[0] == 0
    commit_all(root, "signed", NOW_ISO)
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    path = site / "v1/models/signed/1.0.0/index.json"
    record = json.loads(path.read_text())
    record["signature"]["signed_at"] = NOW.strftime("%Y-%m-%dT%H:%M:%S")  # no zone
    path.write_text(json.dumps(record))
    code, _, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "a")
    assert code == 0, err
    record["signature"]["size"] = "abc"
    path.write_text(json.dumps(record))
    code, _, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "b")
    assert code == 1 and "signature/size: 'abc' is not of type 'integer'" in err
    record["signature"]["size"] = 10
    record["manifest"]["publisher"]["identity"] = "someone@example.org"
    path.write_text(json.dumps(record))
    code, _, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "c")
    assert code == 1 and left_nothing(tmp_path / "c")


def test_a_signature_judged_now_is_not_cached(tmp_path: Path) -> None:
    """A new or uncommitted signature is judged against the clock: its result is not kept (the
    certificate may expire before the next run); once committed, it is judged at its commit."""
    root, pki = registry(tmp_path)
    assert sign(root, pki)[0] == 0
    index = cache_index(root)

    def kept() -> int:
        with contextlib.closing(sqlite3.connect(index)) as db:
            return int(
                db.execute("SELECT count(*) FROM entries WHERE kind = 'version'").fetchone()[0]
            )

    code, report = validate_json(root)
    assert code == 0, report["findings"]
    assert kept() == 0
    commit_all(root, "signed", NOW_ISO)
    assert validate_json(root)[0] == 0
    assert kept() == 1


def test_a_signature_moved_to_another_name_is_refused(tmp_path: Path) -> None:
    """The same bytes and model.sig under another model name: the signed claims name the model
    it was made for (signing.claims-mismatch), in validation and at fetch."""
    root, pki = registry(tmp_path)
    assert sign(root, pki)[0] == 0
    claims = json.loads((root / "models/signed/1.0.0/model.claims.json").read_text())
    assert claims["model_name"] == "signed" and claims["publisher_identity"] == IDENTITY
    assert claims["files"] == {"nmp.tflite": sha256_of(MODEL.path)}
    impostor = root / "models/impostor/1.0.0"
    shutil.copytree(root / "models/signed/1.0.0", impostor)
    manifest = (
        (impostor / "manifest.yaml")
        .read_text()
        .replace("model_name: signed", "model_name: impostor")
    )
    (impostor / "manifest.yaml").write_text(manifest)
    commit_all(root, "republished under another name", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1
    mismatch = [f for f in report["findings"] if f["code"] == "signing.claims-mismatch"]
    assert [f["file"] for f in mismatch] == ["models/impostor/1.0.0/model.sig"]
    assert "model_name" in mismatch[0]["message"]
    # A hostile server does the same with a published record: fetch refuses it too.
    shutil.rmtree(impostor)
    commit_all(root, "only the genuine one", NOW_ISO)
    site = tmp_path / "site"
    assert run("build", "--root", root, "--out", site)[0] == 0
    shutil.copytree(site / "v1/models/signed", site / "v1/models/impostor")
    record_path = site / "v1/models/impostor/1.0.0/index.json"
    record = json.loads(record_path.read_text())
    record["manifest"]["model_name"] = record["name"] = "impostor"
    record["id"] = "impostor@1.0.0"
    record_path.write_text(json.dumps(record))
    code, _, err = run("fetch", "impostor", "--registry", site, "--to", tmp_path / "to")
    assert code == 1 and "signing.claims-mismatch" in err, err
    assert left_nothing(tmp_path / "to")


def test_a_signature_is_timed_by_the_merge_that_brought_it(tmp_path: Path) -> None:
    """A back-dated commit on a pull request's branch, merged after the certificate expired:
    every run, with or without --base, judges it at the merge (first-parent) commit's time."""
    day = dt.timedelta(days=1)
    leaf = (NOW - 60 * day, NOW - 10 * day)
    root, pki = registry(tmp_path, IDENTITY, *leaf)
    version = root / "models/signed"
    shutil.move(version, tmp_path / "held")
    commit_all(root, "the registry", (NOW - 90 * day).strftime("%Y-%m-%dT%H:%M:%SZ"))
    git(root, "checkout", "-q", "-b", "contribution")
    shutil.move(tmp_path / "held", version)
    sign_folder(version / "1.0.0", pki.key, pki.certificate, [pki.chain], ["nmp.tflite"])
    commit_all(root, "signed, back-dated", (NOW - 30 * day).strftime("%Y-%m-%dT%H:%M:%SZ"))
    git(root, "checkout", "-q", "main")
    merge(root, "contribution", "merged today", NOW_ISO)
    code, report = validate_json(root)
    assert code == 1 and problems(report) == ["signing.expired"], report["findings"]
    message = next(f["message"] for f in report["findings"] if f["code"] == "signing.expired")
    assert NOW.strftime("%Y-%m-%d") in message
