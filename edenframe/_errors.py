"""The exception tree: run-level errors (nothing or not everything could run) vs row-level errors (collected)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd


class EdenFrameError(Exception):
    """Base class of every error edenframe raises."""


class ValidationError(EdenFrameError, ValueError):
    """Bad input found before any request was sent: the message names the problem and the fix."""


class BudgetExceededError(ValidationError):
    """The estimated cost of a call is above its `max_cost`: nothing was sent."""


class MissingAPIKeyError(ValidationError):
    """A remote provider was asked for but no Eden AI API key is configured."""


class MissingDependencyError(EdenFrameError, ImportError):
    """An optional extra is not installed; the message gives the `pip install` command."""


class APIError(EdenFrameError):
    """Eden AI (or the emulator) answered with an error that stops the whole run (bad key, no credits)."""

    def __init__(self, message: str, status: int | None = None, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RowErrors(EdenFrameError):
    """Raised after a run with `errors="raise"` when some rows failed.

    `errors` is a DataFrame (original index; `provider` and `error` columns) and `result` the full output frame,
    so nothing that succeeded is lost.
    """

    def __init__(self, errors: pd.DataFrame, result: pd.DataFrame) -> None:
        self.errors = errors
        self.result = result
        count = len(errors)
        head = zip(errors.index[:3], errors["error"].iloc[:3], strict=True)
        sample = "; ".join(f"{idx!r}: {msg}" for idx, msg in head)
        more = f" (and {count - 3} more)" if count > 3 else ""
        super().__init__(f"{count} row result(s) failed: {sample}{more}")


class RowErrorWarning(UserWarning):
    """Some rows failed (with `errors="collect"`, the default); their messages are in the `*_error` columns."""
