"""Model signatures with the OpenSSF model-signing package, bound to the publisher's identity.

`model.sig` signs the files of a version folder that never change (the artifact and its external
data); the manifest, the reports and the signature itself are left out, so metadata can still
change. model-signing checks the certificate chain and the signed file digests; it checks neither
the leaf's validity period nor its identity, so this module does both: the leaf must have been
valid when model.sig was committed, and its SAN (email or URI) must equal publisher.identity.
Only certificate verification is configured, never Sigstore, so nothing here uses the network;
an empty list of trust roots is refused (model-signing would fall back to public web roots).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from registry import git
from registry.errors import ModelregError
from registry.findings import Finding, Severity, error, has_errors
from registry.integrity import check_integrity
from registry.layout import VersionDir
from registry.manifest import Manifest, load_manifest
from registry.policy_config import GovernancePolicy
from registry.versions import MANIFEST_NAME

SIGNATURE_FILE = "model.sig"
# Not signed: what may change after publication, and the signature itself.
UNSIGNED = [MANIFEST_NAME, SIGNATURE_FILE, "reports"]


class SigningError(ModelregError):
    """A signature could not be made."""


@dataclass(frozen=True)
class SignatureResult:
    present: bool
    verified: bool = False
    code: str | None = None  # the finding code when not verified
    message: str = ""
    identity: str | None = None  # the leaf certificate's SAN
    issuer: str | None = None
    signed_at: str | None = None  # RFC 3339: when model.sig was committed (validity checked then)

    def to_json(self) -> dict[str, Any]:
        return {
            "present": self.present,
            "verified": self.verified,
            "identity": self.identity,
            "issuer": self.issuer,
            "signed_at": self.signed_at,
            "problem": self.code,
            "message": self.message,
        }


def _hashing() -> Any:
    from model_signing import hashing

    return hashing.Config().set_ignored_paths(paths=UNSIGNED, ignore_git_paths=True)


def sign_folder(folder: Path, key: Path, certificate: Path, chain: list[Path]) -> Path:
    """Write folder/model.sig with a private EC key and its certificate (plus intermediates)."""
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
    target = folder / SIGNATURE_FILE
    try:
        signing.Config().use_certificate_signer(
            private_key=key, signing_certificate=certificate, certificate_chain=chain
        ).set_hashing_config(_hashing()).sign(folder, target)
    except (OSError, ValueError) as exc:
        raise SigningError(f"signing {folder} failed: {exc}") from exc
    return target


def sign_version(folder: Path, key: Path, certificate: Path, chain: list[Path]) -> tuple[Path, str]:
    """Sign a version folder after checking that it is what its manifest says and that the
    certificate names the manifest's publisher.identity; returns model.sig and the identity."""
    from cryptography import x509

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
    if has_errors(findings):
        first = next(f for f in findings if f.severity is Severity.ERROR)
        raise SigningError(f"the files do not match the manifest ({first.message}); nothing signed")
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
    named = leaf_identity(leaf)
    if named != identity:
        raise SigningError(
            f"{certificate} names {named!r}, but publisher.identity is {identity!r}: sign with a "
            "certificate issued to the publisher, or correct publisher.identity"
        )
    now = dt.datetime.now(dt.UTC)
    if not leaf.not_valid_before_utc <= now <= leaf.not_valid_after_utc:
        raise SigningError(
            f"{certificate} is valid from {leaf.not_valid_before_utc:%Y-%m-%d} to "
            f"{leaf.not_valid_after_utc:%Y-%m-%d}, not now: renew it"
        )
    return sign_folder(folder, key, certificate, chain), identity


def leaf_identity(certificate: Any) -> str | None:
    """The email or URI a certificate's Subject Alternative Name gives."""
    from cryptography import x509

    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return None
    for kind in (x509.RFC822Name, x509.UniformResourceIdentifier):
        found = names.get_values_for_type(kind)
        if found:
            return str(found[0])
    return None


def _bundle(path: Path) -> tuple[Any, dict[str, Any]]:
    """The leaf certificate and the signed statement of a model.sig (not yet verified)."""
    from cryptography import x509

    bundle = json.loads(path.read_text(encoding="utf-8"))
    chain = bundle["verificationMaterial"]["x509CertificateChain"]["certificates"]
    leaf = x509.load_der_x509_certificate(base64.b64decode(chain[0]["rawBytes"]))
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return leaf, statement


