"""modelreg inspect FILE: what a model file says about itself (ModelInfo)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from registry.errors import FormatError, ModelregError
from registry.tensors import format_shape

if TYPE_CHECKING:
    from registry.formats.base import ModelInfo

HELP = "print the format, inputs, outputs and other facts of a model file"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, metavar="FILE")
    parser.add_argument("--json", action="store_true", help="print ModelInfo as JSON")


def describe(info: ModelInfo) -> str:
    lines = [
        f"format:      {info.format} ({info.format_version})",
        f"producer:    {info.producer}",
        f"parameters:  {info.parameter_count:,}",
        f"quantized:   {info.quantization or 'no'}",
    ]
    for label, tensors in (("inputs", info.inputs), ("outputs", info.outputs)):
        lines.append(f"{label}:")
        lines += [f"  {t.name}: {t.dtype} {format_shape(t.shape)}" for t in tensors]
    if info.opsets:
        lines.append(
            "opsets:      " + ", ".join(f"{d} {v}" for d, v in sorted(info.opsets.items()))
        )
    if info.subgraphs:
        lines.append(
            f"subgraphs:   {len(info.subgraphs)} ({', '.join(info.subgraphs[:5])}"
            + (", ..." if len(info.subgraphs) > 5 else "")
            + ")"
        )
    for key, sides in info.signatures.items():
        lines.append(
            f"signature:   {key}({', '.join(sides['inputs'])}) -> {', '.join(sides['outputs'])}"
        )
    if info.custom_ops:
        lines.append("custom ops:  " + ", ".join(info.custom_ops))
    lines.append(f"operators:   {len(info.operators)} distinct")
    lines += [f"warning:     {w}" for w in info.warnings]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from registry.formats import detect_file
    from registry.load.config import load_config
    from registry.load.layout import find_root
    from registry.sandbox import Inspector, SandboxLimits

    path: Path = args.file
    handler = detect_file(path)
    try:
        limits = load_config(find_root(path.parent)).limits.sandbox
    except ModelregError:
        limits = SandboxLimits()  # a file outside any registry: the default limits
    try:
        with Inspector(limits) as inspector:
            info = inspector.inspect(handler.name, path)
    except FormatError as exc:
        raise ModelregError(f"{path}: {exc.code}: {exc.message}") from exc
    print(json.dumps(info.to_json(), indent=2, sort_keys=True) if args.json else describe(info))
    return 0
