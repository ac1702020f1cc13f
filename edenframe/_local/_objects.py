"""The provider objects every local backend returns, in Eden AI's shape (offline results cost nothing)."""

from __future__ import annotations

import shutil
from typing import Any

from .._errors import MissingDependencyError

COST = 0.0


class ItemError(ValueError):
    """An item a backend cannot process; it becomes that item's `{"status": "fail"}` object."""


def success(fields: dict[str, Any]) -> dict[str, Any]:
    return {**fields, "status": "success", "cost": COST}


def fail(message: str) -> dict[str, Any]:
    return {"status": "fail", "error": {"message": message}, "cost": COST}


def require_binary(command: str, does: str, install: str) -> str:
    """The path of a Debian command a backend runs (a separate process), or an error naming the apt package."""
    path = shutil.which(command)
    if path is None:
        raise MissingDependencyError(
            f"the 'local' provider {does}, but the `{command}` command is not installed. Install it with: "
            f"{install} (Debian/Ubuntu). Or use a remote provider."
        )
    return path
