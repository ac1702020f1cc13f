"""The tables in the docs that come from the code, written INTO the Markdown sources between markers.

A generated block in a page (the docs are readable on GitHub too, where no build runs):

    <!-- generated: subfeatures text (python docs/gen_tables.py rewrites this block; do not edit) -->

    | ... the table(s) ... |

    <!-- end generated: subfeatures text -->

Blocks:

* `subfeatures FEATURE`: for every subfeature of FEATURE (text, translation, image, ocr, audio), the method, its
  parameters and its output columns with their dtypes, from `edenframe.all_subfeatures()`.
* `methods`: one row per subfeature: feature, method, API path (marked when only v3 has it), how Eden AI's v3 API
  serves it (an expert model, an LLM, embeddings, or not at all), offline or not.
* `v3-methods`: the methods of v3's own subfeatures: method, subfeature, mode (sync or async), input, providers.
* `local`: the subfeatures the offline `local` provider implements, with the pip extra they need.
* `settings`: the settings `edenframe.configure()` accepts, with defaults and the source comment.

Commands (run from the repository root):

* `python docs/gen_tables.py` rewrites every block of the pages under docs/ from the code. To add a table, write
  its opening marker alone on a line (`<!-- generated: settings -->`) and run it: the block and its end marker are
  filled in.
* `python docs/gen_tables.py --check` changes nothing and exits 1, naming the pages, when a block is stale;
  tests/test_docs.py runs the same check.

As an mkdocs hook it renders each block afresh (the site is never stale), warns when a source block is stale (which
fails `mkdocs build --strict`), leaves the markers out of the HTML, and fails the build if a subfeature is on no page.
"""

from __future__ import annotations

import argparse
import ast
import dataclasses
import inspect
import logging
import re
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import pandas as pd

import edenframe
from edenframe._catalog import MISSING, Param, Subfeature
from edenframe._local import has_local

FEATURES = ("text", "translation", "image", "ocr", "audio")
DOCS = Path(__file__).resolve().parent
COMMAND = "python docs/gen_tables.py"

# `<!-- generated: NAME [ARG] (any note) -->` opens a block, `<!-- end generated[: ...] -->` closes it.
_START = re.compile(r"^<!--\s*generated:\s*(?P<name>[a-z0-9-]+)(?:\s+(?P<arg>[a-z_]+))?(?:\s*\([^)]*\))?\s*-->\s*$")
_END = re.compile(r"^<!--\s*end generated\b[^>]*-->\s*$")
# The markers of the first version, which the build replaced and the sources did not show.
_OLD_MARKER = re.compile(r"<!--\s*edenframe:[a-z-]+")

log = logging.getLogger("mkdocs.hooks.gen_tables")
_rendered: set[str] = set()


# ---------------------------------------------------------------------------------------------------------------
# Blocks in Markdown


class Block(NamedTuple):
    """One generated block of a page: its name and argument, the lines it spans and the text it holds."""

    name: str
    arg: str | None
    start: int  # index of the opening marker line
    end: int | None  # index of the end marker line; None: not written yet
    body: str

    @property
    def label(self) -> str:
        return self.name if self.arg is None else f"{self.name} {self.arg}"


def blocks(markdown: str, where: str = "") -> Iterator[Block]:
    """The generated blocks of a page, in order. An opening marker without its end marker (before the next opening
    marker) is a block not written yet."""
    lines = markdown.split("\n")
    index = 0
    while index < len(lines):
        match = _START.match(lines[index])
        if match is None:
            if _END.match(lines[index]):
                raise ValueError(f"{where}:{index + 1}: '<!-- end generated -->' without its opening marker")
            index += 1
            continue
        end = None
        for other in range(index + 1, len(lines)):
            if _END.match(lines[other]):
                end = other
                break
            if _START.match(lines[other]):
                break
        body = "\n".join(lines[index + 1 : end]).strip("\n") if end is not None else ""
        yield Block(match["name"], match["arg"], index, end, body)
        index = (end if end is not None else index) + 1


