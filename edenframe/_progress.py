"""The progress bar of a run: tqdm.auto, shown by default in a terminal or notebook, hidden elsewhere (CI, pipes)."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager


def _interactive() -> bool:
    if "ipykernel" in sys.modules:
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


@contextmanager
def progress_bar(total: int, description: str, enabled: bool | None) -> Iterator[Callable[[int], None]]:
    """Yields a callback that advances the bar by n request items."""
    show = _interactive() if enabled is None else enabled
    if not show or total == 0:
        yield lambda n: None
        return
    from tqdm.auto import tqdm

    with tqdm(total=total, desc=f"eden {description}", unit="req", dynamic_ncols=True) as bar:
        yield bar.update
