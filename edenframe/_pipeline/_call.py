"""Preparing a call: every check made before anything is sent, giving a validated `PreparedCall`."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from .._cache import cache_setting
from .._catalog import Subfeature, all_subfeatures
from .._config import DEFAULT_BASE_URL, V2_BASE_URL, Settings, api_of, as_flag, current_settings, parse_providers
from .._errors import MissingAPIKeyError, ValidationError
from .._local import has_local, local_check
from .._providers import checked_providers
from .._schema import STR, Struct
from .._transport import AUTO, LOCAL, TRANSPORTS, kind_of, transport_choices
from .._transport.v3_universal import ANSWERED_BY, chat_of, check_v3, model_spec
from .._v3_models import V3_MAPPINGS
from .._validate import check_column, check_params, close_matches
from ._frame import column_names
from ._results import response_key

# Options every method takes besides the subfeature's own parameters.
RUN_OPTIONS = (
    "prefix",
    "errors",
    "overwrite",
    "progress",
    "transport",
    "api_key",
    "base_url",
    "cache",
    "dry_run",
    "max_cost",
    "save_to",
)
REQUEST_OPTIONS = ("providers", "fallback_providers", "settings", "show_original_response", "show_base_64")
COMMON_OPTIONS = RUN_OPTIONS + REQUEST_OPTIONS


@dataclass(frozen=True)
class PreparedCall:
    """A validated call: everything decided before anything is sent."""

    entry: Subfeature
    params: dict[str, Any]
    settings: Settings
    providers: tuple[str, ...]
    transport: str  # the transport= option: 'auto' or a remote transport's name; route() decides per request
    columns: list[tuple[str, str, str]]
    overwrite: bool
    errors: str
    progress: bool | None
    cache: Any
    dry_run: bool
    max_cost: float | None
    save_to: Path | None
    api: str = "v2"  # the Eden AI API the base URL names ("v2" or "v3"): route() sends remote requests by it

    @property
    def row_output(self) -> Struct:
        """The fields that become each row's columns: the entry's, and with fallback providers `provider`, the one
        that answered the row (v3 names it; on v2 it stays NA, so frames of both APIs concatenate)."""
        return row_output(self.entry, "fallback_providers" in self.params)

    def in_process(self, provider: str) -> bool:
        """Does this provider run in this process (the offline engine) rather than over HTTP?"""
        return not kind_of(self.transport, provider, api=self.api).remote

    @property
    def launches_jobs(self) -> bool:
        """May this call launch batch jobs (and so hold slots of the account's running-job limit)?"""
        return any(kind_of(self.transport, p, api=self.api).jobs for p in self.providers)


def _v3_optional(entry: Subfeature) -> tuple[str, ...]:
    """The parameters v2 requires that a v3 call of `entry` may leave out: v3 runs it through an LLM, whose
    instruction does without them (classify's and answer's examples)."""
    mapping = V3_MAPPINGS.get(entry.path)
    return mapping.llm_optional if mapping is not None and mapping.llm else ()


def prepare_call(
    frame: pd.DataFrame, entry: Subfeature, column: Any, options: dict[str, Any], default_prefix: str | None
) -> PreparedCall:
    """Every check made before anything is sent."""
    check_column(frame, column)
    given = dict(options)
    run_options = {name: given.pop(name) for name in RUN_OPTIONS if name in given}
    request_options = {name: given.pop(name) for name in REQUEST_OPTIONS if name in given}
    for name in ("progress", "overwrite", "dry_run"):
        if run_options.get(name) is not None:
            run_options[name] = as_flag(name, run_options[name])
    settings = current_settings(api_key=run_options.get("api_key"), base_url=run_options.get("base_url"))
    api = api_of(settings.base_url)
    params = check_params(entry, given, COMMON_OPTIONS, _v3_optional(entry) if api == "v3" else ())

    if entry.v3_only and api != "v3":
        raise ValidationError(
            f"{entry.method}() is new in Eden AI's v3 API: use a base URL ending /v3 "
            "(edenframe.configure(base_url='https://api.edenai.run/v3'))"
        )
    providers = _providers(entry, request_options.get("providers"), settings)
    transport = run_options.get("transport") or AUTO
    if transport not in transport_choices(api):
        if transport in TRANSPORTS and TRANSPORTS[transport].remote:
            raise ValidationError(
                f"transport={transport!r} speaks Eden AI's {TRANSPORTS[transport].api} API, but the base URL "
                f"{settings.base_url!r} is Eden AI's {api} API: drop transport= (or pass 'auto'), or use a base URL "
                f"ending with /{TRANSPORTS[transport].api}"
            )
        raise ValidationError(f"transport must be one of {list(transport_choices(api))}, not {transport!r}")
    remote = [p for p in providers if kind_of(transport, p, api=api).remote]
    dry_run = bool(run_options.get("dry_run", False))
    if remote and settings.api_key is None and not dry_run:
        known = [*entry.providers, LOCAL] if has_local(entry.path) else list(entry.providers)
        unknown = [p for p in remote if response_key(p) not in known]
        hint = ""
        if unknown:  # a typo ('gogle', 'locl') is likelier than a missing key
            hint = f". {unknown[0]!r} is not a provider Eden AI lists for {entry.method}()."
            hint += close_matches(unknown[0], known)
        raise MissingAPIKeyError(
            f"provider(s) {', '.join(repr(p) for p in remote)} run on Eden AI and need an API key: set the "
            "EDENAI_API_KEY environment variable or call edenframe.configure(api_key=...)"
            + ("; or use providers='local' to run offline" if has_local(entry.path) else "")
            + hint
        )
    if LOCAL in providers and not kind_of(transport, LOCAL, api=api).remote:
        local_check(entry.path, params)  # a missing extra, an unsupported call: fail now, not mid-run
    keys = [response_key(p) for p in providers]
    if len(set(keys)) != len(keys) and api != "v3":  # v3 answers each request alone: one model per column works
        raise ValidationError(
            f"providers {list(providers)} include two models of the same provider; Eden AI answers both under one "
            "key, so run them in separate calls with different prefix= values"
        )

    errors = run_options.get("errors", "collect")
    if errors not in ("collect", "raise"):
        raise ValidationError(f"errors must be 'collect' or 'raise', not {errors!r}")
    prefix = run_options.get("prefix")
    if prefix is not None and (not isinstance(prefix, str) or not prefix.strip()):
        raise ValidationError(
            f"prefix must be a non-empty string such as 'review_sentiment', not {prefix!r}: it starts every new "
            "column's name"
        )
    prefix = prefix or default_prefix or entry.subfeature
    save_to = run_options.get("save_to")
    if save_to is not None:
        if entry.media is None:
            with_media = ", ".join(e.method for e in all_subfeatures() if e.media is not None)
            raise ValidationError(f"save_to= only applies to methods that return files ({with_media})")
        if not isinstance(save_to, (str, os.PathLike)):
            raise ValidationError(f"save_to must be a directory path, not {type(save_to).__name__}")
        save_to = Path(save_to).expanduser()
        if save_to.exists() and not save_to.is_dir():
            raise ValidationError(f"save_to={str(save_to)!r} exists and is not a directory")
    overwrite = bool(run_options.get("overwrite", False))

    fallbacks = request_options.get("fallback_providers") is not None

    def new_columns() -> list[tuple[str, str, str]]:
        fields = row_output(entry, fallbacks).names
        columns = column_names(fields, prefix, providers, with_path=save_to is not None)
        # two providers whose names differ only in punctuation ("acme/m-1", "acme/m.1") get the same column names:
        # one's answers would overwrite the other's, both paid for
        owners: dict[str, str] = {}
        for provider, _, name in columns:
            other = owners.setdefault(name, provider)
            if other != provider:
                raise ValidationError(
                    f"providers {other!r} and {provider!r} would both write the column {name!r}: ask them in two "
                    "calls, each with its own prefix='...'"
                )
        clashes = [name for _, _, name in columns if name in frame.columns]
        if clashes and not overwrite and not dry_run:
            raise ValidationError(
                f"the new column(s) {clashes} already exist in the DataFrame; pass prefix='...' to name them "
                "differently, or overwrite=True to replace them"
            )
        return columns

    columns = new_columns()
    max_cost = run_options.get("max_cost")
    if max_cost is not None and (
        isinstance(max_cost, bool) or not isinstance(max_cost, (int, float)) or not max_cost >= 0
    ):
        raise ValidationError(f"max_cost must be a non-negative number (USD), not {max_cost!r}")
    body_options = _body_options(request_options, providers)
    if api == "v3" and chat_of(entry) is not None and isinstance(body_options.get("settings"), dict):
        # v2's settings={provider: model} names an LLM: on v3 the provider is that 'provider/model' (as the transport
        # sends it), so the LLM checks and the columns see the model
        chosen = body_options.pop("settings")
        providers = tuple(p if p == LOCAL else model_spec(p, chosen) for p in providers)
        if "fallback_providers" in body_options:
            body_options["fallback_providers"] = ",".join(
                model_spec(p, chosen) for p in body_options["fallback_providers"].split(",")
            )
        # the models now named in full, settings says nothing more to a chat: kept, it would make the same request
        # (the same model, the same text) miss the cache it filled when the model was named 'provider/model'
        remote = [p for p in providers if kind_of(transport, p, api=api).remote]
        columns = new_columns()
    if remote and api == "v3":
        # no v3 model, a non-LLM provider where an LLM is needed, a v2-only option: refused now
        _check_v3(entry, {**params, **body_options, "providers": ",".join(remote)}, settings)
    # Last, as it may read Eden AI's provider list over HTTP: names in Eden AI's spelling ('Google' -> 'google')
    if remote:
        checked = checked_providers(entry, providers, settings)
        if checked != providers:
            providers = checked
            columns = new_columns()
    if "fallback_providers" in body_options:
        fallbacks = body_options["fallback_providers"].split(",")
        body_options["fallback_providers"] = ",".join(
            checked_providers(entry, fallbacks, settings, "fallback_providers")
        )
    return PreparedCall(
        entry=entry,
        params={**params, **body_options},
        settings=settings,
        providers=providers,
        transport=transport,
        columns=columns,
        overwrite=overwrite,
        errors=errors,
        progress=run_options.get("progress"),
        cache=cache_setting(run_options.get("cache"), settings),
        dry_run=dry_run,
        max_cost=float(max_cost) if max_cost is not None else None,
        save_to=save_to,
        api=api,
    )


def _check_v3(entry: Subfeature, fields: dict[str, Any], settings: Settings) -> None:
    """`check_v3`, whose refusal on the default base URL also tells a user who upgraded edenframe (their call ran on
    v2, the default until v3 became it) the one line that brings yesterday's behaviour back."""
    try:
        check_v3(entry, fields)
    except ValidationError as exc:
        if settings.base_url != DEFAULT_BASE_URL:
            raise
        raise ValidationError(
            f"{exc}. edenframe now calls Eden AI's v3 API ({DEFAULT_BASE_URL}) by default; if this call worked "
            f"with an earlier edenframe, the one-line fix is edenframe.configure(base_url='{V2_BASE_URL}'), which "
            "Eden AI serves until the end of 2026 (README: 'Migrating from v2')"
        ) from None


def row_output(entry: Subfeature, fallbacks: bool) -> Struct:
    """`entry.row_output`, with `provider` (who answered the row) when the call names fallback providers."""
    if not fallbacks or ANSWERED_BY in entry.row_output.names:
        return entry.row_output
    return Struct((*entry.row_output.fields, (ANSWERED_BY, STR)))


def _body_options(request_options: dict[str, Any], providers: tuple[str, ...]) -> dict[str, Any]:
    """The common request fields passed into every item (fallbacks, model settings, original responses)."""
    body: dict[str, Any] = {}
    if request_options.get("fallback_providers") is not None:
        if len(providers) != 1:
            raise ValidationError("fallback_providers works with exactly one provider in providers=")
        if providers[0] == LOCAL:
            raise ValidationError(
                "fallback_providers is Eden AI's own fallback between remote providers; the 'local' provider never "
                "calls it. Drop it, or name a remote provider, e.g. providers='google', fallback_providers='amazon'"
            )
        body["fallback_providers"] = ",".join(parse_providers(request_options["fallback_providers"]))
    if request_options.get("settings") is not None:
        if not isinstance(request_options["settings"], dict):
            raise ValidationError("settings must be a dict such as {'openai': 'gpt-4o'}")
        body["settings"] = request_options["settings"]
    if request_options.get("show_original_response"):
        body["show_original_response"] = True
    if request_options.get("show_base_64") is not None:
        body["show_base_64"] = bool(request_options["show_base_64"])
    return body


def _providers(entry: Subfeature, given: Any, settings: Settings) -> tuple[str, ...]:
    if given is not None:
        return parse_providers(given)
    if settings.providers is not None:
        return settings.providers
    if has_local(entry.path):
        return (LOCAL,)
    examples = ", ".join(entry.providers[:4]) or "a provider Eden AI lists for it"
    raise ValidationError(
        f"{entry.method}() ({entry.path}) has no offline implementation, so name the provider(s): "
        f"providers='{entry.providers[0] if entry.providers else 'google'}' (available: {examples}, ...)"
    )
