"""A check run in a forked child beside the inspecting process's own work, for its time only.

The child tells one thing: that the check passed. Anything else (a refusal, an exception, a crash,
a limit reached, no answer) and the caller runs the check itself, in its own process, at the
point where it always did: it then gives exactly the result, message, crash or limit it always
gave, and the caller's own checks keep their order, since it asks the child only there.

The child gets half of what its parent has left of the memory (RLIMIT_DATA) and CPU time
(RLIMIT_CPU) limits, which are each process's own: the parent keeps its own budget whole, so that
its result is the one it always gave, and the two together use at most one and a half times
what was left. The child dies with its parent (PR_SET_PDEATHSIG), so a parent killed for its
wall-clock time leaves nothing running, and keeps only the descriptor it answers on.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
from collections.abc import Callable, Iterator
from pathlib import Path

_PR_SET_PDEATHSIG = 1
_PASSED = b"passed"


class Beside:
    """The child running a check; `passed()` waits for it (once) and says whether it passed."""

    def __init__(self, pid: int, answers: int) -> None:
        self._pid = pid
        self._answers = answers
        self._passed: bool | None = None

    def passed(self) -> bool:
        if self._passed is None:
            self._passed = bool(self._pid) and self._answered()
        return self._passed

    def _answered(self) -> bool:
        answer = _read_to_end(self._answers)
        _, status = os.waitpid(self._pid, 0)
        self._pid = 0
        return answer == _PASSED and os.WIFEXITED(status)

    def stop(self) -> None:
        """Stop the child if it still runs (the caller is done, or failed before asking)."""
        if self._pid:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._pid, signal.SIGKILL)
            os.waitpid(self._pid, 0)
            self._pid = 0
        if self._answers >= 0:
            os.close(self._answers)
            self._answers = -1


@contextlib.contextmanager
def beside(check: Callable[[], None]) -> Iterator[Beside]:
    """`check` (which raises to refuse) running in a forked child for the block's length; where
    no process can be started (a limit on processes or descriptors), one that never passes."""
    cpu_half = _half_the_cpu_left()
    parent = os.getpid()
    answers = answer = -1
    try:
        answers, answer = os.pipe()
        pid = os.fork()
    except OSError:  # no descriptor or process left: the caller checks in turn
        for fd in (answers, answer):
            if fd >= 0:
                os.close(fd)
        yield Beside(0, -1)
        return
    if pid == 0:  # pragma: no cover - the child's lines run in another process
        os.close(answers)
        _run_child(check, answer, parent, cpu_half)
    os.close(answer)
    running = Beside(pid, answers)
    try:
        yield running
    finally:
        running.stop()


def _run_child(check: Callable[[], None], answer: int, parent: int, cpu: int | None) -> None:
    """Never returns: the check, its answer if it passed, then exit."""
    try:
        _die_with(parent)
        os.closerange(3, answer)
        os.closerange(answer + 1, resource.getrlimit(resource.RLIMIT_NOFILE)[0])
        _half_of_the_memory_left()
        if cpu is not None:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
        check()
        os.write(answer, _PASSED)
    except BaseException:  # noqa: BLE001, S110 - every failure is the parent's to see again
        pass
    finally:
        os._exit(0)


def _die_with(parent: int) -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(0)


def _half_of_the_memory_left() -> None:
    """RLIMIT_DATA to what the data segment holds now and half of what it may still grow by."""
    limit, _ = resource.getrlimit(resource.RLIMIT_DATA)
    if limit == resource.RLIM_INFINITY:
        return
    held = _data_segment()
    cap = held + max(limit - held, 0) // 2
    resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def _data_segment() -> int:
    """Bytes the process's data segment holds (VmData, what RLIMIT_DATA bounds)."""
    with Path("/proc/self/status").open("rb") as status:
        for line in status:
            if line.startswith(b"VmData:"):
                return int(line.split()[1]) << 10
    return 0


def _half_the_cpu_left() -> int | None:
    """Half the whole seconds of CPU time this process may still use (RLIMIT_CPU counts each
    process's own time: a forked child starts from zero), None when unlimited."""
    limit, _ = resource.getrlimit(resource.RLIMIT_CPU)
    if limit == resource.RLIM_INFINITY:
        return None
    used = resource.getrusage(resource.RUSAGE_SELF)
    return max(1, (limit - int(used.ru_utime + used.ru_stime)) // 2)


def _read_to_end(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 64):
        chunks.append(chunk)
        if sum(map(len, chunks)) > len(_PASSED):
            break
    return b"".join(chunks)
