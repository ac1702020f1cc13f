"""Eden AI's price tables and what one request is expected to cost.

`load_prices()` reads the snapshot shipped in `data/prices.json` (built by `tools/build_prices.py` from Eden AI's
own OpenAPI specs; the file's `notes` say how to read it). `refresh_prices()` builds the same kind of table from
the live `GET /v2/info/provider_subfeatures/` endpoint (or the emulator's copy of it).

How a request is billed (the interpretation edenframe uses everywhere, the emulator included):

* A price is `price` USD per `per` units of `unit`, with Eden AI's "Billing unit" `min_units`: one request's
  quantity is rounded UP to whole blocks of `min_units`, at least one block,
  `billed = max(1, ceil(quantity / min_units)) * min_units`, and costs `billed * price / per`.
  "1.0 (per 1000000 char), 300 char" bills a 120-char text as 300 chars (0.0003) and a 450-char text as 600.
* Quantities per request item: `char` = the length of the input text (for a `texts` list, the sum over the list:
  Eden AI bills the request); `token` = ceil(chars / 4) of the input text, an approximation of the INPUT tokens
  only (the tokens a model generates are not counted, so LLM-backed estimates are lower bounds); `page`, `file`
  and `request` = 1 per request item (the page count of a document is unknown before the call); `image` =
  `num_images` for image/generation (at the requested `resolution`'s price), 1 otherwise; `free` costs 0.
  Other units (`seconde`, `exec_time`, ...) cannot be known before the call: no estimate.
* Only the input field counts (not `chatbot_global_action`, `previous_history`, a search `query`, ...).

On Eden AI's v3 API (a base URL ending `/v3`) the prices come from `GET /v3/info` (`models[].pricing`: `price` USD
per `price_unit_quantity` units of `price_unit_type`, no billing block), read once per process and base URL and kept
for an hour with the provider lists (`_providers.py`), or from the documented `_v3_models.V3_MODELS` when it cannot
be read (`refresh_prices(v3_url)` reads it again now). `v3_estimate` counts v3's units from the input:

* `char`: the characters of the input text; `token`: ceil(chars / 4) of the input (input tokens only);
* `page`: the pages of a local PDF (its `/Type /Page` objects, read when the file is at most 64 MiB), else 1 per
  document (a URL, an image, an unreadable file: noted);
* `file`, `request`: 1; `image`: `num_images` of image generation, else 1; `free`: 0;
* `second` / `minute` of audio in (speech to text): the length of a local WAV file (its header), else
  `ASSUMED_AUDIO_SECONDS` per file (noted); of audio out (text to speech): the text at `SPEECH_CHARS_PER_SECOND`;
* `exec_time` and any unit not listed: no estimate (NaN, noted).

LLM chat models (`provider/model` on `POST /v3/chat/completions`) are priced per token, input and output apart, by
`GET /v3/models` (`ModelObject.pricing`) or, when it cannot be read, by the snapshot's `text/chat` token prices
(`snapshot_token_prices`: Eden AI's v2 tables, one price for input and output alike). `chat_cost` is the one
function that prices a chat.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._config import api_of

if TYPE_CHECKING:
    import aiohttp

    from ._catalog import Subfeature

CHARS_PER_TOKEN = 4
PROVIDER_SUBFEATURES_PATH = "info/provider_subfeatures/"
_COUNTED_UNITS = frozenset({"char", "token", "page", "file", "request", "image", "free"})


@dataclass(frozen=True)
class Price:
    """`price` USD per `per` units of `unit`; one request is billed in whole blocks of `min_units` (None: 1)."""

    price: float
    per: int
    unit: str
    min_units: int | None = None

    def billed_units(self, quantity: float) -> int:
        """The units Eden AI bills for one request using `quantity` units: whole blocks of `min_units`, at least one."""
        block = self.min_units if self.min_units and self.min_units > 0 else 1
        return max(1, math.ceil(quantity / block)) * block

    def cost(self, quantity: float) -> float:
        """The charge of one request using `quantity` units, in USD (computed in decimal, then rounded to a float)."""
        per = self.per if self.per > 0 else 1
        return float(Decimal(self.billed_units(quantity)) * Decimal(repr(float(self.price))) / Decimal(per))

    def as_dict(self) -> dict[str, Any]:
        """The price as the shipped `prices.json` stores it: `price`, `per`, `unit`, `min_units`."""
        return {"price": self.price, "per": self.per, "unit": self.unit, "min_units": self.min_units}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Price:
        """The inverse of `as_dict`."""
        min_units = data.get("min_units")
        return cls(
            float(data["price"]), int(data["per"]), str(data["unit"]), None if min_units is None else int(min_units)
        )


# A price table entry: one price, or prices by resolution ("1024x1024") for image/generation.
PriceEntry = Price | dict[str, Price]


@dataclass(frozen=True)
class PriceTable:
    """Prices by subfeature path ("text/sentiment_analysis") and key ("amazon", "google/gemini-1.5-flash").

    `defaults[path][provider]` is the model Eden AI uses when a request names the provider alone.
    """

    prices: dict[str, dict[str, PriceEntry]]
    defaults: dict[str, dict[str, str]] = field(default_factory=dict)
    snapshot: str = ""
    currency: str = "USD"

    # -- lookups ------------------------------------------------------------------------------------------------

    def paths(self) -> list[str]:
        """Every subfeature path with at least one price ("text/sentiment_analysis", ...)."""
        return list(self.prices)

    def keys(self, path: str) -> list[str]:
        """Every priced `provider` / `provider/model` key of a subfeature."""
        return list(self.prices.get(path, {}))

    def providers(self, path: str) -> list[str]:
        """The providers with at least one price for a subfeature."""
        return list(dict.fromkeys(key.split("/", 1)[0] for key in self.prices.get(path, {})))

    def entry(self, path: str, provider: str) -> PriceEntry | None:
        """The table entry a request to `provider` ("openai" or "openai/gpt-4o") is billed by, or None.

        Tried in order: the exact `provider/model`, the provider alone (Eden AI's model-less row), then the
        provider's default model for that subfeature.
        """
        table = self.prices.get(path)
        if not table:
            return None
        name, _, model = (part.strip() for part in provider.partition("/"))
        candidates = [f"{name}/{model}"] if model else []
        candidates.append(name)
        default = self.defaults.get(path, {}).get(name)
        if default:
            candidates.append(f"{name}/{default}")
        for key in candidates:
            if key in table:
                return table[key]
        return None

    def price(self, path: str, provider: str, resolution: str | None = None) -> Price | None:
        """The price of `provider` ("amazon", "google/gemini-1.5-flash") for a subfeature, or None when unknown.

        For an entry priced per resolution (image/generation) pass `resolution`; without one, or with a resolution
        the entry does not list, the answer is None.
        """
        found = self.entry(path, provider)
        if isinstance(found, dict):
            return found.get(resolution) if resolution is not None else None
        return found

    # -- JSON (the shipped file) -------------------------------------------------------------------------------

    @classmethod
    def from_json(cls, document: Mapping[str, Any]) -> PriceTable:
        """A table from the JSON document `to_json` writes (the shape of the shipped `data/prices.json`)."""
        prices: dict[str, dict[str, PriceEntry]] = {}
        for path, entries in document.get("prices", {}).items():
            table: dict[str, PriceEntry] = {}
            for key, value in entries.items():
                if "resolutions" in value:
                    table[key] = {res: Price.from_dict(p) for res, p in value["resolutions"].items()}
                else:
                    table[key] = Price.from_dict(value)
            prices[path] = table
        defaults = {path: dict(models) for path, models in document.get("defaults", {}).items()}
        return cls(prices, defaults, str(document.get("snapshot", "")), str(document.get("currency", "USD")))

    def to_json(self) -> dict[str, Any]:
        """The table as a JSON-ready dict, for `json.dump` and `PriceTable.from_json`."""

        def dump(value: PriceEntry) -> dict[str, Any]:
            if isinstance(value, dict):
                return {"resolutions": {res: p.as_dict() for res, p in value.items()}}
            return value.as_dict()

        return {
            "snapshot": self.snapshot,
            "currency": self.currency,
            "defaults": self.defaults,
            "prices": {path: {key: dump(v) for key, v in table.items()} for path, table in self.prices.items()},
        }

    # -- Eden AI's /v2/info/provider_subfeatures/ shape --------------------------------------------------------

    def to_provider_subfeatures(
        self, feature: str | None = None, subfeature: str | None = None, provider: str | None = None
    ) -> list[dict[str, Any]]:
        """The table as `GET /v2/info/provider_subfeatures/` returns it: one object per (provider, subfeature)
        with its `pricings`, optionally filtered like the endpoint's `feature__name`, `subfeature__name` and
        `provider__name` query parameters. Fields the table does not know are empty."""
        out: list[dict[str, Any]] = []
        for path, table in self.prices.items():
            feature_name, subfeature_name = path.split("/", 1)
            if feature is not None and feature != feature_name:
                continue
            if subfeature is not None and subfeature != subfeature_name:
                continue
            by_provider: dict[str, list[dict[str, Any]]] = {}
            for key, value in table.items():
                name, _, model = key.partition("/")
                pricings = by_provider.setdefault(name, [])
                if isinstance(value, dict):
                    pricings.extend(_wire_pricing(model or "default", p, res) for res, p in value.items())
                else:
                    pricings.append(_wire_pricing(model or "default", value, None))
            for name, pricings in by_provider.items():
                if provider is not None and provider != name:
                    continue
                out.append(
                    {
                        "name": f"{name}__{feature_name}__{subfeature_name}",
                        "version": "",
                        "pricings": pricings,
                        "is_working": True,
                        "description_title": None,
                        "description_content": None,
                        "provider": {"name": name, "fullname": name, "description": None},
                        "feature": {"name": feature_name, "fullname": feature_name, "description": None},
                        "subfeature": {"name": subfeature_name, "fullname": subfeature_name, "description": None},
                        "constraints": {},
                        "models": {},
                        "tts_models": {},
                        "llm_details": {},
                        "languages": [],
                        "phase": "",
                        "regions": [],
                    }
                )
        return out

    @classmethod
    def from_provider_subfeatures(
        cls,
        objects: Iterable[Mapping[str, Any]],
        defaults: Mapping[str, Mapping[str, str]] | None = None,
        snapshot: str = "",
    ) -> PriceTable:
        """A table from `GET /v2/info/provider_subfeatures/` objects. A pricing's `model_name` "default" (or none)
        is the provider's model-less price; `detail_type: "resolution"` rows become per-resolution prices; other
        details (a `document_type`) are not told apart: the first such row of a key is kept. A key priced twice
        keeps its first price. The API does not tell a provider's default model: `defaults` supplies them."""
        prices: dict[str, dict[str, PriceEntry]] = {}
        for obj in objects:
            try:
                path = f"{obj['feature']['name']}/{obj['subfeature']['name']}"
                name = str(obj["provider"]["name"])
            except (KeyError, TypeError):
                continue
            table = prices.setdefault(path, {})
            for pricing in obj.get("pricings") or ():
                price = _price_of(pricing)
                if price is None:
                    continue
                model = pricing.get("model_name")
                key = name if model in (None, "", "default") else f"{name}/{model}"
                resolution = pricing.get("detail_value") if pricing.get("detail_type") == "resolution" else None
                current = table.get(key)
                if resolution:
                    if current is None:
                        current = table[key] = {}
                    if isinstance(current, dict):
                        current.setdefault(str(resolution), price)
                elif current is None:
                    table[key] = price
        prices = {path: table for path, table in prices.items() if table}
        kept = {path: dict(models) for path, models in (defaults or {}).items()}
        return cls(prices, kept, snapshot)


def _decimal_string(value: float) -> str:
    """A price as Eden AI's decimal string ("0.000002", never "2e-06")."""
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else f"{text}.0"


def _wire_pricing(model: str, price: Price, resolution: str | None) -> dict[str, Any]:
    return {
        "model_name": model,
        "price": _decimal_string(price.price),
        "price_unit_quantity": price.per,
        "min_price_quantity": price.min_units,
        "price_unit_type": price.unit,
        "detail_type": "resolution" if resolution else None,
        "detail_value": resolution,
        "get_detail_type_display": "Resolution" if resolution else "",
    }


def _price_of(pricing: Mapping[str, Any]) -> Price | None:
    try:
        unit = str(pricing.get("price_unit_type") or "unknown")
        value = float(pricing.get("price") or 0.0)
        per = int(pricing.get("price_unit_quantity") or 1)
        min_units = pricing.get("min_price_quantity")
        return Price(value, per, unit, None if min_units is None else int(min_units))
    except (TypeError, ValueError):
        return None


@functools.cache
def load_prices() -> PriceTable:
    """The price table shipped with edenframe (`data/prices.json`, a snapshot of Eden AI's prices), the one dry-run
    estimates and `max_cost` use. Read once, then cached: every call returns the same table."""
    text = (files("edenframe") / "data" / "prices.json").read_text(encoding="utf-8")
    return PriceTable.from_json(json.loads(text))


# ---------------------------------------------------------------------------------------------------------------
# Estimates


def _input_texts(entry: Subfeature, item: Mapping[str, Any]) -> list[str] | None:
    """The input text(s) of a request item; None for file inputs."""
    if entry.input_kind == "file":
        return None
    value = item.get(entry.input_field)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, (list, tuple)):
        return [v for v in value if isinstance(v, str)]
    return [str(value)]


