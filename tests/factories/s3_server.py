"""An S3-protocol server on loopback for the artifact store: moto in server mode over real TLS
(a certificate authority of its own, trusted through AWS_CA_BUNDLE and SSL_CERT_FILE), and a TCP
relay that can stand in front of it as a CDN would, and cut a download the way a network does.

Run as a script (`python -m tests.factories.s3_server FOLDER`), it serves in its own process
(the benchmark's server) and prints its port once it listens.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import ssl
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.server import ThreadedMotoServer
from werkzeug.serving import make_server

from registry.load.storeconfig import S3Store
from tests.factories.https_server import server_certificate
from tests.pki import root_authority

PREFIX = "registry/v1"  # the stores' key prefix in the tests
_buckets = itertools.count(1)


@dataclass(frozen=True)
class TlsFiles:
    authority: Path  # the CA's PEM file: what clients trust
    certificate: Path
    key: Path

    @classmethod
    def made_in(cls, folder: Path) -> TlsFiles:
        folder.mkdir(parents=True, exist_ok=True)
        authority = root_authority("modelreg test S3 root")
        leaf = server_certificate(authority)
        return cls(
            authority.write_certificate(folder / "ca.pem"),
            leaf.write_certificate(folder / "server.pem"),
            leaf.write_key(folder / "server.key"),
        )

    def client_environment(self) -> dict[str, str]:
        """What makes boto3 (AWS_CA_BUNDLE) and urllib (SSL_CERT_FILE) trust the server, with
        credentials for moto (any will do; they never leave the machine), and no profile or
        instance metadata of the machine's own."""
        nowhere = str(self.authority.parent / "no-aws-config")
        return {
            "AWS_CA_BUNDLE": str(self.authority),
            "SSL_CERT_FILE": str(self.authority),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": nowhere,
            "AWS_SHARED_CREDENTIALS_FILE": nowhere,
            "AWS_EC2_METADATA_DISABLED": "true",
        }


class _QuietHandler(MotoRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        pass


class S3Server(ThreadedMotoServer):
    """moto's threaded server, answering https with `tls`'s certificate on 127.0.0.1."""

    def __init__(self, tls: TlsFiles, port: int = 0) -> None:
        super().__init__("127.0.0.1", port, verbose=False)
        self.tls = tls

    def _server_entry(self) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.tls.certificate, self.tls.key)
        app = DomainDispatcherApplication(create_backend_app)
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=_QuietHandler,
            ssl_context=context,
        )  # fmt: skip
        self._server_ready_event.set()
        self._server.serve_forever()

    @property
    def port(self) -> int:
        return self.get_host_and_port()[1]

    @property
    def endpoint(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def stop(self) -> None:
        server = self._server
        super().stop()
        if server is not None:
            server.server_close()


def public_read_policy(bucket: str) -> str:
    """A bucket policy letting anyone read objects: what a public artifact store has."""
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


class Relay:
    """A TCP relay from 127.0.0.1:<port> to `target`: TLS passes through untouched. With
    `cut_after` set, the first connection to send that many bytes to its client is closed
    there, and the relay refuses connections until `reopen()`: a server gone mid-transfer."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.cut_after: int | None = None
        self.down = False
        self.sent = 0  # bytes relayed to clients, all connections together
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def reopen(self) -> None:
        self.down = False

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        self._listener.close()
        self._thread.join(timeout=5)
        with self._lock:
            for connection in list(self._open):
                connection.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # closed
            if self.down:
                client.close()
                continue
            upstream = socket.create_connection(("127.0.0.1", self.target))
            with self._lock:
                self._open.update((client, upstream))
            for source, sink, to_client in ((client, upstream, False), (upstream, client, True)):
                pump = threading.Thread(target=self._pump, args=(source, sink, to_client))
                pump.daemon = True
                pump.start()

    def _pump(self, source: socket.socket, sink: socket.socket, to_client: bool) -> None:
        """Copy `source` to `sink`; the cut applies on the way to the client only."""
        relayed = 0
        with contextlib.suppress(OSError):
            while data := source.recv(1 << 16):
                cut = self.cut_after if to_client else None
                if cut is not None and relayed + len(data) >= cut:
                    sink.sendall(data[: cut - relayed])
                    self.sent += cut - relayed
                    self.cut_after, self.down = None, True
                    break
                sink.sendall(data)
                relayed += len(data)
                if to_client:
                    self.sent += len(data)
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
            end.close()
            with self._lock:
                self._open.discard(end)


@contextlib.contextmanager
def serving(folder: Path, patch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    """An S3 server on a free 127.0.0.1 port, its certificates in `folder`, and (set with
    `patch`) the environment that trusts it and gives boto3 its credentials and region from
    the standard chain's first link, environment variables; nothing of the machine's own."""
    tls = TlsFiles.made_in(folder)
    for name, value in tls.client_environment().items():
        patch.setenv(name, value)
    for name in ("AWS_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        patch.delenv(name, raising=False)
    server = S3Server(tls)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@dataclass(frozen=True)
class Store:
    """A bucket of one test's own on the server, readable by anyone (as a public store
    is), and a boto3 client to look at it from outside the registry."""

    server: S3Server
    bucket: str
    client: Any
    public: str  # public_base_url: the server itself, or a relay in front of it

    @property
    def config(self) -> S3Store:
        return S3Store(self.bucket, self.public, PREFIX, self.server.endpoint, "us-east-1")

    def yaml(self) -> str:
        """registry.yaml's lines that choose this store (no credential: the environment)."""
        return (
            "artifacts:\n  store:\n    kind: s3\n"
            f"    bucket: {self.bucket}\n    prefix: {PREFIX}\n"
            f"    endpoint_url: {self.server.endpoint}\n    region: us-east-1\n"
            f"    public_base_url: {self.public}\n"
        )

    def key(self, sha256: str) -> str:
        return f"{PREFIX}/sha256/{sha256}"

    def objects(self) -> dict[str, int]:
        listed = self.client.list_objects_v2(Bucket=self.bucket).get("Contents", [])
        return {item["Key"]: item["Size"] for item in listed}

    def read(self, sha256: str) -> bytes:
        found = self.client.get_object(Bucket=self.bucket, Key=self.key(sha256))
        data: bytes = found["Body"].read()
        return data

    def incomplete(self) -> list[Any]:
        uploads: list[Any] = self.client.list_multipart_uploads(Bucket=self.bucket).get(
            "Uploads", []
        )
        return uploads


def new_store(server: S3Server, relay: Relay | None = None) -> Store:
    """A new public-read bucket; consumers reach it directly, or through `relay`."""
    import boto3

    bucket = f"models-{next(_buckets)}"
    client = boto3.client("s3", endpoint_url=server.endpoint)
    client.create_bucket(Bucket=bucket)
    client.put_bucket_policy(Bucket=bucket, Policy=public_read_policy(bucket))
    public = f"https://127.0.0.1:{relay.port}" if relay else server.endpoint
    return Store(server, bucket, client, f"{public}/{bucket}")


def main() -> int:
    """Serve until killed, in this process: the port on standard output once listening."""
    server = S3Server(TlsFiles.made_in(Path(sys.argv[1])))
    server.start()
    print(server.port, flush=True)
    threading.Event().wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
