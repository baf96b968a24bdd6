"""A small client of the static JSON API: resolve a model version, download it, verify it.

Works against a published site given as a folder, a file:// URL or an http(s) URL, read through
one transport (transport.py: which places it may open, timeouts, schemas). Every file streams
through SHA-256 and size checks into a staging folder inside the target; the files are moved into
place only when every file and the signature verified, all of them or none: a failed fetch leaves
nothing in the target. A cut chunked download keeps its verified chunks in the user cache folder
(`downloads/<sha256>.part`, outside the target) and the next run resumes from them.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registry.client.chunks import ChunkError, ChunkPlan, fetch_chunked, plan_from
from registry.infra.hashing import READ_SIZE, Progress
from registry.infra.transport import FetchError, Limits, Transport

__all__ = ["FetchError", "FetchOptions", "Fetched", "RegistryClient", "Resolved"]
PARTIAL_FOLDER = "downloads"  # in the user cache folder: cut downloads to resume, by SHA-256
FREE_SPACE_MARGIN = 64 << 20  # left free beside what a fetch writes


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
    claims: bool = False  # the signature also covers the record's claims (name, publisher)


@dataclass(frozen=True)
class SignaturePolicy:
    """How fetch treats signatures: a signed version is always verified unless `skip`."""

    trust_roots: list[Path] | None = None  # the consumer's own; default: the registry's
    required: bool = False  # refuse unsigned versions
    skip: bool = False  # do not verify (for installs without model-signing)
    identity: str | None = None  # who must have signed; default: the record's publisher.identity
    log_head: str | None = None  # SEQ:HASH of the registry's log the consumer pins


@dataclass(frozen=True)
class FetchOptions:
    allow_deprecated: bool = False
    max_size: int | None = None  # bytes one version's files may total
    signature: SignaturePolicy = field(default_factory=SignaturePolicy)


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

    def resolve(self, name: str, version: str | None = None) -> Resolved:
        """The record of `name@version`, or of the model's latest version."""
        self.index()
        model_url = urllib.parse.urljoin(
            self.base, f"v1/models/{urllib.parse.quote(name, safe='')}/index.json"
        )
        try:
            model = self.transport.document(model_url, "model.json")
        except FetchError as exc:
            raise FetchError(
                f"cannot read model {name!r} from the registry at {self.base} ({exc})"
            ) from None
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
        return Resolved(f"{name}@{version}", record, record_url)

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
        try:
            return self._download(resolved, to, options or FetchOptions(), progress)
        except OSError as exc:  # reading from the registry is handled: this is the target
            where = f"{exc.filename}: " if exc.filename else ""
            raise FetchError(f"cannot write into {to}: {where}{exc.strerror or exc}") from None

    def _download(
        self, resolved: Resolved, to: Path, options: FetchOptions, progress: Progress | None
    ) -> Fetched:
        policy = options.signature
        record = resolved.record
        refuse_unusable(record, options.allow_deprecated)
        signed = bool(record["signature"].get("present"))
        if policy.required and not signed:
            raise FetchError(f"{resolved.id} is not signed, and a signature is required")
        files = _files(record["artifact"])
        pinned = None
        if policy.log_head is not None:
            from registry.client.signature import pinned_publication

            pinned = pinned_publication(self, resolved, policy.log_head)
        _check_room(resolved.id, to, sum(entry["size"] for entry, _ in files), options.max_size)
        plans = self._chunk_plans(resolved)
        created = not to.exists()
        to.mkdir(parents=True, exist_ok=True)
        # Everything lands in a staging folder first: the signature covers the folder.
        staging = Path(tempfile.mkdtemp(prefix=".modelreg-fetch-", dir=to))
        try:
            for entry, relative in files:
                self._fetch_file(
                    resolved, entry, relative, _inside(staging, relative), plans, progress
                )
            signer, claims = None, False
            if signed and not policy.skip:
                from registry.client.signature import verify_signature

                signer, claims = verify_signature(self, resolved, staging, policy, pinned)
            written = _place(staging, to, [relative for _, relative in files])
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            if created:
                with contextlib.suppress(OSError):
                    to.rmdir()  # only when nothing else is in it
            raise
        shutil.rmtree(staging, ignore_errors=True)
        return Fetched(resolved.id, tuple(written), record["artifact"]["sha256"], signer, claims)

    def _fetch_file(
        self,
        resolved: Resolved,
        entry: dict[str, Any],
        relative: str,
        target: Path,
        plans: dict[str, ChunkPlan],
        progress: Progress | None,
    ) -> None:
        url = _source(entry, resolved.url)
        sha256, size = entry["sha256"], entry["size"]
        plan = plans.get(relative)
        if plan is None or not entry.get("merkle_root"):
            try:
                self.stream_to(url, target, sha256, size, progress)
            except FetchError as exc:
                raise FetchError(f"{relative}: {exc}") from None
            return
        from registry.infra.cacheplace import cache_root

        partial = cache_root() / PARTIAL_FOLDER / f"{sha256}.part"  # a name only a digest makes
        try:
            plan.check(sha256, size, str(entry["merkle_root"]))
            fetch_chunked(url, partial, plan, progress, self.transport.open)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.move(partial, target)
        except (ChunkError, FetchError) as exc:
            raise FetchError(f"{resolved.id}: {relative}: {exc}") from None

    def stream_to(
        self, url: str, target: Path, sha256: str, size: int, progress: Progress | None = None
    ) -> None:
        """Stream `url` into `target` checking size and SHA-256; atomic; nothing on failure."""
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(
            prefix=f".{target.name}.", suffix=".part", dir=target.parent
        )
        try:
            digest = hashlib.sha256()
            received = 0
            stream, _ = self.transport.open(url)
            with open(handle, "wb") as out, stream:  # noqa: PTH123 - a descriptor
                while chunk := stream.read(READ_SIZE):
                    received += len(chunk)
                    if received > size:
                        raise FetchError(
                            f"{url} sends more than the {size} bytes the record declares"
                        )
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

    def _chunk_plans(self, resolved: Resolved) -> dict[str, ChunkPlan]:
        """The chunk digests of each file (chunks.json), when the registry publishes them."""
        link = resolved.record["links"].get("chunks")
        if not link:
            return {}
        document = self.transport.document(urllib.parse.urljoin(resolved.url, link), "chunks.json")
        try:
            return {f["path"]: plan_from(f, document["chunk_size"]) for f in document["files"]}
        except (KeyError, TypeError, ValueError) as exc:
            raise FetchError(f"{resolved.id}: chunks.json is malformed ({exc})") from None


