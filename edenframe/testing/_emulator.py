"""The emulator's former single module, kept so `edenframe.testing._emulator` imports keep working (a test reaches
`_emulator._error`). `EdenEmulator` (lifecycle, middlewares, the route tables it mounts) lives in `_server.py`, the
v2 route table in `_v2.py`, the v3 one in `_v3.py`, its records in `_records.py`, request validation in
`_validation.py`, wire shapes in `_wire.py`, synthetic answers in `_synthetic.py`."""

from __future__ import annotations

from ._records import BatchJob, BatchRequestState, Call, Charge
from ._server import EdenEmulator
from ._validation import validate_item
from ._wire import _bad_request, _error, _json, _not_found

__all__ = ["BatchJob", "BatchRequestState", "Call", "Charge", "EdenEmulator", "validate_item"]
__all__ += ["_bad_request", "_error", "_json", "_not_found"]
