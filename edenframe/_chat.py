"""LLM chat tasks as data: how a catalog entry runs through Eden AI v3's `POST /v3/chat/completions`.

v3 has no expert model for sentiment, keywords, summarize, language detection and the other text subfeatures
listed in `_v3_models` (their mapping's endpoint is None), and prompts over columns (`df.eden.prompt`) are chat by
nature. Each of them is a `ChatTask`: the messages for one input text, the `response_format` to ask for, and how
the reply's content becomes the entry's standardized output (the same fields as v2's provider object, so the
results are absorbed and typed exactly as on v2). The v3 transport looks tasks up by catalog path (`chat_task`);
modules that define tasks register them in `CHAT_TASKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

# The chat options an item may carry, sent as they are in the chat body (LlmCompletionBody of the v3 OpenAPI).
CHAT_OPTIONS = ("temperature", "max_tokens", "seed", "reasoning_effort", "top_p")


@dataclass(frozen=True)
class ChatTask:
    """How one catalog entry runs as an LLM chat.

    `messages(text, params)`: the chat messages for one input text, given the item's other request fields
    (`language`, `labels`, ... and for prompts `system`); the input text appears verbatim in a user message.
    `response_format(params)`: the body's `response_format` (`{"type": "json_schema", ...}`), or None for free text.
    `output(content, params)`: the entry's standardized output fields from the reply's content, or a string saying
    why the reply cannot be used (not JSON, a field breaking the schema): that row's error, never a default value.
    """

    messages: Callable[[str, Mapping[str, Any]], list[dict[str, Any]]]
    response_format: Callable[[Mapping[str, Any]], dict[str, Any] | None]
    output: Callable[[str, Mapping[str, Any]], dict[str, Any] | str]


# Catalog path -> its chat task, filled at import by the modules that define tasks (imported by `edenframe`).
CHAT_TASKS: dict[str, ChatTask] = {}


def chat_task(path: str) -> ChatTask | None:
    """The chat task of a catalog path, or None when the entry does not run as a chat."""
    return CHAT_TASKS.get(path)


def asked_texts(value: Any, one_chat_each: bool) -> list[str]:
    """The texts one request item asks, a chat each. A list input is one chat per text when the entry's results are
    per text (`one_chat_each`: a pack with an items field, like classify), else one chat of its texts joined by blank
    lines (question answering's context); a single value is one chat."""
    if not isinstance(value, list):
        return [str(value)]
    return [str(v) for v in value] if one_chat_each else ["\n\n".join(str(v) for v in value)]
