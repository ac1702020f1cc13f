"""Eden AI's wire shapes as aiohttp responses (wire-format.md §2.4) and the marks on handlers, shared by every
route table and the server's middlewares."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

RATE_LIMIT_MESSAGE = "Rate limit exceeded. Please wait before making additional requests."
_INVALID_JSON = object()


@dataclass
class _Body:
    """A parsed request body: JSON, or the fields of a multipart form (values still strings, files as bytes)."""

    data: Any
    record: Any
    multipart: bool = False


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(payload, status=status, headers=headers)


def _error(status: int, type_: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """§2.4 `Error` body (403, 500, ...)."""
    return _json({"error": {"type": type_, "message": message}}, status, headers)


def _bad_request(errors: dict[str, list[str]]) -> web.Response:
    """§2.4 `BadRequest` body: a message per parameter."""
    return _json({"error": {"type": "Invalid request", "message": errors}}, 400)


def _not_found() -> web.Response:
    return _json({"details": "Not Found"}, 404)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _type_name(value: Any) -> str:
    return {dict: "dict", list: "list", str: "str", bool: "bool", int: "int", float: "float"}.get(
        type(value), type(value).__name__
    )


# What route tables share with the server's middlewares: where the parsed body is, and how a handler is marked.
# request[BODY]: the `_Body`, read once by the records middleware so it can be recorded
BODY = web.RequestKey("body", _Body)
PUBLIC = "_eden_public"
FAULTY = "_eden_faulty"


def public(handler: Any) -> Any:
    """Mark a handler as needing no API key (a public endpoint such as `GET /v3/info`)."""
    setattr(handler, PUBLIC, True)
    return handler


def faulty(handler: Any) -> Any:
    """Mark a handler as a feature endpoint: the emulator's random faults (drops, 5xx, 429) apply to it."""
    setattr(handler, FAULTY, True)
    return handler
