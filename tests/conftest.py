"""Settings every test shares."""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.factories.https_server import Served, https_server
from tests.helpers import CHROMIUM, QuietHandler

if TYPE_CHECKING:  # moto is imported by the tests that use the S3 server only
    from tests.factories.s3_server import S3Server, Store


@pytest.fixture(scope="session", autouse=True)
def cache_outside_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Every run's cache in a folder of the test session, never the user's ~/.cache."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MODELREG_CACHE_DIR", str(tmp_path_factory.mktemp("modelreg-cache")))
        yield


@pytest.fixture
def served(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Served]:
    """An https server on loopback whose CA this test's processes trust (SSL_CERT_FILE)."""
    with https_server(tmp_path_factory.mktemp("https")) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.authority))
        yield server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[S3Server]:
    """An S3 server (moto, TLS, loopback), and the AWS environment that trusts it."""
    from tests.factories.s3_server import serving

    with pytest.MonkeyPatch.context() as patch, serving(tmp_path_factory.mktemp("s3"), patch) as s3:
        yield s3


@pytest.fixture
def store(server: S3Server) -> Store:
    """A fresh bucket of `server`, as registry.yaml's artifacts.store names it."""
    from tests.factories.s3_server import new_store

    return new_store(server)


@pytest.fixture
def serve() -> Iterator[Callable[[Path], str]]:
    """Serves a folder over plain HTTP on loopback (as a static host would); returns its URL."""
    servers = []

    def start(folder: Path) -> str:
        handler = functools.partial(QuietHandler, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Headless Chromium, one for the whole session."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        yield instance
        instance.close()
