"""The emulator's former single module, kept so `edenframe.testing._emulator` imports keep working: `EdenEmulator`
lives in `_server.py`, its records in `_records.py`, request validation in `_validation.py`, wire shapes in
`_wire.py`."""

from __future__ import annotations

from ._records import BatchJob, BatchRequestState, Call, Charge
from ._server import EdenEmulator
from ._validation import validate_item
from ._wire import _bad_request, _error, _json, _not_found

__all__ = ["BatchJob", "BatchRequestState", "Call", "Charge", "EdenEmulator", "validate_item"]
__all__ += ["_bad_request", "_error", "_json", "_not_found"]
