"""modelreg sign VERSION_DIR --key KEY --cert CERT [--chain PEM ...]: write model.sig."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = (
    "sign a version's files with model-signing and a certificate that names the manifest's "
    "publisher.identity; writes model.sig"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("folder", type=Path, metavar="VERSION_DIR", help="models/<name>/<version>")
    parser.add_argument(
        "--key", type=Path, required=True, help="PEM private key, unencrypted (EC P-256 or P-384)"
    )
    parser.add_argument(
        "--cert",
        type=Path,
        required=True,
        help="PEM signing certificate; its Subject Alternative Name must be publisher.identity",
    )
    parser.add_argument(
        "--chain",
        type=Path,
        nargs="+",
        action="extend",
        default=[],
        metavar="PEM",
        help="intermediate certificates, from the one that issued --cert towards the root",
    )


def run(args: argparse.Namespace) -> int:
    from registry.authoring.sign import sign_version

    path, identity = sign_version(args.folder, args.key, args.cert, args.chain)
    print(f"wrote {path} (signed as {identity}); commit it with the version")
    return 0
