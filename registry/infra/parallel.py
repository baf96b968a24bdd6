"""Work spread over forked processes (--jobs), results in order, and Ctrl-C that stops it all.

The workers ignore SIGINT (the terminal sends it to the whole process group): the parent alone
handles it, cancels what is queued and terminates the workers, instead of every worker printing
its own traceback while the pool waits for them.
"""

from __future__ import annotations

import multiprocessing
import signal
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


def _start(initializer: Callable[[], None]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})  # blocked since the fork
    initializer()


def ordered_map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    initializer: Callable[[], None],
    chunksize: int = 1,
) -> Iterator[Result]:
    """`function` over `items` on at most `jobs` forked workers (they inherit the parent's
    state; `initializer` runs first in each), yielding the results in the order of `items`."""
    fork = multiprocessing.get_context("fork")
    workers = max(1, min(jobs, len(items)))
    pool = ProcessPoolExecutor(
        workers, mp_context=fork, initializer=_start, initargs=(initializer,)
    )
    try:
        # The workers start here: SIGINT stays blocked until each ignores it, and reaches the
        # parent once they are all started.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            results = pool.map(function, items, chunksize=chunksize)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        yield from results
    except BaseException:
        workers_now = list((getattr(pool, "_processes", None) or {}).values())
        for process in workers_now:
            process.terminate()  # a worker may be in the middle of a long inspection
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown()
