"""Where validation configs train: in this process, in worker processes, or on Ray.

Every executor offers the same steps, so one loop (:func:`run_each`) drives them:
``share`` a large argument once, ``submit`` a call, ``wait`` until some calls finished,
take each ``result``; ``cancel`` what is left when the loop stops early. Results are
handled as they finish, so an interrupted validation keeps every run finished so far:
on Ctrl-C, calls that already finished (``finished``) are handled before the loop stops.
Local worker processes ignore Ctrl-C; the parent stops them. A Ctrl-C that comes while a
result is being handled (stored) takes effect right after it (:func:`interrupts_deferred`):
a write and a Ctrl-C never overlap (inside a DuckDB statement, whose own signal check could
take it, the interrupt is not relied on).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from recommender.errors import InvalidArgumentError, RecommenderError, option

EXECUTORS = ("local", "ray")
# Memory one local worker process needs, about (Python, torch, a copy of the data).
WORKER_BYTES = 400 * 2**20
T = TypeVar("T")  # what the submitted calls return
H = TypeVar("H")  # a handle on one submitted call


class Executor(Protocol[H]):
    def share(self, value: Any) -> Any: ...

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> H: ...

    def wait(self, pending: list[H]) -> list[H]: ...

    def result(self, handle: H) -> Any: ...

    def cancel(self, handle: H) -> None: ...

    def finished(self, pending: list[H]) -> list[H]: ...


def run_each(
    executor: Executor[Any],
    fn: Callable[..., T],
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
    done: Callable[[int, T], None],
) -> None:
    """Run ``fn(*args, **kwargs)`` for every call; ``done(index, result)`` as each finishes.

    On KeyboardInterrupt, calls that already finished are still handed to ``done``
    before the interrupt goes on; unfinished ones are cancelled.
    """
    pending = {executor.submit(fn, *args, **kwargs): i for i, (args, kwargs) in enumerate(calls)}
    try:
        while pending:
            for handle in executor.wait(list(pending)):
                with interrupts_deferred():
                    done(pending.pop(handle), executor.result(handle))
    except KeyboardInterrupt:
        with interrupts_deferred():
            for handle in executor.finished(list(pending)):
                done(pending.pop(handle), executor.result(handle))
        raise
    finally:
        for handle in pending:
            executor.cancel(handle)


@contextlib.contextmanager
def interrupts_deferred() -> Iterator[None]:
    """Hold a Ctrl-C (SIGINT) that comes during the block; raise it when the block ends.

    Only in the main thread and while Python's own handler is installed (a caller's
    handler is left alone); a block that raises keeps its exception.
    """
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):  # fmt: skip
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if caught:
        raise KeyboardInterrupt


class _Deferred(Generic[T]):
    """A call run when first waited for."""

    def __init__(self, fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.value: T | None = None

    def run(self) -> None:
        self.value = self.fn(*self.args, **self.kwargs)


class Serial:
    """One call after the other in this process, in submission order."""

    def share(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> _Deferred[Any]:
        return _Deferred(fn, args, kwargs)

    def wait(self, pending: list[_Deferred[Any]]) -> list[_Deferred[Any]]:
        pending[0].run()
        return pending[:1]

    def result(self, handle: _Deferred[Any]) -> Any:
        return handle.value

    def cancel(self, handle: _Deferred[Any]) -> None:
        pass

    def finished(self, pending: list[_Deferred[Any]]) -> list[_Deferred[Any]]:
        return []  # the interrupted call ran in this process and did not finish


class Processes:
    """Calls in fresh worker processes ("spawn": CUDA cannot be used in forked children)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_ignore_sigint)

    def share(self, value: Any) -> Any:
        return value

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self.pool.submit(fn, *args, **kwargs)

    def wait(self, pending: list[Any]) -> list[Any]:
        from concurrent.futures import FIRST_COMPLETED, wait

        finished, _ = wait(pending, return_when=FIRST_COMPLETED)
        return [f for f in pending if f in finished]

    def result(self, handle: Any) -> Any:
        return handle.result()

    def cancel(self, handle: Any) -> None:
        handle.cancel()

    def finished(self, pending: list[Any]) -> list[Any]:
        return [f for f in pending if f.done() and not f.cancelled() and f.exception() is None]

    def stop(self) -> None:
        """Cancel queued calls and end the workers now, without waiting for running calls.

        Returns once the pool has released its queues (and their named semaphores), so a
        process that leaves right after (the command line after Ctrl-C) leaks none.
        """
        # shutdown() forgets the worker processes and the pool's manager thread: take them.
        processes = list((getattr(self.pool, "_processes", None) or {}).values())
        manager = getattr(self.pool, "_executor_manager_thread", None)
        self.pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            with contextlib.suppress(Exception):
                process.terminate()
        for process in processes:
            with contextlib.suppress(Exception):
                process.join(timeout=5)
        for process in processes:  # a worker that outlived SIGTERM would block the exit
            with contextlib.suppress(Exception):
                if process.is_alive():
                    process.kill()
                    process.join(timeout=5)
        if manager is not None:  # with the workers gone it closes the queues and ends
            manager.join(timeout=5)


