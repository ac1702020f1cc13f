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
"""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from importlib.resources import files
from typing import TYPE_CHECKING, Any

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
    return f"{base_url.rstrip('/')}/{PROVIDER_SUBFEATURES_PATH}"


def _filters(feature: str | None, subfeature: str | None) -> dict[str, str]:
    params: dict[str, str] = {}
    if feature is not None:
        params["feature__name"] = feature
    if subfeature is not None:
        params["subfeature__name"] = subfeature
    return params


def _table_from_body(status: int, body: Any, url: str) -> PriceTable:
    from ._errors import APIError
    from ._transport.http import describe_error

    if status != 200 or not isinstance(body, list):
        detail = describe_error(body) if status != 200 else f"expected a JSON list, got {type(body).__name__}"
        raise APIError(f"GET {url} failed: HTTP {status}: {detail}", status=status, body=body)
    snapshot = load_prices()
    return PriceTable.from_provider_subfeatures(body, defaults=snapshot.defaults, snapshot=f"live: {url}")


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
            url, params=_filters(feature, subfeature), headers=headers, timeout=request_timeout
        ) as response:
            status = response.status
            text = await response.text()
        try:
            body: Any = json.loads(text) if text else None
        except ValueError:
            body = text
        return _table_from_body(status, body, url)

    from ._transport.http import call, open_session

    settings = current_settings(api_key=api_key, base_url=session_or_base_url or base_url, request_timeout=timeout)
    url = _endpoint(settings.base_url)
    async with open_session(settings) as session:
        status, body = await call(session, settings, "GET", url, params=_filters(feature, subfeature))
    return _table_from_body(status, body, url)


def refresh_prices(
    session_or_base_url: Any = None,
    api_key: str | None = None,
    *,
    base_url: str | None = None,
    feature: str | None = None,
    subfeature: str | None = None,
    timeout: float | None = None,
) -> PriceTable:
    """Eden AI's current prices, from `GET {base_url}/info/provider_subfeatures/` (Bearer `api_key`).

    `session_or_base_url` is a base URL ("https://api.edenai.run/v2", or an `EdenEmulator`'s `base_url`), None
    for the configured one, or a blocking HTTP session with a `requests`-style `get()` (then `base_url` names the
    server). For an `aiohttp.ClientSession` use `await arefresh_prices(...)`. `feature` / `subfeature` filter
    like the endpoint's `feature__name` / `subfeature__name`; `timeout` is in seconds. Default models are not in
    the endpoint's answer: they are kept from the shipped snapshot. Raises `APIError` on an HTTP error.
    """
    import aiohttp

    if isinstance(session_or_base_url, aiohttp.ClientSession):
        raise TypeError("an aiohttp.ClientSession is asynchronous: use `await arefresh_prices(session, ...)`")
    if session_or_base_url is not None and not isinstance(session_or_base_url, str):
        from ._config import current_settings

        url = _endpoint(current_settings(base_url=base_url).base_url)
        headers = {"Accept": "application/json"}
        if api_key is not None:
            headers["Authorization"] = f"Bearer {api_key}"
        response = session_or_base_url.get(url, params=_filters(feature, subfeature), headers=headers, timeout=timeout)
        status = int(getattr(response, "status_code", getattr(response, "status", 0)))
        try:
            body = response.json()
        except ValueError:
            body = getattr(response, "text", None)
        return _table_from_body(status, body, url)

    from ._blocking import run_sync

    return run_sync(
        arefresh_prices(
            session_or_base_url, api_key, base_url=base_url, feature=feature, subfeature=subfeature, timeout=timeout
        )
    )


__all__ = [
    "Price",
    "PriceEntry",
    "PriceTable",
    "arefresh_prices",
    "billed_quantity",
    "estimate_cost",
    "load_prices",
    "refresh_prices",
]
