"""Publishing to the artifact store: model files in S3-compatible object storage
(artifacts.store: s3; the site and fetch side: test_store_site.py).

A real S3-protocol server on loopback (moto in server mode, over TLS with its own certificate
authority), driven only through boto3 and plain HTTP(S), as a real store would be: publish
uploads what the store lacks and nothing twice, verifies before an object is visible, never
overwrites a key, refuses a key holding other bytes, aborts what a cut run left.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from registry.errors import ConfigError
from registry.infra.merkle import CHUNK_SIZE
from registry.load.config import load_config
from registry.store import s3 as s3_module
from registry.store.plan import RemoteObject, StoreError, StoreFile
from registry.store.publish import publish
from registry.store.s3 import Bucket, b64
from registry.store.upload import MULTIPART_THRESHOLD
from tests.factories.manifests import VALID_REAL_MODELS
from tests.factories.registries import add_version, new_registry
from tests.factories.s3_server import Store
from tests.helpers import commit_all, run


def _publish(root: Path, *extra: str) -> tuple[int, str, dict[str, Any]]:
    """`modelreg publish` with JSON logs: exit code, standard output and error, and the
    figures of its `store.published` log line (requests by S3 operation)."""
    code, out, err = run("--log-format", "json", "publish", "--root", root, *extra)
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    done: dict[str, Any] = next((ln for ln in lines if ln["event"] == "store.published"), {})
    return code, out + err, done


def _registry(root: Path, store: Store) -> Path:
    new_registry(root, "name: stored\nbase_url: https://models.example.org/\n" + store.yaml())
    add_version(root, "alpha", "1.0.0")  # nmp.tflite
    add_version(root, "beta", "1.0.0", model=VALID_REAL_MODELS["okay_nabu.tflite"])
    commit_all(root, "two models")
    return root


# -- publish ---------------------------------------------------------------------------------
def test_first_publish_uploads_and_the_second_uploads_nothing(tmp_path: Path, store: Store) -> None:
    root = _registry(tmp_path / "registry", store)
    code, output, done = _publish(root)
    assert code == 0, output
    assert "2 file(s) uploaded" in output
    for name in ("alpha", "beta"):
        model = root / "models" / name / "1.0.0"
        data = next(model.glob("*.tflite")).read_bytes()
        assert store.read(hashlib.sha256(data).hexdigest()) == data
    assert set(store.objects()) == {store.key(hashlib.sha256(d).hexdigest()) for d in _models(root)}
    code, output, done = _publish(root)
    assert code == 0, output
    assert "0 file(s) uploaded" in output and "2 already there" in output
    # The listing only: one request per 1,000 keys, and one for the incomplete uploads.
    assert done["requests"] == {"ListObjectsV2": 1, "ListMultipartUploads": 1}


def _models(root: Path) -> set[bytes]:
    return {path.read_bytes() for path in root.glob("models/*/*/*.tflite")}


def test_a_version_sharing_bytes_uploads_nothing(tmp_path: Path, store: Store) -> None:
    root = _registry(tmp_path / "registry", store)
    assert _publish(root)[0] == 0
    add_version(root, "alpha", "1.1.0")  # the same file as alpha 1.0.0
    add_version(root, "gamma", "1.0.0")  # and again, under another name
    commit_all(root, "two more versions, no new bytes")
    code, output, done = _publish(root)
    assert code == 0, output
    assert "0 file(s) uploaded" in output
    assert set(done["requests"]) == {"ListObjectsV2", "ListMultipartUploads"}
    assert len(store.objects()) == 2


def test_the_listing_takes_one_request_per_page(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_module, "PAGE", 10)  # 25 keys: 3 pages, as 2,500 would be at 1,000
    files = []
    for index in range(25):
        path = tmp_path / f"file-{index}"
        data = b"content %d" % index
        path.write_bytes(data)
        files.append(StoreFile(path, hashlib.sha256(data).hexdigest(), len(data), path.name))
    assert len(publish(store.config, files).uploaded) == 25
    again = publish(store.config, files)
    assert again.uploaded == () and again.present == 25
    assert again.requests == {"ListObjectsV2": 3, "ListMultipartUploads": 1}


def _big_file(path: Path, size: int) -> StoreFile:
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(block)
        handle.write(block[: size % (1 << 20)])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while data := handle.read(1 << 20):
            digest.update(data)
    return StoreFile(path, digest.hexdigest(), size, path.name)


def test_a_file_above_64_mib_goes_up_in_parts_each_with_its_sha256(
    tmp_path: Path, store: Store
) -> None:
    big = _big_file(tmp_path / "big.bin", MULTIPART_THRESHOLD + 12345)
    bucket = Bucket(store.config)
    sent: dict[int, str] = {}

    def remember(params: dict[str, Any], **_: Any) -> None:
        sent[params["PartNumber"]] = params["ChecksumSHA256"]

    bucket.client.meta.events.register("before-parameter-build.s3.UploadPart", remember)
    result = publish(store.config, [big], bucket=bucket)
    parts = -(-big.size // CHUNK_SIZE)
    assert result.requests["UploadPart"] == parts == 9
    assert result.requests["CompleteMultipartUpload"] == 1
    assert "PutObject" not in result.requests
    data = big.path.read_bytes()
    pieces = [data[start : start + CHUNK_SIZE] for start in range(0, big.size, CHUNK_SIZE)]
    # Each part carried its own SHA-256, for S3 to check on arrival.
    assert sent == {n: b64(hashlib.sha256(p).digest()) for n, p in enumerate(pieces, 1)}
    head = store.client.head_object(Bucket=store.bucket, Key=store.key(big.sha256))
    assert head["ContentLength"] == big.size
    assert head["ETag"].endswith(f'-{parts}"')  # assembled from the parts
    assert head["Metadata"]["sha256"] == big.sha256
    # The metadata is a hint anyone with write access can forge: the store vouches for no
    # SHA-256 of a multipart object, so --verify-existing reads its bytes.
    assert bucket.head(big.sha256) == RemoteObject(big.size, None)
    assert hashlib.sha256(store.read(big.sha256)).hexdigest() == big.sha256
    assert store.incomplete() == []


@pytest.mark.parametrize("size", [1000, MULTIPART_THRESHOLD + 1])
def test_a_file_that_changed_since_validation_never_becomes_visible(
    tmp_path: Path, store: Store, size: int
) -> None:
    declared = _big_file(tmp_path / "model.bin", size)
    with declared.path.open("r+b") as handle:  # changed after it was hashed
        handle.seek(size // 2)
        handle.write(b"\0" * 8)
    with pytest.raises(StoreError, match="changed since it was validated; nothing was uploaded"):
        publish(store.config, [declared])
    assert store.objects() == {}
    assert store.incomplete() == []  # the multipart upload was aborted, not left behind


def test_an_existing_key_with_other_bytes_is_refused_and_left_intact(
    tmp_path: Path, store: Store
) -> None:
    root = _registry(tmp_path / "registry", store)
    alpha = root / "models/alpha/1.0.0" / VALID_REAL_MODELS["nmp.tflite"].file
    sha256 = hashlib.sha256(alpha.read_bytes()).hexdigest()
    squatter = b"not the model"
    store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=squatter)
    code, output, _ = _publish(root)
    assert code == 1
    assert "store.conflict" in output
    assert f"holds {len(squatter)} bytes" in output
    assert f"models/alpha/1.0.0/{alpha.name} is {alpha.stat().st_size} bytes, SHA-256 {sha256}" in (
        output
    )
    assert store.read(sha256) == squatter
    assert len(store.objects()) == 1  # refused before anything was uploaded


@pytest.mark.parametrize("claims", [False, True], ids=["plain", "forged sha256 metadata"])
def test_same_size_other_bytes_are_found_by_verify_existing(
    tmp_path: Path, store: Store, claims: bool
) -> None:
    root = _registry(tmp_path / "registry", store)
    assert _publish(root)[0] == 0
    alpha = root / "models/alpha/1.0.0" / VALID_REAL_MODELS["nmp.tflite"].file
    real = alpha.read_bytes()
    sha256 = hashlib.sha256(real).hexdigest()
    forged = bytes([real[0] ^ 1]) + real[1:]  # same size: the listing cannot tell
    metadata = {"Metadata": {"sha256": sha256}} if claims else {}  # a header anyone can write
    store.client.put_object(Bucket=store.bucket, Key=store.key(sha256), Body=forged, **metadata)
    assert _publish(root)[0] == 0
    code, output, _ = _publish(root, "--verify-existing")
    assert code == 1
    forged_sha = hashlib.sha256(forged).hexdigest()
    assert f"store.conflict: s3://{store.bucket}/{store.key(sha256)} holds" in output
    assert forged_sha in output and sha256 in output
    assert store.read(sha256) == forged  # reported, never replaced


def test_an_interrupted_multipart_upload_is_aborted_by_the_next_publish(
    tmp_path: Path, store: Store
) -> None:
    key = store.key("ab" * 32)
    started = store.client.create_multipart_upload(
        Bucket=store.bucket, Key=key, ChecksumAlgorithm="SHA256"
    )
    store.client.upload_part(
        Bucket=store.bucket,
        Key=key,
        UploadId=started["UploadId"],
        PartNumber=1,
        Body=b"x" * (5 << 20),
    )
    assert [u["Key"] for u in store.incomplete()] == [key]
    root = _registry(tmp_path / "registry", store)
    code, output, done = _publish(root)
    assert code == 0, output
    assert "aborted 1 incomplete upload(s)" in output and done["aborted"] == 1
    assert store.incomplete() == []
    assert key not in store.objects()


def test_publish_needs_an_s3_store(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "registry")
    add_version(root, "alpha", "1.0.0")
    commit_all(root, "alpha")
    code, output, _ = _publish(root)
    assert code == 1
    assert "no S3 store (artifacts.store is `site`)" in output
    code, _, err = run("build", "--publish", "--root", root, "--out", tmp_path / "site")
    assert code == 1 and "no S3 store" in err and not (tmp_path / "site").exists()


def test_credentials_are_refused_in_registry_yaml(tmp_path: Path) -> None:
    root = new_registry(
        tmp_path,
        "name: leaky\nartifacts:\n  store:\n    kind: s3\n    bucket: models\n"
        "    public_base_url: https://cdn.example.org\n    aws_secret_access_key: abc\n",
    )
    with pytest.raises(ConfigError, match=r"credentials never go into registry\.yaml"):
        load_config(root)
    (root / "registry.yaml").write_text(
        "name: plain\nartifacts:\n  store:\n    kind: s3\n    bucket: models\n"
        "    public_base_url: http://cdn.example.org\n"
    )
    with pytest.raises(ConfigError, match=r"public_base_url: 'http://cdn\.example\.org' is not an"):
        load_config(root)


BLOCKED_BOTO3 = """
import sys
sys.modules["boto3"] = sys.modules["botocore"] = None  # as if the s3 extra were not installed
from registry.cli import main
sys.exit(main(sys.argv[1:]))
"""


def test_without_boto3_everything_but_publishing_works(tmp_path: Path, store: Store) -> None:
    """boto3 is imported lazily: validate, build and fetch never need the s3 extra."""
    root = new_registry(tmp_path / "registry")
    add_version(root, "alpha", "1.0.0")
    commit_all(root, "alpha")

    def modelreg(*args: str | Path) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-c", BLOCKED_BOTO3, "--quiet", *map(str, args)]
        return subprocess.run(command, capture_output=True, text=True, check=False)

    site, to = tmp_path / "site", tmp_path / "to"
    for args in (
        ("validate", "--root", root),
        ("build", "--root", root, "--out", site),
        ("fetch", "alpha@1.0.0", "--registry", site, "--to", to),
    ):
        done = modelreg(*args)
        assert done.returncode == 0, (args, done.stderr)
    (root / "registry.yaml").write_text("name: stored\n" + store.yaml())
    commit_all(root, "an S3 store")
    done = modelreg("publish", "--root", root)
    assert done.returncode == 1
    assert "needs boto3: pip install 'modelreg[s3]'" in done.stderr


def test_a_store_that_may_not_be_listed_is_asked_key_by_key(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Credentials without s3:ListBucket: each key is asked for (HEAD) before any PUT."""
    monkeypatch.setattr(Bucket, "listing", lambda self: None)
    root = _registry(tmp_path / "registry", store)
    code, output, done = _publish(root)
    assert code == 0, output
    assert done["requests"]["HeadObject"] == 2 and done["requests"]["PutObject"] == 2
    code, output, done = _publish(root)
    assert code == 0 and "2 already there" in output
    assert done["requests"] == {"HeadObject": 2, "ListMultipartUploads": 1}


def test_a_key_written_meanwhile_is_never_overwritten(
    tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another publisher writes the key between this one's HEAD and PUT: the conditional write
    (If-None-Match: *) is refused by the store, and what is there is judged instead."""
    root = _registry(tmp_path / "registry", store)
    alpha = root / "models/alpha/1.0.0" / VALID_REAL_MODELS["nmp.tflite"].file
    sha256 = hashlib.sha256(alpha.read_bytes()).hexdigest()
    real_head = Bucket.head
    asked: set[str] = set()

    def racing_head(self: Bucket, digest: str) -> RemoteObject | None:
        if digest == sha256 and digest not in asked:  # not there yet when first asked...
            asked.add(digest)
            store.client.put_object(Bucket=store.bucket, Key=store.key(digest), Body=b"other")
            return None  # ...but written right after
        return real_head(self, digest)

    monkeypatch.setattr(Bucket, "head", racing_head)
    code, output, _ = _publish(root)
    assert code == 1
    assert f"store.conflict: s3://{store.bucket}/{store.key(sha256)} holds 5 bytes" in output
    assert store.read(sha256) == b"other"