def _ignore_sigint() -> None:
    """Worker initialiser: Ctrl-C reaches the whole process group; the parent handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class Ray:
    """Each call a Ray task with one CPU and ``gpus`` of a GPU."""

    def __init__(self, gpus: float) -> None:
        try:
            import ray
        except ImportError:
            raise RecommenderError(
                f"{option('executor', 'ray')} needs Ray, which is not installed; "
                f"run: pip install 'recommender[ray]' (or use {option('executor', 'local')})"
            ) from None
        if not ray.is_initialized():
            ray.init(include_dashboard=False, log_to_driver=False, configure_logging=False)
        self.ray, self.gpus = ray, gpus
        self.remotes: dict[Callable[..., Any], Any] = {}

    def share(self, value: Any) -> Any:
        return self.ray.put(value)

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if fn not in self.remotes:
            self.remotes[fn] = self.ray.remote(num_cpus=1, num_gpus=self.gpus)(fn)
        return self.remotes[fn].remote(*args, **kwargs)

    def wait(self, pending: list[Any]) -> list[Any]:
        ready, _ = self.ray.wait(pending, num_returns=1)
        return list(ready)

    def result(self, handle: Any) -> Any:
        return self.ray.get(handle)

    def cancel(self, handle: Any) -> None:
        self.ray.cancel(handle, force=True)

    def finished(self, pending: list[Any]) -> list[Any]:
        if not pending:
            return []
        ready, _ = self.ray.wait(pending, num_returns=len(pending), timeout=0)
        return list(ready)


def check_executor(name: str, parallel: int) -> None:
    """Raises InvalidArgumentError: an unknown executor or fewer than one config at once."""
    if name not in EXECUTORS:
        raise InvalidArgumentError(f"executor: expected local or ray, got {name!r}")
    if parallel < 1:
        raise InvalidArgumentError(f"parallel: expected >= 1 configs at once, got {parallel}")


def cap_parallel(name: str, parallel: int) -> tuple[int, str | None]:
    """``parallel`` bounded by this machine's CPU cores and available memory (local only).

    Returns:
        The number of configs to train at once, and a one-line note when it was capped.
    """
    if name != "local" or parallel <= 1:
        return parallel, None
    cores = _cores()
    memory = _available_memory()
    by_memory = max(1, memory // WORKER_BYTES) if memory is not None else parallel
    limit = max(1, min(cores, by_memory))
    if parallel <= limit:
        return parallel, None
    have = f"{cores} CPU cores"
    if memory is not None:
        have += f", {memory / 2**30:.1f} GiB available memory at ~{WORKER_BYTES / 2**30:.1f} GiB"
        have += " per worker"
    return limit, f"parallel: {parallel} configs at once asked, capped at {limit} ({have})"


def _cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0)) or 1
    return os.cpu_count() or 1


def _available_memory() -> int | None:
    """Bytes of memory available to new processes (Linux ``MemAvailable``), if known."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return None


@contextlib.contextmanager
def open_executor(name: str, *, parallel: int, n_calls: int, device: str) -> Iterator[Any]:
    """The executor ``name`` (``local`` or ``ray``) for ``n_calls`` calls, ``parallel`` at once.

    Locally, one call at a time runs in this process; more run in worker processes. On
    Ray, each task asks for ``1 / parallel`` of a GPU when ``device`` is CUDA.
    """
    check_executor(name, parallel)
    if name == "ray":
        yield Ray(1.0 / parallel if device.startswith("cuda") else 0)
    elif parallel == 1 or n_calls == 1:
        yield Serial()
    else:
        processes = Processes(min(parallel, n_calls))
        try:
            yield processes
        except BaseException:
            processes.stop()  # don't wait for running calls whose results nobody takes
            raise
        finally:
            processes.pool.shutdown(wait=True)
