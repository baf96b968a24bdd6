"""The sandbox's zygote: a clean process that forks one limited child per inspection.

Started by registry.sandbox.Inspector with a minimal environment. It loads the installed format
handlers and hands them the registry's limits (`configure`); it imports what each handler
declares (`preload`) once: at start for the formats named by its fourth argument (those the run
will ask for), else before the first request for that format. For each request (one JSON line
on stdin: id, format, path, opened) it forks a child that drops the network, sets its resource
limits, inspects the file and writes the result to a pipe. The zygote enforces the wall-clock
timeout, turns a crash or a signal into data, and writes one JSON line per request to stdout.
Model bytes are only ever read in the children. With `opened`, the validating process sent a
descriptor of the file over the Unix socket named by the third argument (SCM_RIGHTS) just before
the line: the child inherits it and reads that open file (registry.formats.inspect_file).
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import select
import signal
import socket
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NoReturn

from registry.sandbox.limits import SandboxLimits, apply, drop_network

RESULT_CAP = 64 << 20  # bytes of result read from a child at most


def _start_handlers(limits: SandboxLimits) -> None:
    """Load every installed handler (each fork starts with them) and give it the limits."""
    from registry.formats import handlers
    from registry.formats.base import configure

    for handler in handlers().values():
        configure(handler, limits)


def _preload(format_name: str) -> None:
    """Import what the handler declares it needs (`preload`), once, before the first fork for
    its format: every later child then starts with it loaded, and a format never asked for
    costs nothing (torch, for one, takes seconds). A missing module is the handler's to report."""
    from registry.formats import handlers
    from registry.formats.base import preload_of

    handler = handlers().get(format_name)
    for module in preload_of(handler) if handler is not None else ():
        if module not in sys.modules:
            with contextlib.suppress(ImportError):
                importlib.import_module(module)


def _child(request: dict[str, Any], limits: SandboxLimits, out: int, opened: int | None) -> None:
    """Runs in the forked child: inspect, write the result, exit. Never returns."""
    try:
        os.chdir(tempfile.mkdtemp(prefix="modelreg-sandbox-"))
        drop_network()
        apply(limits)
        from registry.errors import FormatError
        from registry.formats import inspect_file

        try:
            info = inspect_file(request["format"], Path(request["path"]), opened)
            reply: dict[str, Any] = {"result": info.to_json()}
        except FormatError as exc:
            reply = {"error": {"code": exc.code, "message": exc.message}}
        except MemoryError:
            reply = {
                "error": {
                    "code": "format.resource-limit",
                    "message": f"inspection exceeded {limits.memory_mb} MB of memory",
                }
            }
        except RecursionError:
            reply = {
                "error": {
                    "code": "format.resource-limit",
                    "message": "the file nests structures too deeply to read",
                }
            }
        except Exception as exc:  # noqa: BLE001 - a parser failing on hostile bytes is data
            reply = {
                "error": {
                    "code": "format.crashed",
                    "message": f"the {request['format']} reader failed "
                    f"({type(exc).__name__}: {str(exc)[:300]})",
                }
            }
        data = json.dumps(reply).encode()
        with os.fdopen(out, "wb") as pipe:
            pipe.write(data)
    finally:
        os._exit(0)


def _read_all(fd: int, deadline: float) -> tuple[bytes, bool]:
    """Everything the child writes until it closes the pipe; False when the deadline passes."""
    chunks: list[bytes] = []
    size = 0
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), False
        ready, _, _ = select.select([fd], [], [], remaining)
        if not ready:
            continue
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), True
        size += len(chunk)
        if size <= RESULT_CAP:
            chunks.append(chunk)


def _describe_signal(number: int, limits: SandboxLimits) -> tuple[str, str]:
    name = (
        signal.Signals(number).name
        if number in signal.Signals.__members__.values()
        else str(number)
    )
    if number in (signal.SIGXCPU, signal.SIGKILL):
        return (
            "format.resource-limit",
            f"inspection exceeded its CPU time ({limits.cpu_seconds} s) and was stopped ({name})",
        )
    if number == signal.SIGXFSZ:
        return (
            "format.resource-limit",
            f"inspection tried to write more than {limits.file_size_mb} MB",
        )
    return "format.crashed", f"the reader crashed with signal {name}"


def _received(descriptors: socket.socket | None) -> int:
    """The descriptor the validating process sent for this request."""
    if descriptors is None:
        raise OSError("no descriptor socket")
    _, fds, _, _ = socket.recv_fds(descriptors, 1, 1)
    if len(fds) != 1:
        for fd in fds:
            os.close(fd)
        raise OSError("expected one descriptor")
    return fds[0]


def inspect_one(
    request: dict[str, Any], limits: SandboxLimits, descriptors: socket.socket | None = None
) -> dict[str, Any]:
    opened = _received(descriptors) if request.get("opened") else None
    try:
        return _inspect_forked(request, limits, opened)
    finally:
        if opened is not None:
            os.close(opened)  # the child holds its own copy


def _inspect_forked(
    request: dict[str, Any], limits: SandboxLimits, opened: int | None
) -> dict[str, Any]:
    _preload(request["format"])
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(request, limits, write_fd, opened)
    os.close(write_fd)
    started = time.monotonic()
    data, finished = _read_all(read_fd, started + limits.wall_seconds)
    os.close(read_fd)
    if not finished:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return {
            "error": {
                "code": "format.timeout",
                "message": f"inspection did not finish within {limits.wall_seconds} s",
            }
        }
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        code, message = _describe_signal(os.WTERMSIG(status), limits)
        return {"error": {"code": code, "message": message}}
    try:
        reply: dict[str, Any] = json.loads(data)
    except ValueError:
        return {
            "error": {"code": "format.crashed", "message": "the reader exited without a result"}
        }
    return reply


def main() -> NoReturn:
    limits = SandboxLimits(**json.loads(sys.argv[1]))
    # The same import path as the validating process (plugins included), without its environment.
    sys.path[:] = json.loads(sys.argv[2])
    descriptors = socket.socket(fileno=int(sys.argv[3])) if len(sys.argv) > 3 else None
    _start_handlers(limits)
    for format_name in json.loads(sys.argv[4]) if len(sys.argv) > 4 else ():
        _preload(format_name)  # what the run will ask for, loaded while it gets ready
    for line in sys.stdin:
        request = json.loads(line)
        reply = inspect_one(request, limits, descriptors)
        reply["id"] = request["id"]
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    # Every reply is written: exit without tearing the handlers' libraries down (torch, onnx),
    # tens of milliseconds the validating process would wait for at the end of every run.
    os._exit(0)


if __name__ == "__main__":
    main()
