"""Transports: how planned request items reach a provider and come back as provider-keyed responses.

`base.py` holds the seam (`Transport`, `JobJournal`, `Outcome`); this module holds the registry and the one routing
function the pipeline asks which transport carries a request. A new transport is one module beside `v2_batch.py`
and one line in `TRANSPORTS`.
"""

from __future__ import annotations

from .base import JobJournal, Outcome, OutcomeCallback, Recall, Transport, TransportKind, TransportStats, Wiring
from .local import LOCAL, LocalTransport
from .v2_batch import BatchTransport
from .v2_sync import SyncTransport

# The registry, by the name `transport=` and the dry-run frame use.
TRANSPORTS: dict[str, TransportKind] = {
    kind.name: kind
    for kind in (
        TransportKind("batch", BatchTransport, uploads=False, jobs=True),
        TransportKind("sync", SyncTransport),
        TransportKind("local", LocalTransport, remote=False),
    )
}
AUTO = "auto"  # the default of `transport=`: the offline engine in process for 'local', DEFAULT_REMOTE for the rest
DEFAULT_REMOTE = "batch"
UPLOADS = "sync"  # where a local file or bytes go when the chosen transport takes URLs only


def transport_choices() -> tuple[str, ...]:
    """The values of the `transport=` option."""
    return (AUTO, *(name for name, kind in TRANSPORTS.items() if kind.remote))


def route(requested: str, provider: str, upload: bool = False) -> str:
    """The transport that carries `provider`'s request for one input, given the call's `transport=` option and
    whether the input is a local file or bytes (`upload`). The one place that decides it."""
    if requested == AUTO:
        if provider == LOCAL:
            return LOCAL  # the offline engine, in this process (with transport='batch'/'sync' it goes to Eden AI)
        requested = DEFAULT_REMOTE
    if upload and not TRANSPORTS[requested].uploads:
        return UPLOADS
    return requested


def kind_of(requested: str, provider: str, upload: bool = False) -> TransportKind:
    """The registered transport `route` picks."""
    return TRANSPORTS[route(requested, provider, upload)]


__all__ = [
    "AUTO",
    "LOCAL",
    "TRANSPORTS",
    "JobJournal",
    "Outcome",
    "OutcomeCallback",
    "Recall",
    "Transport",
    "TransportKind",
    "TransportStats",
    "Wiring",
    "kind_of",
    "route",
    "transport_choices",
]
