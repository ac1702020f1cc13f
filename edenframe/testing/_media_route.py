"""Where the emulator's v3 media links point: `GET /media/{name}` on the emulator itself, serving real files.

v3 answers text to speech with `audio_resource_url` only (no base64 `audio`), so `save_to=` must download the link.
The synthetic generator names its files `https://media.edenframe.invalid/<digest>.<ext>` (a host that cannot be
reached); on v3 the emulator rewrites those links to this loopback route, which serves the same bytes the v2 payload
carries (the file is a pure function of its digest: `_synthetic._media_file`). Like a signed storage link, the route
needs no API key; an unknown name is a 404.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from aiohttp import web

from ._synthetic import _media_file
from ._wire import public

if TYPE_CHECKING:
    from ._server import EdenEmulator

SYNTHETIC_HOST = "https://media.edenframe.invalid/"
ROUTE = "/media/"
_NAME = re.compile(r"^([0-9a-f]{8})\.(wav|png|pdf)$")
_KINDS = {"wav": "audio", "png": "image", "pdf": "document"}
_TYPES = {"wav": "audio/wav", "png": "image/png", "pdf": "application/pdf"}


def loopback_links(output: Any, origin: str) -> Any:
    """`output` with every synthetic media link (at any depth) pointing at `origin`'s media route."""
    if isinstance(output, str):
        return origin + ROUTE + output[len(SYNTHETIC_HOST) :] if output.startswith(SYNTHETIC_HOST) else output
    if isinstance(output, dict):
        return {key: loopback_links(value, origin) for key, value in output.items()}
    if isinstance(output, list):
        return [loopback_links(value, origin) for value in output]
    return output


def media_routes(emu: EdenEmulator) -> web.RouteTableDef:
    routes = web.RouteTableDef()

    @routes.get(ROUTE + "{name}")
    @public
    async def media(request: web.Request) -> web.StreamResponse:
        match = _NAME.match(request.match_info["name"])
        if match is None:
            return web.json_response({"detail": "Not Found"}, status=404)
        digest, extension = match.groups()
        content, _ = _media_file(_KINDS[extension], digest)
        return web.Response(body=content, content_type=_TYPES[extension])

    return routes
