"""What a signature bundle is made of: the file names, size caps, the claims it signs and the
certificate identities it names (read without model-signing: signing.modelsigning calls it)."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

SIGNATURE_FILE = "model.sig"


CLAIMS_FILE = "model.claims.json"


MAX_SIGNATURE = 1 << 20  # a bundle is a few KiB: certificates and one digest per file


MAX_CLAIMS = 1 << 20  # a name, a version, an identity and one digest per file


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


class BundleUnreadable(Exception):
    """model.sig cannot be read as a signature bundle."""


def read_bundle(path: Path) -> tuple[Any, dict[str, Any]]:
    """The leaf certificate and the signed statement of a model.sig (not yet verified)."""
    from cryptography import x509

    if path.stat().st_size > MAX_SIGNATURE:
        raise BundleUnreadable(f"it is larger than {MAX_SIGNATURE} bytes; a bundle is a few KiB")
    try:
        bundle = json.loads(path.read_bytes())
        chain = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]
        leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0]["rawBytes"]))
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        leaf.issuer.rfc4514_string()  # parsed lazily: fail here, not later
        resources = statement["predicate"]["resources"]
        if not isinstance(resources, list):
            raise TypeError("resources is not a list")
    except (ValueError, KeyError, IndexError, TypeError, RecursionError) as exc:
        raise BundleUnreadable(f"{type(exc).__name__}: {exc}") from exc
    return leaf, statement
