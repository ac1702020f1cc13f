"""The pipeline of one call, stage by stage: `_call` (a validated call) -> `_plan` (rows to requests) ->
`_orchestrate` (windows, cache, routing to transports, sending) -> `_results` (outcomes into per-unit results) ->
`_frame` (typed columns) -> `_finish` (media, the output frame, the failure policy); `_estimate` (estimates, the
budget check and the dry run) and `_progress` (a listener on outcomes) beside them. `_run.run_frame` strings the
stages together."""

from __future__ import annotations

from ._call import PreparedCall, prepare_call
from ._run import run_frame

__all__ = ["PreparedCall", "prepare_call", "run_frame"]
