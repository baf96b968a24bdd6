"""Verifying model.sig, bound to the publisher's identity (for the validation stage and fetch).

model-signing checks the certificate chain and the signed file digests. It checks neither the
leaf's validity period nor its identity, so this module does both: the leaf must have been valid
at the time the caller gives (validate.signature: when model.sig entered the branch; fetch: now,
or a pinned log's time), and one of its SANs (email or URI) must equal the identity expected.
An empty list of trust roots is refused: model-signing would fall back to public web roots.
It reads files and certificates only: nothing of the registry's loader or validation.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry.signing import modelsigning
from registry.signing.bundle import (
    CLAIMS_FILE,
    MAX_CLAIMS,
    SIGNATURE_FILE,
    BundleUnreadable,
    identities,
    read_bundle,
)
from registry.times import FORMAT


@dataclass(frozen=True, slots=True)
class SignatureResult:
    present: bool
    verified: bool = False
    code: str | None = None  # the finding code when not verified
    message: str = ""
    identity: str | None = None  # the leaf certificate's SAN that matched (or its first)
    issuer: str | None = None
    signed_at: str | None = None  # RFC 3339: when the leaf's validity was judged
    claims: bool = False  # model.claims.json is signed and matches (name, version, publisher)
    commit: str | None = None  # the first-parent commit that brought model.sig (signing_commit)

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "verified": self.verified,
            "identity": self.identity,
            "issuer": self.issuer,
            "signed_at": self.signed_at,
            "claims_signed": self.claims,
            "commit": self.commit,
            "problem": self.code,
            "message": self.message,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> SignatureResult:
        """The result to_json wrote (the result cache), by key. `claims_signed` and `commit`
        came later than the other keys: without them, claims are unsigned and no commit known."""
        return cls(
            present=data["present"],
            verified=data["verified"],
            code=data["problem"],
            message=data["message"],
            identity=data["identity"],
            issuer=data["issuer"],
            signed_at=data["signed_at"],
            claims=bool(data.get("claims_signed")),
            commit=data.get("commit"),
        )

    @property
    def summary(self) -> str:
        """How the catalog and fetch describe a verified signature."""
        return "files and claims signed" if self.claims else "files signed, claims unsigned"


def verify_folder(
    folder: Path,
    expected: Mapping[str, str],
    identity: str | None,
    trust_roots: list[Path],
    signed_at: dt.datetime,
    roots_from: str = "governance.trust_roots of registry.yaml",
    claims: Mapping[str, Any] | None = None,
) -> SignatureResult:
    """Check folder/model.sig against the files `expected` (relative path -> SHA-256): chain,
    validity at `signed_at`, identity, the signed digests, the files' bytes, and, when the
    signature covers model.claims.json, that its claims are `claims` (what the manifest or the
    record says). `roots_from` says where `trust_roots` came from, for messages."""
    path = folder / SIGNATURE_FILE
    if not path.is_file():
        return SignatureResult(False)
    when = signed_at.astimezone(dt.UTC)
    stamp = when.strftime(FORMAT)
    if not trust_roots:
        return SignatureResult(
            True,
            code="signing.no-trust-roots",
            message=f"no trust roots ({roots_from}), so no signature can be trusted; add the "
            "PEM file of the certificate authority that issues publisher certificates",
            signed_at=stamp,
        )
    try:
        leaf, statement = read_bundle(path)
    except (OSError, BundleUnreadable) as exc:
        return SignatureResult(
            True,
            code="signing.invalid",
            message=f"model.sig is not a model-signing bundle ({exc}); sign again with "
            "`modelreg sign`",
            signed_at=stamp,
        )
    names = identities(leaf)
    signer = identity if identity in names else (names[0] if names else None)
    issuer = leaf.issuer.rfc4514_string()

    def failed(code: str, message: str) -> SignatureResult:
        return SignatureResult(True, False, code, message, signer, issuer, stamp)

    if not modelsigning.can_verify():
        return failed(
            "signing.unavailable",
            "model-signing is not installed, so model.sig cannot be verified: "
            "pip install 'modelreg[signing]'",
        )
    try:
        modelsigning.verify_chain(path, trust_roots)
    except Exception as exc:  # noqa: BLE001 - OpenSSL and protobuf errors arrive in many types
        return failed(
            "signing.untrusted",
            "model.sig does not verify: its signature or its certificate chain is not valid "
            f"for the trust roots ({roots_from}): {type(exc).__name__}: {exc}",
        )
    if not leaf.not_valid_before_utc <= when <= leaf.not_valid_after_utc:
        return failed(
            "signing.expired",
            f"the signing certificate was valid from {leaf.not_valid_before_utc:%Y-%m-%d} to "
            f"{leaf.not_valid_after_utc:%Y-%m-%d}, not when model.sig was made ({stamp}); "
            "sign again with a current certificate",
        )
    if identity is None or identity not in names:
        wanted = (
            f"publisher.identity is {identity!r}"
            if identity
            else "the manifest has no publisher.identity"
        )
        return failed(
            "signing.identity-mismatch",
            f"model.sig was signed by a certificate for {', '.join(names) or 'no email or URI'}"
            f", but {wanted}: they must be the same",
        )
    signed = {str(r.get("name")): str(r.get("digest")) for r in statement["predicate"]["resources"]}
    claims_signed = signed.pop(CLAIMS_FILE, None) is not None
    if signed != dict(expected):
        return failed(
            "signing.digest-mismatch",
            f"model.sig signs {_describe(signed)}, but the manifest names {_describe(expected)}: "
            "it was made for other files; sign this version again",
        )
    try:
        modelsigning.verify_files(folder, path, trust_roots, [SIGNATURE_FILE])
    except Exception as exc:  # noqa: BLE001 - the library reports mismatches as ValueError etc.
        return failed(
            "signing.artifact-mismatch",
            f"the bytes of the signed files differ from what model.sig signs ({exc}): a file "
            "was changed after signing",
        )
    if claims_signed:
        problem = _claims_problem(folder / CLAIMS_FILE, claims)
        if problem is not None:
            return failed("signing.claims-mismatch", problem)
    return SignatureResult(True, True, None, "", signer, issuer, stamp, claims_signed)


def _claims_problem(path: Path, expected: Mapping[str, Any] | None) -> str | None:
    """Why the signed model.claims.json does not say what the manifest says (its bytes were
    verified with the other signed files)."""
    try:
        if path.stat().st_size > MAX_CLAIMS:
            raise ValueError(f"larger than {MAX_CLAIMS} bytes")
        found = json.loads(path.read_bytes())
    except (OSError, ValueError, RecursionError) as exc:
        return f"model.claims.json, which model.sig signs, cannot be read ({exc})"
    if expected is None or found != dict(expected):
        differing = (
            sorted(
                k for k in {*found, *(expected or {})} if (expected or {}).get(k) != found.get(k)
            )
            if isinstance(found, dict)
            else ["the whole document"]
        )
        return (
            "model.sig signs claims that differ from this version's manifest "
            f"({', '.join(differing)}): a signature made for another model, version or "
            "publisher; sign this version with `modelreg sign`"
        )
    return None


def _describe(files: Mapping[str, str]) -> str:
    return ", ".join(f"{name} ({digest[:12]}…)" for name, digest in sorted(files.items()))
