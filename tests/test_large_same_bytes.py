"""What validation hashes is what the sandbox inspects: one open file, checked unchanged after."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from registry.formats import formats_named
from registry.infra.hashing import hash_descriptor_chunked, hash_file_chunked
from registry.infra.runoptions import RunOptions
from registry.load.layout import all_versions
from registry.sandbox import Inspector, SandboxLimits
from registry.validate.early import early_sandbox
from registry.validate.integrity import OpenedFile
from registry.validate.run import validate_registry
from tests.factories.registries import add_version, new_registry
from tests.helpers import run

REAL_MODELS = Path(__file__).resolve().parents[2] / "shared" / "real-models"


def _blob(path: Path, size: int) -> Path:
    path.write_bytes(os.urandom(size))
    return path


def test_the_descriptor_is_hashed_like_the_path(tmp_path: Path) -> None:
    for size in (0, 1000, (4 << 20) + 17):
        path = _blob(tmp_path / f"b{size}", size)
        fd = os.open(path, os.O_RDONLY)
        try:
            os.read(fd, 10)  # wherever the offset is, the whole file is hashed
            whole = hash_file_chunked(path)
            assert hash_descriptor_chunked(fd) == whole
            alone = hash_descriptor_chunked(fd, chunks=False)
            assert (alone.sha256, alone.size, alone.chunks) == (whole.sha256, size, ())
        finally:
            os.close(fd)


def test_an_untouched_file_passes(tmp_path: Path) -> None:
    opened = OpenedFile.open(_blob(tmp_path / "m.bin", 4096))
    try:
        assert opened.change() is None
    finally:
        opened.close()


def test_a_file_written_in_place_meanwhile_fails(tmp_path: Path) -> None:
    path = _blob(tmp_path / "m.bin", 4096)
    opened = OpenedFile.open(path)
    try:
        with path.open("r+b") as handle:
            handle.seek(4096)
            handle.write(b"more")
        assert opened.change() == "changed while it was validated"
    finally:
        opened.close()


def test_a_replaced_path_fails(tmp_path: Path) -> None:
    path = _blob(tmp_path / "m.bin", 4096)
    opened = OpenedFile.open(path)
    try:
        _blob(tmp_path / "other.bin", 4096).replace(path)
        assert opened.change() is not None  # unlinked (its ctime moved), and not the path's
    finally:
        opened.close()


def test_a_file_renamed_away_and_back_fails(tmp_path: Path) -> None:
    """Renaming changes the file's ctime: the swap shows even when the path names it again."""
    path = _blob(tmp_path / "m.bin", 4096)
    opened = OpenedFile.open(path)
    try:
        path.rename(tmp_path / "aside.bin")
        (tmp_path / "aside.bin").rename(path)
        assert opened.change() is not None
    finally:
        opened.close()


@pytest.mark.parametrize(
    ("name", "other", "format_name"),
    [("nmp.tflite", "okay_nabu.tflite", "tflite"), ("nmp.onnx", "silero_vad.onnx", "onnx")],
)
def test_the_sandbox_reads_the_opened_file_not_the_path(
    tmp_path: Path, name: str, other: str, format_name: str
) -> None:
    """The path is replaced after the file was opened: the child inspects what was opened."""
    path = tmp_path / name
    shutil.copyfile(REAL_MODELS / name, path)
    fd = os.open(path, os.O_RDONLY)
    try:
        shutil.copyfile(REAL_MODELS / other, tmp_path / "swap")
        (tmp_path / "swap").replace(path)
        with Inspector() as inspector:
            through_fd = inspector.inspect(format_name, path, fd)
            by_path = inspector.inspect(format_name, path)
            original = inspector.inspect(format_name, REAL_MODELS / name)
    finally:
        os.close(fd)
    assert through_fd == original
    assert by_path != original


def test_a_warmed_zygote_serves_the_run_and_exits_with_it() -> None:
    """`validate --no-cache` starts the zygote before its first file; the zygote it started is
    the one that inspects, and it is gone (exit status 0) once the inspector is closed."""
    with Inspector() as inspector:
        inspector.warm()
        zygote = inspector._process
        assert zygote is not None and zygote.poll() is None
        assert inspector.inspect("onnx", REAL_MODELS / "nmp.onnx").operators
        assert inspector._process is zygote
    assert zygote.returncode == 0


