"""A third-party package adds a format through the `modelreg.formats` entry-point group."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.helpers import PROJECT

PLUGIN = """
from pathlib import Path
from registry.formats.api import FormatError, ModelInfo, SandboxLimits, TensorSpec


class NpyHandler:
    name = "npy"
    title = "NumPy array file"
    suffixes = (".npy",)
    version = "1"
    preload = ()

    def configure(self, limits: SandboxLimits) -> None:
        self.limits = limits

    def sniff(self, head: bytes) -> bool:
        return head.startswith(b"\\x93NUMPY")

    def inspect(self, path: Path) -> ModelInfo:
        if path.stat().st_size < 10:
            raise FormatError("format.invalid", "truncated")
        producer = f"numpy (within {self.limits.memory_mb} MB)"
        return ModelInfo("npy", "1.0", producer, (TensorSpec("array", "float32", (3,)),), ())
"""


def _inspect_with(tmp_path: Path, plugin: str) -> subprocess.CompletedProcess[str]:
    """`modelreg inspect` of an .npy file, with `plugin` installed as the npy format."""
    site = tmp_path / "site"
    (site / "npy_format").mkdir(parents=True)
    (site / "npy_format" / "__init__.py").write_text(plugin)
    dist = site / "npy_format-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: npy-format\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[modelreg.formats]\nnpy = npy_format:NpyHandler\n")
    array = tmp_path / "weights.npy"
    array.write_bytes(b"\x93NUMPY\x01\x00" + b"\x00" * 120)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(PROJECT)])}
    return subprocess.run(
        [sys.executable, "-m", "registry", "inspect", str(array)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def test_a_plugin_receives_the_registry_limits_in_the_sandbox(tmp_path: Path) -> None:
    done = _inspect_with(tmp_path, PLUGIN)
    assert done.returncode == 0, done.stderr
    assert "producer:    numpy (within 4096 MB)" in done.stdout  # SandboxLimits' default


def test_a_plugin_without_the_whole_protocol_is_named(tmp_path: Path) -> None:
    incomplete = PLUGIN.replace("def sniff", "def _sniff")
    done = _inspect_with(tmp_path, incomplete)
    assert done.returncode == 1, done.stderr
    assert "does not implement FormatHandler: it has no sniff" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_plugin_without_the_optional_members_still_works(tmp_path: Path) -> None:
    """preload and configure came later: a plugin written before them keeps working."""
    older = PLUGIN.replace("    preload = ()\n", "").replace("def configure", "def _configure")
    older = older.replace("self.limits.memory_mb", "'?'")
    done = _inspect_with(tmp_path, older)
    assert done.returncode == 0, done.stderr
    assert "producer:    numpy (within ? MB)" in done.stdout


def test_a_plugin_format_is_found_and_used(tmp_path: Path) -> None:
    done = _inspect_with(tmp_path, PLUGIN)
    assert done.returncode == 0, done.stderr
    assert "format:      npy (1.0)" in done.stdout
    assert "array: float32 [3]" in done.stdout
