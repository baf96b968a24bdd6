"""Making model signatures with the OpenSSF model-signing package (`modelreg sign`).

`model.sig` signs exactly the files the manifest names (the artifact and its external data) and
`model.claims.json`, which `sign` writes beside them: the model's name and version, the
publisher's identity and the files' digests. So a signature cannot be moved to another name or
version with the same bytes: verification compares the signed claims with the manifest. The
manifest, the reports and any other file are left out, so metadata and monitoring can change
after signing, and a consumer who fetched the named files can verify them.
Only certificate signing is configured, never Sigstore, so nothing here uses the network.
registry.signature verifies what this module makes.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from registry.errors import ModelregError
from registry.findings import Severity
from registry.load.manifest import Manifest, load_manifest
from registry.validate.integrity import check_integrity
from registry.versions import MANIFEST_NAME

SIGNATURE_FILE = "model.sig"
CLAIMS_FILE = "model.claims.json"
MAX_SIGNATURE = 1 << 20  # a bundle is a few KiB: certificates and one digest per file
MAX_CLAIMS = 1 << 20  # a name, a version, an identity and one digest per file


class SigningError(ModelregError):
    """A signature could not be made."""


def signed_files(manifest: Manifest) -> dict[str, str]:
    """Relative path -> SHA-256 of every file a signature covers."""
    art = manifest.artifact
    files = {e.path: e.sha256 for e in art.external_data}
    if art.path is not None:
        files[art.path] = art.sha256
    return files


def claims_of(
    model_name: str, version: str, identity: str | None, files: dict[str, str]
) -> dict[str, Any]:
    """What a signature claims besides the files' bytes: who published which version."""
    return {
        "model_name": model_name,
        "version": version,
        "publisher_identity": identity,
        "files": dict(sorted(files.items())),
    }


def manifest_claims(manifest: Manifest) -> dict[str, Any]:
    data = manifest.data
    identity = (data.get("publisher") or {}).get("identity")
    return claims_of(
        str(data["model_name"]), str(data["version"]), identity, signed_files(manifest)
    )


def claims_bytes(claims: dict[str, Any]) -> bytes:
    return json.dumps(claims, sort_keys=True, indent=2, ensure_ascii=False).encode() + b"\n"


def identities(certificate: Any) -> list[str]:
    """The emails and URIs of a certificate's Subject Alternative Name; none when it has none
    (or cannot be read)."""
    from cryptography import x509

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    return [
        str(value)
        for kind in (x509.RFC822Name, x509.UniformResourceIdentifier)
        for value in names.get_values_for_type(kind)
    ]


def hashing_config(ignored: list[str]) -> Any:
    from model_signing import hashing

    return hashing.Config().set_ignored_paths(paths=ignored, ignore_git_paths=True)


def sign_folder(
    folder: Path, key: Path, certificate: Path, chain: list[Path], files: list[str] | None = None
) -> Path:
    """Write folder/model.sig over `files` (default: every file but model.sig) with a private
    EC key, its certificate and the chain towards the root."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from model_signing import signing

    try:
        private = load_pem_private_key(key.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise SigningError(f"{key}: not an unencrypted PEM private key ({exc})") from exc
    if not isinstance(private, ec.EllipticCurvePrivateKey):
        raise SigningError(
            f"{key}: model-signing signs with elliptic-curve keys only (P-256, P-384)"
        )
    if not chain:
        raise SigningError(
            "give the certificate chain with --chain: the intermediate certificate(s) that "
            "issued --cert (model-signing cannot sign without one)"
        )
    present = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    keep = set(present if files is None else files) - {SIGNATURE_FILE}
    target = folder / SIGNATURE_FILE
    try:
        signing.Config().use_certificate_signer(
            private_key=key, signing_certificate=certificate, certificate_chain=chain
        ).set_hashing_config(
            hashing_config([p for p in present if p not in keep] + [SIGNATURE_FILE])
        ).sign(folder, target)
    except (OSError, ValueError) as exc:
        raise SigningError(f"signing {folder} failed: {exc}") from exc
    return target


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
    identity = manifest.data["publisher"].get("identity")
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
