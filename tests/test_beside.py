"""A check run in a forked child beside the caller's work (registry.formats.beside): only a pass
counts, the child holds no more than the caller's budget, and nothing of it outlives the block."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from registry.errors import FormatError
from registry.formats.beside import beside
from tests.helpers import PROJECT


def _passes() -> None:
    pass


def _refuses() -> None:
    raise FormatError("format.invalid", "no")


def _crashes() -> None:
    os.kill(os.getpid(), signal.SIGSEGV)


def _exits_without_a_word() -> None:
    os._exit(0)


def test_only_a_check_that_passed_says_so() -> None:
    for check, passed in (
        (_passes, True),
        (_refuses, False),
        (_crashes, False),
        (_exits_without_a_word, False),
    ):
        with beside(check) as running:
            assert running.passed() is passed, check.__name__
            assert running.passed() is passed  # asked again: the same answer, no second wait


def test_the_child_keeps_only_the_descriptor_it_answers_on(tmp_path: Path) -> None:
    kept = tmp_path / "kept"

    def count_descriptors() -> None:
        names = [entry.name for entry in Path("/proc/self/fd").iterdir()]
        kept.write_text(" ".join(names))

    with (tmp_path / "open").open("w"), beside(count_descriptors) as running:
        assert running.passed()
    # stdin, stdout, stderr, the answer, and the descriptor iterdir opened to read the folder
    assert len(kept.read_text().split()) == 5


def test_a_block_left_without_asking_stops_the_child_at_once() -> None:
    started = time.monotonic()
    with beside(lambda: time.sleep(60)):
        pass
    assert time.monotonic() - started < 10


def _run_limited(body: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "limited.py"
    program.write_text(textwrap.dedent(body))
    return subprocess.run(
        [sys.executable, str(program)],
        cwd=PROJECT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_the_child_may_use_half_the_memory_its_parent_has_left(tmp_path: Path) -> None:
    """Parent and child together stay within the parent's limit (RLIMIT_DATA)."""
    done = _run_limited(
        """
        import resource
        from registry.formats.beside import beside

        limit = 1 << 30
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
        for mib in (150, 700):
            with beside(lambda: bytearray(mib << 20)) as running:
                print(mib, running.passed())
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["150", "True", "700", "False"]


def test_the_child_may_use_half_the_cpu_time_its_parent_has_left(tmp_path: Path) -> None:
    done = _run_limited(
        """
        import resource, time
        from registry.formats.beside import beside

        resource.setrlimit(resource.RLIMIT_CPU, (10, 15))
        end = time.process_time() + 2
        while time.process_time() < end:  # two of the ten seconds used here
            pass
        with beside(lambda: any(iter(int, 1))) as running:  # spins forever
            print(running.passed())
        used = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(used.ru_utime + used.ru_stime)
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    passed, seconds = done.stdout.split()
    assert passed == "False" and 3.5 <= float(seconds) <= 4.8  # stopped at half the eight left


def test_the_child_dies_with_its_parent(tmp_path: Path) -> None:
    """A parent killed (the sandbox's wall-clock limit) leaves no check running."""
    recorded = tmp_path / "child"
    done = _run_limited(
        f"""
        import os, signal, time
        from pathlib import Path
        from registry.formats.beside import beside

        def check():
            Path({str(recorded)!r}).write_text(str(os.getpid()))
            time.sleep(60)

        with beside(check):
            while not Path({str(recorded)!r}).exists():
                time.sleep(0.01)
            os.kill(os.getpid(), signal.SIGKILL)
        """,
        tmp_path,
    )
    assert done.returncode == -signal.SIGKILL
    child = int(recorded.read_text())
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def _alive(pid: int) -> bool:
    """Running, not gone or a zombie waiting for whoever adopted it."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_where_no_descriptor_is_left_the_check_waits_for_its_turn(tmp_path: Path) -> None:
    done = _run_limited(
        """
        import os, resource
        from registry.formats.beside import beside

        highest = max(int(fd) for fd in os.listdir("/proc/self/fd"))
        resource.setrlimit(resource.RLIMIT_NOFILE, (highest + 1, highest + 1))
        with beside(lambda: None) as running:
            print(running.passed())
        """,
        tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False"]
