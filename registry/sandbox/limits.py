"""Resource limits of one sandboxed inspection (configurable in registry.yaml, limits.sandbox)."""

from __future__ import annotations

import ctypes
import resource
import signal
from dataclasses import asdict, dataclass
from typing import Any

_CLONE_NEWNET = 0x40000000


@dataclass(frozen=True, slots=True)
class SandboxLimits:
    memory_mb: int = 4096  # data segment of the inspecting process (heap; not mapped files)
    cpu_seconds: int = 120
    wall_seconds: int = 300
    file_size_mb: int = 16  # the largest file the inspection may write
    open_files: int = 64

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def apply(limits: SandboxLimits) -> None:
    """Set the limits on the current process (the forked child, just before it inspects)."""
    # The data segment, not the address space: a model file is memory-mapped, and mapping a
    # 4 GiB TFLite must not count as allocating it (RLIMIT_DATA counts private writable memory).
    memory = limits.memory_mb << 20
    resource.setrlimit(resource.RLIMIT_DATA, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5))
    size = limits.file_size_mb << 20
    resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
    resource.setrlimit(resource.RLIMIT_NOFILE, (limits.open_files, limits.open_files))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    # Python ignores SIGXFSZ; restored, writing past the limit stops the child visibly.
    signal.signal(signal.SIGXFSZ, signal.SIG_DFL)


def drop_network() -> bool:
    """Move into an empty network namespace when the kernel allows it (root or user namespaces).

    Inspection needs no network; where this is not permitted the other limits still apply.
    """
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return bool(libc.unshare(_CLONE_NEWNET) == 0)
    except (OSError, AttributeError):
        return False
