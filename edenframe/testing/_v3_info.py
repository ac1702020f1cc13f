"""`GET /v3/info` as a route table: the one v3 endpoint the emulator serves so far (a full v3 route table may take
it over). Public in the v3 spec (no `security`), so no API key is asked for."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from .._catalog import all_subfeatures
from .._prices import load_prices
from ._wire import _json, public

if TYPE_CHECKING:
    from ._server import EdenEmulator


def routes(emu: EdenEmulator) -> web.RouteTableDef:
    """`GET /v3/info` (with or without its trailing slash), answering `info_status` instead when that is set."""
    table = web.RouteTableDef()

    @public
    async def info(request: web.Request) -> web.StreamResponse:
        return emu._info_fault() or v3_info(emu)

    for path in ("/v3/info", "/v3/info/"):
        table.get(path)(info)
    return table


def v3_info(emu: EdenEmulator) -> web.Response:
    """`GET /v3/info` (v3 OpenAPI `FeaturesListResponse`; wire-format-v3 1.5): every subfeature served, its
    models named "feature/subfeature/provider[/model]" with their `pricing` where the price table has one."""
    prices = load_prices()
    features: dict[str, list[dict[str, Any]]] = {}
    for entry in all_subfeatures():
        table = prices.prices.get(entry.path, {})
        models = []
        for name in emu._listed(entry):
            keys = [k for k in table if k.split("/", 1)[0] == name] or [name]
            for key in keys:
                model: dict[str, Any] = {"model": f"{entry.path}/{key}"}
                price = table.get(key)
                if isinstance(price, dict):  # priced per resolution: the first one stands for the model
                    price = next(iter(price.values()), None)
                if price is not None:
                    model["pricing"] = {
                        "price": price.price,
                        "price_unit_quantity": price.per,
                        "price_unit_type": price.unit,
                    }
                models.append(model)
        features.setdefault(entry.feature, []).append(
            {
                "name": entry.subfeature,
                "fullname": entry.subfeature.replace("_", " ").title(),
                "description": entry.summary,
                "mode": "sync",
                "models": models,
            }
        )
    return _json(
        {
            "features": [
                {"name": name, "fullname": name.title(), "description": None, "subfeatures": subfeatures}
                for name, subfeatures in features.items()
            ]
        }
    )
