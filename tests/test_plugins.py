"""A third-party package adds a format through the `modelreg.formats` entry-point group."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import PROJECT

PLUGIN = """
from pathlib import Path
from registry.errors import FormatError
from registry.formats.base import ModelInfo
from registry.tensors import TensorSpec


class NpyHandler:
    name = "npy"
    title = "NumPy array file"
    suffixes = (".npy",)
    version = "1"

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b"\\x93NUMPY")

    def inspect(self, path: Path) -> ModelInfo:
        if path.stat().st_size < 10:
            raise FormatError("format.invalid", "truncated")
        return ModelInfo("npy", "1.0", "numpy", (TensorSpec("array", "float32", (3,)),), ())
"""


def test_a_plugin_format_is_found_and_used(tmp_path: Path) -> None:
    site = tmp_path / "site"
    (site / "npy_format").mkdir(parents=True)
    (site / "npy_format" / "__init__.py").write_text(PLUGIN)
    dist = site / "npy_format-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: npy-format\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[modelreg.formats]\nnpy = npy_format:NpyHandler\n")
    array = tmp_path / "weights.npy"
    array.write_bytes(b"\x93NUMPY\x01\x00" + b"\x00" * 120)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(PROJECT)])}
    done = subprocess.run(
        [sys.executable, "-m", "registry", "inspect", str(array)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "format:      npy (1.0)" in done.stdout
    assert "array: float32 [3]" in done.stdout