def rewrite(markdown: str, where: str = "") -> str:
    """The page with every generated block rendered afresh from the code."""
    _refuse_old_markers(markdown, where)
    lines = markdown.split("\n")
    out: list[str] = []
    position = 0
    for block in blocks(markdown, where):
        out.extend(lines[position : block.start])
        out.extend(_block_lines(block, render(block.name, block.arg, where)))
        position = (block.end if block.end is not None else block.start) + 1
    out.extend(lines[position:])
    return "\n".join(out)


def _refuse_old_markers(markdown: str, where: str) -> None:
    if _OLD_MARKER.search(markdown):
        raise ValueError(
            f"{where}: old-style marker '<!-- edenframe:... -->': write '<!-- generated: NAME [ARG] -->' alone on a "
            f"line instead and run {COMMAND}"
        )


def _block_lines(block: Block, body: str) -> list[str]:
    opening = f"<!-- generated: {block.label} ({COMMAND} rewrites this block; do not edit) -->"
    return [opening, "", *body.split("\n"), "", f"<!-- end generated: {block.label} -->"]


def pages(root: Path = DOCS) -> list[Path]:
    """The Markdown pages under `root` that hold generated blocks."""
    found = []
    for path in sorted(root.rglob("*.md")):
        text = path.read_text(encoding="utf-8")
        if _OLD_MARKER.search(text) or any(_START.match(line) for line in text.split("\n")):
            found.append(path)
    return found


def stale(paths: list[Path]) -> list[Path]:
    """The pages whose generated blocks differ from what the code renders now."""
    return [path for path in paths if _stale(path)]


def _stale(path: Path) -> bool:
    text = path.read_text(encoding="utf-8")
    return rewrite(text, str(path)) != text


def write(paths: list[Path]) -> list[Path]:
    """Rewrites the generated blocks of `paths`; returns the pages that changed."""
    changed = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        new = rewrite(text, str(path))
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def uncovered(paths: list[Path]) -> list[str]:
    """The subfeatures that no `subfeatures` block of `paths` documents."""
    features = {
        block.arg
        for path in paths
        for block in blocks(path.read_text(encoding="utf-8"), str(path))
        if block.name == "subfeatures"
    }
    return [entry.path for entry in edenframe.all_subfeatures() if entry.feature not in features]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog=COMMAND, description="Rewrite the docs' generated tables (between <!-- generated: ... --> markers)."
    )
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if a generated block is stale")
    parser.add_argument("paths", nargs="*", type=Path, help="Markdown pages (default: every page under docs/)")
    args = parser.parse_args(argv)
    paths = args.paths or pages()
    if args.check:
        found = stale(paths)
        for path in found:
            print(f"{path}: generated tables are stale; run {COMMAND}", file=sys.stderr)
        missing = [] if args.paths else uncovered(paths)
        if missing:
            print(f"these subfeatures are on no docs page: {missing}", file=sys.stderr)
        return 1 if found or missing else 0
    for path in write(paths):
        print(f"rewrote {path}")
    return 0


# ---------------------------------------------------------------------------------------------------------------
# mkdocs events


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    where = page.file.src_uri
    _refuse_old_markers(markdown, where)
    lines = markdown.split("\n")
    out: list[str] = []
    position = 0
    for block in blocks(markdown, where):
        fresh = render(block.name, block.arg, where)
        if block.end is None or block.body != fresh:
            log.warning(f"{where}: the generated block '{block.label}' is stale: run {COMMAND}")
        out.extend(lines[position : block.start])
        out.extend(["", fresh, ""])
        position = (block.end if block.end is not None else block.start) + 1
    out.extend(lines[position:])
    return "\n".join(out)


def on_post_build(config: Any) -> None:
    missing = [entry.path for entry in edenframe.all_subfeatures() if entry.path not in _rendered]
    _rendered.clear()
    if missing:
        from mkdocs.exceptions import PluginError

        raise PluginError(f"gen_tables: these subfeatures are on no docs page: {missing}")


# ---------------------------------------------------------------------------------------------------------------
# Rendering


