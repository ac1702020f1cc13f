"""The transport seam: a transport registered with one line in `TRANSPORTS` is a `transport=` option, route() sends
the call's remote requests through it, and the run report counts its stats (docs/contributing.md's recipe)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import edenframe
from edenframe._config import V2_BASE_URL
from edenframe._transport import TRANSPORTS, TransportKind, route
from edenframe._transport.base import OutcomeCallback, Recall, TransportStats, Wiring
from edenframe._transport.v2_sync import SyncTransport
from edenframe.testing import EdenEmulator

SENT: list[str] = []  # the request names the transport below was given


class RecordingTransport:
    """A new transport as the recipe writes it: here it sends through the v2 sync endpoint and records the items."""

    def __init__(self, wiring: Wiring) -> None:
        self.inner = SyncTransport(wiring)
        self.stats = TransportStats()

    async def send(
        self, entry: Any, items: list[dict[str, Any]], on_outcomes: OutcomeCallback, recall: Recall | None = None
    ) -> None:
        SENT.extend(item["name"] for item in items)
        await self.inner.send(entry, items, on_outcomes)
        self.stats.items_sent = self.inner.stats.items_sent


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    SENT.clear()
    monkeypatch.setitem(TRANSPORTS, "recording", TransportKind("recording", RecordingTransport))
    yield


def test_route_is_the_one_place_that_picks_a_transport() -> None:
    assert route("auto", "local") == "local"
    assert route("auto", "google") == "batch"
    assert route("auto", "google", upload=True) == "sync"  # the batch API takes URLs only
    assert route("batch", "local") == "batch"  # 'local' on Eden AI's side, not the offline engine
    assert route("sync", "google") == "sync"


def test_a_registered_transport_carries_the_call(registered: None) -> None:
    frame = pd.DataFrame({"review": ["good", "bad", "good", None]}, index=[10, 11, 12, 13])
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url)
        plan = frame.eden.sentiment("review", providers="google", transport="recording", dry_run=True)
        assert plan["transport"].tolist() == ["recording", "recording"]
        out = frame.eden.sentiment("review", providers="google", transport="recording")
        posts = [call.path for call in emu.calls if call.method == "POST"]
    assert len(posts) == 2 and not any("/batch/" in path for path in posts), posts
    assert len(SENT) == 2  # one request per distinct review
    report = out.attrs["edenframe"]
    assert (report["sent"], report["jobs"], report["failed"]) == (2, 0, 0)
    assert out["sentiment_general_sentiment"].notna().tolist() == [True, True, True, False]
    assert out.loc[10, "sentiment_general_sentiment"] == out.loc[12, "sentiment_general_sentiment"]


def test_an_unregistered_transport_is_refused_before_sending() -> None:
    frame = pd.DataFrame({"review": ["good"]})
    with pytest.raises(edenframe.ValidationError, match="transport must be one of \\['auto', 'batch', 'sync'\\]"):
        frame.eden.sentiment("review", providers="google", api_key="x", base_url=V2_BASE_URL, transport="recording")
    with pytest.raises(edenframe.ValidationError, match="transport must be one of \\['auto', 'v3'\\]"):
        frame.eden.ner("review", providers="amazon", api_key="x", transport="recording")  # the default API: v3
