"""The catalog entry and chat task of `df.eden.prompt`: data the pipeline and the v3 transport run like any entry.

A prompt's output columns depend on its schema, so its entry is built per call (`prompt_entry`), never listed in
the static catalog: path "llm/prompt", method "prompt", input field `text` (the rendered prompt), output one field
per top-level property of the schema (`_prompt_schema.output_type`), or one `text` field without a schema. Its
params carry `system`, the normalized `schema` and the chat options, so each of them is part of every request
item, and so of the cache key and the request name: change one and the rows are asked again.

The chat task registered for "llm/prompt" (`_chat.CHAT_TASKS`) says how one item becomes `POST
/v3/chat/completions`: messages `[system?, user(prompt)]`, `response_format` from the schema, and the reply checked
against the schema (a row error naming the field and the problem, never a default value).

Cost before sending (dry_run and max_cost) is `_prices.cost_estimator`'s, as for every entry that runs as chat: the
task's messages and schema at chars / 4 tokens, plus `max_tokens` (or a typical reply) out, at the model's token price.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from ._catalog import Param, Subfeature
from ._chat import CHAT_TASKS, ChatTask
from ._errors import ValidationError
from ._prices import load_prices
from ._prompt_schema import output_type, reply_checker, response_format
from ._schema import FLOAT, INT, STR, Enum, Struct
from ._schema import Mapping as MappingType

PROMPT_PATH = "llm/prompt"
PROMPT_METHOD = "prompt"
TEXT_FIELD = "text"  # the one output field without a schema: `{prefix}_text`
# `reasoning_effort` values of the v3 OpenAPI's LlmCompletionBody (the emulator checks the same list)
REASONING_EFFORTS = ("minimal", "low", "medium", "high", "max", "xhigh", "disable", "none")
# Top-level schema properties that would collide with the columns and fields every result has
RESERVED_FIELDS = ("cost", "error", "status", "provider")
# Where LLM per-token prices are read from in the price table: chat first, then text generation (same models)
_PRICE_PATHS = ("text/chat", "text/generation")

PROMPT_PARAMS: tuple[Param, ...] = (
    Param("system", STR, description="the system message, sent before each prompt"),
    Param("schema", MappingType(), description="the reply's JSON Schema (normalized), sent as response_format"),
    Param("temperature", FLOAT, minimum=0, maximum=2, description="sampling temperature, 0 to 2"),
    Param("max_tokens", INT, minimum=1, description="the most tokens a reply may have"),
    Param("seed", INT, description="a seed for providers that sample deterministically with one"),
    Param("reasoning_effort", Enum(REASONING_EFFORTS), description="how much a reasoning model thinks"),
    Param("top_p", FLOAT, minimum=0, maximum=1, description="nucleus sampling, 0 to 1"),
)


def prompt_output(schema: Mapping[str, Any] | None) -> Struct:
    """The row fields of a prompt: one per top-level property of the (normalized) schema, or `text` alone."""
    if schema is None:
        return Struct(((TEXT_FIELD, STR),))
    out = output_type(schema)
    reserved = [name for name in out.names if name in RESERVED_FIELDS]
    if reserved:
        raise ValidationError(
            f"the schema's top-level field(s) {reserved} would collide with the {{prefix}}_cost / _error columns "
            f"and the fields every answer has ({', '.join(RESERVED_FIELDS)}): rename them, e.g. "
            f"{reserved[0]!r} -> {reserved[0] + '_value'!r}"
        )
    return out


def prompt_entry(schema: Mapping[str, Any] | None) -> Subfeature:
    """The catalog entry of a prompt with this normalized schema (None: free text)."""
    return Subfeature(
        path=PROMPT_PATH,
        method=PROMPT_METHOD,
        summary="Send a prompt built from each row's columns to an LLM; its answer in typed columns.",
        input_field="text",
        input_kind="text",
        output=prompt_output(schema),
        params=PROMPT_PARAMS,
        providers=llm_providers(),
        notes="Eden AI v3 only (POST /v3/chat/completions); providers are LLM models 'provider/model'.",
    )


@functools.cache
def llm_providers() -> tuple[str, ...]:
    """The providers of the LLM models the shipped price table lists (documentation and typo hints only: any
    'provider/model' is sent, Eden AI answers for models it does not have)."""
    table = load_prices()
    return tuple(dict.fromkeys(p for path in _PRICE_PATHS for p in table.providers(path)))


def default_llm(provider: str) -> str | None:
    """The model Eden AI uses for a bare LLM provider name ("openai" -> "gpt-4o"), for examples in messages."""
    for path in _PRICE_PATHS:
        model = load_prices().defaults.get(path, {}).get(provider)
        if model:
            return model
    return None


# -- the chat task ---------------------------------------------------------------------------------------------


def _messages(text: str, params: Mapping[str, Any]) -> list[dict[str, Any]]:
    system = params.get("system")
    head = [{"role": "system", "content": system}] if system else []
    return [*head, {"role": "user", "content": text}]


def _response_format(params: Mapping[str, Any]) -> dict[str, Any] | None:
    schema = params.get("schema")
    # keys in the schema's own order: a model writes the fields in that order (a reasoning field before the answer)
    return None if schema is None else _format_of(json.dumps(schema))


@functools.lru_cache(maxsize=32)
def _format_of(schema_text: str) -> dict[str, Any]:
    # built once per distinct schema (normalizing checks it against the metaschema), not once per row
    return response_format(json.loads(schema_text))


def _output(content: str, params: Mapping[str, Any]) -> dict[str, Any] | str:
    schema = params.get("schema")
    if schema is None:
        return {TEXT_FIELD: content}
    return reply_checker(schema)(content)


CHAT_TASKS[PROMPT_PATH] = ChatTask(messages=_messages, response_format=_response_format, output=_output)