def render(name: str, arg: str | None, where: str = "") -> str:
    """The Markdown for one marker."""
    if name == "subfeatures":
        if arg not in FEATURES:
            raise ValueError(f"{where}: <!-- edenframe:subfeatures {arg} -->: the feature must be one of {FEATURES}")
        entries = [entry for entry in edenframe.all_subfeatures() if entry.feature == arg]
        _rendered.update(entry.path for entry in entries)
        return "\n\n".join(subfeature_section(entry) for entry in entries)
    if name == "methods":
        return methods_table()
    if name == "v3-methods":
        return v3_methods_table()
    if name == "local":
        return local_table()
    if name == "settings":
        return settings_table()
    raise ValueError(f"{where}: unknown marker <!-- edenframe:{name} -->")


def subfeature_section(entry: Subfeature) -> str:
    """A heading, the call, the parameters and the output columns of one subfeature."""
    lines = [f"### `{entry.method}`", "", f"{entry.summary} Eden AI subfeature `{entry.path}`.", ""]
    lines += ["```python", signature(entry), "```", ""]
    facts = [f"Input column: {_input_label(entry)}."]
    if has_local(entry.path):
        facts.append("Runs offline: `local` is the default provider (see [Local provider](../local.md)).")
    else:
        facts.append("No offline implementation: name the provider(s) with `providers=`.")
    if v3_sentence(entry):
        facts.append(v3_sentence(entry))
    if entry.providers:
        where = "v3 documentation" if entry.v3_only else "v2 schema"
        facts.append(f"Providers in Eden AI's {where}: {', '.join(f'`{p}`' for p in entry.providers)}.")
    if entry.pack is not None and entry.pack.max_items > 1:
        facts.append(f"Up to {entry.pack.max_items} rows are packed into one request.")
    if entry.max_input_chars:
        facts.append(f"Inputs longer than {entry.max_input_chars} characters are rejected by the API.")
    media = getattr(entry, "media", None)
    if media is not None:
        facts.append(
            f"`save_to=DIR` writes each returned {media.kind} file as `DIR/<prefix>_<provider>/<row label>.<ext>` "
            "and adds a `_path` column; a file that cannot be saved is a row error."
        )
    if entry.notes:
        facts.append(entry.notes)
    lines += [" ".join(facts), ""]

    if entry.params:
        lines += ["| parameter | type | default | description |", "|---|---|---|---|"]
        lines += [_param_row(p, _v3_optional(entry)) for p in entry.params]
    else:
        lines.append("No parameters of its own; the [common options](../getting-started.md#common-options) apply.")
    lines += ["", "Output columns with one provider (with several, `{provider}_` follows the prefix):", ""]
    lines += ["| column | dtype |", "|---|---|"]
    for field, t in entry.row_output.fields:
        lines.append(f"| `{entry.method}_{field}` | {_dtype_label(t.dtype())} |")
    lines.append(f"| `{entry.method}_cost` | `float64`: what the provider charged for the row's request |")
    lines.append(f"| `{entry.method}_error` | `string`: NA when the row succeeded |")
    return "\n".join(lines)


_LLM_LINK = "[through an LLM](text.md#on-eden-ai-v3-through-an-llm)"


def v3_form(entry: Subfeature) -> str:
    """How Eden AI's v3 API serves `entry`, in a few words (the `methods` table's column)."""
    from edenframe._v3_models import V3_MAPPINGS, V3_SUBFEATURES

    if entry.v3_only:
        return "async job" if V3_SUBFEATURES[entry.path].mode == "async" else "expert model"
    mapping = V3_MAPPINGS[entry.path]
    if mapping.llm:
        return "LLM (`provider/model`)"
    if mapping.endpoint is None:
        return "not on v3"
    if mapping.endpoint == "embeddings":
        return "embeddings, ranked by edenframe" if mapping.rank else "embeddings"
    if mapping.v3_path != entry.path:
        return f"expert model (`{mapping.v3_path}`)"
    return "expert model"


