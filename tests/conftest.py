"""Shared fixtures. Every test runs with connections to anything but loopback refused: nothing may touch the net."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

import edenframe

SHARED_API = Path(__file__).resolve().parents[1].parent / "shared" / "eden-api"

_real_connect = socket.socket.connect
_real_getaddrinfo = socket.getaddrinfo
_real_connect_ex = socket.socket.connect_ex


def _is_loopback(address: object) -> bool:
    if isinstance(address, tuple) and address:
        host = address[0]
        if host in ("localhost",):
            return True
        try:
            return ipaddress.ip_address(host).is_loopback
        except ValueError:
            return False
    return True  # AF_UNIX paths and the like stay on this machine


def _guarded_connect(self: socket.socket, address: object) -> None:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not connect to {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: object) -> int:
    if not _is_loopback(address):
        raise ConnectionRefusedError(f"tests may not connect to {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: object, *args: object, **kwargs: object) -> object:
    # No DNS look-ups either (a default base URL would resolve api.edenai.run): names other than localhost fail
    # at once, as they would on a machine without a resolver.
    if isinstance(host, bytes):
        host = host.decode()
    if isinstance(host, str) and host not in ("localhost", ""):
        try:
            ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            message = f"tests may not resolve {host!r}: only loopback is allowed"
            raise socket.gaierror(socket.EAI_NONAME, message) from None
    return _real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]


@pytest.fixture(autouse=True, scope="session")
def _loopback_only() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
    socket.getaddrinfo = _guarded_getaddrinfo  # type: ignore[assignment]
    yield
    socket.getaddrinfo = _real_getaddrinfo
    socket.socket.connect = _real_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _real_connect_ex  # type: ignore[method-assign]


@pytest.fixture(autouse=True)
def _clean_configuration(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """No test sees another's configure() call, cache or the developer's own key."""
    for name in ("EDENAI_API_KEY", "EDENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("EDENFRAME_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    edenframe.reset_configuration()
    yield
    edenframe.reset_configuration()


@pytest.fixture(scope="session")
def shared_api() -> Path:
    if not SHARED_API.is_dir():
        pytest.skip("../shared/eden-api is absent (a fresh clone): contract tests skipped")
    return SHARED_API
