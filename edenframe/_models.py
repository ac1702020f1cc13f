"""`edenframe.models(subfeature)`: the models Eden AI's v3 API offers for a subfeature, with their prices, as a frame.

Read live from the v3 discovery endpoints (public, no key needed): `GET {base}/info` for the universal-ai
subfeatures, `GET {base}/models` for the LLM chat models, `GET {base}/embeddings/models` for embeddings. The reads
are the ones the provider checks and the cost estimates use (`_providers.py`: one per process, base URL and hour,
within the account's v3 rate budget and at most `first_contact_timeout` seconds); when one cannot be read, the
documented tables answer instead (`V3_MODELS`, the shipped LLM token prices) and a `RuntimeWarning` says why.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pandas as pd

from ._catalog import all_subfeatures
from ._config import Settings, api_of, current_settings
from ._errors import ValidationError
from ._prices import LLM
from ._v3_models import V3_MAPPINGS, V3_SUBFEATURES
from ._validate import close_matches

# Names that ask for the LLM chat models (`provider/model` on POST /v3/chat/completions).
LLM_NAMES = (LLM, "llms", "chat", "text/chat", "chat/completions", "prompt")
EMBEDDINGS = "text/embeddings"
PER_MILLION = 1_000_000  # token prices are shown per million tokens (per-token prices are unreadably small)
COLUMNS = {
    "model": "string",  # what `providers=` takes after the subfeature: "feature/subfeature/provider[/model]"
    "provider": "string",
    "model_name": "string",  # NA: the provider's default model (the model string names the provider alone)
    "price": "float64",  # USD per `per` units of `unit` (LLMs: input tokens); NaN: no price listed
    "output_price": "float64",  # LLMs: USD per `per` output tokens; NaN elsewhere
    "per": "Int64",
    "unit": "string",
    "mode": "string",  # "sync" or "async" (POST /v3/universal-ai or /v3/universal-ai/async)
}


def models(subfeature: str, *, base_url: str | None = None, api_key: str | None = None) -> pd.DataFrame:
    """The models Eden AI's v3 API offers for `subfeature`, with their listed prices, one row each.

    `subfeature` is a v3 path (`"audio/tts"`), a catalog path (`"text/moderation"`, `"audio/text_to_speech"` is
    v3's `audio/tts`), a method name (`"moderate"`), `"llm"` for the chat models (`df.eden.prompt` and the text
    subfeatures v3 runs through an LLM) or `"embed"` / `"text/embeddings"`. Columns: `model` (the model string),
    `provider`, `model_name`, `price` USD per `per` units of `unit`, `output_price` (LLMs: per `per` output tokens),
    `per`, `unit`, `mode`. `attrs["edenframe"]` says where the list came from.

    Reads the configured base URL (or `base_url`; a v2 one is read at its `/v3` sibling) live, once per process and
    hour, within the account's v3 rate budget; when Eden AI cannot answer, the documented list answers and a
    RuntimeWarning says why. Unknown names raise ValidationError with close matches.
    """
    settings = current_settings(base_url=_v3_url(base_url), api_key=api_key)
    if api_of(settings.base_url) != "v3":
        settings = current_settings(base_url=_v3_sibling(settings.base_url), api_key=api_key)
    kind, path = _resolve(subfeature)
    if kind == "llm":
        return _token_frame(settings, "models", "chat", subfeature)
    if kind == "embeddings":
        return _token_frame(settings, "embeddings/models", "embeddings", subfeature)
    return _universal_frame(settings, path, subfeature)


def _v3_url(base_url: str | None) -> str | None:
    return _v3_sibling(base_url) if base_url is not None else None


def _v3_sibling(base_url: str) -> str:
    """The v3 base URL beside a v2 one ("https://api.edenai.run/v2" -> ".../v3")."""
    base = base_url.rstrip("/")
    return base if api_of(base) == "v3" else f"{base.rsplit('/', 1)[0]}/v3"


def _resolve(name: Any) -> tuple[str, str]:
    """("universal", v3 path) | ("llm", "") | ("embeddings", ""), or ValidationError."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(f"models() takes a subfeature name such as 'text/moderation' or 'llm', got {name!r}")
    text = name.strip()
    if text.casefold() in LLM_NAMES:
        return "llm", ""
    if text in V3_SUBFEATURES:
        return "universal", text
    entry = next((e for e in all_subfeatures() if text in (e.path, e.method)), None)
    if entry is None:
        names = [*V3_SUBFEATURES, *(e.path for e in all_subfeatures()), *(e.method for e in all_subfeatures()), LLM]
        raise ValidationError(
            f"models(): unknown subfeature {text!r}.{close_matches(text, dict.fromkeys(names))} Use a v3 path "
            "('audio/tts'), a catalog path ('text/moderation'), a method name ('moderate') or 'llm' for the chat "
            "models; edenframe.subfeatures() lists the catalog"
        )
    mapping = V3_MAPPINGS.get(entry.path)
    if mapping is None:  # a subfeature new in v3 is in the catalog under its v3 path
        return "universal", entry.path
    if mapping.endpoint == "embeddings":
        return "embeddings", ""
    if mapping.endpoint in (None, "chat"):
        raise ValidationError(
            f"models(): {entry.method}() ({entry.path}) has no expert model on Eden AI's v3 API: it runs through an "
            "LLM chat model (providers='openai/gpt-4o-mini', ...); edenframe.models('llm') lists them"
        )
    assert mapping.v3_path is not None
    return "universal", mapping.v3_path


