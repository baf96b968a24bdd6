"""The artifact store seen from the site and its consumers (artifacts.store: s3): a site built
with a store holds no model bytes and points at the store; `modelreg fetch` downloads from the
store (reached through a relay, as through a CDN) verifying each chunk, resuming a cut download,
finding a corrupted object chunk by chunk. A real S3-protocol server on loopback: moto in server
mode over TLS, driven through boto3 and HTTP only.
"""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from registry.infra.merkle import CHUNK_SIZE
from tests.factories.onnx_models import wide_onnx
from tests.factories.registries import add_version, new_registry, write_version
from tests.factories.s3_server import Relay, S3Server, Store, new_store
from tests.helpers import PROJECT, commit_all, left_nothing, run
from tests.pki import NOW, publisher_files

IDENTITY = "publisher@example.org"


@pytest.fixture(autouse=True)
def partials(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache folder of the test's own: cut downloads are kept there."""
    monkeypatch.setenv("MODELREG_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache" / "downloads"


# -- the site keeps metadata only ------------------------------------------------------------
def test_the_example_registry_builds_a_site_without_model_bytes(
    tmp_path: Path, store: Store
) -> None:
    root = tmp_path / "registry"
    shutil.copytree(PROJECT / "models", root / "models")
    config = (PROJECT / "registry.yaml").read_text()
    (root / "registry.yaml").write_text(config + store.yaml())
    commit_all(root, "the example registry, its files in S3", "2026-01-01T00:00:00+00:00")
    site = tmp_path / "site"
    code, out, err = run("build", "--publish", "--root", root, "--out", site)
    assert code == 0, err
    assert "file(s) uploaded" in out
    assert not (site / "artifacts").exists()
    assert [p for p in site.rglob("*") if p.is_file() and p.stat().st_size > 1 << 20] == []
    index = json.loads((site / "v1/index.json").read_text())
    assert index["registry"]["artifact_hosts"] == [f"127.0.0.1:{store.server.port}"]
    site_files = [p for p in site.rglob("*") if p.is_file()]
    site_bytes = {hashlib.sha256(p.read_bytes()).hexdigest() for p in site_files}
    for path in sorted(root.glob("models/*/*/model.*")):
        sha256 = hashlib.sha256(path.read_bytes()).hexdigest()
        assert sha256 not in site_bytes  # no copy under any name
        assert store.read(sha256) == path.read_bytes()
        name, version = path.parts[-3], path.parts[-2]
        record = json.loads((site / "v1/models" / name / version / "index.json").read_text())
        assert record["artifact"]["url"] == f"{store.public}/{store.key(sha256)}"
        assert "href" not in record["artifact"]
        page = (site / "models" / name / version / "index.html").read_text()
        assert f'href="{store.public}/{store.key(sha256)}"' in page
        sbom = (site / "v1/models" / name / version / "sbom.spdx.json").read_text()
        assert f"{store.public}/{store.key(sha256)}" in sbom
    target = tmp_path / "fetched"
    code, _, err = run("fetch", "iris-mlp@1.0.0", "--registry", site, "--to", target)
    assert code == 0, err
    original = root / "models/iris-mlp/1.0.0/model.onnx"
    assert (target / "model.onnx").read_bytes() == original.read_bytes()


def test_a_signed_version_has_its_signature_in_the_store(tmp_path: Path, store: Store) -> None:
    """model.sig (and the claims it signs) go to the store with the model; the record and the
    page point there, and fetch verifies the signature from there."""
    root = tmp_path / "registry"
    pki = publisher_files(tmp_path / "pki", IDENTITY)
    (root / "ca").mkdir(parents=True)
    shutil.copyfile(pki.root, root / "ca/root.pem")
    new_registry(root, "name: signed\ngovernance:\n  trust_roots: [ca/root.pem]\n" + store.yaml())
    folder = add_version(root, "signed", "1.0.0", publisher={"name": "p", "identity": IDENTITY})
    signed = run("sign", folder, "--key", pki.key, "--cert", pki.certificate, "--chain", pki.chain)
    assert signed[0] == 0, signed[2]
    commit_all(root, "signed", NOW.strftime("%Y-%m-%dT%H:%M:%SZ"))
    site = tmp_path / "site"
    code, out, err = run("build", "--publish", "--root", root, "--out", site)
    assert code == 0, err
    assert "3 file(s) uploaded" in out  # the model, model.sig, model.claims.json
    signature = json.loads((site / "v1/models/signed/1.0.0/index.json").read_text())["signature"]
    sig = (folder / "model.sig").read_bytes()
    sig_sha = hashlib.sha256(sig).hexdigest()
    assert signature["verified"] and signature["url"] == f"{store.public}/{store.key(sig_sha)}"
    assert "href" not in signature and store.read(sig_sha) == sig
    assert (
        f'href="{store.public}/{store.key(sig_sha)}"'
        in (site / "models/signed/1.0.0/index.html").read_text()
    )
    code, out, err = run("fetch", "signed", "--registry", site, "--to", tmp_path / "to")
    assert code == 0, err
    assert f"signed by {IDENTITY} (files and claims signed)" in out


# -- fetch from the store --------------------------------------------------------------------
@dataclass(frozen=True)
class Wide:
    site: Path
    folder: Path  # the version's folder in the registry
    relay: Relay
    store: Store


@pytest.fixture(scope="module")
def wide(server: S3Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wide]:
    """wide@1.0.0 (20 MiB of weights: three chunks) published to a store that consumers reach
    through a relay (as through a CDN), and the site built for it."""
    relay = Relay(server.port)
    store = new_store(server, relay)
    root = new_registry(
        tmp_path_factory.mktemp("wide") / "registry",
        "name: wide\nbase_url: https://models.example.org/\n" + store.yaml(),
    )
    folder = root / "models/wide/1.0.0"
    write_version(root, wide_onnx(folder))
    commit_all(root, "a wide model")
    site = root.parent / "site"
    code, _, err = run("build", "--publish", "--root", root, "--out", site)
    assert code == 0, err
    yield Wide(site, folder, relay, store)
    relay.close()


def _fetch(wide: Wide, to: Path) -> tuple[int, str]:
    code, _, err = run("fetch", "wide@1.0.0", "--registry", wide.site, "--to", to)
    return code, err


def _same_files(wide: Wide, to: Path) -> None:
    for name in ("model.onnx", "weights.bin"):
        assert (to / name).read_bytes() == (wide.folder / name).read_bytes()


def test_fetch_from_the_store_verifies_every_chunk(wide: Wide, tmp_path: Path) -> None:
    code, err = _fetch(wide, tmp_path / "to")
    assert code == 0, err
    _same_files(wide, tmp_path / "to")


def test_a_download_cut_midway_resumes_from_the_last_verified_chunk(
    wide: Wide, tmp_path: Path, partials: Path
) -> None:
    weights = (wide.folder / "weights.bin").stat().st_size
    wide.relay.cut_after = CHUNK_SIZE + CHUNK_SIZE // 2  # the store goes away mid-transfer
    to = tmp_path / "to"
    code, err = _fetch(wide, to)
    assert code == 1
    assert "run the same command to resume" in err
    assert [p.stat().st_size for p in partials.glob("*.part")] == [CHUNK_SIZE]
    assert left_nothing(to)
    code, err = _fetch(wide, to)  # still away
    assert code == 1 and left_nothing(to)
    wide.relay.reopen()
    before = wide.relay.sent
    code, err = _fetch(wide, to)
    assert code == 0, err
    _same_files(wide, to)
    resumed = wide.relay.sent - before
    assert weights - CHUNK_SIZE < resumed < weights  # the verified chunk was not fetched again
    assert not any(partials.glob("*.part"))


def test_a_corrupted_object_is_found_chunk_by_chunk(wide: Wide, tmp_path: Path) -> None:
    weights = wide.folder / "weights.bin"
    real = weights.read_bytes()
    key = wide.store.key(hashlib.sha256(real).hexdigest())
    position = CHUNK_SIZE + 1000  # in chunk 1 of 3
    corrupted = real[:position] + bytes([real[position] ^ 0xFF]) + real[position + 1 :]
    client, bucket = wide.store.client, wide.store.bucket
    client.put_object(Bucket=bucket, Key=key, Body=corrupted)  # behind the registry's back
    try:
        code, err = _fetch(wide, tmp_path / "to")
    finally:
        client.put_object(Bucket=bucket, Key=key, Body=real)
    assert code == 1
    assert f"chunk 1 (bytes {CHUNK_SIZE}-{2 * CHUNK_SIZE - 1}) does not match its SHA-256" in err
    assert left_nothing(tmp_path / "to")
