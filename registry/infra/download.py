"""Artifacts named by URL, downloaded by validation and checked like files in the repository.

A manifest may point its artifact (and external data) at an https URL. Nothing unverified is
published as verified: validation downloads each file through the one transport
(infra.transport), from the hosts registry.yaml allows (`artifacts.allowed_hosts`), over https
only, redirects included, with connect and read timeouts and a minimum rate, never reading more
than the declared size, hashing while it streams; the file then goes through the same integrity
and format checks as a file in the repository. A file that cannot be downloaded leaves the
version `integrity.unverified-remote`.
"""

from __future__ import annotations

import hashlib
import os
import ssl
import tempfile
import urllib.parse
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path

from registry.infra.transport import FetchError, Limits, Transport

# To connect, and then for each read: the longest wait for bytes; and the least average rate
# over each 30 s.
LIMITS = Limits(timeout=30.0, min_rate=16 << 10)
_PIECE = 1 << 20


class RemoteError(Exception):
    """Why a remote file could not be verified; the message says what to do."""


@dataclass(frozen=True, slots=True)
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


def download(
    url: str, sha256: str, size: int, target: Path, allowed_hosts: tuple[str, ...]
) -> Downloaded:
    """Fetch `url` into `target` (written only once complete): at most `size` bytes, hashed
    on the way. The caller compares the digest and size with the manifest's."""
    check_url(url, allowed_hosts)  # first, for the message that names registry.yaml
    transport = Transport.for_hosts(allowed_hosts, LIMITS)
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    received = 0
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=".download-")
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                stream, _ = transport.open(url)
                with stream:
                    if stream.declared is not None and stream.declared > size:
                        raise RemoteError(
                            f"{url} is {stream.declared} bytes, the manifest says {size}: not "
                            "downloaded"
                        )
                    while piece := stream.read(min(_PIECE, size + 1 - received)):
                        received += len(piece)
                        if received > size:
                            raise RemoteError(
                                f"{url} holds more than the {size} bytes the manifest says"
                            )
                        digest.update(piece)
                        out.write(piece)
            except FetchError as exc:
                raise RemoteError(str(exc)) from None
            except (OSError, HTTPException, ssl.SSLError) as exc:
                raise RemoteError(f"{url} could not be downloaded ({exc})") from None
        Path(partial).replace(target)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    if digest.hexdigest() != sha256 or received != size:
        target.unlink()  # never kept: only what the manifest pins is inspected
    return Downloaded(target, digest.hexdigest(), received)
