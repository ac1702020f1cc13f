"""The emulator's records: the requests it received, the charges it made, and its batch jobs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Call:
    """One HTTP request the emulator received."""

    method: str
    path: str
    query: dict[str, str]
    json: Any  # the parsed JSON body (multipart: the form fields, files as "<N bytes>"), or None
    status: int | None  # the HTTP status returned; None when the connection was dropped without a response

    @property
    def body(self) -> Any:
        """Alias of `json`."""
        return self.json


@dataclass(frozen=True)
class Charge:
    """One provider result produced and charged."""

    job: str  # the batch job name, or "sync"
    name: str | None  # the request item's `name`
    provider: str  # the provider as requested ("openai/gpt-4o")
    cost: float


@dataclass
class BatchRequestState:
    """One launched request of a batch job, as the GET endpoint reports it."""

    public_id: int
    name: str | None
    body: dict[str, Any]
    status: str = "processing"  # processing | succeeded | failed
    errors: Any = None
    response: Any = None

    def wire(self) -> dict[str, Any]:
        return {
            "public_id": self.public_id,
            "status": self.status,
            "name": self.name,
            "errors": self.errors,
            "response": self.response,
        }


@dataclass
class BatchJob:
    """A batch job: its launched requests (in launch order) and the items rejected at launch."""

    name: str
    path: str
    requests: list[BatchRequestState]
    failed_requests: list[dict[str, Any]]
    created: str
    updated: str

    @property
    def status(self) -> str:
        return "processing" if any(r.status == "processing" for r in self.requests) else "finished"

    @property
    def feature(self) -> str:
        return self.path.split("/", 1)[0]

    @property
    def subfeature(self) -> str:
        return self.path.split("/", 1)[1]
