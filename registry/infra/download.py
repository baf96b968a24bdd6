"""Artifacts named by URL, downloaded by validation and checked like files in the repository.

A manifest may point its artifact (and external data) at an https URL. Nothing unverified is
published as verified: validation downloads each file from a host that registry.yaml allows
(`artifacts.allowed_hosts`), over https only, following no redirect to another host or scheme,
with connect and read timeouts, never reading more than the declared size, hashing while it
streams; the file then goes through the same integrity and format checks as a file in the
repository. A file that cannot be downloaded leaves the version `integrity.unverified-remote`.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from http.client import HTTPException, HTTPResponse
from pathlib import Path

TIMEOUT_SECONDS = 30.0  # to connect, and then for each read: the longest wait for bytes
MIN_RATE = 16 << 10  # bytes a second, on average after the first 30 s: slower is refused
MAX_REDIRECTS = 5
_PIECE = 1 << 20


class RemoteError(Exception):
    """Why a remote file could not be verified; the message says what to do."""


@dataclass(frozen=True)
class Downloaded:
    path: Path
    sha256: str
    size: int


def host_of(url: str) -> str:
    parsed = urllib.parse.urlsplit(url)
    host = (parsed.hostname or "").lower()
    return f"{host}:{parsed.port}" if parsed.port else host


def check_url(url: str, allowed_hosts: tuple[str, ...]) -> None:
    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme != "https":
        raise RemoteError(f"{url} is not an https URL")
    if parsed.username or parsed.password:
        raise RemoteError(f"{url} carries credentials; artifact URLs are public")
    host = host_of(url)
    if host not in allowed_hosts and (parsed.hostname or "").lower() not in allowed_hosts:
        allowed = ", ".join(allowed_hosts) or "none"
        raise RemoteError(
            f"the host {host} is not in registry.yaml artifacts.allowed_hosts (allowed: "
            f"{allowed}); add it there (a reviewed change) or commit the file itself"
        )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by `_open`, which checks each hop."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def _opener() -> urllib.request.OpenerDirector:
    # A new context each time: it reads the system's trust store (and SSL_CERT_FILE) now.
    context = ssl.create_default_context()
    return urllib.request.build_opener(_NoRedirects, urllib.request.HTTPSHandler(context=context))


def _open(url: str, allowed_hosts: tuple[str, ...]) -> HTTPResponse:
    """The response for `url`, following redirects only to https URLs of the same host."""
    original = host_of(url)
    opener = _opener()
    for _ in range(MAX_REDIRECTS + 1):
        check_url(url, allowed_hosts)
        request = urllib.request.Request(url, headers={"Accept-Encoding": "identity"})  # noqa: S310
        try:
            response: HTTPResponse = opener.open(request, timeout=TIMEOUT_SECONDS)
        except urllib.error.HTTPError as exc:
            if exc.code in (301, 302, 303, 307, 308) and exc.headers.get("Location"):
                target = urllib.parse.urljoin(url, exc.headers["Location"])
                if host_of(target) != original or not target.startswith("https://"):
                    raise RemoteError(
                        f"{url} redirects to {target}, another host or scheme; redirects are "
                        "followed only within the same https host"
                    ) from None
                url = target
                continue
            raise RemoteError(f"{url} answered HTTP {exc.code}") from None
        return response
    raise RemoteError(f"{url} redirects more than {MAX_REDIRECTS} times")


def download(
    url: str, sha256: str, size: int, target: Path, allowed_hosts: tuple[str, ...]
) -> Downloaded:
    """Fetch `url` into `target` (written only once complete): at most `size` bytes, hashed
    on the way. The caller compares the digest and size with the manifest's."""
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    received = 0
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = _open(url, allowed_hosts)
                declared = response.headers.get("Content-Length")
                if declared is not None and declared.isdigit() and int(declared) > size:
                    raise RemoteError(
                        f"{url} is {declared} bytes, the manifest says {size}: not downloaded"
                    )
                started = time.monotonic()
                with response:
                    while piece := response.read(min(_PIECE, size + 1 - received)):
                        received += len(piece)
                        if received > size:
                            raise RemoteError(
                                f"{url} holds more than the {size} bytes the manifest says"
                            )
                        digest.update(piece)
                        out.write(piece)
                        elapsed = time.monotonic() - started
                        if elapsed > TIMEOUT_SECONDS and received < MIN_RATE * elapsed:
                            raise RemoteError(f"{url} sends too slowly ({received} bytes so far)")
            except (OSError, HTTPException, ssl.SSLError) as exc:
                raise RemoteError(f"{url} could not be downloaded ({exc})") from None
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256 or received != size:
        target.unlink()  # never kept: only what the manifest pins is inspected
    return Downloaded(target, digest.hexdigest(), received)
