"""The progress bar of a run: tqdm.auto, shown by default in a terminal or notebook, hidden elsewhere (CI, pipes)."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import TracebackType
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from ._plan import Requests
    from ._results import UnitResults


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class Progress:
    """Counts rows done (those answered from the cache count as done from the start), failed rows and the cost so
    far. Rows that are never sent (missing input) are not counted."""

    def __init__(self, total: int, description: str, enabled: bool | None, default: bool | None) -> None:
        choice = enabled if enabled is not None else default
        self.show = (_interactive() if choice is None else bool(choice)) and total > 0
        self.total = total
        self.description = description
        self.cached = 0
        self.failed = 0
        self.cost = 0.0
        self._bar: Any = None

    def __enter__(self) -> Progress:
        if self.show:
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self.total, desc=f"eden {self.description}", unit="row", dynamic_ncols=True)
            self._bar.set_postfix(cached=self.cached, failed=0, cost="$0.0000", refresh=False)
        return self

    def skip(self, cached: int) -> None:
        """Count rows answered from the cache as done."""
        self.cached += cached
        self.advance(cached, 0, self.cost)

    def advance(self, done: int, failed: int, cost: float) -> None:
        self.failed += failed
        self.cost = cost
        if self._bar is not None and done:
            self._bar.set_postfix(cached=self.cached, failed=self.failed, cost=f"${cost:.4f}", refresh=False)
            self._bar.update(done)

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.close()


class ProgressListener:
    """Moves the bar as outcomes arrive: the orchestrator tells it when a window starts and which request names were
    answered; it works out which rows that completes. Counting per input costs time, so all of it is skipped when
    the bar is hidden."""

    def __init__(self, bar: Progress, row_unit: np.ndarray, units: int, providers: tuple[str, ...]) -> None:
        self.bar = bar
        self.providers = providers
        self.rows_of: list[int] = []  # rows per unit (a distinct input done is every row that shares it)
        if bar.show:
            self.rows_of = np.bincount(row_unit[row_unit >= 0], minlength=units).tolist()

    def window(
        self, units: range, groups: list[tuple[str, Requests]], results: dict[str, UnitResults]
    ) -> WindowProgress:
        """A window starts: its rows answered from the cache count as done at once."""
        window = WindowProgress(self, units, results)
        if self.bar.show:
            # how many requests of the window carry each unit (one per transport it goes through), so a unit counts
            # as done when the last of them has answered
            pending = window.pending
            for _, requests in groups:
                for group in requests.units:
                    for unit in group:
                        pending[unit - units.start] += 1
            self.bar.skip(sum(self.rows_of[u] for u, waits in zip(units, pending, strict=True) if not waits))
        return window


class WindowProgress:
    """The bar's view of one window: which of its units still wait for an answer."""

    def __init__(self, listener: ProgressListener, units: range, results: dict[str, UnitResults]) -> None:
        self.listener = listener
        self.units = units
        self.results = results
        self.pending = [0] * len(units) if listener.bar.show else []

    def answered(self, requests: Requests, index: dict[str, int], names: Iterable[str], spent: float) -> None:
        """These request names got their outcome (or were recalled from the cache); `spent` is the run's cost so far."""
        listener = self.listener
        if not listener.bar.show:
            return
        done = failed = 0
        start, pending, rows_of = self.units.start, self.pending, listener.rows_of
        for name in names:
            position = index.get(name)
            if position is None:
                continue
            for unit in requests.units[position]:
                local_index = unit - start
                pending[local_index] -= 1
                if pending[local_index] != 0:
                    continue  # another transport still owes it (or it was counted)
                done += rows_of[unit]
                failed += rows_of[unit] * any(
                    self.results[p].errors[local_index] is not None for p in listener.providers
                )
        listener.bar.advance(done, failed, spent)