def _universal_frame(settings: Settings, path: str, asked: str) -> pd.DataFrame:
    from ._providers import v3_info

    info = v3_info(settings)
    if not info.live:
        _warn(info.source)
    mode = info.modes.get(path) or (V3_SUBFEATURES[path].mode if path in V3_SUBFEATURES else "sync")
    records = []
    for spec, price in info.models.get(path, {}).items():
        provider, _, name = spec.partition("/")
        records.append(
            {
                "model": f"{path}/{spec}",
                "provider": provider,
                "model_name": name or None,
                "price": price.price if price is not None else math.nan,
                "output_price": math.nan,
                "per": price.per if price is not None else None,
                "unit": price.unit if price is not None else None,
                "mode": mode,
            }
        )
    return _frame(records, {"subfeature": path, "asked": asked, "source": info.source, "live": info.live})


def _token_frame(settings: Settings, which: str, what: str, asked: str) -> pd.DataFrame:
    from ._prices import snapshot_token_prices
    from ._providers import model_list_prices

    prices, source = model_list_prices(settings, which)
    live = prices is not None
    if prices is None:
        _warn(source)
        prices = snapshot_token_prices("text/chat" if what == "chat" else EMBEDDINGS)
        source = f"edenframe's fallback (the shipped token prices), Eden AI's unread: {source}"
    records = []
    for model, price in prices.items():
        provider, _, name = model.partition("/")
        records.append(
            {
                "model": model,
                "provider": provider,
                "model_name": name or None,
                "price": price.input * PER_MILLION if price is not None else math.nan,
                "output_price": price.output * PER_MILLION if price is not None and what == "chat" else math.nan,
                "per": PER_MILLION if price is not None else None,
                "unit": "token" if price is not None else None,
                "mode": "sync",
            }
        )
    return _frame(records, {"subfeature": what, "asked": asked, "source": source, "live": live})


def _warn(why: str) -> None:
    warnings.warn(
        f"edenframe.models(): the list comes from {why}",
        RuntimeWarning,
        stacklevel=4,
    )


def _frame(records: list[dict[str, Any]], about: dict[str, Any]) -> pd.DataFrame:
    out = pd.DataFrame.from_records(records, columns=list(COLUMNS)).astype(COLUMNS)
    out.attrs["edenframe"] = about
    return out


__all__ = ["models"]