def v3_sentence(entry: Subfeature) -> str:
    """What changes for a v2 subfeature on Eden AI's v3 API (the default), from its v3 mapping; "" for v3's own."""
    from edenframe._v3_models import V2_ONLY_OPTIONS, V3_MAPPINGS

    if entry.v3_only:
        return ""  # its catalog notes say it (v3 only, async)
    mapping = V3_MAPPINGS[entry.path]
    if mapping.llm and mapping.endpoint is None:
        return (
            f"On Eden AI's v3 API (no expert model there) it runs {_LLM_LINK}: `providers=` names one as "
            "`provider/model`, the columns stay the same, and any other remote provider is refused before any request."
        )
    if mapping.llm:
        return (
            f"On Eden AI's v3 API it runs {_LLM_LINK} (`POST /v3/chat/completions`): `providers=` names one as "
            "`provider/model`."
        )
    if mapping.endpoint is None:
        return (
            "Not on Eden AI's v3 API (no expert model, no LLM path): refused there before any request; it runs on "
            "the v2 base URL while Eden AI serves it."
        )
    if mapping.endpoint == "embeddings" and mapping.rank:
        return (
            "On Eden AI's v3 API (no search model) the query and the texts are embedded with `POST /v3/embeddings` "
            "and ranked by edenframe: `providers=` names an embedding model (`openai/text-embedding-3-small`; a "
            "bare `openai` gets that one)."
        )
    if mapping.endpoint == "embeddings":
        return (
            "On Eden AI's v3 API: `POST /v3/embeddings`, `providers=` naming an embedding model "
            "(`openai/text-embedding-3-small`; a bare `openai` gets that one)."
        )
    said = [f"On Eden AI's v3 API: model `{mapping.v3_path}/<provider>[/<model>]`"]
    fixed = dict(mapping.fixed)
    if fixed:
        said[0] += " with " + ", ".join(f"`{name}={value!r}`" for name, value in fixed.items())
    main = mapping.v3_name(entry.input_field)
    needs = [mapping.v2_name(n) for n in mapping.v3_required if n != main and n not in fixed]
    if needs:
        said.append("needs " + ", ".join(f"`{n}=`" for n in needs) + " there")
    dropped = [p.name for p in entry.params if p.name in mapping.v2_only or p.name in V2_ONLY_OPTIONS]
    if dropped:
        said.append(", ".join(f"`{n}=`" for n in dropped) + " refused there (v2 only)")
    if not mapping.fallbacks:
        said.append("no `fallback_providers` there")
    return "; ".join(said) + "."


def signature(entry: Subfeature) -> str:
    parts = ["column", "*", "providers=None"]
    for p in entry.params:
        if p.required:
            parts.append(p.name)
        else:
            parts.append(f"{p.name}={None if p.default is MISSING else p.default!r}")
    parts.append("**options")
    return f"out = df.eden.{entry.method}({', '.join(parts)})"


def _input_label(entry: Subfeature) -> str:
    if entry.input_kind == "file" and entry.v3_only:
        return (
            f"file URLs (sent as `{entry.input_field}`), local paths or bytes (uploaded once per content with "
            "`POST /v3/upload` and sent by `file_id`)"
        )
    if entry.input_kind == "file":
        return f"file URLs (sent as `{entry.input_field}`), local paths or bytes (uploaded)"
    if entry.input_kind == "texts":
        return f"text, one row per item of the request's `{entry.input_field}` list"
    return f"text (sent as `{entry.input_field}`)"


def _v3_optional(entry: Subfeature) -> tuple[str, ...]:
    """The parameters v2 requires that a v3 call may leave out (v3 runs the method through an LLM)."""
    from edenframe._v3_models import V3_MAPPINGS

    mapping = V3_MAPPINGS.get(entry.path)
    return mapping.llm_optional if mapping is not None and mapping.llm else ()


def _param_row(p: Param, v3_optional: tuple[str, ...] = ()) -> str:
    kind = p.type.label()
    if p.minimum is not None or p.maximum is not None:
        low = "" if p.minimum is None else f"{p.minimum:g}"
        high = "" if p.maximum is None else f"{p.maximum:g}"
        kind += f", {low}..{high}"
    if p.required:
        default = "required on v2, optional on v3" if p.name in v3_optional else "required"
    elif p.default is MISSING:
        default = "`None`"
    else:
        default = f"`{p.default!r}`"
    return f"| `{p.name}` | {kind} | {default} | {_cell(p.description)} |"


