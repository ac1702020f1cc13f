"""The shipped price table (`edenframe/data/prices.json`), cost estimates, and the emulator's price endpoint/charges."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from edenframe import APIError, all_subfeatures, get_subfeature
from edenframe._prices import Price, PriceTable, arefresh_prices, estimate_cost, load_prices, refresh_prices
from edenframe.testing import EdenEmulator, synthetic_cost

# Subfeatures for which none of the specs gives a price table. Every one of the 33 has one: the 2026-05 spec for 25,
# the 2024-09 text spec for syntax_analysis, generation, custom_classification, custom_named_entity_recognition,
# question_answer and search, and the 2025-01 OCR spec (quoted in wire-format 6.1) for invoice and receipt parsers.
UNPRICED: frozenset[str] = frozenset()


@pytest.fixture(scope="module")
def table() -> PriceTable:
    return load_prices()


# ---------------------------------------------------------------------------------------------------------------
# the shipped table


def test_table_covers_every_subfeature(table: PriceTable) -> None:
    paths = [entry.path for entry in all_subfeatures() if not entry.v3_only]  # the v2 price table
    assert len(paths) == 33
    assert set(table.paths()) == set(paths) - UNPRICED
    for path in set(paths) - UNPRICED:
        priced = [k for k, v in table.prices[path].items() if isinstance(v, dict) or v.price > 0]
        assert priced, f"{path} has no provider with a non-zero price"
    raw = json.loads((Path(__file__).parents[1] / "edenframe" / "data" / "prices.json").read_text())
    assert raw["unpriced"] == sorted(UNPRICED)
    assert raw["currency"] == "USD" and raw["snapshot"].startswith("2026-05 (Eden AI v2 OpenAPI)")
    assert raw["notes"] and set(raw["sources"]) == set(paths) - UNPRICED


def test_load_prices_is_cached(table: PriceTable) -> None:
    assert load_prices() is table


@pytest.mark.parametrize(
    ("path", "key", "expected"),
    [
        ("text/sentiment_analysis", "amazon", Price(1.0, 1_000_000, "char", 300)),
        ("text/sentiment_analysis", "microsoft", Price(1.0, 1_000_000, "char", 1000)),
        ("text/sentiment_analysis", "google/gemini-1.5-flash", Price(3e-07, 1, "token", 1)),
        ("translation/automatic_translation", "deepl", Price(20.0, 1_000_000, "char", 1)),
        ("translation/document_translation", "deepl", Price(2.0, 20, "page", 20)),
        ("ocr/ocr", "google", Price(1.5, 1000, "page", 1)),
        ("ocr/ocr", "api4ai", Price(3.0, 1000, "request", 1)),
        ("ocr/invoice_parser", "google", Price(0.01, 1, "page", 10)),
        ("ocr/receipt_parser", "tabscanner", Price(0.08, 1, "page", 1)),
        ("text/syntax_analysis", "ibm", Price(0.3, 1_000_000, "char", 10000)),
        ("text/moderation", "openai", Price(0.0, 1, "free", None)),
        ("text/moderation", "google", Price(5.0, 1_000_000, "char", 100)),
        ("audio/text_to_speech", "google/gemini-2.5-pro-tts", Price(20.0, 1_000_000, "char", None)),
        ("image/explicit_content", "sentisight", Price(0.75, 1000, "file", 1)),
        ("image/generation", "google/imagen-4.0-fast-generate-001", Price(0.02, 1, "image", 1)),
    ],
)
def test_spot_checks(table: PriceTable, path: str, key: str, expected: Price) -> None:
    assert table.prices[path][key] == expected


def test_image_generation_prices_by_resolution(table: PriceTable) -> None:
    path = "image/generation"
    assert table.price(path, "stabilityai", "1024x1024") == Price(15.0, 1000, "image", 1)
    assert table.price(path, "openai/gpt-image-2", "1024x1024") == Price(0.053, 1, "image", 1)
    assert table.price(path, "openai/gpt-image-1", "1024x1024") == Price(0.042, 1, "image", None)
    assert table.price(path, "leonardo", "512x512") == Price(0.014, 1, "image", 1)
    assert table.price(path, "leonardo", "1024x1024") == Price(0.017, 1, "image", 1)
    assert table.price(path, "leonardo", "333x333") is None  # a resolution Eden AI does not list
    assert table.price(path, "leonardo") is None  # per-resolution prices need a resolution
    assert table.price(path, "minimax", "1024x1024") == Price(0.0035, 1, "image", 1)  # resolution-independent


# wire-format 6.1 row items: "amazon: 1.0 (per 1000000 char) (300 char)", "openai 1024x1024: 0.034 (per 1 image)"
_ITEM = re.compile(
    r"^(?P<key>\S+?)(?: (?P<res>\d+x\d+))?: (?:(?P<free>free) \(-\)|(?P<price>\S+) \(per (?P<per>\d+) (?P<unit>\w+)\)"
    r"(?: \((?P<min>\d+|None) (?P<unit2>\w+)\))?)$"
)


def test_every_wire_format_row_matches(table: PriceTable, shared_api: Path) -> None:
    """Every priced provider[/model] quoted in wire-format.md 6.1 (its first rows per subfeature) is in the table."""
    paths = {entry.path for entry in all_subfeatures()}
    checked = 0
    for line in (shared_api / "wire-format.md").read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or cells[0] not in paths:
            continue
        for item in cells[2].split("; "):
            if item.startswith("…"):
                continue  # "… +N more rows"
            m = _ITEM.match(item)
            assert m is not None, item
            price = table.price(cells[0], m["key"], m["res"]) if m["res"] else table.prices[cells[0]][m["key"]]
            assert isinstance(price, Price), item
            if m["free"]:
                assert price == Price(0.0, 1, "free", None)
            else:
                assert (price.price, price.per, price.unit) == (float(m["price"]), int(m["per"]), m["unit"]), item
                if m["min"] is not None:
                    assert price.min_units == (None if m["min"] == "None" else int(m["min"])), item
            checked += 1
    assert checked > 150


# ---------------------------------------------------------------------------------------------------------------
# lookups


def test_provider_model_lookup(table: PriceTable) -> None:
    path = "text/sentiment_analysis"
    assert table.price(path, "google/gemini-1.5-flash") == Price(3e-07, 1, "token", 1)
    assert table.price(path, " openai / gpt-4o ") == Price(1e-05, 1, "token", 1)
    # provider alone: Eden AI's model-less row
    assert table.price(path, "openai") == Price(20.0, 1_000_000, "token", 1)
    # a model the table does not know: the provider's model-less row
    assert table.price(path, "openai/gpt-99") == Price(20.0, 1_000_000, "token", 1)
    # no model-less google row: the default model of the "Default Models" table (gemini-2.5-flash)
    assert table.defaults[path]["google"] == "gemini-2.5-flash"
    assert table.price(path, "google") == table.prices[path]["google/gemini-2.5-flash"] == Price(2.5e-06, 1, "token", 1)


def test_unknown_prices_are_none(table: PriceTable) -> None:
    sentiment = get_subfeature("sentiment")
    assert table.price("text/sentiment_analysis", "nobody") is None
    assert table.price("text/sentiment_analysis", "synthetic") is None
    assert table.price("text/sentiment_analysis", "emvista") is None  # in the response schema, never priced
    assert table.price("video/nothing", "amazon") is None
    assert estimate_cost(sentiment, "synthetic", {"text": "hello"}) is None
    assert estimate_cost(sentiment, "ibm", {"text": "hello"}) is None
    # priced, but in a unit that cannot be counted before the call
    assert table.price("text/sentiment_analysis", "openai/container") == Price(0.0, 1, "seconde", 1)
    assert estimate_cost(sentiment, "openai/container", {"text": "hello"}) is None
    generation = get_subfeature("image/generation")
    assert estimate_cost(generation, "replicate/classic", {"text": "a cat", "resolution": "512x512"}) is None
    assert estimate_cost(generation, "leonardo", {"text": "a cat", "resolution": "333x333"}) is None
    # an empty table knows nothing
    assert estimate_cost(sentiment, "amazon", {"text": "hello"}, table=PriceTable({})) is None


# ---------------------------------------------------------------------------------------------------------------
# estimates


def test_billing_blocks() -> None:
    amazon = Price(1.0, 1_000_000, "char", 300)
    assert [amazon.billed_units(q) for q in (0, 1, 120, 300, 301, 450, 600, 601)] == [
        300,
        300,
        300,
        300,
        600,
        600,
        600,
        900,
    ]
    assert Price(1.0, 1000, "page", None).billed_units(7) == 7
    assert Price(1.0, 1000, "page", 1).billed_units(0) == 1


def test_estimate_hand_computed(table: PriceTable) -> None:
    sentiment = get_subfeature("sentiment")
    text = "The battery died after two days, and support never answered."  # 60 chars
    assert len(text) == 60
    # amazon: 1.0 USD per 1,000,000 chars, billed per 300 chars: 60 -> 300 chars = 0.0003
    assert estimate_cost(sentiment, "amazon", {"text": text}) == 0.0003
    assert estimate_cost(sentiment, "amazon", {"text": "x" * 450}) == 0.0006  # 450 -> 600 chars
    # microsoft: 1.0 per 1M chars in 1000-char records: 1001 chars -> 2000 chars = 0.002
    assert estimate_cost(sentiment, "microsoft", {"text": "x" * 1001}) == 0.002
    # openai (model-less row): 20.0 per 1M tokens; 60 chars -> 15 tokens = 0.0003
    assert estimate_cost(sentiment, "openai", {"text": text}) == 0.0003
    # openai/gpt-4o: 1e-05 per token; 61 chars -> ceil(61 / 4) = 16 tokens = 0.00016
    assert estimate_cost(sentiment, "openai/gpt-4o", {"text": text + "!"}) == 0.00016
    # deepl: 20.0 per 1M chars, billed per char: 60 chars = 0.0012
    translation = get_subfeature("translation/automatic_translation")
    assert estimate_cost(translation, "deepl", {"text": text, "target_language": "fr"}) == 0.0012
    # packed texts: the request's chars are summed. cohere search 0.1 per 1M chars: 3 + 5 + 7 = 15 chars
    search = get_subfeature("text/search")
    item = {"texts": ["abc", "defgh", "ijklmno"], "query": "not counted"}
    assert estimate_cost(search, "cohere", item) == pytest.approx(1.5e-06, rel=1e-12)
    # files: one page / file per request item
    ocr = get_subfeature("ocr/ocr")
    assert estimate_cost(ocr, "google", {"file_url": "https://example.com/a.pdf"}) == 0.0015
    assert estimate_cost(get_subfeature("ocr/invoice_parser"), "google", {"file_url": "https://x/y.pdf"}) == 0.1
    doc = get_subfeature("translation/document_translation")
    assert estimate_cost(doc, "deepl", {"file_url": "https://x/y.pdf", "target_language": "fr"}) == 2.0
    # free
    assert estimate_cost(get_subfeature("text/moderation"), "openai", {"text": text}) == 0.0
    # image generation: num_images at the resolution's price
    generation = get_subfeature("image/generation")
    item = {"text": "a red bicycle", "resolution": "1024x1024", "num_images": 3}
    assert estimate_cost(generation, "openai", item) == 0.102
    assert estimate_cost(generation, "leonardo", {"text": "a red bicycle", "resolution": "512x512"}) == 0.014
    assert estimate_cost(generation, "bytedance", {"text": "a red bicycle", "resolution": "1024x1024"}) == 0.03


# ---------------------------------------------------------------------------------------------------------------
# Eden AI's provider_subfeatures shape, live refresh against the emulator


def test_provider_subfeatures_round_trip(table: PriceTable) -> None:
    wire = table.to_provider_subfeatures()
    again = PriceTable.from_provider_subfeatures(wire, defaults=table.defaults)
    assert again.prices == table.prices
    decimal = re.compile(r"^-?\d{0,6}(?:\.\d{0,9})?$")  # the spec's pattern for `price`
    assert all(decimal.match(p["price"]) for obj in wire for p in obj["pricings"])


def test_refresh_prices_from_the_emulator_reproduces_the_table(table: PriceTable) -> None:
    with EdenEmulator() as emu:
        live = refresh_prices(emu.base_url, emu.api_key)
        one = refresh_prices(emu.base_url, emu.api_key, feature="text", subfeature="sentiment_analysis")
        with pytest.raises(APIError) as denied:
            refresh_prices(emu.base_url, "wrong-key")
        calls = [c for c in emu.calls if "provider_subfeatures" in c.path]
    assert live.prices == table.prices
    assert live.defaults == table.defaults
    assert live.price("text/sentiment_analysis", "amazon") == Price(1.0, 1_000_000, "char", 300)
    assert (
        one.paths() == ["text/sentiment_analysis"]
        and one.prices["text/sentiment_analysis"] == table.prices["text/sentiment_analysis"]
    )
    assert denied.value.status == 401
    assert calls[1].query == {"feature__name": "text", "subfeature__name": "sentiment_analysis"}


async def test_provider_subfeatures_endpoint_shape(table: PriceTable) -> None:
    async with EdenEmulator() as emu:
        auth = {"Authorization": f"Bearer {emu.api_key}"}
        url = f"{emu.base_url}/info/provider_subfeatures/"
        async with aiohttp.ClientSession() as session:
            async with session.get(url, headers=auth, params={"feature__name": "ocr"}) as response:
                assert response.status == 200
                body: list[dict[str, Any]] = await response.json()
            async with session.get(url.rstrip("/"), headers=auth, params={"subfeature__name": "ocr"}) as response:
                ocr_only = await response.json()
            async with session.get(url) as response:
                assert response.status == 403  # Bearer auth, like every route
            refreshed = await arefresh_prices(session, emu.api_key, base_url=emu.base_url, feature="image")
    assert {obj["feature"]["name"] for obj in body} == {"ocr"}
    assert {obj["subfeature"]["name"] for obj in ocr_only} == {"ocr"}
    google = next(obj for obj in ocr_only if obj["provider"]["name"] == "google")
    assert google["pricings"] == [
        {
            "model_name": "default",
            "price": "1.5",
            "price_unit_quantity": 1000,
            "min_price_quantity": 1,
            "price_unit_type": "page",
            "detail_type": None,
            "detail_value": None,
            "get_detail_type_display": "",
        }
    ]
    assert set(refreshed.paths()) == {p for p in table.paths() if p.startswith("image/")}
    assert refreshed.prices["image/generation"] == table.prices["image/generation"]


def test_refresh_prices_with_a_blocking_session(table: PriceTable) -> None:
    class Response:
        def __init__(self, status_code: int, text: str) -> None:
            self.status_code, self.text = status_code, text

        def json(self) -> Any:
            return json.loads(self.text)

    class Session:  # the part of requests.Session that refresh_prices uses
        def get(self, url: str, params: dict[str, str], headers: dict[str, str], timeout: float | None) -> Response:
            query = "&".join(f"{k}={v}" for k, v in params.items())
            request = urllib.request.Request(f"{url}?{query}", headers=headers)
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
            with opener.open(request, timeout=timeout or 10) as response:
                return Response(response.status, response.read().decode())

    with EdenEmulator() as emu:
        live = refresh_prices(Session(), emu.api_key, base_url=emu.base_url, subfeature="text_to_speech")
    assert live.prices == {"audio/text_to_speech": table.prices["audio/text_to_speech"]}


# ---------------------------------------------------------------------------------------------------------------
# the emulator charges what edenframe estimates


async def test_emulator_charges_equal_estimates() -> None:
    sentiment = get_subfeature("sentiment")
    text = "Arrived late, but the headphones sound great and the battery lasts all week."
    body = {"providers": "amazon,google,openai/gpt-4o,microsoft,synthetic", "text": text, "language": "en"}
    async with EdenEmulator() as emu, aiohttp.ClientSession() as session:
        url = f"{emu.base_url}/text/sentiment_analysis/"
        async with session.post(url, json=body, headers={"Authorization": f"Bearer {emu.api_key}"}) as response:
            assert response.status == 200
            data = await response.json()
        ledger = emu.ledger
    item = {"text": text, "language": "en"}
    for provider in ("amazon", "google", "openai/gpt-4o", "microsoft"):
        key = provider.split("/")[0]
        expected = estimate_cost(sentiment, provider, item)
        assert expected is not None and expected > 0
        assert data[key]["cost"] == expected
        assert synthetic_cost(sentiment, provider, item) == expected
    assert data["amazon"]["cost"] == 0.0003
    # the synthetic provider has no price: the deterministic fallback (0.0001 per text + 1e-7 per char)
    assert data["synthetic"]["cost"] == round(0.0001 + 1e-7 * len(text), 10)
    assert sorted(c.cost for c in ledger) == sorted(obj["cost"] for obj in data.values())


async def test_emulator_batch_charges_equal_estimates() -> None:
    generation = get_subfeature("image/generation")
    items = [
        {"text": "a lighthouse at dawn", "resolution": "512x512", "num_images": 2, "providers": "leonardo"},
        {"text": "a fox in the snow", "resolution": "1024x1024", "providers": "openai/gpt-image-2"},
    ]
    async with EdenEmulator() as emu, aiohttp.ClientSession() as session:
        auth = {"Authorization": f"Bearer {emu.api_key}"}
        url = f"{emu.base_url}/image/generation/batch/prices/"
        async with session.post(url, json={"requests": items}, headers=auth) as response:
            assert response.status == 200
        for _ in range(500):
            async with session.get(url, headers=auth) as response:
                page = await response.json()
            if page["status"] == "finished":
                break
            await asyncio.sleep(0.01)
    costs = [next(iter(r["response"].values()))["cost"] for r in page["requests"]]
    assert costs == [0.028, 0.053]
    for item, cost in zip(items, costs, strict=True):
        provider = item["providers"]
        request_item = {k: v for k, v in item.items() if k != "providers"}
        assert estimate_cost(generation, provider, request_item) == cost
