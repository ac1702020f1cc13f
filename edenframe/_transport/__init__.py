"""Transports: how planned request items reach a provider and come back as provider-keyed responses.

Every transport takes request items (each with its content-hash `name`) and hands back one `Outcome` per name, as
soon as it has it, through a callback: the provider-keyed response that Eden AI's sync endpoint would give for it,
or an error message for the whole request. Every item gets exactly one outcome unless the run is cancelled.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple


class Outcome(NamedTuple):
    """The result of one request item: `response` (provider -> provider object) or `error` (a message).

    A named tuple: one is made per request of a run, and tuples are several times cheaper than dataclasses."""

    response: dict[str, Any] | None = None
    error: str | None = None


# Receives outcomes by request name as they arrive (a result page, a local chunk, a few sync answers).
OutcomeCallback = Callable[[dict[str, Outcome]], None]
# Answers request names from the result cache instead of an outcome (results another process stored while this run
# waited for the batch job that process owned); returns the names it answered.
Recall = Callable[[list[str]], set[str]]
