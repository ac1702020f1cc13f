"""Value formats a catalog parameter may declare (`Param.format`), checked before anything is sent.

Each check takes a value already of the parameter's type and returns "" when it conforms, else what it must be
(the caller names the parameter and the value).
"""

from __future__ import annotations

import locale
import re
from collections.abc import Callable

# BCP-47 as Eden AI's language parameters use it: a 2-3 letter language ('fr', 'yue'), then an optional script
# ('Hant'), region ('BR', '419') and variants. Eden AI also takes 'auto-detect' (wire-format 1.2).
_LANGUAGE_CODE = re.compile(
    r"[A-Za-z]{2,3}(?:-[A-Za-z]{4})?(?:-(?:[A-Za-z]{2}|[0-9]{3}))?(?:-(?:[A-Za-z0-9]{5,8}|[0-9][A-Za-z0-9]{3}))*"
)
_AUTO_LANGUAGE = frozenset({"auto", "auto-detect"})


def language_code_problem(value: str) -> str:
    """Why `value` is not a language code such as 'fr', 'pt-BR' or 'zh-Hant' ('' when it is one)."""
    if value.strip().lower() in _AUTO_LANGUAGE or _LANGUAGE_CODE.fullmatch(value):
        return ""
    problem = "must be a language code such as 'fr', 'pt-BR' or 'zh-Hant'"
    stripped = value.strip()
    if stripped != value and _LANGUAGE_CODE.fullmatch(stripped):
        return f"{problem}, without spaces: did you mean {stripped!r}?"
    dashed = stripped.replace("_", "-")
    if dashed != stripped and _LANGUAGE_CODE.fullmatch(dashed):
        return f"{problem}, its parts joined by '-': did you mean {dashed!r}?"
    # a language's English or own name ('French', 'deutsch'): the C library's locale aliases know the common ones
    alias = locale.locale_alias.get(stripped.lower(), "")
    code = re.split(r"[_.@]", alias, maxsplit=1)[0]
    if code and _LANGUAGE_CODE.fullmatch(code):
        return f"{problem}, not a language name: did you mean {code!r}?"
    return problem


FORMAT_CHECKS: dict[str, Callable[[str], str]] = {
    "language": language_code_problem,  # language, source_language, target_language
}
