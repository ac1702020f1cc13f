"""The v2 text subfeatures that Eden AI's v3 serves through an LLM, as chat tasks (`_chat.ChatTask`) registered in
`CHAT_TASKS` at import.

v3 has no expert model for sentiment, keywords, summarize, syntax, language detection, custom classification,
custom NER or question answering, and generation, chat and code generation are LLM tasks by nature. With an LLM
provider ("provider/model") the v3 transport asks each text of these with `POST /v3/chat/completions`:

- the instruction is data: a short template per subfeature (`LlmTask.instruction`), filled from the request's
  parameters (`language`, `output_sentences`, `labels`, `entities`, `question`, `examples`, ...) by `_values`; the
  input text is the user message, verbatim;
- the JSON Schema asked for is derived from the catalog entry's output type (`_schema.json_schema`), never written
  here: `LlmTask.asked` only narrows it (classification asks for one label out of `labels`, custom NER for
  categories out of `entities`); enum fields (sentiment's labels) become JSON Schema enums;
- the reply is checked against that schema (`_prompt_schema.reply_checker`): one that is not JSON or breaks the
  schema is the row's error naming the field and the problem, never a default value; a valid one becomes the
  entry's standardized output fields (`LlmTask.wrap`), so the columns and dtypes are v2's.

Free-text tasks (generation, chat, code generation) ask no schema; their reply is `generated_text`.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._catalog import get_subfeature
from ._chat import CHAT_TASKS, ChatTask
from ._prompt_schema import reply_checker, response_format
from ._schema import ListOf, Struct, Type, enum, json_schema

Params = Mapping[str, Any]

_ANSWER_IN_JSON = "Answer with one JSON object that follows the given schema, nothing else."


# -- narrowing the catalog's output type to what the model fills ------------------------------------------------


def _whole(output: Struct, params: Params) -> Struct:
    return output


def _with(struct: Struct, name: str, t: Type) -> Struct:
    """`struct` with field `name` of type `t`."""
    return Struct(tuple((n, t if n == name else sub) for n, sub in struct.fields), struct.required)


def _without(struct: Struct, *names: str) -> Struct:
    return Struct(tuple((n, sub) for n, sub in struct.fields if n not in names), struct.required)


def _labels(params: Params, name: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(str(v) for v in params.get(name) or ()))


def _items(output: Struct, name: str) -> Struct:
    """The item type of the list field `name`."""
    listed = output.field(name)
    assert isinstance(listed, ListOf) and isinstance(listed.item, Struct), (name, listed)
    return listed.item


def _classification(output: Struct, params: Params) -> Struct:
    """One classification (the entry's `classifications` item, without the echoed `input`), its label one of
    `labels`."""
    entry = _without(_items(output, "classifications"), "input")
    labels = _labels(params, "labels")
    return _with(entry, "label", enum(*labels)) if labels else entry


def _custom_entities(output: Struct, params: Params) -> Struct:
    """The entry's `items`, each entity's category one of `entities`."""
    entities = _labels(params, "entities")
    if not entities:
        return output
    return _with(output, "items", ListOf(_with(_items(output, "items"), "category", enum(*entities))))


def _as_classifications(reply: dict[str, Any], params: Params) -> dict[str, Any]:
    """The reply (one label and its confidence) as classification's output: one entry, for the one text asked."""
    return {"classifications": [{"input": params.get("texts"), **reply}]}


# -- the tasks, as data -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LlmTask:
    """How one catalog subfeature is asked of an LLM.

    `instruction`: the system message, a `str.format` template over `_values(params)`; None for the free-text
    tasks, whose messages `free` builds. `asked`: the part of the entry's output type the model fills (the whole
    output by default). `wrap`: the entry's output fields from the checked reply (the reply itself by default).
    """

    path: str
    instruction: str | None
    asked: Callable[[Struct, Params], Struct] = _whole
    wrap: Callable[[dict[str, Any], Params], dict[str, Any]] | None = None
    free: Callable[[str, Params], list[dict[str, Any]]] | None = None
    free_output: Callable[[str, Params], dict[str, Any]] | None = None


def _chat_messages(text: str, params: Params) -> list[dict[str, Any]]:
    """text/chat: the system message (`chatbot_global_action`), the earlier turns (`previous_history`), the text."""
    messages: list[dict[str, Any]] = []
    system = params.get("chatbot_global_action")
    if system:
        messages.append({"role": "system", "content": str(system)})
    for turn in params.get("previous_history") or ():
        role = str(turn.get("role") or "user").lower() if isinstance(turn, Mapping) else "user"
        content = turn.get("message") if isinstance(turn, Mapping) else turn
        messages.append({"role": role if role in ("user", "assistant", "system") else "user", "content": str(content)})
    messages.append({"role": "user", "content": text})
    return messages


def _chat_output(content: str, params: Params) -> dict[str, Any]:
    """text/chat's fields as v2 gives them: the reply, and the exchange (the user's text, then the reply)."""
    asked = params.get("text")
    turns = [{"role": "assistant", "message": content, "tools": None, "tool_calls": None}]
    if isinstance(asked, str):
        turns.insert(0, {"role": "user", "message": asked, "tools": None, "tool_calls": None})
    return {"generated_text": content, "message": turns}


def _code_messages(text: str, params: Params) -> list[dict[str, Any]]:
    """text/code_generation: the instruction, with the code it works on (`prompt`) when given."""
    system = "You write code. Answer with the code only; explanations go in code comments."
    context = params.get("prompt")
    user = f"{text}\n\n{context}" if context else text
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def _generated(content: str, params: Params) -> dict[str, Any]:
    return {"generated_text": content}


TASKS: tuple[LlmTask, ...] = (
    LlmTask(
        "text/sentiment_analysis",
        "Analyse the sentiment of the user's text.{in_language} Give the overall sentiment with its strength from 0 "
        "to 1 (general_sentiment, general_sentiment_rate), and the sentiment of each segment (a sentence or clause, "
        "quoted from the text) with its strength from 0 to 1.",
    ),
    LlmTask(
        "text/keyword_extraction",
        "Extract the key words and phrases of the user's text.{in_language} Give each one as it appears in the "
        "text, with its importance from 0 to 1, most important first.",
    ),
    LlmTask(
        "text/summarize",
        "Summarize the user's text in {sentences}.{in_language} Write the summary in the text's language.",
    ),
    LlmTask(
        "text/syntax_analysis",
        "Analyse the syntax of the user's text word by word.{in_language} For each word give the word as written, "
        "its part of speech as a Universal Dependencies tag (NOUN, VERB, ADJ, ...), its lemma, and its importance "
        "in the sentence from 0 to 1.",
    ),
    LlmTask(
        "translation/language_detection",
        "Identify the language(s) the user's text is written in. For each give its ISO 639-1 code (language), its "
        "name in English (display_name) and your confidence from 0 to 1, most likely first.",
    ),
    LlmTask(
        "text/custom_classification",
        "Classify the user's text with exactly one of these labels: {labels}. Give your confidence from 0 to 1."
        "{examples}",
        asked=_classification,
        wrap=_as_classifications,
    ),
    LlmTask(
        "text/custom_named_entity_recognition",
        "Extract from the user's text every entity of these categories: {entities}. Give each entity exactly as "
        "written in the text, with its category.{examples}",
        asked=_custom_entities,
    ),
    LlmTask(
        "text/question_answer",
        "Answer this question using only the context the user gives: {question}{examples} Give the answer(s) as "
        "short texts.",
    ),
    LlmTask("text/generation", None, free=lambda text, params: [{"role": "user", "content": text}]),
    LlmTask("text/chat", None, free=_chat_messages, free_output=_chat_output),
    LlmTask("text/code_generation", None, free=_code_messages),
)


def _values(params: Params) -> dict[str, str]:
    """What the instruction templates may name, from the request's parameters."""
    language = params.get("language")
    sentences = params.get("output_sentences")
    return {
        "in_language": (
            f" The text is in the language with code {language!r}."
            if isinstance(language, str) and language and language != "auto-detect"
            else ""
        ),
        "sentences": f"at most {sentences} sentence(s)" if sentences else "a few sentences",
        "labels": ", ".join(json.dumps(v) for v in _labels(params, "labels")),
        "entities": ", ".join(json.dumps(v) for v in _labels(params, "entities")),
        "question": str(params.get("question") or ""),
        "examples": _examples(params),
    }


def _examples(params: Params) -> str:
    """The request's examples as a few lines of the instruction (each subfeature has its own form of them)."""
    examples = params.get("examples") or ()
    lines = []
    for example in examples:
        if isinstance(example, Mapping):  # custom NER: {"text": ..., "entities": [{"entity", "category"}]}
            found = ", ".join(
                f"{e.get('entity')!r} ({e.get('category')})"
                for e in example.get("entities") or ()
                if isinstance(e, Mapping)
            )
            lines.append(f"- in {json.dumps(example.get('text'))}: {found or 'none'}")
        elif isinstance(example, (list, tuple)) and len(example) == 2:  # [text, label] or [question, answer]
            lines.append(f"- {json.dumps(example[0])} -> {json.dumps(example[1])}")
    if not lines:
        return ""
    context = params.get("examples_context")
    head = f" Examples, with the context {json.dumps(context)}:" if context else " Examples:"
    return head + "\n" + "\n".join(lines)


# -- ChatTask from LlmTask ----------------------------------------------------------------------------------------


def schema_of(task: LlmTask, params: Params) -> dict[str, Any]:
    """The strict JSON Schema the model's reply must follow: the entry's output type, narrowed by `task.asked`."""
    return json_schema(task.asked(get_subfeature(task.path).output, params))


@functools.lru_cache(maxsize=64)
def _format(schema_text: str, name: str) -> dict[str, Any]:
    # normalised (and checked against the metaschema) once per distinct schema, not once per row
    return response_format(json.loads(schema_text), name=name)


def _name(path: str) -> str:
    return path.replace("/", "_")


def chat_task_of(task: LlmTask) -> ChatTask:
    """The `ChatTask` of one `LlmTask`."""
    if task.instruction is None:
        assert task.free is not None
        output = task.free_output or _generated
        return ChatTask(messages=task.free, response_format=lambda params: None, output=output)
    instruction = task.instruction

    def messages(text: str, params: Params) -> list[dict[str, Any]]:
        filled = instruction.format(**_values(params))
        system = filled + ("\n" if "\n" in filled else " ") + _ANSWER_IN_JSON  # after the examples' lines
        return [{"role": "system", "content": system}, {"role": "user", "content": text}]

    def format_of(params: Params) -> dict[str, Any]:
        return _format(json.dumps(schema_of(task, params)), _name(task.path))  # the output's field order kept

    def output(content: str, params: Params) -> dict[str, Any] | str:
        reply = reply_checker(schema_of(task, params))(content)
        if isinstance(reply, str):
            return reply
        return task.wrap(reply, params) if task.wrap is not None else reply

    return ChatTask(messages=messages, response_format=format_of, output=output)


for _task in TASKS:
    CHAT_TASKS[_task.path] = chat_task_of(_task)