def _loaded(pid: int, library: str, seconds: float = 60.0) -> bool:
    """Whether the process maps `library` (a shared object of its name) within `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if library in Path(f"/proc/{pid}/maps").read_text():
            return True
        time.sleep(0.05)
    return False


def test_a_zygote_warmed_for_a_format_loads_its_libraries_before_the_first_file() -> None:
    """The run names the formats it will ask for: their libraries load while it gets ready,
    those of the others do not (torch takes seconds)."""
    with Inspector() as inspector:
        inspector.warm(["onnx"])
        zygote = inspector._process
        assert zygote is not None
        assert _loaded(zygote.pid, "onnx_cpp2py_export")
        assert "libtorch" not in Path(f"/proc/{zygote.pid}/maps").read_text()
        assert inspector.inspect("onnx", REAL_MODELS / "nmp.onnx").operators


def test_the_formats_a_run_will_ask_for_are_named_by_its_files(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "model.ONNX").write_bytes(b"")
    (tmp_path / "a" / "manifest.yaml").write_text("")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "model.tflite").write_bytes(b"")
    folders = [tmp_path / "a", tmp_path / "gone", tmp_path / "b"]
    assert formats_named(folders) == {"onnx", "tflite"}
    assert formats_named([tmp_path / "a"]) == {"onnx"}
    assert formats_named([]) == set()


def test_a_sandbox_started_before_the_configuration_serves_only_a_run_with_its_limits(
    tmp_path: Path,
) -> None:
    """`validate --no-cache` starts the sandbox before it reads registry.yaml (validate.early),
    with the default limits: the run inspects with it when those are the registry's, and with a
    sandbox of its own limits otherwise."""
    root = new_registry(tmp_path / "r")
    add_version(root, "m", "1.0.0")
    options = RunOptions(cache=False)
    early = early_sandbox(root, None, options)
    assert early is not None and early._process is not None  # started, its limits the defaults
    assert validate_registry(root, options=options, started=early).ok(strict=False)
    assert early._next == 1  # the file was inspected by it
    assert early._process is None  # and it is gone with the run

    # Limits no file can be read within: a run that used them would fail.
    unusable = Inspector(SandboxLimits(memory_mb=1))
    unusable.warm(["tflite"])
    zygote = unusable._process
    assert validate_registry(root, options=options, started=unusable).ok(strict=False)
    assert unusable._next == 0 and unusable._process is None  # not used, and stopped
    assert zygote is not None and zygote.returncode == -signal.SIGKILL  # at once, not awaited


def test_a_sandbox_starts_early_only_for_a_run_that_inspects_every_file_itself(
    tmp_path: Path,
) -> None:
    root = new_registry(tmp_path / "r")
    for version in ("1.0.0", "2.0.0"):
        add_version(root, "m", version)
    one = [v for v in all_versions(root) if v.version == "1.0.0"]
    assert early_sandbox(root, None, RunOptions(cache=True)) is None  # the cache may spare it
    assert early_sandbox(root, None, RunOptions(cache=False, jobs=2)) is None  # workers' own
    assert early_sandbox(tmp_path / "not-a-registry", None, RunOptions(cache=False)) is None
    for versions, jobs in ((None, 1), (one, 2)):
        started = early_sandbox(root, versions, RunOptions(cache=False, jobs=jobs))
        assert started is not None
        started.dispose()


def _zygotes_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes()
        except (FileNotFoundError, NotADirectoryError, ProcessLookupError):
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        if parent == pid and b"registry.sandbox.zygote" in command:
            found.append(int(entry.name))
    return found


def test_a_run_stopped_by_its_configuration_stops_the_sandbox_it_started(tmp_path: Path) -> None:
    root = new_registry(tmp_path / "r", "name: tests\nbase_url: [\n")
    add_version(root, "m", "1.0.0")
    started = early_sandbox(root, None, RunOptions(cache=False))
    assert started is not None  # the command line starts one, as here
    started.discard()
    code, _, err = run("validate", "--no-cache", "--root", root)
    assert code == 1 and "registry.yaml" in err
    assert _zygotes_of(os.getpid()) == []


def test_killed_while_it_closes_the_sandbox_ends_at_once() -> None:
    """A worker stopped by its pool kills its sandbox from a signal handler (Inspector.kill),
    which may come while close() waits for the zygote to end: that zygote is killed too, not
    left to load its libraries and read the end of its input."""
    inspector = Inspector()
    inspector.warm(["torchscript"])  # seconds of torch loading before it reads its input
    zygote = inspector._process  # white-box: its exit status says who ended it
    assert zygote is not None
    closing = threading.Thread(target=inspector.close)
    closing.start()
    while getattr(inspector, "_closing", None) is None and closing.is_alive():
        time.sleep(0.001)
    inspector.kill()
    closing.join(30)
    assert zygote.returncode == -signal.SIGKILL  # 0 before: it ended of the end of its input


def test_a_registry_that_sets_sandbox_limits_starts_its_sandbox_once_they_are_read(
    tmp_path: Path,
) -> None:
    """Most likely not the defaults: a sandbox started before them would be thrown away."""
    root = new_registry(tmp_path / "r", "name: tests\nlimits:\n  sandbox:\n    cpu_seconds: 60\n")
    add_version(root, "m", "1.0.0")
    assert early_sandbox(root, None, RunOptions(cache=False)) is None
    code, out, _ = run("validate", "--no-cache", "--root", root)
    assert code == 0, out
