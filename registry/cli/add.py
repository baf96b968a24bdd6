"""modelreg add FILE --name NAME --version VERSION: a new version folder and a first manifest."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from registry.cli.common import add_root_argument, resolve_root

HELP = "add a model file as a new version, with a manifest written from the file"
TIERS = ("tier-1", "tier-2", "tier-3")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE", help="the model file")
    parser.add_argument("--name", required=True, help="model name (lowercase, digits, -)")
    parser.add_argument("--version", required=True, help="SemVer version, e.g. 1.0.0")
    parser.add_argument("--license", help="SPDX license expression")
    parser.add_argument("--risk-tier", choices=TIERS)
    parser.add_argument("--intended-use", help="what the model is for, and not for")
    parser.add_argument("--publisher", help="who publishes this version")
    parser.add_argument("--publisher-email")
    parser.add_argument("--url", help="https URL of the artifact, recorded instead of copying FILE")
    parser.add_argument(
        "--model-card",
        type=Path,
        metavar="README.md",
        help="a Hugging Face model card to fill the manifest from (license, datasets, metrics, "
        "uses, limitations, training); what it says that no field holds is listed",
    )
    add_root_argument(parser)


def _ask(question: str, current: str | None, choices: tuple[str, ...] = ()) -> str | None:
    """Ask on the terminal for a value not given as a flag; an empty answer keeps the TODO."""
    if current is not None:
        return current
    hint = f" [{'/'.join(choices)}]" if choices else ""
    while True:
        answer = input(f"{question}{hint} (Enter to leave a TODO): ").strip()
        if not answer or not choices or answer in choices:
            return answer or None
        print(f"  choose one of {', '.join(choices)}")


def run(args: argparse.Namespace) -> int:
    from registry.authoring.add import AddRequest, add_version

    values = {
        "license": args.license,
        "risk_tier": args.risk_tier,
        "intended_use": args.intended_use,
        "publisher": args.publisher,
    }
    root = resolve_root(args)
    card = None
    if args.model_card is not None:
        from registry.authoring.modelcard import read_card

        card = read_card(args.model_card, root)
        values["license"] = values["license"] or card.license
        values["intended_use"] = values["intended_use"] or card.intended_use
    if sys.stdin.isatty():
        values["license"] = _ask("License (SPDX expression)", values["license"])
        values["risk_tier"] = _ask("Risk tier", values["risk_tier"], TIERS)
        values["intended_use"] = _ask("Intended use", values["intended_use"])
        values["publisher"] = _ask("Publisher", values["publisher"])
    request = AddRequest(
        name=args.name,
        version=args.version,
        url=args.url,
        publisher_email=args.publisher_email,
        card=card,
        **values,
    )
    added = add_version(root, args.file, request)
    print(f"wrote {added.manifest.relative_to(root)}")
    if card is not None and card.unmapped:
        print(f"not mapped from {args.model_card}:")
        for line in card.unmapped:
            print(f"  {line}")
    if added.todos:
        print(f"fill these, then run `modelreg validate {added.folder.relative_to(root)}`:")
        width = max(len(todo.path) for todo in added.todos)
        for todo in added.todos:
            # The full key path: a bare `version:` would read as the model's version.
            print(f"  {todo.path:<{width}}  line {todo.line:<3} {todo.hint}")
    return 0
