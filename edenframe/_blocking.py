"""Run a coroutine from synchronous code, also inside a running event loop (Jupyter), without nest_asyncio."""

from __future__ import annotations

import asyncio
import contextvars
import threading
import warnings
from collections.abc import Coroutine
from contextvars import ContextVar
from typing import Any, TypeVar

T = TypeVar("T")


# The warnings of the sync call running in this context: kept, then re-issued at the user's line when the call ends
# (inside the event loop they would point at asyncio internals). A context variable rather than
# warnings.catch_warnings(), which swaps the process-wide filters and so breaks calls made from several threads.
_HELD: ContextVar[list[tuple[str, type[Warning]]] | None] = ContextVar("edenframe_held_warnings", default=None)


def warn_user(message: str, category: type[Warning] = UserWarning, stacklevel: int = 2) -> None:
    """Warn the user about a call: held until a sync call ends, or issued now (`stacklevel` above the caller)."""
    held = _HELD.get()
    if held is None:
        warnings.warn(message, category, stacklevel=stacklevel + 1)
    else:
        held.append((message, category))


def run_sync_from_user(coro: Coroutine[Any, Any, T], stacklevel: int = 3) -> T:
    """`run_sync` for public methods: edenframe's warnings about the run are issued at the user's own line once the
    run is over."""
    held: list[tuple[str, type[Warning]]] = []
    token = _HELD.set(held)
    try:
        return run_sync(coro)
    finally:
        _HELD.reset(token)
        for message, category in held:
            warnings.warn(message, category, stacklevel=stacklevel)


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run `coro` to completion and return its result.

    With no loop running in this thread, `asyncio.run` does it (Ctrl-C cancels the task cleanly). Inside a running
    loop (a notebook cell), the coroutine runs on a fresh loop in a worker thread while this thread waits; Ctrl-C
    while waiting cancels the coroutine there and waits for it to unwind, so nothing received is lost.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        running = False
    else:
        running = True
    if running:
        return _run_in_thread(coro)
    # outside the except block: an error of the run must not come chained to "no running event loop"
    box: list[T] = []
    asyncio.run(_into(box, coro))
    return box[0]


async def _into(box: list[T], coro: Coroutine[Any, Any, T]) -> None:
    # The main task returns None: on Python 3.11 asyncio.run formats the task, result included, in an error message
    # it builds and drops while restoring the SIGINT handler, which would render a DataFrame result as text twice.
    box.append(await coro)


def _run_in_thread(coro: Coroutine[Any, Any, T]) -> T:
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}
    task_ready = threading.Event()
    task_box: list[asyncio.Task[T]] = []

    def worker() -> None:
        asyncio.set_event_loop(loop)
        try:
            task = loop.create_task(coro)
            task_box.append(task)
            task_ready.set()
            outcome["result"] = loop.run_until_complete(task)
        except BaseException as exc:  # handed over to the waiting thread
            outcome["error"] = exc
        finally:
            task_ready.set()
            try:
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                loop.close()

    # in this context, so that the run's warnings are held for the caller (threads do not inherit it)
    thread = threading.Thread(target=contextvars.copy_context().run, args=(worker,), name="edenframe-loop", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        task_ready.wait()
        if task_box:
            loop.call_soon_threadsafe(task_box[0].cancel)
        thread.join()
        raise
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]
