"""`refresh_prices` on Eden AI v3 (the default API): it reads `GET /v3/info` (never v2's info path), and its
`feature` / `subfeature` filters take the catalog's names too (`text_to_speech` is v3's `audio/tts`, the invoice
parser v3's `ocr/financial_parser`), not only v3's. Through the public API against the emulator over loopback."""

from __future__ import annotations

import edenframe
from edenframe.testing import EdenEmulator


def test_the_configured_v3_url_reads_v3_info() -> None:
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3)
        table = edenframe.refresh_prices()
        reads = [c.path for c in emu.calls]
        url = emu.base_url_v3
    assert reads == ["/v3/info"]
    assert table.snapshot == f"live: {url}/info" and "text/moderation" in table.paths()


def test_filters_take_the_catalog_names_on_v3() -> None:
    with EdenEmulator() as emu:
        edenframe.configure(api_key=emu.api_key, base_url=emu.base_url_v3)
        tts = edenframe.refresh_prices(subfeature="text_to_speech")
        tts_v3 = edenframe.refresh_prices(feature="audio", subfeature="tts")
        invoices = edenframe.refresh_prices(feature="ocr", subfeature="invoice_parser")
        moderation = edenframe.refresh_prices(feature="text", subfeature="moderation")
    assert tts.paths() == tts_v3.paths() == ["audio/tts"]
    assert tts.prices == tts_v3.prices and tts.prices["audio/tts"]
    assert invoices.paths() == ["ocr/financial_parser"]
    assert moderation.paths() == ["text/moderation"]
