"""`modelreg sign`: sign a version folder after checking it is what its manifest says, with a
certificate that names its publisher."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from registry.findings import Severity
from registry.load.manifest import load_manifest
from registry.signing.bundle import CLAIMS_FILE, claims_bytes, identities
from registry.signing.sign import SigningError, sign_folder
from registry.validate.integrity import check_integrity
from registry.validate.signature import manifest_claims, signed_files
from registry.versions import MANIFEST_NAME


def _issuing_roots(root: Path, leaf: Any) -> list[Path]:
    """The registry's trust roots that issued `leaf` directly: the chain when no intermediate
    stands between them."""
    from cryptography import x509

    from registry.load.config import load_config

    found = []
    for name in load_config(root).governance.trust_roots:
        for candidate in x509.load_pem_x509_certificates((root / name).read_bytes()):
            if candidate.subject == leaf.issuer:
                found.append(root / name)
    return found


def sign_version(folder: Path, key: Path, certificate: Path, chain: list[Path]) -> tuple[Path, str]:
    """Sign a version folder after checking that its files are what its manifest says and that
    the certificate names publisher.identity; returns model.sig and the identity."""
    from cryptography import x509

    from registry.load.layout import find_root

    display = f"{folder}/{MANIFEST_NAME}"
    manifest, findings = load_manifest(folder / MANIFEST_NAME, display)
    if manifest is None:
        first = next(f for f in findings if f.severity is Severity.ERROR)
        raise SigningError(
            f"{display} is not a valid manifest ({first.code} at line {first.line or 1}: "
            f"{first.message}); fix it first (modelreg validate lists every finding)"
        )
    if manifest.artifact.path is None:
        raise SigningError("the artifact is a URL: only files in the version folder can be signed")
    _, findings = check_integrity(manifest, display)
    problems = [f for f in findings if f.severity is Severity.ERROR]
    if problems:
        raise SigningError(
            f"the files do not match the manifest ({problems[0].message}); nothing signed"
        )
    identity = manifest.publisher.identity
    if not identity:
        raise SigningError(
            f"{display} has no publisher.identity: set it to the email or URI your signing "
            "certificate names (its Subject Alternative Name)"
        )
    try:
        leaf = x509.load_pem_x509_certificate(certificate.read_bytes())
    except (OSError, ValueError) as exc:
        raise SigningError(f"{certificate}: not a PEM certificate ({exc})") from exc
    named = identities(leaf)
    if identity not in named:
        raise SigningError(
            f"{certificate} names {', '.join(named) or 'no email or URI'}, but "
            f"publisher.identity is {identity!r}: sign with a certificate issued to the "
            "publisher, or correct publisher.identity"
        )
    now = dt.datetime.now(dt.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise SigningError(
            f"{certificate} is valid from {leaf.not_valid_before_utc:%Y-%m-%d} to "
            f"{leaf.not_valid_after_utc:%Y-%m-%d}, not now: renew it"
        )
    chain = chain or _issuing_roots(find_root(folder), leaf)
    (folder / CLAIMS_FILE).write_bytes(claims_bytes(manifest_claims(manifest)))
    files = sorted([*signed_files(manifest), CLAIMS_FILE])
    return sign_folder(folder, key, certificate, chain, files), identity
