"""Provider names checked before any request, against Eden AI's live list (the catalog's when it cannot answer).

Eden AI's provider lists change often (wire-format 6.1: "do not hard-code"), so the catalog's `providers` are only
the fallback. The live list comes from the API's public info endpoint: on v2
`GET {base}/info/provider_subfeatures/?feature__name=..&subfeature__name=..` (one object per provider, its name in
`provider.name`), on v3 `GET {base}/info` (every subfeature at once, providers in `models[].model`,
"feature/subfeature/provider[/model]"). A list is read once per process, base URL and subfeature (v3: once per base
URL) and kept for `INFO_TTL` seconds; concurrent calls share one request. The fetch is a small blocking request
with a short total deadline, so it works from sync code (Dask graph building) and, through `asyncio.to_thread`,
from the event loop.

Names are matched case-insensitively and returned in Eden AI's spelling ("Google" runs as "google"); a
`provider/model` string is checked on its provider part, and the model part is kept as given.

On v3, an entry that runs through an LLM (`v3_universal.chat_of`: sentiment and the other subfeatures with no v3
expert model, generation, chat, prompts) names LLM models instead: each must be a 'provider/model' string
(anything else is refused with the ways out) listed by `GET {base}/models` (OA-06 `ListModelsResponse`,
`data[].id`); an unknown one is refused with close matches. When that list cannot be read, the form alone is
checked: LLM models change too often for a built-in list to refuse a name.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from ._catalog import Subfeature, all_subfeatures
from ._config import Settings
from ._errors import ValidationError
from ._transport.local import LOCAL
from ._transport.v3_universal import chat_of, is_llm_model, llm_refusal
from ._v3_models import V3_MAPPINGS
from ._validate import close_matches

log = logging.getLogger("edenframe")

INFO_TTL = 3600.0  # seconds a live list is trusted before it is read again
RETRY_TTL = 60.0  # seconds before an endpoint that could not answer is asked again (meanwhile: the catalog)
INFO_TIMEOUT = 5.0  # seconds for the whole info request, name resolution included (at most first_contact_timeout)
_MAX_BODY = 32 * 1024 * 1024  # /v3/info lists every model with its price: large, but not unbounded


@dataclass(frozen=True)
class ProviderList:
    """The providers of one subfeature and where the list came from (for messages)."""

    names: frozenset[str]
    live: bool  # read from the API now, rather than the catalog's built-in list
    source: str  # "Eden AI (GET url)" or "edenframe's built-in list, Eden AI's unread (why)"


def checked_providers(
    entry: Subfeature, providers: Sequence[str], settings: Settings, option: str = "providers"
) -> tuple[str, ...]:
    """`providers` in Eden AI's spelling, or a ValidationError naming the first one the subfeature's list lacks.

    `local` (edenframe's offline provider, on no Eden AI list) is left to the local engine's own checks.
    Blocking (at most `INFO_TIMEOUT` seconds, once per `INFO_TTL`): call it off the event loop."""
    remote = [p for p in providers if p != LOCAL]
    if not remote:
        return tuple(providers)
    if _is_v3(settings) and chat_of(entry) is not None:
        return _checked_models(entry, providers, settings, option)
    listing = provider_list(entry, settings)
    folded: dict[str, str | None] = {}
    for name in listing.names:  # two listed names equal but for case: neither is guessed
        folded[name.casefold()] = None if name.casefold() in folded else name
    out = []
    for spec in providers:
        if spec == LOCAL:
            out.append(spec)
            continue
        name, slash, model = spec.partition("/")
        canonical = name if name in listing.names else folded.get(name.strip().casefold())
        if canonical is None:
            raise ValidationError(_refusal(entry, spec, name, listing, option))
        out.append(f"{canonical}{slash}{model}")
    if len(set(out)) != len(out):
        raise ValidationError(f"{option} names the same provider twice: {list(providers)} (as {out})")
    return tuple(out)


def _checked_models(entry: Subfeature, providers: Sequence[str], settings: Settings, option: str) -> tuple[str, ...]:
    """LLM models ('provider/model') in Eden AI's spelling, checked against `GET {base}/models` (see the module)."""
    for spec in providers:
        if spec != LOCAL and not is_llm_model(spec):
            raise ValidationError(llm_refusal(entry, spec, option))
    base = settings.base_url.rstrip("/")
    url = f"{base}/models"
    models, problem = _cached(
        (base, "/models", settings.api_key is not None), lambda: _fetch(url, None, settings, _model_ids)
    )
    if not models:
        log.debug("edenframe: LLM model names checked by their form only: %s", problem or f"GET {url} lists none")
        out = list(providers)
    else:
        folded: dict[str, str | None] = {}
        for name in models:
            folded[name.casefold()] = None if name.casefold() in folded else name
        out = []
        for spec in providers:
            canonical = spec if spec == LOCAL or spec in models else folded.get(spec.strip().casefold())
            if canonical is None:
                provider = spec.split("/", 1)[0].strip().casefold()
                same = sorted(m for m in models if m.split("/", 1)[0].casefold() == provider)
                hint = close_matches(spec.casefold(), [m.casefold() for m in models])
                shown = (
                    f" {provider}'s models: {', '.join(same[:20])}{', ...' if len(same) > 20 else ''}." if same else ""
                )
                raise ValidationError(
                    f"{option}: {spec!r} is not an LLM model Eden AI lists (GET {url}) for {entry.method}().{hint}"
                    f"{shown} Name a listed 'provider/model', e.g. 'openai/gpt-4o-mini'."
                )
            out.append(canonical)
    if len(set(out)) != len(out):
        raise ValidationError(f"{option} names the same model twice: {list(providers)} (as {out})")
    return tuple(out)


def _is_v3(settings: Settings) -> bool:
    return settings.base_url.rstrip("/").rsplit("/", 1)[-1] == "v3"


def _model_ids(body: Any) -> frozenset[str] | None:
    """`GET /v3/models` (`ListModelsResponse`, v3 OpenAPI): the ids ('provider/model') of `data[]`."""
    if not isinstance(body, dict) or not isinstance(body.get("data"), list):
        return None
    return frozenset(
        m["id"].strip()
        for m in body["data"]
        if isinstance(m, dict) and isinstance(m.get("id"), str) and m["id"].strip()
    )


def _refusal(entry: Subfeature, spec: str, name: str, listing: ProviderList, option: str) -> str:
    what = f"{entry.method}() ({entry.path})"
    elsewhere = any(name.casefold() in {p.casefold() for p in e.providers} for e in all_subfeatures())
    if elsewhere:
        problem = f"{option}: {name!r} does not offer {what}"
    else:
        problem = f"{option}: {name!r} is not an Eden AI provider of {what}"
    if name != spec:
        problem += f" (in {spec!r}: a 'provider/model' string is checked on its provider)"
    hint = close_matches(name.casefold(), [n.casefold() for n in listing.names])
    names = sorted(listing.names)
    shown = ", ".join(names[:30]) + (f", ... ({len(names)} in all)" if len(names) > 30 else "")
    message = f"{problem}.{hint} Providers listed by {listing.source}: {shown}."
    if not listing.live:
        message += " That list may be out of date: a provider newer than it is accepted once the API can answer."
    return message


def provider_list(entry: Subfeature, settings: Settings) -> ProviderList:
    """The subfeature's providers: live from the API's info endpoint, or the catalog's when it cannot answer."""
    base = settings.base_url.rstrip("/")
    # a server may answer a keyed read and refuse an anonymous one: they are kept apart (the key itself is not kept)
    keyed = settings.api_key is not None
    if base.rsplit("/", 1)[-1] == "v3":
        url = f"{base}/info"
        lists, problem = _cached((base, "", keyed), lambda: _fetch(url, None, settings, _v3_lists))
        # /v3/info names subfeatures in v3's naming (text to speech is audio/tts): look the entry up by its v3 path
        mapping = V3_MAPPINGS.get(entry.path)
        v3_path = (mapping.v3_path if mapping is not None else None) or entry.path
        names = lists.get(v3_path) if lists is not None else None
        if lists is not None and not names:
            problem = f"GET {url} lists no provider of {v3_path}"
    else:
        url = f"{base}/info/provider_subfeatures/"
        query = {"feature__name": entry.feature, "subfeature__name": entry.subfeature}
        names, problem = _cached((base, entry.path, keyed), lambda: _fetch(url, query, settings, _v2_names(entry)))
        if names is not None and not names:
            names, problem = None, f"GET {url} lists no provider of {entry.path}"
    if names:
        return ProviderList(frozenset(names), True, f"Eden AI (GET {url})")
    log.debug("edenframe: checking providers against the catalog: %s", problem)
    return ProviderList(frozenset(entry.providers), False, f"edenframe's built-in list, Eden AI's unread ({problem})")


def forget_provider_lists() -> None:
    """Drop every list read so far: the next check reads the API again (tests use it)."""
    with _slots_lock:
        _slots.clear()


# -- the process-wide cache: a slot per (base URL, subfeature, keyed); its lock makes concurrent calls share a read --


class _Slot:
    __slots__ = ("expires", "lock", "value")

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.expires = 0.0
        self.value: tuple[Any, str] = (None, "")


_slots: dict[tuple[str, str, bool], _Slot] = {}
_slots_lock = threading.Lock()


def _cached(key: tuple[str, str, bool], fetch: Callable[[], tuple[Any, str]]) -> tuple[Any, str]:
    with _slots_lock:
        slot = _slots.setdefault(key, _Slot())
    with slot.lock:  # a second caller waits here for the first one's answer instead of fetching again
        if time.monotonic() < slot.expires:
            return slot.value
        value = fetch()
        slot.value = value
        slot.expires = time.monotonic() + (INFO_TTL if value[0] is not None else RETRY_TTL)
        return value


# -- fetching and parsing ------------------------------------------------------------------------------------------


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer the check cannot use (and would carry the Authorization header to another host)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def _fetch(url: str, query: dict[str, str] | None, settings: Settings, parse: Callable[[Any], Any]) -> tuple[Any, str]:
    """(parsed body, "") or (None, why the endpoint could not answer). Never raises; never shows the key."""
    headers = {"Accept": "application/json", "User-Agent": "edenframe"}
    if settings.api_key is not None:  # the info endpoints are public; the key is sent as every call sends it
        headers["Authorization"] = f"Bearer {settings.api_key.reveal()}"
    request = urllib.request.Request(f"{url}?{urlencode(query)}" if query else url, headers=headers)
    # Like the aiohttp session of a run: no proxy from the environment.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())
    outcome: list[tuple[Any, str]] = []
    # A silent server is caught by the run's first-contact check: the list must not add a longer wait before it.
    timeout = min(INFO_TIMEOUT, settings.first_contact_timeout)

    def get() -> None:
        try:
            with opener.open(request, timeout=timeout) as response:
                raw = response.read(_MAX_BODY)
        except urllib.error.HTTPError as exc:
            exc.close()
            outcome.append((None, f"GET {url} answered HTTP {exc.code}"))
            return
        except (OSError, ValueError, http.client.HTTPException) as exc:  # refused, reset, timed out, unresolved
            reason = getattr(exc, "reason", exc)
            outcome.append((None, f"GET {url} failed: {type(exc).__name__}: {reason}"))
            return
        try:
            parsed = parse(json.loads(raw))
        except Exception:  # not JSON, or a shape the parser did not foresee: the same as no answer
            parsed = None
        outcome.append((parsed, "") if parsed is not None else (None, f"GET {url} gave an answer not understood"))

    # Name resolution ignores socket timeouts: the deadline is kept by waiting for the thread, not by urllib.
    thread = threading.Thread(target=get, name="edenframe-provider-list", daemon=True)
    thread.start()
    thread.join(timeout)
    if not outcome:
        return None, f"GET {url} gave no answer within {timeout:g} s"
    return outcome[0]


def _v2_names(entry: Subfeature) -> Callable[[Any], frozenset[str] | None]:
    """A parser of `GET /v2/info/provider_subfeatures/`: a list of `ProviderSubfeature` objects (v2 OpenAPI)."""

    def parse(body: Any) -> frozenset[str] | None:
        if not isinstance(body, list):
            return None
        names = set()
        for obj in body:
            if not isinstance(obj, dict):
                continue
            # a server that ignored the filters lists every subfeature: keep the asked one's objects
            if _name(obj.get("feature")) not in (None, entry.feature):
                continue
            if _name(obj.get("subfeature")) not in (None, entry.subfeature):
                continue
            name = _name(obj.get("provider"))
            if name:
                names.add(name)
        return frozenset(names)

    return parse


def _v3_lists(body: Any) -> dict[str, frozenset[str]] | None:
    """`GET /v3/info` (`FeaturesListResponse`, v3 OpenAPI): 'feature/subfeature' -> its providers."""
    if not isinstance(body, dict) or not isinstance(body.get("features"), list):
        return None
    out: dict[str, frozenset[str]] = {}
    for feature in body["features"]:
        feature_name = _name(feature)
        if not feature_name or not isinstance(feature.get("subfeatures"), list):
            continue
        for subfeature in feature["subfeatures"]:
            subfeature_name = _name(subfeature)
            if not subfeature_name:
                continue
            path = f"{feature_name}/{subfeature_name}"
            models = subfeature.get("models")
            out[path] = frozenset(_v3_providers(path, models if isinstance(models, list) else ()))
    return out


def _v3_providers(path: str, models: Iterable[Any]) -> Iterable[str]:
    """Provider names from `models[]`: each model's `model` is "feature/subfeature/provider[/model]"."""
    for model in models:
        if not isinstance(model, dict):
            continue
        full = model.get("model")
        provider = model.get("provider")  # not in the spec's examples, but a plain name if a server sends one
        if isinstance(full, str) and full.startswith(f"{path}/"):
            name = full[len(path) + 1 :].split("/", 1)[0].strip()
        else:
            name = provider.strip() if isinstance(provider, str) else _name(provider)
        if name:
            yield name


def _name(obj: Any) -> str | None:
    """`obj["name"]` when obj is an object with a string name."""
    if isinstance(obj, dict) and isinstance(obj.get("name"), str):
        return obj["name"].strip()
    return None
