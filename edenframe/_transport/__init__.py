"""Transports: how planned request items reach a provider and come back as provider-keyed responses.

Every transport takes request items (each with its content-hash `name`) and returns one `Outcome` per name: the
provider-keyed response that Eden AI's sync endpoint would give for it, or an error message for the whole request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Outcome:
    """The result of one request item: `response` (provider -> provider object) or `error` (a message)."""

    response: dict[str, Any] | None = None
    error: str | None = None


# Called with the number of request items just finished (for progress bars).
ProgressCallback = Callable[[int], None]