def verify_folder(
    folder: Path,
    artifact: str,
    sha256: str,
    identity: str | None,
    trust_roots: list[Path],
    signed_at: dt.datetime,
    roots_from: str = "governance.trust_roots of registry.yaml",
) -> SignatureResult:
    """Check folder/model.sig: chain, validity at `signed_at`, identity, the artifact's digest,
    and that the files are those signed. `roots_from` says where `trust_roots` came from."""
    path = folder / SIGNATURE_FILE
    if not path.is_file():
        return SignatureResult(False)
    when = signed_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if not trust_roots:
        return SignatureResult(
            True,
            code="signing.no-trust-roots",
            message=(
                f"no trust roots ({roots_from}), so no signature can be trusted; add the PEM "
                "file of the certificate authority that issues publisher certificates"
            ),
            signed_at=when,
        )
    try:
        leaf, statement = _bundle(path)
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        return SignatureResult(
            True,
            code="signing.invalid",
            message=f"model.sig is not a signature bundle ({exc})",
            signed_at=when,
        )
    signer = leaf_identity(leaf)
    issuer = leaf.issuer.rfc4514_string()

    def failed(code: str, message: str) -> SignatureResult:
        return SignatureResult(True, False, code, message, signer, issuer, when)

    try:
        from model_signing import verifying
        from model_signing._signing import sign_certificate
        from model_signing._signing.sign_sigstore_pb import Signature
    except ImportError:
        return failed(
            "signing.unavailable",
            "model-signing is not installed, so model.sig "
            "cannot be verified: pip install 'modelreg[signing]'",
        )

    try:
        sign_certificate.Verifier(trust_roots).verify(Signature.read(path))
    except Exception as exc:  # noqa: BLE001 - OpenSSL and protobuf errors arrive in many types
        return failed(
            "signing.untrusted",
            f"model.sig does not chain to a trusted root ({roots_from}): "
            f"{type(exc).__name__}: {exc}",
        )
    if not leaf.not_valid_before_utc <= signed_at <= leaf.not_valid_after_utc:
        return failed(
            "signing.expired",
            f"the signing certificate was valid from "
            f"{leaf.not_valid_before_utc:%Y-%m-%d} to {leaf.not_valid_after_utc:%Y-%m-%d}"
            f", not when model.sig was committed ({signed_at:%Y-%m-%d})",
        )
    if identity is None:
        return failed(
            "signing.identity-mismatch",
            f"model.sig was signed by {signer!r}, but the "
            "manifest has no publisher.identity: set it to the email or URI the "
            "certificate names",
        )
    if signer != identity:
        return failed(
            "signing.identity-mismatch",
            f"model.sig was signed by {signer!r}, but "
            f"publisher.identity is {identity!r}: they must be the same",
        )
    resources = {r["name"]: r["digest"] for r in statement["predicate"]["resources"]}
    if resources.get(artifact) != sha256:
        return failed(
            "signing.digest-mismatch",
            f"model.sig signs {artifact} as "
            f"{resources.get(artifact)}, the manifest's sha256 is {sha256}: it was "
            "made for another file",
        )
    try:
        verifying.Config().use_certificate_verifier(
            certificate_chain=trust_roots
        ).set_hashing_config(_hashing()).verify(folder, path)
    except Exception as exc:  # noqa: BLE001 - the library reports mismatches as ValueError etc.
        return failed(
            "signing.artifact-mismatch",
            "the files of the version differ from what "
            f"model.sig signs: the artifact was changed after signing ({exc})",
        )
    return SignatureResult(True, True, None, "", signer, issuer, when)


def check_signature(
    root: Path, policy: GovernancePolicy, manifest: Manifest, version: VersionDir
) -> tuple[SignatureResult, list[Finding]]:
    """The signature stage: model.sig verified when present, required when the tier says so."""
    display = version.display(SIGNATURE_FILE)
    required = policy.tiers[manifest.risk_tier].signature_required
    if not (version.path / SIGNATURE_FILE).is_file():
        if not required:
            return SignatureResult(False), []
        return SignatureResult(False), [
            error(
                "signing.required",
                f"{manifest.risk_tier} versions must be signed: run `modelreg sign "
                f"{version.relative} --key KEY --cert CERT --chain CHAIN` with a certificate that "
                "names publisher.identity, and commit model.sig",
                version.display(),
                manifest.field_position("risk_tier"),
            )
        ]
    if manifest.artifact.path is None:
        return SignatureResult(True, code="signing.no-file"), [
            error(
                "signing.no-file",
                "model.sig can only sign files of the version folder; this "
                "version's artifact is a URL: remove model.sig or commit the file",
                display,
            )
        ]
    committed = git.last_commit_time(root, f"{git.models_prefix(root)}{display}")
    result = verify_folder(
        version.path,
        manifest.artifact.path,
        manifest.artifact.sha256,
        manifest.data["publisher"].get("identity"),
        [root / name for name in policy.trust_roots],
        committed or dt.datetime.now(dt.UTC),
    )
    if result.code is None:
        return result, []
    return result, [error(result.code, result.message, display)]
