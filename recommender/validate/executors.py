"""Where validation configs train: in this process, in worker processes, or on Ray.

Every executor offers the same four steps, so one loop (:func:`run_each`) drives them:
``share`` a large argument once, ``submit`` a call, ``wait`` until some calls finished,
take each ``result``; ``cancel`` what is left when the loop stops early. Results are
handled as they finish, so an interrupted validation keeps every run finished so far.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any, Generic, Protocol, TypeVar

from recommender.errors import RecommenderError

EXECUTORS = ("local", "ray")
T = TypeVar("T")  # what the submitted calls return
H = TypeVar("H")  # a handle on one submitted call


class Executor(Protocol[H]):
    def share(self, value: Any) -> Any: ...

    def submit(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> H: ...

    def wait(self, pending: list[H]) -> list[H]: ...

    def result(self, handle: H) -> Any: ...

    def cancel(self, handle: H) -> None: ...


def run_each(
    executor: Executor[Any],
    fn: Callable[..., T],
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]],
    done: Callable[[int, T], None],
) -> None:
    """Run ``fn(*args, **kwargs)`` for every call; ``done(index, result)`` as each finishes."""
    pending = {executor.submit(fn, *args, **kwargs): i for i, (args, kwargs) in enumerate(calls)}
    try:
        while pending:
            for handle in executor.wait(list(pending)):
                done(pending.pop(handle), executor.result(handle))
    finally:
        for handle in pending:
            executor.cancel(handle)


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


class Processes:
    """Calls in fresh worker processes ("spawn": CUDA cannot be used in forked children)."""

    def __init__(self, workers: int) -> None:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        context = multiprocessing.get_context("spawn")
        self.pool = ProcessPoolExecutor(workers, mp_context=context)

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


class Ray:
    """Each call a Ray task with one CPU and ``gpus`` of a GPU."""

    def __init__(self, gpus: float) -> None:
        try:
            import ray
        except ImportError:
            raise RecommenderError(
                "--executor ray needs Ray, which is not installed; "
                "run: pip install 'recommender[ray]' (or use --executor local)"
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


def check_executor(name: str, parallel: int) -> None:
    """Raises RecommenderError: an unknown executor or fewer than one config at once."""
    if name not in EXECUTORS:
        raise RecommenderError(f"executor: expected local or ray, got {name!r}")
    if parallel < 1:
        raise RecommenderError(f"parallel: expected >= 1 configs at once, got {parallel}")


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
        with processes.pool:
            yield processes
