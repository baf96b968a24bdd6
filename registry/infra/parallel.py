"""Work spread over forked processes (--jobs), results in order, and Ctrl-C that stops it all.

The workers ignore SIGINT (the terminal sends it to the whole process group); the parent alone
handles it and SIGTERM (its handler turns that into Ctrl-C), cancels what is queued and stops the
workers with SIGTERM, instead of every worker printing its own traceback while the pool waits for
them. A worker stopped so first stops what must not outlive it (at_worker_stop: its sandbox's
processes and folder), then ends of the signal; the parent waits for its workers to end.

`forked_map` is how a stage hands its workers what it has built (a validation run): by the
fork, never pickled, through the one module-level slot below, which each worker then makes its
own (its own sandbox, its own cache connection) before its first item. `started_map` is for a
stage whose state is large and whose items can carry what each needs (the writing of a large
catalog): its workers are fresh interpreters that hold nothing of this process's memory, since a
forked worker ends up with a copy of each inherited page that either process writes into.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import multiprocessing
import multiprocessing.reduction
import multiprocessing.util
import os
import pickle
import signal
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from types import FrameType, MappingProxyType
from typing import Any, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")
State = TypeVar("State")


_STOPPING = {signal.SIGINT, signal.SIGTERM}  # Ctrl-C, and the parent's SIGTERM as one
_ENDING_SECONDS = 5.0  # for the stopped workers to end, before they are killed
_AT_STOP: list[Callable[[], object]] = []  # in a worker: what at_worker_stop registered


def _start(initializer: Callable[[], None]) -> None:
    _AT_STOP.clear()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, _stopped)  # how the parent stops a worker
    try:
        initializer()  # signals still blocked (since the fork): what it registers is in place
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOPPING)


def _stopped(signum: int, frame: FrameType | None) -> None:
    """A worker's SIGTERM: what must not outlive it is stopped (latest first), then it ends of
    the signal, as the default action would have ended it (no exception: the pool's loop would
    catch it and wait for the next item). A second SIGTERM is ignored meanwhile: one comes
    often (the group's, then the parent's; the pool's own when a first worker ended), and with
    the default action it would end the worker half-way through its stops."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    for stop in reversed(_AT_STOP):
        with contextlib.suppress(Exception):  # the others still run; the worker ends anyway
            stop()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)


def ordered_map(
    function: Callable[[Item], Result],
    items: Sequence[Item],
    jobs: int,
    initializer: Callable[[], None],
    chunksize: int = 1,
    meanwhile: Callable[[], None] | None = None,
    context: multiprocessing.context.BaseContext | None = None,
) -> Iterator[Result]:
    """`function` over `items` on at most `jobs` workers, forked unless `context` says otherwise
    (forked, they inherit the parent's state; `initializer` runs first in each), yielding the
    results in the order of `items`; `meanwhile` is work of the parent's own, done while the
    workers start on theirs."""
    workers = max(1, min(jobs, len(items)))
    pool = ProcessPoolExecutor(
        workers,
        mp_context=context or multiprocessing.get_context("fork"),
        initializer=_start,
        initargs=(initializer,),
    )
    try:
        # The workers start here: SIGINT and SIGTERM stay blocked until each has set its own
        # actions, and reach the parent once they are all started.
        blocked = signal.pthread_sigmask(signal.SIG_BLOCK, _STOPPING)
        try:
            results = pool.map(function, items, chunksize=chunksize)
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if meanwhile is not None:
            meanwhile()
        yield from results
    except BaseException:
        workers_now = list((getattr(pool, "_processes", None) or {}).values())
        for process in workers_now:
            process.terminate()  # a worker may be in the middle of a long inspection
        pool.shutdown(wait=False, cancel_futures=True)
        _wait_for(workers_now)
        raise
    pool.shutdown()


def _wait_for(workers: list[Any]) -> None:
    """The stopped workers ended (their sandboxes with them), so that nothing of the run is
    left once modelreg exits; one still running after _ENDING_SECONDS is killed."""
    deadline = time.monotonic() + _ENDING_SECONDS
    for process in workers:
        process.join(max(0.0, deadline - time.monotonic()))
        if process.is_alive():
            process.kill()
            process.join()


# What the forked workers of the running forked_map inherit: (function, state, for_worker); in a
# worker, its own state once for_worker made it. Module-level: a fork copies it, no pickling.
_FORKED: tuple[Callable[[Any, Any], Any], Any, Callable[[Any], Any]] | None = None


