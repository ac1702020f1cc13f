"""`ddf.eden`: the pandas accessor mapped over the partitions of a `dask.dataframe.DataFrame`.

The graph is built without touching data: the call is validated on the (empty) meta frame exactly as pandas would
validate it, and the output `meta` comes from the catalog's output schema. Each partition then runs the pandas
implementation with the settings captured on the client, so workers need no `configure()` of their own. Under a
`distributed` client the account's running-job limit is held cluster-wide by a `distributed.Semaphore`.
"""

from __future__ import annotations

import threading
from dataclasses import fields
from typing import Any

import dask.dataframe as dd
import pandas as pd
from dask.dataframe.extensions import register_dataframe_accessor

from ._accessor import EdenFrameAccessor
from ._blocking import run_sync
from ._cache import cache_path
from ._catalog import Subfeature, all_subfeatures, get_subfeature
from ._config import Secret, Settings, configure, current_settings
from ._distributed import active_client
from ._errors import ValidationError
from ._local import local_probe
from ._pipeline import PreparedCall, prepare_call, run_frame
from ._prompt import prepare_prompt, prompt_frame
from ._prompt_task import PROMPT_METHOD
from ._schema import Struct
from ._transport.rate_budget import cluster_share
from ._validate import input_column

SEMAPHORE_NAME = "edenframe-batch-jobs"

# Options whose meaning is "this one pandas call": on Dask they would apply to each partition separately.
_PER_CALL_ONLY = ("dry_run", "max_cost")

_settings_lock = threading.Lock()


@register_dataframe_accessor("eden")
class EdenDaskAccessor:
    """Eden AI on a Dask DataFrame: `ddf.eden.sentiment("review")`, `ddf.eden.run("text/summarize", "review")`.

    Returns a lazy Dask DataFrame (the input columns, then the new typed columns); nothing is sent before
    `.compute()` (or `.persist()`, `.to_parquet()`, ...). Validation errors are raised at once, as in pandas.
    """

    def __init__(self, obj: dd.DataFrame) -> None:
        self._obj = obj  # never validate here: accessors must not raise AttributeError on access

    def run(self, subfeature: str, column: Any = None, /, **options: Any) -> dd.DataFrame:
        """Run any subfeature (`"feature/subfeature"`) on a column of every partition."""
        return eden_map_partitions(self._obj, get_subfeature(subfeature), column, options, None)

    def prompt(
        self, template: str, /, schema: Any = None, providers: Any = None, system: str | None = None, **options: Any
    ) -> dd.DataFrame:
        return prompt_map_partitions(self._obj, template, schema, providers, system, options)


