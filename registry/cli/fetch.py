"""modelreg fetch NAME[@VERSION]: download a published model and verify it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from registry.errors import UsageError

HELP = "download a model version from a published registry, verifying size and SHA-256"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="NAME[@VERSION]", help="model, optionally @version")
    parser.add_argument(
        "--registry",
        metavar="URL_OR_DIR",
        help="the published site: a folder, file:// or http(s) URL (default: $MODELREG_REGISTRY)",
    )
    parser.add_argument(
        "--to",
        type=Path,
        default=Path(),
        metavar="DIR",
        help="where to write the files (default: the current folder)",
    )
    parser.add_argument(
        "--allow-deprecated", action="store_true", help="fetch a deprecated version anyway"
    )
    parser.add_argument(
        "--trust-root",
        type=Path,
        action="append",
        metavar="PEM",
        help="a CA certificate to verify model.sig against (repeatable; default: the trust roots "
        "the registry publishes)",
    )
    parser.add_argument(
        "--identity",
        metavar="EMAIL_OR_URI",
        help="who must have signed (default: the publisher.identity the registry publishes); "
        "with --trust-root, the registry cannot vouch for itself",
    )
    parser.add_argument(
        "--require-signature", action="store_true", help="refuse a version that is not signed"
    )
    parser.add_argument(
        "--skip-signature",
        action="store_true",
        help="do not verify model.sig (for installs without model-signing); size and SHA-256 "
        "are still verified",
    )


def run(args: argparse.Namespace) -> int:
    from registry.client import RegistryClient, SignaturePolicy
    from registry.console import Progress

    if args.skip_signature and (args.require_signature or args.trust_root or args.identity):
        raise UsageError(
            "--skip-signature cannot be combined with --require-signature, --trust-root or "
            "--identity"
        )
    for root in args.trust_root or []:
        if not root.is_file():
            raise UsageError(f"--trust-root {root}: no such file")
    policy = SignaturePolicy(
        args.trust_root, args.require_signature, args.skip_signature, args.identity
    )
    location = args.registry or os.environ.get("MODELREG_REGISTRY")
    if not location:
        raise UsageError("say where the registry is: --registry URL_OR_DIR or $MODELREG_REGISTRY")
    name, _, version = args.spec.partition("@")
    client = RegistryClient(location)
    resolved = client.resolve(name, version or None)
    artifact = resolved.record["artifact"]
    size = artifact["size"] + sum(e["size"] for e in artifact.get("external_data", []))
    with Progress(f"fetching {resolved.id}", size, "bytes") as progress:
        fetched = client.download(resolved, args.to, args.allow_deprecated, progress.update, policy)
    for path in fetched.files:
        print(f"{path}  (verified)")
    signed = f", signature verified: signed by {fetched.signed_by}" if fetched.signed_by else ""
    print(f"{fetched.id}: sha256 {fetched.sha256}{signed}")
    return 0
