"""The progress bar of a run: tqdm.auto, shown by default in a terminal or notebook, hidden elsewhere (CI, pipes)."""

from __future__ import annotations

import sys
from types import TracebackType
from typing import Any


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

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._bar is not None:
            self._bar.close()