def _num_images(entry: Subfeature, item: Mapping[str, Any]) -> int:
    param = entry.param("num_images")
    if param is None:
        return 1
    value = item.get("num_images")
    if value is None:
        value = param.default if isinstance(param.default, int) else 1
    try:
        return max(1, int(value))
    except (TypeError, ValueError):
        return 1


def billed_quantity(entry: Subfeature, unit: str, item: Mapping[str, Any]) -> int | None:
    """The quantity of `unit` one request item uses, before block rounding; None when it cannot be known."""
    if unit not in _COUNTED_UNITS:
        return None
    if unit in ("page", "file", "request", "free"):
        return 1
    if unit == "image":
        return _num_images(entry, item)
    texts = _input_texts(entry, item)
    if texts is None:
        return None
    chars = sum(len(t) for t in texts)
    return chars if unit == "char" else math.ceil(chars / CHARS_PER_TOKEN)


def estimate_cost(
    entry: Subfeature, provider: str, item: Mapping[str, Any], table: PriceTable | None = None
) -> float | None:
    """The expected charge, in USD, of one request item sent to `provider` ("amazon", "openai/gpt-4o").

    `item` is the request body (or batch request item): the input field and the subfeature's parameters. None
    when the price is unknown or its unit cannot be counted before the call. See the module docstring for the
    billing rules; token counts are an input-only approximation (chars / 4).
    """
    table = load_prices() if table is None else table
    resolution = item.get("resolution") if entry.param("resolution") is not None else None
    price = table.price(entry.path, provider, resolution=str(resolution) if resolution is not None else None)
    if price is None:
        return None
    quantity = billed_quantity(entry, price.unit, item)
    if quantity is None:
        return None
    return price.cost(quantity)


