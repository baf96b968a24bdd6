"""Making model signatures with the OpenSSF model-signing package.

`model.sig` signs exactly the files the manifest names (the artifact and its external data) and
`model.claims.json`, which `sign` writes beside them: the model's name and version, the
publisher's identity and the files' digests. So a signature cannot be moved to another name or
version with the same bytes: verification compares the signed claims with the manifest. The
manifest, the reports and any other file are left out, so metadata and monitoring can change
after signing, and a consumer who fetched the named files can verify them.
Only certificate signing is configured, never Sigstore, so nothing here uses the network
(signing.modelsigning is the one module that calls model-signing). signing.verify verifies what
this module makes; authoring.sign signs a version folder with it.
"""

from __future__ import annotations

from pathlib import Path

from registry.errors import ModelregError
from registry.signing import modelsigning
from registry.signing.bundle import SIGNATURE_FILE


class SigningError(ModelregError):
    """A signature could not be made."""


def sign_folder(
    folder: Path, key: Path, certificate: Path, chain: list[Path], files: list[str] | None = None
) -> Path:
    """Write folder/model.sig over `files` (default: every file but model.sig) with a private
    EC key, its certificate and the chain towards the root."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

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
        ignored = [p for p in present if p not in keep] + [SIGNATURE_FILE]
        modelsigning.sign(folder, target, key, certificate, chain, ignored)
    except (OSError, ValueError) as exc:
        raise SigningError(f"signing {folder} failed: {exc}") from exc
    return target