def refuse_unusable(record: dict[str, Any], allow_deprecated: bool) -> None:
    status = record["status"]
    if status == "blocked":
        reasons = "; ".join(record["governance"].get("reasons", [])) or "governance"
        raise FetchError(f"{record['id']} is blocked ({reasons}); it must not be used")
    if status == "deprecated" and not allow_deprecated:
        deprecation = record["manifest"].get("deprecation") or {}
        hint = (
            f"; use {deprecation['redirect_to']} instead" if deprecation.get("redirect_to") else ""
        )
        raise FetchError(
            f"{record['id']} is deprecated ({deprecation.get('reason', 'no reason given')}){hint}"
            ", or pass --allow-deprecated to fetch it anyway"
        )


def _files(artifact: dict[str, Any]) -> list[tuple[dict[str, Any], str]]:
    """(entry, path in the target) of every file; two files with one name are refused (the
    second would silently replace the first)."""
    name = artifact["path"] or _file_name(artifact["url"] or "")
    files = [(artifact, name)] + [(e, e["path"]) for e in artifact["external_data"]]
    seen: set[str] = set()
    for _, relative in files:
        key = Path(relative).as_posix().casefold()
        if key in seen:
            raise FetchError(
                f"the record names the file {relative!r} twice (artifact and external data): "
                "the registry is broken or hostile"
            )
        seen.add(key)
    return files


def _check_room(id: str, to: Path, total: int, max_size: int | None) -> None:
    """Refuse before downloading what could not fit, or what the consumer does not want."""
    if max_size is not None and total > max_size:
        raise FetchError(
            f"{id} declares {total} bytes, over --max-size {max_size}; nothing was downloaded"
        )
    existing = next((p for p in (to, *to.resolve().parents) if p.exists()), Path("/"))
    free = shutil.disk_usage(existing).free
    if total + FREE_SPACE_MARGIN > free:
        raise FetchError(
            f"{id} declares {total} bytes and {existing} has {free} free; nothing was downloaded"
        )


def _place(staging: Path, to: Path, relatives: list[str]) -> list[Path]:
    """Move every verified file into `to`: all of them, or none (those moved are taken back)."""
    placed: list[tuple[Path, Path | None]] = []
    try:
        for relative in relatives:
            target = _inside(to, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            backup = None
            if target.is_dir():
                raise FetchError(f"cannot write into {to}: {relative} there is a folder")
            if target.exists():
                backup = _inside(staging, f".previous/{relative}")
                backup.parent.mkdir(parents=True, exist_ok=True)
                target.replace(backup)
            _inside(staging, relative).replace(target)
            placed.append((target, backup))
    except BaseException:
        for target, backup in reversed(placed):
            if backup is not None:
                backup.replace(target)
            else:
                target.unlink(missing_ok=True)
        raise
    return [target for target, _ in placed]


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