# ---------------------------------------------------------------------------------------------------------------
# Live prices


def _endpoint(base_url: str) -> str:
    """v2: `GET {base}/info/provider_subfeatures/`; v3: `GET {base}/info` (every subfeature with its prices)."""
    if api_of(base_url) == "v3":
        return f"{base_url.rstrip('/')}/info"
    return f"{base_url.rstrip('/')}/{PROVIDER_SUBFEATURES_PATH}"


def _filters(feature: str | None, subfeature: str | None, base_url: str = "") -> dict[str, str]:
    params: dict[str, str] = {}
    if api_of(base_url) == "v3":
        return params  # /v3/info takes no filters: the table is filtered after the read
    if feature is not None:
        params["feature__name"] = feature
    if subfeature is not None:
        params["subfeature__name"] = subfeature
    return params


def _table_from_body(
    status: int, body: Any, url: str, settings: Any = None, feature: str | None = None, subfeature: str | None = None
) -> PriceTable:
    from ._errors import APIError
    from ._transport.http import describe_error

    v3 = settings is not None and api_of(settings.base_url) == "v3"
    info = parse_v3_info(body, f"Eden AI (GET {url})") if v3 and status == 200 else None
    if status != 200 or (not v3 and not isinstance(body, list)) or (v3 and info is None):
        shape = "a FeaturesListResponse object" if v3 else "a JSON list"
        detail = describe_error(body) if status != 200 else f"expected {shape}, got {type(body).__name__}"
        raise APIError(f"GET {url} failed: HTTP {status}: {detail}", status=status, body=body)
    if info is not None:
        from ._providers import remember_v3_info

        remember_v3_info(settings, info)  # the estimates of this process use what was just read
        table = info.table()
        kept = {
            path: entries
            for path, entries in table.prices.items()
            if any(
                feature in (None, name.split("/", 1)[0]) and subfeature in (None, name.split("/", 1)[1])
                for name in _v3_names(path)
            )
        }
        return PriceTable(kept, snapshot=f"live: {url}")
    snapshot = load_prices()
    return PriceTable.from_provider_subfeatures(body, defaults=snapshot.defaults, snapshot=f"live: {url}")


