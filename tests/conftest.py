"""Settings every test shares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.factories.https_server import Served, https_server


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
