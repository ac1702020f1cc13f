"""The active `distributed` client, looked up without importing `distributed` unless it is installed."""

from __future__ import annotations

from typing import Any


def active_client() -> Any | None:
    """The `distributed` client the caller's work runs under, or None (no `distributed`, or no client started)."""
    try:
        from distributed import default_client
    except ImportError:
        return None
    try:
        return default_client()
    except ValueError:  # distributed is installed but no client was created
        return None