def forked_map(
    function: Callable[[State, Item], Result],
    items: Sequence[Item],
    jobs: int,
    shared: State,
    for_worker: Callable[[State], State],
    chunksize: int = 1,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """`function(state, item)` over `items` on at most `jobs` forked workers, in the order of
    `items`. Each worker inherits `shared` by the fork and first turns it into its own state with
    `for_worker` (in the worker: open what must not be shared across processes, and register
    with `at_worker_exit` what to close). `function` and `for_worker` are module-level functions;
    items and results cross between processes pickled."""
    global _FORKED
    previous, _FORKED = _FORKED, (function, shared, for_worker)
    # Frozen, the parent's objects are never walked by a worker's cycle collector: a walk
    # writes into every object it visits, and the kernel then copies the page into the worker.
    gc.freeze()
    try:
        yield from ordered_map(_call_forked, items, jobs, _start_forked, chunksize, meanwhile)
    finally:
        gc.unfreeze()
        _FORKED = previous


def _read_only(proxy: MappingProxyType[Any, Any]) -> tuple[Any, ...]:
    return _read_only_again, (proxy.copy(),)


def _read_only_again(mapping: dict[Any, Any]) -> MappingProxyType[Any, Any]:
    return MappingProxyType(mapping)


# What a started worker is sent holds read-only mappings (a manifest's fields, an event's payload),
# which pickle cannot take as they are: sent as the mapping they show, made read-only again.
multiprocessing.reduction.ForkingPickler.register(MappingProxyType, _read_only)

# In a started worker: (function, its state once setup made it).
_STARTED: tuple[Callable[[Any, Any], Any], Any] | None = None


def started_map(
    function: Callable[[State, Any], Result],  # given each item as its pickle makes it again
    items: Sequence[object],
    jobs: int,
    setup: Callable[[Any], State],
    given: Any,
    meanwhile: Callable[[], None] | None = None,
) -> Iterator[Result]:
    """`function(state, item)` over `items` on at most `jobs` started workers, in the order of
    `items`. Each worker is a fresh interpreter (multiprocessing's spawn: it imports what it
    needs), so it holds nothing of this process; `setup(given)` makes its state. `given`, the
    items and the results cross between processes pickled (an item when the pool sends it).
    A worker that ends before its results (killed, or unable to import them) raises
    BrokenProcessPool here.

    `given` goes through a file of a private folder, not with the worker's start: spawn writes
    what a worker starts with into a pipe in one blocking call, and a worker that died before
    reading more than the pipe holds would leave this process blocked there for good, with
    SIGINT and SIGTERM blocked too (see ordered_map)."""
    with tempfile.TemporaryDirectory(prefix="modelreg-workers-") as folder:
        path = Path(folder) / "given.pickle"
        with path.open("wb") as handle:
            multiprocessing.reduction.dump(given, handle)
        start = functools.partial(_start_started, function, setup, path)
        spawn = multiprocessing.get_context("spawn")
        yield from ordered_map(_call_started, items, jobs, start, 1, meanwhile, spawn)


def _start_started(
    function: Callable[[Any, Any], Any], setup: Callable[[Any], Any], path: Path
) -> None:
    global _STARTED
    with path.open("rb") as handle:
        given = pickle.load(handle)
    _STARTED = (function, setup(given))


def _call_started(item: Any) -> Any:
    assert _STARTED is not None, "a started worker runs its setup before its first item"
    function, state = _STARTED
    return function(state, item)


def at_worker_exit(close: Callable[[], object]) -> None:
    """Call `close` when this worker process ends. Workers end with os._exit: multiprocessing's
    finalizers are what still runs (later registrations run first)."""
    multiprocessing.util.Finalize(None, close, exitpriority=10)


def at_worker_stop(stop: Callable[[], object]) -> None:
    """Call `stop` if the pool stops this worker (Ctrl-C or SIGTERM in the parent, or an error
    there), from the signal's handler: it must not wait for anything the interrupted code may
    hold (a lock, a child process's exit), as killing a sandbox and removing its folder."""
    _AT_STOP.append(stop)


def _start_forked() -> None:
    global _FORKED
    assert _FORKED is not None, "forked_map sets the shared state before the workers fork"
    function, shared, for_worker = _FORKED
    _FORKED = (function, for_worker(shared), for_worker)


def _call_forked(item: Any) -> Any:
    assert _FORKED is not None
    function, state, _ = _FORKED
    return function(state, item)
