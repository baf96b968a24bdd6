"""Fuzz targets for the readers that decide what torch would load: zip agreement, the TorchScript
code judge, lite bytecode. Used by scripts/fuzz.py (atheris, `make fuzz`) and tests/test_fuzz.py
(hypothesis, inside `make test`). A target returns normally or raises FormatError for a refused
input; anything else, or a broken property, is a crash."""

from __future__ import annotations

import contextlib
import functools
import io
import zipfile
from pathlib import Path

from registry.errors import FormatError
from registry.formats.lite_recompile import OperandError, canonical
from registry.formats.pickle_scan import PickleScanError, scan_pickle
from registry.formats.torchscript_bytecode import judge_bytecode
from registry.formats.torchscript_code import CodeFile, CodeSummary, judge_code, module_of
from registry.formats.torchscript_handler import allowlist, root_folder
from registry.formats.zipagreement import torch_agrees, zipfile_agrees
from registry.formats.zipstrict import AMBIGUOUS, StrictZip

PROJECT = Path(__file__).resolve().parent.parent.parent
EXAMPLE_ARCHIVE = PROJECT / "models/tiny-convnet/0.1.0/model.pt"


def zip_agreement(path: Path) -> None:
    """What the strict reader accepts, Python's zipfile and torch's own reader must read
    exactly alike (same entries, sizes, CRCs, offsets): a disagreement is a crash."""
    try:
        with path.open("rb") as handle:
            archive = StrictZip(handle, path.stat().st_size, 10_000)
            for entry in archive.entries:
                archive.verify(entry)
    except FormatError:
        return
    try:
        zipfile_agrees(path, archive)
        torch_agrees(path, archive, root_folder(archive))
    except FormatError as exc:
        if exc.code == AMBIGUOUS:
            raise AssertionError(f"accepted, yet read differently: {exc.message}") from exc


def code_judge(data: bytes) -> None:
    with contextlib.suppress(FormatError):
        judge_code([CodeFile("a/code/__torch__.py", "__torch__", data)], allowlist())


@functools.cache
def lite_seed() -> tuple[bytes, CodeSummary]:
    """bytecode.pkl of a scripted nn.Linear saved for the lite interpreter, and its code."""
    import torch

    scripted = torch.jit.script(torch.nn.Linear(2, 2))
    data: bytes = scripted._save_to_buffer_for_lite_interpreter()  # type: ignore[no-untyped-call]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        root = names[0].split("/")[0]
        files = [
            CodeFile(n, module, archive.read(n))
            for n in names
            if (module := module_of(n[len(root) + 1 :])) is not None
        ]
        return archive.read(f"{root}/bytecode.pkl"), judge_code(files, allowlist())


def lite_bytecode(data: bytes) -> None:
    try:
        value = scan_pickle(data).value
    except PickleScanError:
        return
    with contextlib.suppress(FormatError, OperandError):
        judge_bytecode(value, "a/bytecode.pkl", lite_seed()[1], allowlist())
        canonical(value)  # what the recompilation check compares: any other error is a crash


def code_seeds() -> list[bytes]:
    with zipfile.ZipFile(EXAMPLE_ARCHIVE) as archive:
        return [archive.read(n) for n in archive.namelist() if n.endswith(".py")]