def _dtype_label(dtype: Any) -> str:
    if isinstance(dtype, pd.CategoricalDtype):
        return "`category`: " + ", ".join(f"`{c}`" for c in dtype.categories)
    if isinstance(dtype, pd.ArrowDtype):
        return f"`{dtype.pyarrow_dtype}`"
    return f"`{dtype}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def methods_table() -> str:
    lines = [
        "| feature | method | Eden AI subfeature | on v3 (the default) | offline (`local`) |",
        "|---|---|---|---|---|",
    ]
    for entry in edenframe.all_subfeatures():
        page = f"features/{entry.feature}.md#{entry.method}"
        offline = "yes" if has_local(entry.path) else ""
        only = " (v3 only)" if entry.v3_only else ""
        lines.append(
            f"| {entry.feature} | [`{entry.method}`]({page}) | `{entry.path}`{only} | {v3_form(entry)} | {offline} |"
        )
    return "\n".join(lines)


def v3_methods_table() -> str:
    from edenframe._v3_models import V3_SUBFEATURES

    lines = ["| method | Eden AI subfeature | mode | input | providers |", "|---|---|---|---|---|"]
    for entry in edenframe.all_subfeatures():
        if not entry.v3_only:
            continue
        page = f"features/{entry.feature}.md#{entry.method}"
        mode = V3_SUBFEATURES[entry.path].mode
        kind = "file (URL, path or bytes)" if entry.input_kind == "file" else "text"
        providers = ", ".join(f"`{p}`" for p in entry.providers)
        lines.append(f"| [`{entry.method}`]({page}) | `{entry.path}` | {mode} | {kind} | {providers} |")
    return "\n".join(lines)


def local_table() -> str:
    from edenframe._local import IMPLEMENTATIONS

    by_path = {entry.path: entry for entry in edenframe.all_subfeatures()}
    lines = ["| method | subfeature | extra to install |", "|---|---|---|"]
    for path, (_, extra) in IMPLEMENTATIONS.items():
        entry = by_path.get(path)
        method = f"`{entry.method}`" if entry is not None else ""
        lines.append(f'| {method} | `{path}` | `pip install "edenframe[{extra}]"` |')
    return "\n".join(lines)


# Meanings for settings whose line in the source carries no comment.
_SETTING_MEANINGS = {
    "api_key": "your Eden AI API key; never shown in a repr, a log line or an error message",
    "base_url": "the root of Eden AI's API; its last segment picks the API: `/v3` (the default) or `/v2` (served "
    "by Eden AI until the end of 2026); `EdenEmulator`'s `base_url_v3` or `base_url` in tests",
    "providers": "providers used when a call does not name any",
    "connect_timeout": "seconds to open a connection",
    "backoff_max": "longest delay between two retries, in seconds",
    "poll_max_interval": "longest wait between two polls of a running job, in seconds",
}


def settings_table() -> str:
    from edenframe._config import Settings

    comments = {**_SETTING_MEANINGS, **{k: v for k, v in _field_comments(Settings).items() if v}}
    lines = ["| setting | default | meaning |", "|---|---|---|"]
    for field in dataclasses.fields(Settings):
        default = field.default
        if default is dataclasses.MISSING and field.default_factory is not dataclasses.MISSING:
            default = field.default_factory()
        lines.append(f"| `{field.name}` | `{default!r}` | {_cell(comments.get(field.name, ''))} |")
    return "\n".join(lines)


def _field_comments(cls: type) -> dict[str, str]:
    """Each field's comment in the class source: comment lines right above it, then the comment ending its line."""
    lines = inspect.getsource(cls).splitlines()
    tree = ast.parse("\n".join(lines))
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    fields = {
        node.lineno: node.target.id
        for node in body
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name)
    }
    comments: dict[str, str] = {}
    above: list[str] = []
    for number, line in enumerate(lines, start=1):
        stripped = line.strip()
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        if number in fields:
            _, found, trailing = line.partition("  # ")
            comments[fields[number]] = " ".join([*above, trailing.strip() if found else ""]).strip()
        above = []
    return comments


if __name__ == "__main__":
    sys.exit(main())
