"""Model files are inspected in a sandbox: a separate, clean, resource-limited process.

Inspector starts the zygote (registry.sandbox.zygote) with a minimal environment (no inherited
tokens or secrets), sends it one request per file and gets the result back as data. A crash, a
signal, a timeout or memory exhaustion of the inspecting child comes back as a FormatError with
its own code (format.crashed, format.timeout, format.resource-limit), never as a hang or a
traceback.

A caller that opened the file itself (to hash it) hands over its descriptor: it travels to the
zygote over a Unix socket (SCM_RIGHTS) and the child reads that open file, never the path again,
so what was hashed and what is inspected are one file even if the path is replaced meanwhile.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterable
from pathlib import Path

from registry.errors import FormatError
from registry.formats.base import ModelInfo
from registry.sandbox.limits import SandboxLimits

__all__ = ["Inspector", "SandboxLimits"]
_GRACE_SECONDS = 30  # beyond the child's own wall-clock limit, for the zygote itself


def _minimal_environment(home: str) -> dict[str, str]:
    return {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": home, "TMPDIR": home}


class Inspector:
    """Inspect model files in the sandbox; one zygote process serves many files."""

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        self.limits = limits or SandboxLimits()
        self._process: subprocess.Popen[str] | None = None
        self._closing: subprocess.Popen[str] | None = None  # while close() waits for it
        self._descriptors: socket.socket | None = None  # our end of the zygote's fd socket
        self._scratch = tempfile.TemporaryDirectory(prefix="modelreg-zygote-")
        self._next = 0
        self._lock = threading.Lock()

    def __enter__(self) -> Inspector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def warm(self, formats: Iterable[str] = ()) -> None:
        """Start the zygote now, for a run that will inspect: its start-up (Python, and the
        libraries of the handlers named in `formats`) then overlaps what the caller does before
        the first file."""
        with self._lock:
            self._start(sorted(set(formats)))

    def _start(self, preload: list[str] | None = None) -> subprocess.Popen[str]:
        if self._process is None or self._process.poll() is not None:
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                self._process = subprocess.Popen(
                    [
                        sys.executable,
                        "-I",
                        "-m",
                        "registry.sandbox.zygote",
                        json.dumps(self.limits.to_json()),
                        json.dumps(sys.path),
                        str(theirs.fileno()),
                        json.dumps(preload or []),
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                    env=_minimal_environment(self._scratch.name),
                    cwd=self._scratch.name,
                    text=True,
                    start_new_session=True,
                    pass_fds=(theirs.fileno(),),
                )
            except BaseException:
                ours.close()
                raise
            finally:
                theirs.close()
            self._descriptors = ours
        return self._process

    def inspect(self, format_name: str, path: Path, opened: int | None = None) -> ModelInfo:
        """The ModelInfo of `path`, read by the `format_name` handler in the sandbox; with
        `opened` (a descriptor of that file, open for reading), the child reads that open file
        and `path` only locates the files beside it."""
        with self._lock:
            process = self._start()
            self._next += 1
            request = {
                "id": self._next,
                "format": format_name,
                "path": str(path.resolve()),
                "opened": opened is not None,
            }
            assert process.stdin is not None and process.stdout is not None
            try:
                if opened is not None:
                    assert self._descriptors is not None
                    socket.send_fds(self._descriptors, [b"f"], [opened])
                process.stdin.write(json.dumps(request) + "\n")
                process.stdin.flush()
                line = self._read_line(process)
            except OSError:
                line = ""
            if not line:
                self.close()
                raise FormatError(
                    "format.crashed", "the sandbox stopped unexpectedly while inspecting the file"
                )
            reply = json.loads(line)
        if "error" in reply:
            raise FormatError(reply["error"]["code"], reply["error"]["message"])
        return ModelInfo.from_json(reply["result"])

    def _read_line(self, process: subprocess.Popen[str]) -> str:
        """One reply line, or '' if the zygote does not answer in time (it is then stopped)."""
        result: list[str] = []
        stdout = process.stdout
        assert stdout is not None
        reader = threading.Thread(target=lambda: result.append(stdout.readline()), daemon=True)
        reader.start()
        reader.join(self.limits.wall_seconds + _GRACE_SECONDS)
        if reader.is_alive():
            self.close()
            return ""
        return result[0] if result else ""

    def dispose(self) -> None:
        """Stop the zygote and remove its scratch folder: this Inspector is not used again."""
        self.close()
        self._scratch.cleanup()

    def discard(self) -> None:
        """Stop the zygote at once, whatever it is doing (loading libraries for a run that will
        not use it), and remove its scratch folder."""
        self.kill()
        self.dispose()  # reaps the killed zygote

    def kill(self) -> None:
        """Kill the zygote and its children and remove the scratch folder, waiting for nothing:
        for a process about to end, from a signal handler (the code it interrupted may hold
        Popen's locks, so no poll or wait: a returncode not set yet means a pid not reaped yet,
        still naming the zygote's process group)."""
        for process in (self._process, self._closing):
            if process is not None and process.returncode is None:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            self._scratch.cleanup()

    def close(self) -> None:
        # Named by _closing until it has ended (set first): kill() still finds it meanwhile.
        process = self._closing = self._process
        self._process = None
        descriptors, self._descriptors = self._descriptors, None
        if descriptors is not None:
            descriptors.close()
        try:
            if process is not None:
                self._end(process)
        finally:
            self._closing = None

    def _end(self, process: subprocess.Popen[str]) -> None:
        """Close the zygote's input and wait for it to end (once its current child answered),
        killing it after 5 s."""
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):  # a zygote that died leaves a broken pipe
            process.stdin.close()
        if process.poll() is None:
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        # A reader thread still blocked on a killed zygote's stdout sees its end of file.
        process.stdout.close()
