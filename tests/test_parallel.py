"""registry.infra.parallel: workers stopped by their pool stop what they registered first, and the
parent returns only once they ended (real forked processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from registry.infra import parallel
from tests.helpers import PROJECT, process_running


def _register(folder: Path) -> Path:
    """In a worker: a stop that leaves a mark named after the worker's pid."""
    parallel.at_worker_stop(lambda: (folder / str(os.getpid())).write_text("stopped"))
    return folder


def _register_stopped_twice(folder: Path) -> Path:
    """In a worker: a stop during which a second SIGTERM comes (the group's, then the parent's;
    the pool's own once a first worker ended), as it often does."""

    def stop() -> None:
        os.kill(os.getpid(), signal.SIGTERM)
        (folder / str(os.getpid())).write_text("stopped")

    parallel.at_worker_stop(stop)
    return folder


def _slow(folder: Path, item: int) -> int:
    (folder / f"started-{os.getpid()}").touch()
    if item > 0:
        time.sleep(60)  # a long inspection, under way when the parent stops
    return os.getpid()


def _hangs(folder: Path) -> Path:
    parallel.at_worker_stop(lambda: time.sleep(60))  # breaks at_worker_stop's contract
    return folder


def _stopped_after_first(folder: Path, for_worker: Callable[[Path], Path]) -> list[int]:
    pids: list[int] = []
    with pytest.raises(KeyboardInterrupt):
        for pid in parallel.forked_map(_slow, [0, 1, 2], 2, folder, for_worker):
            pids.append(pid)
            deadline = time.monotonic() + 30
            while len(list(folder.glob("started-*"))) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
            raise KeyboardInterrupt  # as Ctrl-C in the parent
    return pids


def test_stopped_workers_run_their_stops_and_end_before_the_parent_goes_on(tmp_path: Path) -> None:
    _stopped_after_first(tmp_path, _register)
    workers = [int(p.name.split("-")[1]) for p in tmp_path.glob("started-*")]
    assert len(workers) == 2
    for pid in workers:
        assert (tmp_path / str(pid)).read_text() == "stopped"
        assert not process_running(pid)


def test_a_second_sigterm_does_not_cut_the_stops_short(tmp_path: Path) -> None:
    _stopped_after_first(tmp_path, _register_stopped_twice)
    for started in tmp_path.glob("started-*"):
        pid = int(started.name.split("-")[1])
        assert (tmp_path / str(pid)).read_text() == "stopped"
        assert not process_running(pid)


def test_a_worker_whose_stop_hangs_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(parallel, "_ENDING_SECONDS", 0.5)
    start = time.monotonic()
    _stopped_after_first(tmp_path, _hangs)
    assert time.monotonic() - start < 20  # not the stop's 60 s
    for started in tmp_path.glob("started-*"):
        assert not process_running(int(started.name.split("-")[1]))


def _twice(state: None, item: int) -> int:
    return item * 2


def _keep(given: bytes) -> None:
    return None


def test_started_workers_get_what_they_are_given_and_their_items() -> None:
    given = b"x" * (1 << 20)
    assert list(parallel.started_map(_twice, [1, 2, 3], 2, _keep, given)) == [2, 4, 6]


def test_a_started_worker_that_cannot_start_breaks_the_pool_at_once(tmp_path: Path) -> None:
    """A worker that cannot load what it starts with (here a function of the parent's `-c`
    script, which a new interpreter does not have; after a reinstall, a function renamed on
    disk) ends before reading it. What it starts with goes through a file, not through spawn's
    pipe: with a large start-up payload in the pipe, the parent stayed blocked in its write for
    good, with SIGINT and SIGTERM blocked."""
    script = (
        "from concurrent.futures.process import BrokenProcessPool\n"
        "from registry.infra import parallel\n"
        "from tests.test_parallel import _twice\n"
        "def setup(given):\n"
        "    return None\n"
        "if __name__ == '__main__':\n"
        "    try:\n"
        "        list(parallel.started_map(_twice, [1, 2], 1, setup, b'x' * (1 << 20)))\n"
        "    except BrokenProcessPool:\n"
        "        print('broken')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, timeout=120
    )
    assert done.stdout.strip() == "broken", done.stderr
