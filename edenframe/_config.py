"""Process-wide settings: explicit arguments beat `configure()`, which beats the environment."""

from __future__ import annotations

import math
import numbers
import os
from dataclasses import dataclass, fields, replace
from typing import Any
from urllib.parse import urlsplit

import numpy as np

from ._errors import ValidationError

# Eden AI's current API. v2 (V2_BASE_URL) keeps working by base URL while Eden serves it, until the end of 2026.
DEFAULT_BASE_URL = "https://api.edenai.run/v3"
V2_BASE_URL = "https://api.edenai.run/v2"
APIS = ("v2", "v3")  # the Eden AI API versions edenframe speaks: the base URL's last path segment picks one
V3_DEFAULT_RATE = 10.0  # requests per second: a v3 account's documented budget (wire-format-v3 3.1)


class Secret:
    """Holds the API key so that no repr, log line or exception message can show it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('********')"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    def __reduce__(self) -> Any:
        # Dask ships settings to workers: allow pickling, but never through a repr.
        return (Secret, (self._value,))


@dataclass(frozen=True)
class Settings:
    api_key: Secret | None = None
    base_url: str = DEFAULT_BASE_URL
    providers: tuple[str, ...] | None = None
    progress: bool | None = None  # None: on in a terminal or notebook
    cache: Any = True  # True: the default cache file; a path; or False for no cache
    batch_size: int = 500  # requests per batch job (Eden AI's maximum)
    max_running_jobs: int = 5  # Eden AI's account-wide limit
    request_timeout: float = 60.0  # seconds for one HTTP call
    connect_timeout: float = 10.0
    # Seconds of silence from a server that has not answered yet in this run before the run stops (then as long
    # again for a probe of the base URL); a refused connection or an answer that is not Eden AI's stops it at once.
    # Also the seconds of refused connections after which a server that had answered is gone (its rows fail at once).
    first_contact_timeout: float = 10.0
    max_retries: int = 8  # attempts after the first, for 429, 5xx and dropped connections
    backoff_base: float = 0.5  # first retry delay; doubles each attempt, with full jitter
    backoff_max: float = 30.0
    retry_deadline: float = 600.0  # no retry starts after this many seconds of retrying one call
    # requests per second to Eden AI, shared by every thread and Dask worker; None: 10 on v3 (the default API, the
    # account's budget), on v2 as fast as allowed, slowing on 429
    rate_limit: float | None = None
    sync_concurrency: int = 8  # requests in flight at once with transport="sync"
    poll_interval: float = 0.25  # first wait between polls of a running job; grows 1.5x per poll
    poll_max_interval: float = 5.0
    job_timeout: float = 6 * 3600.0  # a job still processing after this ends as row errors
    local_chunk_seconds: float = 0.25  # work per call into a local backend (its progress updates this often)
    # Distinct inputs handled at a time: parsed responses live as Python objects for one window only (two windows
    # are in flight so that jobs keep flowing across the boundary).
    window_units: int = 50_000
    # A guard, not an Eden AI limit (none is documented): longer texts are refused before anything is sent.
    max_input_chars: int | None = 1_000_000
    # Shared across processes (Dask workers): any object with blocking acquire()/release(), such as a
    # distributed.Semaphore, held around each running batch job so the account's job limit holds cluster-wide.
    job_semaphore: Any = None


_SETTING_NAMES = {f.name for f in fields(Settings)}
_configured: dict[str, Any] = {}


def configure(**options: Any) -> None:
    """Set process-wide defaults, e.g. `configure(api_key="...", base_url="http://127.0.0.1:8080/v3")`.

    Accepts `api_key`, `base_url`, `providers` and the tuning knobs of `Settings` (`batch_size`,
    `max_running_jobs`, `request_timeout`, `max_retries`, `poll_interval`, `job_timeout`, `progress`, ...).
    Passing None resets a setting to its environment or built-in default.
    """
    unknown = set(options) - _SETTING_NAMES
    if unknown:
        raise ValidationError(
            f"configure() got unknown setting(s) {sorted(unknown)}; known settings: {sorted(_SETTING_NAMES)}"
        )
    cleaned = {name: _clean(name, value) for name, value in options.items() if value is not None}
    for name, value in options.items():
        if value is None:
            _configured.pop(name, None)
    _configured.update(cleaned)


def reset_configuration() -> None:
    """Forget everything set with `configure()` (tests use it)."""
    _configured.clear()


def current_settings(**explicit: Any) -> Settings:
    """The settings in force for one call: explicit arguments, then `configure()`, then the environment."""
    env: dict[str, Any] = {}
    if os.environ.get("EDENAI_API_KEY"):
        env["api_key"] = Secret(os.environ["EDENAI_API_KEY"])
    if os.environ.get("EDENAI_BASE_URL"):
        env["base_url"] = _clean("base_url", os.environ["EDENAI_BASE_URL"])
    given = {name: _clean(name, value) for name, value in explicit.items() if value is not None}
    settings = replace(Settings(), **{**env, **_configured, **given})
    if settings.rate_limit is None and api_of(settings.base_url) == "v3":
        # v3 has an account-wide request budget and no batch endpoint: pace to it unless told otherwise
        settings = replace(settings, rate_limit=V3_DEFAULT_RATE)
    return settings


def api_of(base_url: str) -> str:
    """The Eden AI API a (validated) base URL names: its last path segment, "v2" or "v3"."""
    return base_url.rstrip("/").rsplit("/", 1)[-1]


def parse_providers(providers: str | list[str] | tuple[str, ...]) -> tuple[str, ...]:
    """`"google, amazon"` or `["google", "amazon"]` -> `("google", "amazon")`, validated."""
    if isinstance(providers, str):
        parts = [p.strip() for p in providers.split(",")]
    elif isinstance(providers, (list, tuple)) and all(isinstance(p, str) for p in providers):
        parts = [p.strip() for p in providers]
    else:
        raise ValidationError(
            f"providers must be a string like 'google,amazon' or a list of strings, not {type(providers).__name__}"
        )
    # `local` is edenframe's own name, whatever its case ("LOCAL", "Local"); Eden AI's names are left as given
    parts = ["local" if p.lower() == "local" else p for p in parts if p]
    if not parts:
        raise ValidationError("providers is empty: name at least one provider, e.g. providers='google'")
    if len(set(parts)) != len(parts):
        raise ValidationError(f"providers lists the same provider twice: {parts}")
    return tuple(parts)


def _clean(name: str, value: Any) -> Any:
    if name == "api_key":
        if isinstance(value, Secret):
            return value
        if not isinstance(value, str) or not value.strip():
            raise ValidationError("api_key must be a non-empty string (your Eden AI API key)")
        return Secret(value.strip())
    if name == "base_url":
        return _validated_base_url(value)
    if name == "providers":
        return parse_providers(value)
    if name in _COUNTS:
        return _count(name, value, *_COUNTS[name])
    if name in _SECONDS:
        return _positive(name, value, "seconds")
    if name == "rate_limit":
        return _positive(name, value, "requests per second")
    if name == "progress":
        return as_flag(name, value)
    return value


def as_flag(name: str, value: Any) -> bool:
    """A True/False option (numpy booleans, 0 and 1 accepted), or a clear error."""
    if isinstance(value, bool | np.bool_) or (isinstance(value, numbers.Integral) and value in (0, 1)):
        return bool(value)
    raise ValidationError(f"{name} must be True or False, not {value!r}")


# Whole-number settings: (smallest, largest) allowed.
_COUNTS: dict[str, tuple[int, int | None]] = {
    "batch_size": (1, 500),  # Eden AI takes at most 500 requests per batch job
    "max_running_jobs": (1, None),
    "max_retries": (0, None),
    "sync_concurrency": (1, None),
    "window_units": (1, None),
    "max_input_chars": (1, None),
}
_SECONDS = frozenset(
    {"request_timeout", "connect_timeout", "first_contact_timeout", "backoff_base", "backoff_max", "retry_deadline",
     "poll_interval", "poll_max_interval", "job_timeout", "local_chunk_seconds"}
)  # fmt: skip


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool | np.bool_) and math.isfinite(value)


def _count(name: str, value: Any, smallest: int, largest: int | None) -> int:
    if not _is_number(value) or value != int(value):
        raise ValidationError(f"{name} must be a whole number, got {value!r}")
    if value < smallest or (largest is not None and value > largest):
        bounds = f"between {smallest} and {largest}" if largest is not None else f"at least {smallest}"
        raise ValidationError(f"{name} must be {bounds}, got {value!r}")
    return int(value)


def _positive(name: str, value: Any, unit: str) -> float:
    if not _is_number(value) or not value > 0:
        raise ValidationError(f"{name} must be a positive number of {unit}, got {value!r}")
    return float(value)


def _validated_base_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"base_url must be a string such as {DEFAULT_BASE_URL!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError(
            f"base_url {value!r} is not an http(s) URL; expected something like {DEFAULT_BASE_URL!r} "
            "or 'http://127.0.0.1:8080/v3' for the emulator"
        )
    if parts.query or parts.fragment or parts.username or parts.password:
        raise ValidationError("base_url must not carry a query, fragment or credentials; pass api_key= instead")
    cleaned = value.strip().rstrip("/")
    if api_of(cleaned) not in APIS:
        raise ValidationError(
            f"base_url {value!r} must end with the Eden AI API version: /v3 (the current API, e.g. "
            f"{DEFAULT_BASE_URL!r}) or /v2 (served by Eden AI until the end of 2026, e.g. {V2_BASE_URL!r}); the "
            "emulator serves both ('http://127.0.0.1:8080/v3' or '.../v2')"
        )
    return cleaned
