"""The values the client passes around: a resolved version, how to treat signatures, what a fetch
kept."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True, slots=True)
class Resolved:
    id: str
    record: dict[str, Any]
    url: str  # of the record document: links in it are relative to it
    alias: str | None = None  # asked for as name@alias: a pinned log must agree (signature.py)


@dataclass(frozen=True, slots=True)
class Fetched:
    id: str
    files: tuple[Path, ...]
    sha256: str
    signed_by: str | None = None  # the verified signer's identity, when the version is signed
    claims: bool = False  # the signature also covers the record's claims (name, publisher)


@dataclass(frozen=True, slots=True)
class SignaturePolicy:
    """How fetch treats signatures: a signed version is always verified unless `skip`."""

    trust_roots: list[Path] | None = None  # the consumer's own; default: the registry's
    required: bool = False  # refuse unsigned versions
    skip: bool = False  # do not verify (for installs without model-signing)
    identity: str | None = None  # who must have signed; default: the record's publisher.identity
    log_head: str | None = None  # SEQ:HASH of the registry's log the consumer pins


@dataclass(frozen=True, slots=True)
class FetchOptions:
    allow_deprecated: bool = False
    max_size: int | None = None  # bytes one version's files may total
    signature: SignaturePolicy = field(default_factory=SignaturePolicy)
