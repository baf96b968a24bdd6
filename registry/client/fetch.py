"""A small client of the static JSON API: resolve a model version, then download and verify it
(client.download).

Works against a published site given as a folder, a file:// URL or an http(s) URL, read through
the one transport (infra.transport: which places it may open, timeouts, schemas).
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from registry.client.types import Fetched, FetchOptions, Resolved
from registry.errors import environment_errors
from registry.infra.transport import FetchError, Limits, Transport

if TYPE_CHECKING:
    from registry.infra.hashing import Progress


class RegistryClient:
    def __init__(self, location: str, limits: Limits | None = None) -> None:
        self.transport = Transport(location, limits)
        self.base = self.transport.base
        self._index: dict[str, Any] | None = None

    def index(self) -> dict[str, Any]:
        """v1/index.json, read once: it declares the hosts artifacts may come from."""
        if self._index is None:
            url = urllib.parse.urljoin(self.base, "v1/index.json")
            try:
                self._index = self.transport.document(url, "registry-index.json")
            except FetchError as exc:
                raise FetchError(f"cannot read the registry at {self.base} ({exc})") from None
            self.transport.declare_hosts(self._index["registry"].get("artifact_hosts", []))
        return self._index

    def _model_document(
        self, name: str, file: str, schema: str, failure: Callable[[FetchError], str]
    ) -> tuple[str, Any]:
        """v1/models/<name>/<file> (its URL, and the document checked against `schema`);
        `failure` says what could not be read, given the transport's reason."""
        url = urllib.parse.urljoin(
            self.base, f"v1/models/{urllib.parse.quote(name, safe='')}/{file}"
        )
        try:
            return url, self.transport.document(url, schema)
        except FetchError as exc:
            raise FetchError(failure(exc)) from None

    def alias(self, name: str, alias: str) -> str:
        """The version `alias` of model `name` names (v1/models/<name>/aliases.json)."""
        _, document = self._model_document(
            name,
            "aliases.json",
            "model-aliases.json",
            lambda exc: (
                f"cannot read the aliases of {name!r} from the registry at {self.base} "
                f"({exc}); a model without aliases.yaml has none: ask for {name}@VERSION"
            ),
        )
        entry = document["aliases"].get(alias)
        if document["model"] != name or entry is None:
            known = ", ".join(sorted(document["aliases"])) or "none"
            raise FetchError(f"{name} has no alias {alias!r} (aliases: {known})")
        return str(entry["version"])

    def resolve(self, name: str, version: str | None = None) -> Resolved:
        """The record of `name@version`, of `name@alias` (a name that starts with a letter:
        versions start with a digit), or of the model's latest version."""
        self.index()
        alias = None
        if version == "latest":
            version = None
        elif version and version[0].isalpha():
            alias, version = version, self.alias(name, version)
        model_url, model = self._model_document(
            name,
            "index.json",
            "model.json",
            lambda exc: f"cannot read model {name!r} from the registry at {self.base} ({exc})",
        )
        version = version or model["latest"]
        entry = next((v for v in model["versions"] if v["version"] == version), None)
        if entry is None:
            known = ", ".join(v["version"] for v in model["versions"])
            raise FetchError(f"{name} has no version {version} (published: {known})")
        record_url = urllib.parse.urljoin(model_url, entry["url"])
        record = self.transport.document(record_url, "version-record.json")
        if (record["name"], record["version"]) != (name, version):
            raise FetchError(
                f"{record_url} describes {record['id']}, not {name}@{version}: the registry is "
                "broken or hostile"
            )
        if alias is not None and alias not in record.get("aliases", []):
            raise FetchError(
                f"aliases.json names {name}@{version} as {alias}, but its record does not list "
                f"the alias: the registry is inconsistent (a partial deployment?); retry later"
            )
        return Resolved(f"{name}@{version}", record, record_url, alias)

    def fetch(
        self,
        name: str,
        version: str | None,
        to: Path,
        options: FetchOptions | None = None,
        progress: Progress | None = None,
    ) -> Fetched:
        return self.download(self.resolve(name, version), to, options, progress)

    def download(
        self,
        resolved: Resolved,
        to: Path,
        options: FetchOptions | None = None,
        progress: Progress | None = None,
    ) -> Fetched:
        """Every file of a resolved version into `to`, kept only when every file and the
        signature (when the version is signed) verified."""
        from registry.client.download import fetch_version  # only a download needs it

        # Reading from the registry is handled (FetchError): an OSError here is the target's.
        with environment_errors(f"cannot write into {to}"):
            return fetch_version(
                self.transport, self.index(), resolved, to, options or FetchOptions(), progress
            )
