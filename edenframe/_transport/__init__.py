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
from .v3_universal import V3Transport

# The registry, by the name `transport=` and the dry-run frame use.
TRANSPORTS: dict[str, TransportKind] = {
    kind.name: kind
    for kind in (
        TransportKind("batch", BatchTransport, uploads=False, jobs=True),
        TransportKind("sync", SyncTransport),
        TransportKind("local", LocalTransport, remote=False),
        TransportKind("v3", V3Transport, api="v3"),
    )
}
AUTO = "auto"  # the default of `transport=`: the offline engine in process for 'local', DEFAULT_REMOTE for the rest
DEFAULT_REMOTE = "batch"  # on v2; on v3 every remote request goes to "v3" (v3 has no batch endpoint)
_DEFAULT_BY_API = {"v2": DEFAULT_REMOTE, "v3": "v3"}
UPLOADS = "sync"  # where a local file or bytes go when the chosen transport takes URLs only


def transport_choices(api: str = "v2") -> tuple[str, ...]:
    """The values of the `transport=` option on a base URL of Eden AI's `api` ("v2" or "v3")."""
    return (AUTO, *(name for name, kind in TRANSPORTS.items() if kind.remote and kind.api == api))


def route(requested: str, provider: str, upload: bool = False, api: str = "v2") -> str:
    """The transport that carries `provider`'s request for one input, given the call's `transport=` option, whether
    the input is a local file or bytes (`upload`) and the API the base URL names. The one place that decides it."""
    if requested == AUTO:
        if provider == LOCAL:
            return LOCAL  # the offline engine, in this process (with transport='batch'/'sync' it goes to Eden AI)
        requested = _DEFAULT_BY_API[api]
    if upload and not TRANSPORTS[requested].uploads:
        return UPLOADS
    return requested


def kind_of(requested: str, provider: str, upload: bool = False, api: str = "v2") -> TransportKind:
    """The registered transport `route` picks."""
    return TRANSPORTS[route(requested, provider, upload, api)]


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
