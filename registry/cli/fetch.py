"""modelreg fetch NAME[@VERSION]: download a published model and verify it."""

from __future__ import annotations

import argparse
import os
import re
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
        "--log-head",
        metavar="SEQ:HASH",
        help="pin the registry's event log at an event seen before (verify-log prints its head): "
        "the record's files must be the ones the pinned log published, and the signing "
        "certificate is judged when model.sig entered the registry instead of now",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="give up on a server that does not connect, or sends nothing, for this long, or "
        "sends under 1 KiB/s over that time (default: 60)",
    )
    parser.add_argument(
        "--max-size",
        type=parse_size,
        metavar="BYTES",
        help="refuse a version whose files total more (e.g. 500M, 20G); free space is always "
        "checked against the declared size before downloading",
    )
    parser.add_argument(
        "--skip-signature",
        action="store_true",
        help="do not verify model.sig (for installs without model-signing); size and SHA-256 "
        "are still verified",
    )


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int:
    found = re.fullmatch(r"([0-9]+)([KMGT]?)(?:I?B)?", text.strip().upper())
    if found is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size (bytes, or 500M, 20G, 1T)")
    return int(found.group(1)) * _UNITS[found.group(2)]


def run(args: argparse.Namespace) -> int:
    from registry.client import FetchOptions, RegistryClient, SignaturePolicy
    from registry.eventlog.pin import LogPin
    from registry.infra.console import Progress
    from registry.infra.transport import Limits

    if args.skip_signature and (args.require_signature or args.trust_root or args.identity):
        raise UsageError(
            "--skip-signature cannot be combined with --require-signature, --trust-root or "
            "--identity"
        )
    for root in args.trust_root or []:
        if not root.is_file():
            raise UsageError(f"--trust-root {root}: no such file")
    if args.log_head is not None:
        LogPin.parse(args.log_head, "--log-head")
    if not args.timeout > 0:
        raise UsageError(f"--timeout {args.timeout:g}: give a positive number of seconds")
    policy = SignaturePolicy(
        args.trust_root, args.require_signature, args.skip_signature, args.identity, args.log_head
    )
    location = args.registry or os.environ.get("MODELREG_REGISTRY")
    if not location:
        raise UsageError("say where the registry is: --registry URL_OR_DIR or $MODELREG_REGISTRY")
    name, _, version = args.spec.partition("@")
    client = RegistryClient(location, Limits(timeout=args.timeout))
    resolved = client.resolve(name, version or None)
    artifact = resolved.record["artifact"]
    size = artifact["size"] + sum(e["size"] for e in artifact["external_data"])
    options = FetchOptions(args.allow_deprecated, args.max_size, policy)
    with Progress(f"fetching {resolved.id}", size, "bytes") as progress:
        fetched = client.download(resolved, args.to, options, progress.update)
    for path in fetched.files:
        print(f"{path}  (verified)")
    signed = ""
    if fetched.signed_by:
        claims = "files and claims signed" if fetched.claims else "files signed, claims unsigned"
        signed = f", signature verified: signed by {fetched.signed_by} ({claims})"
    print(f"{fetched.id}: sha256 {fetched.sha256}{signed}")
    return 0
