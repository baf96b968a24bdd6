"""The one door to the OpenSSF model-signing package: the only module that imports it.

model-signing is optional (`pip install 'modelreg[signing]'`), so it is imported only when a
signature is made or checked. Two of its calls are private (`model_signing._signing`: the
certificate verifier and the bundle reader, which verify a bundle's certificate chain and
signature without hashing the files again); they may change in any release, which is why
pyproject.toml bounds model-signing to the minor version tested, and why they live here alone.
Only certificate signing is configured, never Sigstore: nothing here uses the network.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

_VERIFYING = (
    "model_signing.hashing",
    "model_signing.verifying",
    "model_signing._signing.sign_certificate",
    "model_signing._signing.sign_sigstore_pb",
)


def can_verify() -> bool:
    """Whether what verification uses of model-signing can be imported (it is installed)."""
    try:
        for module in _VERIFYING:
            importlib.import_module(module)
    except ImportError:
        return False
    return True


def _hashing(ignored: Sequence[str]) -> Any:
    """Every file of the folder but `ignored` (and Git's own files)."""
    from model_signing import hashing

    return hashing.Config().set_ignored_paths(paths=list(ignored), ignore_git_paths=True)


def sign(
    folder: Path,
    signature: Path,
    key: Path,
    certificate: Path,
    chain: Sequence[Path],
    ignored: Sequence[str],
) -> None:
    """Write `signature` over the files of `folder` but `ignored`, with a private EC key, its
    certificate and the chain towards the root."""
    from model_signing import signing

    signing.Config().use_certificate_signer(
        private_key=key, signing_certificate=certificate, certificate_chain=list(chain)
    ).set_hashing_config(_hashing(ignored)).sign(folder, signature)


def verify_chain(signature: Path, trust_roots: Sequence[Path]) -> None:
    """Check the bundle's signature and its certificate chain against `trust_roots` (not the
    files' bytes: verify_files). Raises what the library raises on a bundle that fails."""
    from model_signing._signing import sign_certificate
    from model_signing._signing.sign_sigstore_pb import Signature

    sign_certificate.Verifier(list(trust_roots)).verify(Signature.read(signature))


def verify_files(
    folder: Path, signature: Path, trust_roots: Sequence[Path], ignored: Sequence[str]
) -> None:
    """Check that the files of `folder` (but `ignored`; files the bundle does not sign are
    ignored too) have the bytes the bundle signs. Raises what the library raises on a mismatch."""
    from model_signing import verifying

    verifying.Config().use_certificate_verifier(
        certificate_chain=list(trust_roots)
    ).set_hashing_config(_hashing(ignored)).set_ignore_unsigned_files(True).verify(
        folder, signature
    )
