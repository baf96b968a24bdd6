"""Benchmark: the artifact store through a real S3-protocol server on loopback.

    python scripts/bench_store.py [--size-mib 1024] [--versions 10000]

moto in server mode runs in a process of its own, over TLS (as a real store is reached). In
one run, side by side: a file of --size-mib random bytes uploaded by `modelreg publish`'s code
(listing, HEAD, multipart with a SHA-256 per part, the whole file's SHA-256 checked before the
upload completes) and by boto3's own `upload_file`; then downloaded by `modelreg fetch`'s code
(each 8 MiB chunk checked against chunks.json as it arrives, then the whole file's SHA-256) and
by boto3's `download_file` (no verification; ranged GETs on ten threads) and by a single
`get_object` stream. Then a publication of --versions distinct files
the store already holds, counting its requests: the listing alone, one per 1,000 keys.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.client.chunks import fetch_chunked, plan_from
from registry.infra import console
from registry.infra.hashing import hash_file_chunked
from registry.infra.merkle import CHUNK_SIZE
from registry.infra.transport import Transport
from registry.load.storeconfig import S3Store
from registry.store.plan import StoreFile
from registry.store.publish import publish
from tests.factories.s3_server import TlsFiles, public_read_policy

BUCKET = "bench-models"
Row = tuple[str, str, str, str]


@contextmanager
def s3_server(folder: Path) -> Iterator[S3Store]:
    """moto over TLS in its own process; the environment trusts it (AWS_CA_BUNDLE,
    SSL_CERT_FILE) and names test credentials; a public-read bucket; the store's config."""
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.factories.s3_server", str(folder)],
        cwd=Path(__file__).resolve().parent.parent,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        port = int(server.stdout.readline())
        tls = TlsFiles(folder / "ca.pem", folder / "server.pem", folder / "server.key")
        os.environ.update(tls.client_environment())
        endpoint = f"https://127.0.0.1:{port}"
        client = boto3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        client.put_bucket_policy(Bucket=BUCKET, Policy=public_read_policy(BUCKET))
        yield S3Store(BUCKET, f"{endpoint}/{BUCKET}", "bench", endpoint, "us-east-1")
    finally:
        server.kill()
        server.wait()


def boto3_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("s3", endpoint_url=endpoint)


def make_file(path: Path, size: int) -> StoreFile:
    block = os.urandom(1 << 20)
    with path.open("wb") as handle:
        for _ in range(size >> 20):
            handle.write(block)
    digest = hash_file_chunked(path)
    return StoreFile(path, digest.sha256, digest.size, path.name)


def timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def verified_fetch(store: S3Store, file: StoreFile, chunks: tuple[str, ...], to: Path) -> None:
    """What `modelreg fetch` does with one file of a record: chunk by chunk against its
    digests, through the client's transport (which allows the store's host only)."""
    plan = plan_from({"sha256": file.sha256, "size": file.size, "chunks": chunks}, CHUNK_SIZE)
    transport = Transport.for_hosts([store.public_base_url.split("/")[2]])
    fetch_chunked(store.url(file.sha256), to, plan, None, transport.open)


def bench_transfer(scratch: Path, store: S3Store, size_mib: int) -> list[Row]:
    file = make_file(scratch / "model.bin", size_mib << 20)
    chunks = hash_file_chunked(file.path).chunks
    client = boto3_client(str(store.endpoint_url))
    up_boto3 = timed(lambda: client.upload_file(str(file.path), BUCKET, "boto3/model.bin"))
    up_modelreg = timed(lambda: publish(store, [file]))
    down_boto3 = timed(lambda: client.download_file(BUCKET, "boto3/model.bin", scratch / "b3"))
    down_stream = timed(lambda: one_stream(client, "boto3/model.bin", scratch / "gs"))
    down_modelreg = timed(lambda: verified_fetch(store, file, chunks, scratch / "mr"))
    for copy in (scratch / "b3", scratch / "gs", scratch / "mr"):
        assert hash_file_chunked(copy).sha256 == file.sha256, copy
        copy.unlink()
    size = file.size
    label = f"{size_mib} MiB"
    return [
        (f"upload {label}: boto3 upload_file", rate(size, up_boto3), "", ""),
        (f"upload {label}: modelreg publish", rate(size, up_modelreg), "", ""),
        ratio_row("upload: modelreg / boto3", up_boto3 / up_modelreg),
        (f"download {label}: boto3 download_file", rate(size, down_boto3), "", ""),
        (f"download {label}: boto3 get_object, one stream", rate(size, down_stream), "", ""),
        (f"download {label}: modelreg fetch (verified)", rate(size, down_modelreg), "", ""),
        ratio_row("download: modelreg / boto3", down_boto3 / down_modelreg),
        (
            "download: modelreg / one stream",
            f"{down_stream / down_modelreg:.2f} x",
            "",
            "",
        ),
    ]


def one_stream(client: Any, key: str, to: Path) -> None:
    """boto3's plainest download: one GET streamed to a file, nothing verified."""
    body = client.get_object(Bucket=BUCKET, Key=key)["Body"]
    with to.open("wb") as out:
        while data := body.read(1 << 20):
            out.write(data)


def rate(size: int, seconds: float) -> str:
    return f"{seconds:.2f} s ({size / seconds / 1e6:.0f} MB/s)"


def ratio_row(name: str, ratio: float) -> Row:
    return (name, f"{ratio:.2f} x", ">= 0.8 x", "met" if ratio >= 0.8 else "MISSED")


def bench_listing(scratch: Path, store: S3Store, versions: int) -> list[Row]:
    """`versions` distinct small files, published once (not timed), then again: nothing new."""
    folder = scratch / "many"
    folder.mkdir()
    files = []
    for index in range(versions):
        data = b"model file of version %d\n" % index
        path = folder / f"{index}.bin"
        path.write_bytes(data)
        files.append(StoreFile(path, hashlib.sha256(data).hexdigest(), len(data), path.name))
    store = dataclasses.replace(store, prefix="listing")  # a prefix holding these keys only
    first = publish(store, files)
    assert len(first.uploaded) == versions
    start = time.perf_counter()
    again = publish(store, files)
    seconds = time.perf_counter() - start
    assert again.uploaded == () and again.present == versions
    listings = again.requests.get("ListObjectsV2", 0)
    others = sum(again.requests.values()) - listings
    allowed = math.ceil(versions / 1000)
    return [
        (f"publish {versions:,}, nothing new", f"{seconds:.2f} s", "", ""),
        (
            f"publish {versions:,}: listing requests",
            f"{listings} (+{others} for incomplete uploads)",
            f"<= {allowed}",
            "met" if listings <= allowed and others <= 1 else "MISSED",
        ),
    ]


def print_table(rows: list[Row]) -> None:
    header = ("measurement", "figure", "target", "")
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(4)]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--versions", type=int, default=10_000)
    args = parser.parse_args()
    console.configure(quiet=True, log_format="text")  # the table only
    print(f"machine: {os.cpu_count()} cores, Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory() as temporary:
        scratch = Path(temporary)
        with s3_server(scratch / "tls") as store:
            rows = bench_transfer(scratch, store, args.size_mib)
            rows += bench_listing(scratch, store, args.versions)
    print_table(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
