"""How a consumer reads a published registry: the server may be hostile.

Only two kinds of place are read: a registry given as a folder (or file:// URL) is read from
inside that folder; a registry given as an http(s) URL is read from its own origin; either reads
model files from the artifact hosts its `v1/index.json` declares (https only: an S3 store, a
CDN), redirects included. No other
scheme, host or path is ever opened, whatever a document says. Every read has a connect and idle
timeout and a minimum rate (a server trickling a byte every 30 s is cut off), every document a
size limit, and every JSON document is checked against its published schema before anything in
it is used.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from registry.errors import ModelregError

MAX_DOCUMENT = 64 << 20  # bytes of one published JSON document at most
READ_SIZE = 1 << 20  # what one read asks the server for


def read_up_to(read: Callable[[int], bytes], length: int) -> bytes:
    """`length` bytes from `read`, asked READ_SIZE at a time; fewer only at the end of the data."""
    parts, missing = [], length
    while missing > 0:
        data = read(min(missing, READ_SIZE))
        if not data:
            break
        parts.append(data)
        missing -= len(data)
    return b"".join(parts)


class FetchError(ModelregError):
    """A model could not be fetched, or what arrived is not what the registry published."""


@dataclass(frozen=True, slots=True)
class Limits:
    timeout: float = 60.0  # seconds to connect, and to wait for any byte
    min_rate: int = 1024  # bytes per second, averaged over every `timeout` seconds


def registry_url(location: str) -> str:
    """The site root as a URL ending with `/` (a folder becomes a file:// URL). The API's own
    folder (`.../v1/`, what a user copies from a JSON URL) names the site around it."""
    if "://" not in location:
        url = Path(location).resolve().as_uri().rstrip("/")
    elif urllib.parse.urlparse(location).scheme not in ("file", "http", "https"):
        raise FetchError(f"{location}: a registry is a folder, a file:// or an http(s) URL")
    else:
        url = location.rstrip("/")
    return url.removesuffix("/v1") + "/"


def _local_path(url: str) -> Path:
    return Path(urllib.request.url2pathname(urllib.parse.urlparse(url).path))


class _Guarded:
    """A response read within the limits: `read(n)` returns n bytes (fewer only at the end)
    and fails when the server sends slower than the minimum rate."""

    def __init__(self, raw: Any, url: str, limits: Limits) -> None:
        self.raw = raw
        self.url = url
        self.limits = limits
        headers = getattr(raw, "headers", None)
        declared = headers.get("Content-Length") if headers is not None else None
        # The size the server announces (None: not said): a caller may refuse it before reading.
        self.declared = (
            int(declared) if declared and declared.isascii() and declared.isdigit() else None
        )
        self._read = getattr(raw, "read1", None) or raw.read
        self._window_start = time.monotonic()
        self._window_bytes = 0

    def _piece(self, wanted: int) -> bytes:
        try:
            data: bytes = self._read(wanted)
        except TimeoutError:
            raise FetchError(
                f"{self.url}: no data for {self.limits.timeout:g} s (--timeout)"
            ) from None
        now = time.monotonic()
        self._window_bytes += len(data)
        elapsed = now - self._window_start
        if elapsed >= self.limits.timeout:
            if self._window_bytes / elapsed < self.limits.min_rate:
                raise FetchError(
                    f"{self.url}: the server sent {self._window_bytes} bytes in {elapsed:.0f} s, "
                    f"under the minimum of {self.limits.min_rate} bytes/s; try again later"
                )
            self._window_start, self._window_bytes = now, 0
        return data

    def read(self, size: int = READ_SIZE) -> bytes:
        return read_up_to(self._piece, size)

    def close(self) -> None:
        self.raw.close()

    def __enter__(self) -> _Guarded:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Transport:
    """Where one reader may go: a registry (`location`, its origin or folder, and the hosts it
    declares), or only a list of https hosts (`for_hosts`: files named by URL in manifests)."""

    def __init__(self, location: str | None, limits: Limits | None = None) -> None:
        self.base = registry_url(location) if location is not None else ""
        self.limits = limits or Limits()
        parsed = urllib.parse.urlparse(self.base)
        self.local = _local_path(self.base).resolve() if parsed.scheme == "file" else None
        self.origin = (parsed.scheme, parsed.netloc.lower()) if location is not None else None
        self.hosts: frozenset[str] = frozenset()

    @classmethod
    def for_hosts(cls, hosts: Iterable[str], limits: Limits | None = None) -> Transport:
        transport = cls(None, limits)
        transport.declare_hosts(hosts)
        return transport

    def declare_hosts(self, hosts: Iterable[str]) -> None:
        """The artifact hosts the registry's v1/index.json declares (`host` or `host:port`)."""
        self.hosts = frozenset(h.lower() for h in hosts)

    def check(self, url: str) -> str:
        """`url` when the registry may send the consumer there; a FetchError otherwise."""
        parsed = urllib.parse.urlparse(url)
        if parsed.username or parsed.password:
            raise FetchError(f"{url} carries credentials; refusing to send them anywhere")
        netloc, host = parsed.netloc.lower(), (parsed.hostname or "").lower()
        declared_host = parsed.scheme == "https" and (
            netloc in self.hosts or (host in self.hosts and not parsed.port)
        )
        declared = ", ".join(sorted(self.hosts)) or "none"
        if self.local is not None:
            local_file = parsed.scheme == "file" and parsed.netloc in ("", "localhost")
            if local_file and _local_path(url).resolve().is_relative_to(self.local):
                return url
            if declared_host:  # an artifact store (artifacts.store: s3) the index declares
                return url
            raise FetchError(
                f"{url}: a registry read from the folder {self.local} may only name files inside "
                f"it, or https artifact hosts its v1/index.json declares ({declared}); refusing "
                "to follow"
            )
        if (parsed.scheme, netloc) == self.origin or declared_host:
            return url
        if self.origin is None:
            raise FetchError(
                f"{url}: another host than those allowed ({declared}), or not https; refusing "
                "to follow"
            )
        raise FetchError(
            f"{url}: not on the registry's origin ({self.origin[0]}://{self.origin[1]}) nor an "
            f"https artifact host its v1/index.json declares ({declared}); refusing to follow"
        )

    def open(self, url: str, start: int = 0, end: int | None = None) -> tuple[_Guarded, int]:
        """A stream of `url` from byte `start` (to `end`, inclusive) and the offset it really
        starts at: 0 when an HTTP server ignores the range."""
        self.check(url)
        if urllib.parse.urlparse(url).scheme == "file":  # only inside a local registry (check)
            try:
                handle: BinaryIO = _local_path(url).open("rb")
            except OSError as exc:
                raise FetchError(f"cannot read {url}: {exc.strerror or exc}") from None
            handle.seek(start)
            return _Guarded(handle, url, self.limits), start
        # identity: the bytes counted and hashed are the bytes of the file, never a compression
        request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})  # noqa: S310
        if start or end is not None:
            request.add_header("Range", f"bytes={start}-{'' if end is None else end}")
        opener = urllib.request.build_opener(_CheckedRedirects(self))
        try:
            response = opener.open(request, timeout=self.limits.timeout)
        except urllib.error.HTTPError as exc:
            raise FetchError(
                f"cannot read {url}: the server answered HTTP {exc.code} {exc.reason}"
            ) from None
        except (OSError, ValueError) as exc:
            raise FetchError(f"cannot read {url}: {exc}") from None
        return _Guarded(response, url, self.limits), start if response.status == 206 else 0

    def read(self, url: str, limit: int = MAX_DOCUMENT, what: str = "registry document") -> bytes:
        stream, _ = self.open(url)
        with stream:
            data = stream.read(limit + 1)
        if len(data) > limit:
            raise FetchError(f"{url} is larger than any {what} ({limit} bytes)")
        return data

    def document(self, url: str, schema: str) -> Any:
        """A JSON document, checked against `schema/api/<schema>` before it is used."""
        return self.validate(url, self.json(url), schema)

    def json(self, url: str) -> Any:
        """A JSON document, not yet checked: validate it before using anything in it."""
        data = self.read(url)
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise FetchError(f"{url} is not JSON: {str(exc)[:200]}") from None

    @staticmethod
    def validate(url: str, document: Any, schema: str) -> Any:
        from registry.infra.schemafiles import validator

        try:
            error = next(iter(validator(f"api/{schema}").iter_errors(document)), None)
        except RecursionError:
            raise FetchError(f"{url} nests too deeply to be a registry document") from None
        if error is not None:
            where = "/".join(str(p) for p in error.absolute_path) or "the document"
            raise FetchError(
                f"{url} is not a valid {schema.removesuffix('.json')} document: at {where}: "
                f"{error.message[:300]}; the registry is broken or hostile"
            )
        return document


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only where the transport may go itself."""

    def __init__(self, transport: Transport) -> None:
        super().__init__()
        self.transport = transport

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        self.transport.check(newurl)
        return super().redirect_request(req, fp, code, msg, headers, newurl)
