"""Objects the local backends keep between calls, made safe for calls from several threads at once.

A pandas call runs its backend in one worker thread, but several calls can run at the same moment: Dask's threaded
scheduler maps partitions over a thread pool, and users call `df.eden` from their own threads. Two kinds of object
are kept:

* `load_once`: a model or table that is only read once built (VADER's lexicon, a spelling dictionary, fastText):
  one per process, and a thread that asks while another builds it waits instead of building a second copy.
* `per_thread`: a helper object that changes while it works (pysbd's Segmenter keeps the text being split on
  itself, YAKE's extractor its similarity cache and counters): one per thread, cheap to make, never shared.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def load_once(build: Callable[..., T]) -> Callable[..., T]:
    """`build(*args)` once per process and per arguments; concurrent first calls wait for the one build. A failed
    build is not remembered (the next call tries again), as with `functools.cache`."""
    built: dict[tuple[Hashable, ...], Any] = {}
    lock = threading.RLock()  # re-entrant: a build may need another value of the same loader

    @functools.wraps(build)
    def get(*args: Hashable) -> T:
        try:
            return built[args]  # the common case: no lock
        except KeyError:
            pass
        with lock:
            if args not in built:
                built[args] = build(*args)
            return built[args]

    get.cache_clear = built.clear  # type: ignore[attr-defined]
    return get


def per_thread(make: Callable[..., T]) -> Callable[..., T]:
    """`make(*args)` once per thread and per arguments: each thread gets its own object."""
    local = threading.local()

    @functools.wraps(make)
    def get(*args: Hashable) -> T:
        try:
            return local.made[args]
        except AttributeError:
            local.made = {}
        except KeyError:
            pass
        made = local.made[args] = make(*args)
        return made

    return get