def _v3_names(v3_path: str) -> tuple[str, ...]:
    """A v3 subfeature's path and the catalog paths v3 serves by it ("audio/tts" is also "audio/text_to_speech",
    "ocr/financial_parser" the invoice and receipt parsers), so the filters take either naming on v3."""
    from ._v3_models import V3_MAPPINGS

    return (v3_path, *(m.v2_path for m in V3_MAPPINGS.values() if m.v3_path == v3_path and m.v2_path != v3_path))


async def arefresh_prices(
    session_or_base_url: aiohttp.ClientSession | str | None = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    feature: str | None = None,
    subfeature: str | None = None,
    timeout: float | None = None,
) -> PriceTable:
    """Async `refresh_prices`: also takes an open `aiohttp.ClientSession` (then `base_url`, or the configured one,
    names the server, and `api_key`, when given, is sent as `Authorization: Bearer`)."""
    import aiohttp

    from ._config import current_settings

    if isinstance(session_or_base_url, aiohttp.ClientSession):
        settings = current_settings(base_url=base_url)
        url = _endpoint(settings.base_url)
        headers = {"Accept": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        request_timeout = aiohttp.ClientTimeout(total=timeout) if timeout is not None else None
        async with session_or_base_url.get(
            url, params=_filters(feature, subfeature, settings.base_url), headers=headers, timeout=request_timeout
        ) as response:
            status = response.status
            text = await response.text()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return _table_from_body(status, body, url, settings, feature, subfeature)

    from ._transport.http import call, open_session

    settings = current_settings(api_key=api_key, base_url=session_or_base_url or base_url, request_timeout=timeout)
    url = _endpoint(settings.base_url)
    limiter = None
    if api_of(settings.base_url) == "v3":  # every /v3 call spends the account's budget, info reads included
        from ._providers import _account_budget

        limiter = _account_budget(settings)
    async with open_session(settings) as session:
        status, body = await call(
            session, settings, "GET", url, params=_filters(feature, subfeature, settings.base_url), limiter=limiter
        )
    return _table_from_body(status, body, url, settings, feature, subfeature)


def refresh_prices(
    session_or_base_url: Any = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    feature: str | None = None,
    subfeature: str | None = None,
    timeout: float | None = None,
) -> PriceTable:
    """Eden AI's current prices, from `GET {base_url}/info/provider_subfeatures/` (Bearer `api_key`), or on a v3
    base URL from `GET {base_url}/info` (a table keyed by v3 path, "audio/tts", and "provider[/model]"; the v3
    estimates of this process use it from then on, instead of the read they keep for an hour).

    `session_or_base_url` is a base URL ("https://api.edenai.run/v2", or an `EdenEmulator`'s `base_url`), None
    for the configured one, or a blocking HTTP session with a `requests`-style `get()` (then `base_url` names the
    server). For an `aiohttp.ClientSession` use `await arefresh_prices(...)`. `feature` / `subfeature` filter
    like the endpoint's `feature__name` / `subfeature__name` (on v3 in either naming: `subfeature="text_to_speech"`
    or `"tts"` keeps "audio/tts"); `timeout` is in seconds. Default models are not in
    the endpoint's answer: they are kept from the shipped snapshot. Raises `APIError` on an HTTP error.
    """
    import aiohttp

    if isinstance(session_or_base_url, aiohttp.ClientSession):
        raise TypeError("an aiohttp.ClientSession is asynchronous: use `await arefresh_prices(session, ...)`")
    if session_or_base_url is not None and not isinstance(session_or_base_url, str):
        from ._config import current_settings

        settings = current_settings(base_url=base_url)
        url = _endpoint(settings.base_url)
        headers = {"Accept": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        params = _filters(feature, subfeature, settings.base_url)
        response = session_or_base_url.get(url, params=params, headers=headers, timeout=timeout)
        status = int(getattr(response, "status_code", getattr(response, "status", 0)))
        try:
            body = response.json()
        except ValueError:
            body = getattr(response, "text", None)
        return _table_from_body(status, body, url, settings, feature, subfeature)

    from ._blocking import run_sync

    return run_sync(
        arefresh_prices(
            session_or_base_url, api_key, base_url=base_url, feature=feature, subfeature=subfeature, timeout=timeout
        )
    )


# ---------------------------------------------------------------------------------------------------------------
# Eden AI v3: prices from GET /v3/info (universal-ai) and GET /v3/models (LLMs), and what a v3 request costs

ASSUMED_AUDIO_SECONDS = 60.0  # an audio file whose length cannot be read before the call (not a local WAV)
SPEECH_CHARS_PER_SECOND = 15.0  # text to speech priced by audio time: ~150 words a minute of speech
TYPICAL_REPLY_TOKENS = 256  # the reply of a chat request without max_tokens (a short structured answer)
_MAX_PDF_BYTES = 64 * 1024 * 1024  # larger local PDFs are not read to count their pages (1 page assumed)
_PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")  # a page object; `/Pages` (the page tree) is not one
_UNIT_ALIASES = {"seconde": "second", "sec": "second", "character": "char", "min": "minute"}
LLM = "llm"  # the name `edenframe.models()` and the price tables use for the chat models


@dataclass(frozen=True)
class V3Info:
    """What `GET /v3/info` says (or, when it cannot be read, the documented `V3_MODELS`): for each v3 subfeature
    ("audio/tts") its `mode` and its models ("provider[/model]", in the listed order) with their price (None:
    listed without one). `source` says where it came from, for messages and `edenframe.models()`."""

    modes: dict[str, str]
    models: dict[str, dict[str, Price | None]]
    source: str
    live: bool

    def providers(self, path: str) -> frozenset[str]:
        """The providers listed for a v3 subfeature."""
        return frozenset(spec.split("/", 1)[0] for spec in self.models.get(path, {}))

    def price(self, path: str, provider: str) -> Price | None:
        """The price of "provider[/model]" for a v3 subfeature: the exact model, else the provider's bare entry
        (the model Eden AI picks when the request names the provider alone)."""
        listed = self.models.get(path, {})
        name = provider.split("/", 1)[0]
        found = listed.get(provider)
        return found if found is not None or provider == name else listed.get(name)

    def table(self) -> PriceTable:
        """The priced models as a `PriceTable` keyed by v3 path ("audio/tts") and "provider[/model]"."""
        prices: dict[str, dict[str, PriceEntry]] = {}
        for path, listed in self.models.items():
            priced: dict[str, PriceEntry] = {spec: p for spec, p in listed.items() if p is not None}
            if priced:
                prices[path] = priced
        return PriceTable(prices, snapshot=self.source)


@dataclass(frozen=True)
class TokenPrice:
    """An LLM's price in USD per token, input (prompt) and output (completion) apart."""

    input: float
    output: float

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        """The charge of a chat answer with these token counts, in USD (decimal arithmetic, then a float)."""
        total = Decimal(repr(float(prompt_tokens))) * Decimal(repr(self.input)) + Decimal(
            repr(float(completion_tokens))
        ) * Decimal(repr(self.output))
        return float(total)


def _number(value: Any) -> float | None:
    """A price as a float: a JSON number or a decimal string (Eden AI sends both); None for anything else."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) and value >= 0 else None
    if isinstance(value, str):
        try:
            number = float(Decimal(value.strip()))
        except ArithmeticError:
            return None
        return number if math.isfinite(number) and number >= 0 else None
    return None


def _unit(name: Any) -> str:
    """v3's `price_unit_type` in the singular edenframe uses ("chars" -> "char", "seconde" -> "second")."""
    unit = str(name or "").strip().lower()
    unit = _UNIT_ALIASES.get(unit, unit)
    if unit.endswith("s") and unit[:-1] in ("char", "token", "page", "file", "request", "image", "second", "minute"):
        unit = unit[:-1]
    return _UNIT_ALIASES.get(unit, unit) or "unknown"


def _v3_price(pricing: Any) -> Price | None:
    """`models[].pricing` of /v3/info: `{price, price_unit_quantity, price_unit_type}` (price a number or a
    decimal string). No billing block on v3: `min_units` stays None."""
    if not isinstance(pricing, Mapping):
        return None
    price = _number(pricing.get("price"))
    if price is None:
        return None
    per = _number(pricing.get("price_unit_quantity"))
    return Price(price, int(per) if per and per >= 1 else 1, _unit(pricing.get("price_unit_type")))


def parse_v3_info(body: Any, source: str = "Eden AI (GET /v3/info)") -> V3Info | None:
    """A `V3Info` from `GET /v3/info`'s `FeaturesListResponse` (`{features: [{name, subfeatures: [{name, mode,
    models: [{model: "feature/subfeature/provider[/model]", pricing: {...}}]}]}]}`), or None for another shape.
    A model without the full string may name its provider in `provider` (a plain name or an object)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("features"), list):
        return None
    modes: dict[str, str] = {}
    models: dict[str, dict[str, Price | None]] = {}
    for feature in body["features"]:
        feature_name = _name_of(feature)
        subfeatures = feature.get("subfeatures") if isinstance(feature, Mapping) else None
        if not feature_name or not isinstance(subfeatures, list):
            continue
        for sub in subfeatures:
            sub_name = _name_of(sub)
            if not sub_name:
                continue
            path = f"{feature_name}/{sub_name}"
            mode = sub.get("mode")
            modes[path] = mode if mode in ("sync", "async") else "sync"
            listed = models.setdefault(path, {})
            for model in sub.get("models") or ():
                spec = _model_spec(path, model)
                if spec and spec not in listed:
                    listed[spec] = _v3_price(model.get("pricing"))
    return V3Info(modes, models, source, live=True)


def _name_of(obj: Any) -> str | None:
    if isinstance(obj, Mapping) and isinstance(obj.get("name"), str) and obj["name"].strip():
        return obj["name"].strip()
    return None


def _model_spec(path: str, model: Any) -> str | None:
    """ "provider[/model]" of one `models[]` object of subfeature `path`."""
    if not isinstance(model, Mapping):
        return None
    full = model.get("model")
    if isinstance(full, str) and full.startswith(f"{path}/") and full[len(path) + 1 :].strip():
        return full[len(path) + 1 :].strip()
    provider = model.get("provider")
    name = provider.strip() if isinstance(provider, str) else _name_of(provider)
    return name or None


def fallback_v3_info(why: str) -> V3Info:
    """The documented models and prices (`_v3_models.V3_MODELS`, Eden AI's feature pages), for when /v3/info
    cannot be read; `why` says why, for messages."""
    from ._v3_models import V3_MODELS, V3_SUBFEATURES

    modes = {path: sub.mode for path, sub in V3_SUBFEATURES.items()}
    models = {
        path: {m.model: Price(m.price, m.per, _unit(m.unit)) for m in listed} for path, listed in V3_MODELS.items()
    }
    return V3Info(modes, models, f"edenframe's documented table (V3_MODELS), Eden AI's unread: {why}", live=False)


# Key pairs a ModelObject's `pricing` may use for input / output prices (the OpenAPI leaves the object free):
# OpenRouter's and LiteLLM's spellings. Values are USD per token unless a quantity key says per how many.
_TOKEN_KEYS = (
    ("input", "output"),
    ("prompt", "completion"),
    ("input_token", "output_token"),
    ("input_cost_per_token", "output_cost_per_token"),
)
_PER_KEYS = ("price_unit_quantity", "per", "unit_quantity")


def token_price(pricing: Any) -> TokenPrice | None:
    """A `ModelObject.pricing` (`GET /v3/models`, `/v3/embeddings/models`) as a `TokenPrice`, or None when it is
    not understood. Accepted: `{"prompt": p, "completion": c}` or `{"input": p, "output": c}` (USD per token, numbers
    or decimal strings; a `price_unit_quantity`/`per` key divides both), or /v3/info's `{price,
    price_unit_quantity, price_unit_type: "token"}` (the same price in and out)."""
    if not isinstance(pricing, Mapping):
        return None
    per = next((_number(pricing.get(k)) for k in _PER_KEYS if _number(pricing.get(k))), None) or 1.0
    for key_in, key_out in _TOKEN_KEYS:
        value_in, value_out = _number(pricing.get(key_in)), _number(pricing.get(key_out))
        if value_in is not None or value_out is not None:
            value_in = value_out if value_in is None else value_in
            value_out = value_in if value_out is None else value_out
            assert value_in is not None and value_out is not None
            return TokenPrice(value_in / per, value_out / per)
    single = _v3_price(pricing)
    if single is not None and single.unit == "token":
        return TokenPrice(single.price / single.per, single.price / single.per)
    return None


def parse_model_list(body: Any) -> dict[str, TokenPrice | None] | None:
    """`GET /v3/models` or `/v3/embeddings/models` (`ListModelsResponse`: `{data: [{id: "provider/model",
    pricing: {...}}]}`): each model id and its token price (None: listed without one); None for another shape."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        return None
    out: dict[str, TokenPrice | None] = {}
    for model in body["data"]:
        if isinstance(model, Mapping) and isinstance(model.get("id"), str) and model["id"].strip():
            out.setdefault(model["id"].strip(), token_price(model.get("pricing")))
    return out


def snapshot_token_prices(path: str = "text/chat") -> dict[str, TokenPrice | None]:
    """Token prices of the shipped snapshot's `path` ("text/chat": the LLMs, "text/embeddings") by "provider/model",
    for when `GET /v3/models` (or `/v3/embeddings/models`) cannot be read. Eden AI's v3 pages list no LLM prices, so
    these are Eden AI's v2 tables: one price per token, taken for input and output alike (an upper bound for the
    input, whose real price is usually lower)."""
    out: dict[str, TokenPrice | None] = {}
    for key, entry in load_prices().prices.get(path, {}).items():
        if "/" in key and isinstance(entry, Price) and entry.unit == "token":
            per_token = entry.price / (entry.per or 1)
            out[key] = TokenPrice(per_token, per_token)
    return out


def _lookup(prices: Mapping[str, TokenPrice | None], model: str) -> TokenPrice | None:
    found = prices.get(model.strip())
    if found is None:
        folded = model.strip().casefold()
        found = next((p for key, p in prices.items() if key.casefold() == folded), None)
    return found


def chat_cost(
    model: str,
    usage: Mapping[str, Any] | None = None,
    *,
    prompt: str | list[Mapping[str, Any]] | None = None,
    max_tokens: int | None = None,
    settings: Any = None,
) -> float:
    """What one chat request to the LLM `model` ("openai/gpt-4o-mini") costs, in USD; NaN when its price is unknown
    (never a silent 0). Blocking on the first call per process and hour (it may read `GET {base}/models`, at most a
    few seconds): from async code call it once with `asyncio.to_thread` first.

    - An answer: `usage` is its `usage` (`prompt_tokens`, `completion_tokens`; `total_tokens` alone is priced at
      the output price). Use it when the answer carries no `cost` of its own.
    - A request not sent yet (dry run, max_cost): `prompt`, the text sent (a string, or the chat `messages`), about
      chars / 4 tokens in, and `max_tokens` (else `TYPICAL_REPLY_TOKENS`) out.

    Prices: `GET {base_url}/models` of the configured (or the given `settings`') v3 base URL, else
    `snapshot_token_prices()`.
    """
    from ._providers import llm_prices

    price = _lookup(llm_prices(settings)[0], model)
    if price is None:
        return math.nan
    if usage is not None:
        prompt_tokens, completion_tokens = usage.get("prompt_tokens"), usage.get("completion_tokens")
        if _count_of(prompt_tokens) is None and _count_of(completion_tokens) is None:
            total = _count_of(usage.get("total_tokens"))
            return math.nan if total is None else price.cost(0, total)
        return price.cost(_count_of(prompt_tokens) or 0, _count_of(completion_tokens) or 0)
    if isinstance(prompt, str):
        chars = len(prompt)
    else:
        chars = sum(len(str(m.get("content") or "")) for m in prompt or () if isinstance(m, Mapping))
    reply = max_tokens if _count_of(max_tokens) is not None else TYPICAL_REPLY_TOKENS
    return price.cost(math.ceil(chars / CHARS_PER_TOKEN), reply)


def _count_of(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
        return None
    return int(value)


# -- what one v3 request is expected to cost -------------------------------------------------------------------


def _pdf_pages(value: Any) -> int | None:
    """The pages of a local PDF (a path or bytes), counted from its page objects; None when not known cheaply."""
    try:
        if isinstance(value, bytes):
            data = value
        elif isinstance(value, Path) and value.stat().st_size <= _MAX_PDF_BYTES:
            data = value.read_bytes()
        else:
            return None
    except OSError:
        return None
    if not data.startswith(b"%PDF"):
        return None
    pages = len(_PDF_PAGE.findall(data))
    return pages or None


def _wav_seconds(value: Any) -> float | None:
    """The length of a local WAV file (its header), or None for anything else."""
    import io
    import wave

    try:
        source = io.BytesIO(value) if isinstance(value, bytes) else value if isinstance(value, Path) else None
        if source is None:
            return None
        with wave.open(source if isinstance(source, io.BytesIO) else str(source), "rb") as audio:
            rate = audio.getframerate()
            return audio.getnframes() / rate if rate else None
    except (OSError, EOFError, wave.Error):
        return None


def v3_quantity(entry: Subfeature, unit: str, item: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The quantity of v3's `unit` one request item uses, and a note when it is an assumption; (None, why) when it
    cannot be known before the call. See the module docstring for each unit."""
    unit = _unit(unit)
    if unit in ("file", "request"):
        return 1, None
    if unit == "free":
        return 0, None
    if unit == "image":
        return _num_images(entry, item), None
    file = item.get("file", item.get(entry.input_field)) if entry.input_kind == "file" else None
    if unit == "page":
        pages = _pdf_pages(file)
        return (pages, None) if pages else (1, "1 page assumed per document whose page count is not known")
    if unit in ("second", "minute"):
        if entry.input_kind == "file":
            seconds = _wav_seconds(file)
            note = None
            if seconds is None:
                seconds = ASSUMED_AUDIO_SECONDS
                note = (
                    f"{ASSUMED_AUDIO_SECONDS:g} s assumed per audio file whose length cannot be read (not a local WAV)"
                )
        else:
            chars = sum(len(t) for t in _input_texts(entry, item) or ())
            seconds = chars / SPEECH_CHARS_PER_SECOND
            note = f"speech time assumed at {SPEECH_CHARS_PER_SECOND:g} characters a second"
        return (seconds if unit == "second" else seconds / 60.0), note
    if unit in ("char", "token"):
        texts = _input_texts(entry, item)
        if texts is None:
            return None, f"priced per {unit}, which a file input does not tell before the call"
        chars = sum(len(t) for t in texts)
        return (chars if unit == "char" else math.ceil(chars / CHARS_PER_TOKEN)), None
    return None, f"priced per {unit!r}, which cannot be known before the call"


# One request item's estimate: (USD or None when unknown, a note saying what was assumed or why it is unknown)
Estimator = Callable[[str, Mapping[str, Any]], tuple["float | None", "str | None"]]


def cost_estimator(entry: Subfeature, settings: Any = None, api: str = "v2") -> Estimator:
    """The estimate of one request item of `entry` sent to a provider, for the API the base URL names.

    v2: `estimate_cost` on the shipped price table. v3: the prices of `GET /v3/info` (cached; the documented
    `V3_MODELS` when unreadable), quantities by `v3_quantity`; embeddings by `GET /v3/embeddings/models`; the
    subfeatures v3 runs through an LLM (and prompts) by `chat_cost`. Blocking on the first use per process and
    hour (the /v3 reads): call it off the event loop."""
    if api != "v3":
        return lambda provider, item: (estimate_cost(entry, provider, item), None)
    from ._chat import asked_texts, chat_task
    from ._providers import model_list_prices, v3_info
    from ._v3_models import V3_MAPPINGS

    mapping = V3_MAPPINGS.get(entry.path)
    task = chat_task(entry.path)
    endpoint = mapping.endpoint if mapping is not None else ("chat" if task is not None else "universal-ai")
    if endpoint in (None, "chat"):  # through an LLM (the subfeatures without an expert model, prompts)

        def chat(provider: str, item: Mapping[str, Any]) -> tuple[float | None, str | None]:
            given = item.get(entry.input_field)
            per_text = entry.pack is not None and entry.pack.items_field is not None
            texts = asked_texts(given, per_text) if given is not None else []
            params = {k: v for k, v in item.items() if k != entry.input_field and v is not None}
            schema = [{"content": json.dumps(task.response_format(params))}] if task is not None else []
            value = 0.0
            for text in texts:  # one chat per text: what the model reads is the messages and the schema asked for
                sent: Any = [*task.messages(text, params), *schema] if task is not None else text
                value += chat_cost(provider, prompt=sent, max_tokens=item.get("max_tokens"), settings=settings)
            if math.isnan(value):
                return None, f"no token price known for the LLM {provider!r}"
            return value, "LLM tokens: chars / 4 of the messages and schema in, max_tokens (else a typical reply) out"

        return chat
    if endpoint == "embeddings":
        prices, source = model_list_prices(settings, "embeddings/models")

        def embed(provider: str, item: Mapping[str, Any]) -> tuple[float | None, str | None]:
            price = _lookup(prices, provider) if prices else None
            if price is None:  # unread, or a model it does not list: the shipped table's price
                value = estimate_cost(entry, provider, item)
                return value, None if value is not None else f"no price known ({source})"
            chars = sum(len(t) for t in _input_texts(entry, item) or ())
            return price.cost(math.ceil(chars / CHARS_PER_TOKEN), 0), None

        return embed
    info = v3_info(settings)
    path = mapping.v3_path if mapping is not None and mapping.v3_path else entry.path

    def universal(provider: str, item: Mapping[str, Any]) -> tuple[float | None, str | None]:
        price = info.price(path, provider)
        if price is None:
            return None, f"no price listed for {path}/{provider} ({info.source})"
        quantity, note = v3_quantity(entry, price.unit, item)
        if quantity is None:
            return None, note
        if not info.live:  # the server could not be read: say whose prices these are
            note = f"{note}; prices from {info.source}" if note else f"prices from {info.source}"
        return float(Decimal(repr(float(quantity))) * Decimal(repr(price.price)) / Decimal(price.per or 1)), note

    return universal


__all__ = [
    "LLM",
    "Price",
    "PriceEntry",
    "PriceTable",
    "TokenPrice",
    "V3Info",
    "arefresh_prices",
    "billed_quantity",
    "chat_cost",
    "cost_estimator",
    "estimate_cost",
    "fallback_v3_info",
    "load_prices",
    "parse_model_list",
    "parse_v3_info",
    "refresh_prices",
    "snapshot_token_prices",
    "token_price",
    "v3_quantity",
]
