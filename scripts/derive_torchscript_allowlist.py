"""Derive the TorchScript allowlist (registry/formats/torchscript_ops.json) from real archives.

    python scripts/derive_torchscript_allowlist.py [ARCHIVE...] [--check]

Reads every archive given (default: ../shared/real-models/silero_vad.jit) and every archive of
tests/factories/torchscript_models.py (common layers and model families, scripted, traced, lite,
frozen), runs the code and bytecode judges in recording mode, and writes what they saw: the
operators, built-in calls, type names, class bases, TorchBind classes and lite instructions real
archives use, each operator with the first archive it came from. `--check` compares with the
committed file instead of writing it (exit 1 when they differ).

To admit a real model that the allowlist refuses, pass its archive here, review the new entries
in the diff (an operator that reads or writes files, reaches the network or builds tensors from
raw memory never belongs here), and commit the result.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))  # tests.factories: the corpus of ordinary archives

from registry.formats.pickle_scan import scan_pickle  # noqa: E402
from registry.formats.torchscript_bytecode import COMPILER_IMPLICIT, judge_bytecode  # noqa: E402
from registry.formats.torchscript_code import (  # noqa: E402
    Allowlist,
    CodeFile,
    judge_code,
    module_of,
)

TARGET = PROJECT / "registry/formats/torchscript_ops.json"
DEFAULT_REAL = [PROJECT.parent / "shared/real-models/silero_vad.jit"]
# Added by review, not seen in an archive: each with the reason it is safe.
REVIEWED = dict.fromkeys(COMPILER_IMPLICIT, "reviewed: a conversion the compiler inserts")


def _label(path: Path) -> str:
    """How a real archive is named in the allowlist: relative to the project's parent."""
    # As given, not resolved: ../shared may be a link to a folder elsewhere.
    absolute = Path(os.path.normpath(path.absolute()))
    if absolute.is_relative_to(PROJECT.parent):
        return f"../{absolute.relative_to(PROJECT.parent)}"
    return "/".join(absolute.parts[-4:])


def _archives(real: list[Path]) -> Iterator[tuple[str, bytes]]:
    for path in real:
        yield _label(path), path.read_bytes()
    from tests.factories.torchscript_models import corpus

    for archive in corpus():
        yield f"corpus {archive.name}", archive.data


def _record(
    name: str, data: bytes, allow: Allowlist, sources: dict[str, str], pickled: set[str]
) -> None:
    import io

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        root = names[0].split("/", 1)[0]
        files = []
        for entry in names:
            module = module_of(entry[len(root) + 1 :])
            if module is not None:
                files.append(CodeFile(entry, module, archive.read(entry)))
        before = set(allow.operators)
        summary = judge_code(files, allow)
        for entry in names:
            if entry.endswith((".pkl", ".debug_pkl")):
                scanned = scan_pickle(archive.read(entry))
                for found in scanned.globals:
                    if found.qualified.startswith("__torch__.torch.classes."):
                        allow.torchbind.add(found.qualified)
                    elif not found.module.startswith("__torch__"):
                        pickled.add(found.qualified)
                if entry == f"{root}/bytecode.pkl":
                    judge_bytecode(scanned.value, entry, summary, allow)
        allow.operators |= summary.implied
        for operator in allow.operators - before:
            sources.setdefault(operator, name)


def _render(allow: Allowlist, sources: dict[str, str], pickled: set[str], archives: int) -> str:
    data = {
        "generated_by": "scripts/derive_torchscript_allowlist.py: do not edit by hand",
        "archives": archives,
        # each operator with the first archive it was seen in (or the review that added it)
        "operators": {op: sources[op] for op in sorted(allow.operators)},
        "builtins": sorted(allow.builtins),
        "types": sorted(allow.types),
        "class_bases": sorted(allow.class_bases),
        "torchbind_classes": sorted(allow.torchbind),
        "torchbind_methods": sorted(allow.torchbind_methods),
        "instructions": sorted(allow.instructions),
        "bytecode_versions": sorted(allow.bytecode_versions),
        "pickle_globals": sorted(pickled),
    }
    return json.dumps(data, indent=1) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="*", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--check", action="store_true", help="compare with the committed file")
    args = parser.parse_args()
    allow = Allowlist(recording=True)
    sources: dict[str, str] = {}
    pickled: set[str] = set()
    count = 0
    for name, data in _archives(args.archives):
        _record(name, data, allow, sources, pickled)
        count += 1
    for operator, reason in REVIEWED.items():
        if operator not in allow.operators:
            allow.operators.add(operator)
            sources[operator] = reason
    text = _render(allow, sources, pickled, count)
    if args.check:
        same = TARGET.read_text() == text
        print(f"{TARGET.relative_to(PROJECT)} is {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    TARGET.write_text(text)
    print(
        f"wrote {TARGET.relative_to(PROJECT)}: {len(allow.operators)} operators from "
        f"{count} archives"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
