"""A small client of the static JSON API: resolve a model version, download it, verify it.

Works against a published site given as a folder, a file:// URL or an http(s) URL. Downloads
stream through SHA-256 and size checks into a temporary file beside the target, renamed into place
only when every check passed: an interrupted or corrupted download leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.chunkfetch import SHA256, ChunkError, ChunkPlan, fetch_chunked, plan_from
from registry.errors import ModelregError
from registry.hashing import READ_SIZE, Progress

PARTIAL_DIR = ".modelreg-partial"  # downloads to resume, by SHA-256, in the target folder
MAX_DOCUMENT = 64 << 20


class FetchError(ModelregError):
    """A model could not be fetched, or what arrived is not what the registry published."""


def registry_url(location: str) -> str:
    """The site root as a URL ending with `/` (a folder becomes a file:// URL)."""
    if "://" not in location:
        return Path(location).resolve().as_uri().rstrip("/") + "/"
    if urllib.parse.urlparse(location).scheme not in ("file", "http", "https"):
        raise FetchError(f"{location}: a registry is a folder, a file:// or an http(s) URL")
    return location.rstrip("/") + "/"


def _open(url: str) -> Any:
    if urllib.parse.urlparse(url).scheme not in ("file", "http", "https"):
        raise FetchError(f"{url}: only file:// and http(s):// URLs are followed")
    try:
        return urllib.request.urlopen(url, timeout=60)  # noqa: S310 - scheme checked
    except (OSError, ValueError) as exc:
        raise FetchError(f"cannot read {url}: {exc}") from exc


def read_limited(url: str, limit: int, what: str = "registry document") -> bytes:
    with _open(url) as response:
        data: bytes = response.read(limit + 1)
    if len(data) > limit:
        raise FetchError(f"{url} is larger than any {what}")
    return data


def read_document(url: str) -> Any:
    data = read_limited(url, MAX_DOCUMENT)
    try:
        return json.loads(data)
    except ValueError as exc:
        raise FetchError(f"{url} is not JSON: {exc}") from exc


@dataclass(frozen=True)
class Resolved:
    id: str
    record: dict[str, Any]
    url: str  # of the record document: links in it are relative to it


@dataclass(frozen=True)
class Fetched:
    id: str
    files: tuple[Path, ...]
    sha256: str
    signed_by: str | None = None  # the verified signer's identity, when the version is signed


@dataclass(frozen=True)
class SignaturePolicy:
    """How fetch treats signatures: a signed version is always verified unless `skip`."""

    trust_roots: list[Path] | None = None  # the consumer's own; default: the registry's
    required: bool = False  # refuse unsigned versions
    skip: bool = False  # do not verify (for installs without model-signing)
    identity: str | None = None  # who must have signed; default: the record's publisher.identity


class RegistryClient:
    def __init__(self, location: str) -> None:
        self.base = registry_url(location)

    def resolve(self, name: str, version: str | None = None) -> Resolved:
        """The record of `name@version`, or of the model's latest version."""
        model_url = urllib.parse.urljoin(
            self.base, f"v1/models/{urllib.parse.quote(name)}/index.json"
        )
        try:
            model = read_document(model_url)
        except FetchError as exc:
            raise FetchError(
                f"cannot read model {name!r} from the registry at {self.base} ({exc})"
            ) from exc
        if version is None:
            version = str(model.get("latest"))
        entry = next((v for v in model.get("versions", []) if v.get("version") == version), None)
        if entry is None:
            known = ", ".join(v.get("version", "?") for v in model.get("versions", []))
            raise FetchError(f"{name} has no version {version} (published: {known})")
        record_url = urllib.parse.urljoin(model_url, str(entry["url"]))
        return Resolved(f"{name}@{version}", read_document(record_url), record_url)

    def fetch(
        self,
        name: str,
        version: str | None,
        to: Path,
        allow_deprecated: bool = False,
        progress: Progress | None = None,
        signature: SignaturePolicy | None = None,
    ) -> Fetched:
        return self.download(self.resolve(name, version), to, allow_deprecated, progress, signature)

    def download(
        self,
        resolved: Resolved,
        to: Path,
        allow_deprecated: bool = False,
        progress: Progress | None = None,
        signature: SignaturePolicy | None = None,
    ) -> Fetched:
        """Every file of a resolved version into `to`, kept only when every file and the
        signature (when the version is signed) verified."""
        try:
            return self._download(resolved, to, allow_deprecated, progress, signature)
        except OSError as exc:  # reading from the registry is handled: this is the target
            where = f"{exc.filename}: " if exc.filename else ""
            raise FetchError(f"cannot write into {to}: {where}{exc.strerror or exc}") from exc

    def _download(
        self,
        resolved: Resolved,
        to: Path,
        allow_deprecated: bool,
        progress: Progress | None,
        signature: SignaturePolicy | None,
    ) -> Fetched:
        policy = signature or SignaturePolicy()
        record = resolved.record
        refuse_unusable(record, allow_deprecated)
        signed = bool((record.get("signature") or {}).get("present"))
        if policy.required and not signed:
            raise FetchError(f"{resolved.id} is not signed, and a signature is required")
        artifact = record["artifact"]
        to.mkdir(parents=True, exist_ok=True)
        files = [(artifact, artifact.get("path") or _file_name(artifact["url"]))]
        files += [(extra, extra["path"]) for extra in artifact.get("external_data", [])]
        plans = self._chunk_plans(resolved)
        # Everything lands in a staging folder first: the signature covers the folder.
        staging = Path(tempfile.mkdtemp(prefix=".modelreg-fetch-", dir=to))
        try:
            for entry, relative in files:
                url = _source(entry, resolved.url)
                target = _inside(staging, relative)
                sha256, size = _expected(entry, relative)
                plan = plans.get(relative)
                if plan is None or not entry.get("merkle_root"):
                    try:
                        download(url, target, sha256, size, progress)
                    except FetchError as exc:
                        raise FetchError(f"{relative}: {exc}") from exc
                    continue
                partial = to / PARTIAL_DIR / f"{sha256}.part"  # a name only a digest makes
                try:
                    plan.check(sha256, size, str(entry["merkle_root"]))
                    fetch_chunked(url, partial, plan, progress)
                    target.parent.mkdir(parents=True, exist_ok=True)
                    partial.replace(target)
                except ChunkError as exc:
                    raise FetchError(f"{resolved.id}: {relative}: {exc}") from exc
                finally:
                    with contextlib.suppress(OSError):
                        partial.parent.rmdir()  # unless a download is waiting to resume
            signer = None
            if signed and not policy.skip:
                from registry.client_signature import verify_signature

                signer = verify_signature(record, resolved.url, self.base, staging, policy)
            written = []
            for _, relative in files:
                target = _inside(to, relative)
                target.parent.mkdir(parents=True, exist_ok=True)
                _inside(staging, relative).replace(target)
                written.append(target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return Fetched(resolved.id, tuple(written), artifact["sha256"], signer)

    def _chunk_plans(self, resolved: Resolved) -> dict[str, ChunkPlan]:
        """The chunk digests of each file (chunks.json), when the registry publishes them."""
        link = (resolved.record.get("links") or {}).get("chunks")
        if not link:
            return {}
        document = read_document(urllib.parse.urljoin(resolved.url, str(link)))
        try:
            size = int(document["chunk_size"])
            if size <= 0:
                raise ValueError("chunk_size must be positive")
            if document.get("algorithm") != "sha256":
                raise ValueError(f"algorithm {document.get('algorithm')!r} is not sha256")
            return {str(f["path"]): plan_from(f, size) for f in document["files"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise FetchError(f"{resolved.id}: chunks.json is malformed ({exc})") from exc


def refuse_unusable(record: dict[str, Any], allow_deprecated: bool) -> None:
    status = record.get("status")
    if status == "blocked":
        reasons = "; ".join((record.get("governance") or {}).get("reasons", [])) or "governance"
        raise FetchError(f"{record['id']} is blocked ({reasons}); it must not be used")
    if status == "deprecated" and not allow_deprecated:
        deprecation = (record.get("manifest") or {}).get("deprecation") or {}
        hint = (
            f"; use {deprecation['redirect_to']} instead" if deprecation.get("redirect_to") else ""
        )
        raise FetchError(
            f"{record['id']} is deprecated ({deprecation.get('reason', 'no reason given')}){hint}"
            ", or pass --allow-deprecated to fetch it anyway"
        )


def _expected(entry: dict[str, Any], relative: str) -> tuple[str, int]:
    """The SHA-256 and size the record declares for a file, checked to be what they say."""
    sha256, size = entry.get("sha256"), entry.get("size")
    if not (isinstance(sha256, str) and SHA256.fullmatch(sha256)):
        raise FetchError(f"the record's sha256 for {relative!r} is not a SHA-256: {sha256!r}")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise FetchError(f"the record's size for {relative!r} is not a size: {size!r}")
    return sha256, size


def _file_name(url: str) -> str:
    return Path(urllib.parse.urlparse(url).path).name or "model"


def _inside(folder: Path, relative: str) -> Path:
    """`folder/relative`, refusing a record that would write outside `folder`."""
    target = (folder / relative).resolve()
    if folder.resolve() not in target.parents:
        raise FetchError(f"the record names the file {relative!r}, outside the target folder")
    return target


def _source(entry: dict[str, Any], record_url: str) -> str:
    """The site's own copy (relative to the record) when it serves one, else the download URL."""
    if entry.get("href"):
        return urllib.parse.urljoin(record_url, str(entry["href"]))
    if entry.get("url"):
        return str(entry["url"])
    raise FetchError("the record gives no location for the artifact")


def download(
    url: str, target: Path, sha256: str, size: int, progress: Progress | None = None
) -> None:
    """Stream `url` into `target` while checking size and SHA-256; atomic; nothing on failure."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{target.name}.", suffix=".part", dir=target.parent
    )
    try:
        digest = hashlib.sha256()
        received = 0
        with os.fdopen(handle, "wb") as out, _open(url) as response:
            while chunk := response.read(READ_SIZE):
                received += len(chunk)
                if received > size:
                    raise FetchError(f"{url} sends more than the {size} bytes the record declares")
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(len(chunk))
        if received != size:
            raise FetchError(f"{url} sent {received} bytes; the record declares {size}")
        if digest.hexdigest() != sha256:
            raise FetchError(
                f"{url} has SHA-256 {digest.hexdigest()}, the record declares "
                f"{sha256}: the file is corrupted or was replaced; nothing was kept"
            )
        Path(temporary).replace(target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
