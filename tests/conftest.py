"""Shared fixtures. Every test runs with connections to anything but loopback refused: nothing may touch the net.

`emulator` (and `make_emulator` for one with options) starts an `EdenEmulator` and points edenframe at it;
`@pytest.mark.extra("local")` skips a test when an optional extra is not installed (see docs/testing.md).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers import require_extra

import edenframe
from edenframe.testing import EdenEmulator

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


def pytest_runtest_setup(item: pytest.Item) -> None:
    """`@pytest.mark.extra("local", ...)`: skip unless `edenframe[local]` is installed (fail under
    EDENFRAME_REQUIRE_EXTRAS=1, as in CI, where every extra is)."""
    for marker in item.iter_markers("extra"):
        require_extra(*marker.args)


# Settings that make tests against the emulator quick: it answers at once, so poll and retry without waiting.
FAST_SETTINGS: dict[str, Any] = {"poll_interval": 0.01, "backoff_base": 0.01}


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., EdenEmulator]]:
    """`make_emulator(**options, settings={...})`: start an `EdenEmulator(**options)` (stopped after the test) and
    configure edenframe to use it, with quick polling and retries plus `settings`; `connect=False` only starts it."""
    started: list[EdenEmulator] = []

    def start(*, settings: dict[str, Any] | None = None, connect: bool = True, **options: Any) -> EdenEmulator:
        emu = EdenEmulator(**options).start()
        started.append(emu)
        if connect:
            edenframe.configure(api_key=emu.api_key, base_url=emu.base_url, **{**FAST_SETTINGS, **(settings or {})})
        return emu

    yield start
    for emu in reversed(started):
        emu.stop()


@pytest.fixture
def emulator(make_emulator: Callable[..., EdenEmulator]) -> EdenEmulator:
    """An `EdenEmulator` with default options that edenframe is configured to use."""
    return make_emulator()