def eden_map_partitions(
    ddf: dd.DataFrame, entry: Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> dd.DataFrame:
    """The lazy result of `entry` on `column`: validated now, computed partition by partition later."""
    options = dict(options)
    column = input_column(column, options)
    options = _graph_options(options)
    meta_input = ddf._meta
    call = prepare_call(meta_input, entry, column, options, default_prefix)  # the same errors as pandas, before compute
    if any(call.in_process(p) for p in call.providers):
        # the pandas call probes the backend before its first row (sentiment with language='fr', a language without
        # a spelling dictionary); here it happens now, on the client, so a bad call fails before any task exists
        # (each partition probes again when it runs, which is cheap). It runs in the caller's thread, as a pandas
        # call's wait does, never on an event loop.
        local_probe(entry.path, call.params)
    meta = _output_meta(meta_input, call.row_output, call.columns, call.overwrite)
    shared, semaphore = _graph_settings(call)
    return ddf.map_partitions(
        _run_partition,
        entry.path,
        column,
        options,
        default_prefix,
        shared,
        _Carried(semaphore),
        meta=meta,
    )


def prompt_map_partitions(
    ddf: dd.DataFrame, template: Any, schema: Any, providers: Any, system: Any, options: dict[str, Any]
) -> dd.DataFrame:
    """The lazy result of `df.eden.prompt` on every partition: checked now on the meta frame exactly as pandas
    checks it, with `meta` typed from the schema (a prompt's columns depend on it, so it has no catalog entry)."""
    options = _graph_options(dict(options))
    work, label, entry, run_options = prepare_prompt(ddf._meta, template, schema, providers, system, options)
    call = prepare_call(work, entry, label, run_options, PROMPT_METHOD)
    meta = _output_meta(work, call.row_output, call.columns, call.overwrite).drop(columns=[label])
    shared, semaphore = _graph_settings(call)
    # the normalized schema, not the user's object: a dict travels to any worker (a pydantic class defined in a
    # notebook may not import there), and normalizing it again gives it back unchanged
    normalized = run_options.get("schema")
    return ddf.map_partitions(
        _prompt_partition, template, normalized, providers, system, options, shared, _Carried(semaphore), meta=meta
    )


def _graph_options(options: dict[str, Any]) -> dict[str, Any]:
    """The call's options as the tasks carry them; the options that only make sense for one pandas call refused."""
    blocked = [name for name in _PER_CALL_ONLY if options.get(name) not in (None, False)]
    if blocked:
        raise ValidationError(
            f"{', '.join(blocked)} is not supported on a Dask DataFrame (it would apply to each partition "
            "separately); estimate on pandas first, e.g. ddf.head(1000).eden.<method>(..., dry_run=True)"
        )
    options = dict(options)
    if isinstance(options.get("api_key"), str):
        options["api_key"] = Secret(options["api_key"])  # keep the key out of task reprs
    return options


def _graph_settings(call: PreparedCall) -> tuple[dict[str, Any], Any]:
    """The client's settings for the workers, and the job semaphore the partitions share (or None)."""
    settings = current_settings()
    shared: dict[str, Any] = {f.name: getattr(settings, f.name) for f in fields(Settings)}
    # The cache the client would use, not whatever the worker's environment points at.
    shared["cache"] = _resolved_cache(settings.cache)
    semaphore = shared.pop("job_semaphore")
    rate = call.settings.rate_limit
    if call.api == "v3" and rate is not None and not all(call.in_process(p) for p in call.providers):
        # The account's v3 budget split between the cluster's worker processes, once, here on the client: each
        # process keeps to its share (rate_budget.cluster_share says why a static share). Unchanged without a
        # multi-process cluster, so the threaded scheduler leaves the user's own configuration alone.
        share = cluster_share(rate)
        if share != rate:
            shared["rate_limit"] = share
    if semaphore is None and call.launches_jobs:
        semaphore = cluster_job_semaphore(settings.max_running_jobs)
    return shared, semaphore


class _Carried:
    """Carries an object (a job semaphore) into the tasks; Dask names the graph by the object's identity rather
    than by hashing it, which a lock or a semaphore does not allow."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __dask_tokenize__(self) -> Any:
        value = self.value
        return ("edenframe-carried", type(value).__qualname__, getattr(value, "name", None) or id(value))


def _output_meta(
    frame: pd.DataFrame, row_output: Struct, columns: list[tuple[str, str, str]], overwrite: bool
) -> pd.DataFrame:
    """The empty output frame: the input's columns, then each new column with the dtype its schema gives."""
    new: dict[str, pd.Series] = {}
    for _, field, name in columns:
        if field == "cost":
            dtype: Any = "float64"
        elif field == "error":
            dtype = pd.StringDtype()
        else:
            dtype = row_output.field(field).dtype()
        new[name] = pd.Series([], dtype=dtype, index=frame.index[:0])
    base = frame.drop(columns=[c for c in new if c in frame.columns]) if overwrite else frame
    return pd.concat([base.iloc[:0], pd.DataFrame(new, index=frame.index[:0])], axis=1)


def _resolved_cache(setting: Any) -> Any:
    if setting is False:
        return False
    path = cache_path(setting)
    return str(path) if path is not None else False


def cluster_job_semaphore(max_leases: int) -> Any:
    """A `distributed.Semaphore` shared by every worker, when a distributed client is active; else None."""
    client = active_client()
    if client is None:
        return None
    from distributed import Semaphore

    return Semaphore(max_leases=max_leases, name=SEMAPHORE_NAME, scheduler_rpc=client.scheduler, loop=client.loop)


def _run_partition(
    part: pd.DataFrame,
    path: str,
    column: Any,
    options: dict[str, Any],
    default_prefix: str | None,
    shared: dict[str, Any],
    semaphore: _Carried,
) -> pd.DataFrame:
    """One partition through the pandas implementation, with the client's settings."""
    _apply_settings(shared, _bound_here(semaphore.value))
    out = run_sync(run_frame(part, path, column, {**options, "progress": False}, default_prefix))
    return _without_report(out)


def _prompt_partition(
    part: pd.DataFrame,
    template: str,
    schema: Any,
    providers: Any,
    system: Any,
    options: dict[str, Any],
    shared: dict[str, Any],
    semaphore: _Carried,
) -> pd.DataFrame:
    """One partition through `df.eden.prompt`'s pandas implementation, with the client's settings."""
    _apply_settings(shared, _bound_here(semaphore.value))
    out = run_sync(prompt_frame(part, template, schema, providers, system, {**options, "progress": False}))
    return _without_report(out)


def _without_report(out: pd.DataFrame) -> pd.DataFrame:
    # A per-partition report would be misleading once partitions are concatenated: Dask results carry none.
    out.attrs.pop("edenframe", None)
    out.attrs.pop("edenframe_history", None)
    return out


def _apply_settings(shared: dict[str, Any], semaphore: Any) -> None:
    """Make this process's settings the client's. A worker process starts with none; in the client's own process
    (threaded or synchronous scheduler) they are already equal and the user's configuration is left untouched."""
    wanted = {**shared, "job_semaphore": semaphore}
    with _settings_lock:
        now = current_settings()
        current = {f.name: getattr(now, f.name) for f in fields(Settings)}
        current["cache"] = _resolved_cache(now.cache)
        if current != wanted:
            configure(**wanted)


def _bound_here(semaphore: Any) -> Any:
    """A `distributed.Semaphore` rebuilt in the task's thread, so that it binds to this worker's event loop (and its
    leases are refreshed there while a long job runs); any other semaphore as it is."""
    if semaphore is not None and type(semaphore).__module__.startswith("distributed"):
        return type(semaphore)(max_leases=semaphore.max_leases, name=semaphore.name)
    return semaphore


def _make_method(entry: Subfeature) -> Any:
    def method(self: EdenDaskAccessor, column: Any = None, /, **options: Any) -> dd.DataFrame:
        return eden_map_partitions(self._obj, entry, column, options, entry.method)

    pandas_method = getattr(EdenFrameAccessor, entry.method)
    method.__signature__ = pandas_method.__signature__  # type: ignore[attr-defined]
    method.__name__ = method.__qualname__ = entry.method
    method.__doc__ = (pandas_method.__doc__ or "") + "\n\nOn a Dask DataFrame: lazy; see docs/dask.md."
    return method


for _entry in all_subfeatures():
    setattr(EdenDaskAccessor, _entry.method, _make_method(_entry))
EdenDaskAccessor.prompt.__doc__ = (EdenFrameAccessor.prompt.__doc__ or "") + (
    "\n\nOn a Dask DataFrame: lazy, with `meta` typed from the schema; see docs/dask.md."
)
