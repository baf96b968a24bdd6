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


def run(args: argparse.Namespace) -> int:
    from registry.client import RegistryClient
    from registry.console import Progress

    location = args.registry or os.environ.get("MODELREG_REGISTRY")
    if not location:
        raise UsageError("say where the registry is: --registry URL_OR_DIR or $MODELREG_REGISTRY")
    name, _, version = args.spec.partition("@")
    client = RegistryClient(location)
    resolved = client.resolve(name, version or None)
    artifact = resolved.record["artifact"]
    size = artifact["size"] + sum(e["size"] for e in artifact.get("external_data", []))
    with Progress(f"fetching {resolved.id}", size, "bytes") as progress:
        fetched = client.download(resolved, args.to, args.allow_deprecated, progress.update)
    for path in fetched.files:
        print(f"{path}  (verified)")
    print(f"{fetched.id}: sha256 {fetched.sha256}")
    return 0
