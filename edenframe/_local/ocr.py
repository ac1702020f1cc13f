"""ocr/ocr offline with Tesseract (Debian `tesseract-ocr`), run as a subprocess; PDFs rendered with pypdfium2.

Output, as Eden AI: `text` (lines joined by newlines) and `bounding_boxes`, one per recognised word, with `left`,
`top`, `width` and `height` **relative** to the page size (0..1). Pages of a PDF (or frames of a multi-page TIFF) are
read one after another: their text is concatenated and each box is relative to its own page (Eden AI's schema has
no page number).

Tesseract is called directly (`tesseract stdin stdout -l LANG tsv`, the image sent as PGM/PPM on stdin) rather than
through pytesseract, because the subprocess needs its own environment: Debian's tesseract is built with OpenMP,
and its default thread pool made a 300 dpi A4 page take 9.2 s instead of 2.5 s with `OMP_THREAD_LIMIT=1` on
2 cores. edenframe sets that variable for the tesseract process only (unless you set it yourself) and instead
runs several images at once, one per CPU (at most 4).

Languages: `language` is an ISO 639-1 code ('en', 'fr', 'zh-TW'), mapped to Tesseract's codes ('eng', 'fra',
'chi_tra'); Tesseract codes ('deu', 'eng+fra') are accepted too. Each language needs its Debian data package
(`apt-get install tesseract-ocr-fra`); an item whose language is not installed fails and says which package to
install. Without a language, English is used (Tesseract does not detect languages).

PDFs are rendered at 300 dpi (capped at 5000 px per side) with pypdfium2 (PDFium, BSD/Apache); `file_password`
opens protected ones.
"""

from __future__ import annotations

import io
import os
import subprocess
import threading
from dataclasses import dataclass
from functools import cache

import numpy as np
import pypdfium2
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from .._errors import ValidationError
from ._files import ItemError, load_bytes, map_items, parallel_chunk_items, worker_count
from ._objects import require_binary

TESSERACT = "tesseract"
INSTALL_HINT = "apt-get install tesseract-ocr"
PDF_DPI = 300
MAX_PAGE_SIDE = 5000  # pixels; bounds the memory and time of a huge PDF page
TIMEOUT_SECONDS = 600
DEFAULT_LANGUAGE = "eng"

# ISO 639-1 -> Tesseract traineddata name (ISO 639-2/T plus script variants)
TESSERACT_CODES: dict[str, str] = {
    "af": "afr", "am": "amh", "ar": "ara", "as": "asm", "az": "aze", "be": "bel", "bg": "bul", "bn": "ben",
    "bo": "bod", "bs": "bos", "br": "bre", "ca": "cat", "cs": "ces", "cy": "cym", "da": "dan", "de": "deu",
    "dz": "dzo", "el": "ell", "en": "eng", "eo": "epo", "es": "spa", "et": "est", "eu": "eus", "fa": "fas",
    "fi": "fin", "fo": "fao", "fr": "fra", "fy": "fry", "ga": "gle", "gd": "gla", "gl": "glg", "gu": "guj",
    "he": "heb", "hi": "hin", "hr": "hrv", "ht": "hat", "hu": "hun", "hy": "hye", "id": "ind", "is": "isl",
    "it": "ita", "iu": "iku", "ja": "jpn", "jv": "jav", "ka": "kat", "kk": "kaz", "km": "khm", "kn": "kan",
    "ko": "kor", "ku": "kmr", "ky": "kir", "la": "lat", "lb": "ltz", "lo": "lao", "lt": "lit", "lv": "lav",
    "mi": "mri", "mk": "mkd", "ml": "mal", "mn": "mon", "mr": "mar", "ms": "msa", "mt": "mlt", "my": "mya",
    "ne": "nep", "nl": "nld", "nb": "nor", "nn": "nor", "no": "nor", "oc": "oci", "or": "ori", "pa": "pan",
    "pl": "pol", "ps": "pus", "pt": "por", "qu": "que", "ro": "ron", "ru": "rus", "sa": "san", "sd": "snd",
    "si": "sin", "sk": "slk", "sl": "slv", "sq": "sqi", "sr": "srp", "su": "sun", "sv": "swe", "sw": "swa",
    "ta": "tam", "te": "tel", "tg": "tgk", "th": "tha", "ti": "tir", "tl": "tgl", "to": "ton", "tr": "tur",
    "tt": "tat", "ug": "uig", "uk": "ukr", "ur": "urd", "uz": "uzb", "vi": "vie", "yi": "yid", "yo": "yor",
    "zh": "chi_sim",
}  # fmt: skip
# language-region/script variants with their own traineddata
_VARIANTS = {
    "zh-tw": "chi_tra", "zh-hk": "chi_tra", "zh-mo": "chi_tra", "zh-hant": "chi_tra", "zh-hans": "chi_sim",
    "zh-cn": "chi_sim", "zh-sg": "chi_sim", "sr-latn": "srp_latn", "az-cyrl": "aze_cyrl", "uz-cyrl": "uzb_cyrl",
}  # fmt: skip

_PDFIUM_LOCK = threading.Lock()  # PDFium is not thread-safe
_LANG_LOCK = threading.Lock()


@dataclass(frozen=True)
class _Page:
    image: Image.Image
    dpi: int | None


def _require_binary() -> str:
    return require_binary(
        TESSERACT, "reads text with Tesseract", f"{INSTALL_HINT}; other languages: tesseract-ocr-fra, tesseract-ocr-deu"
    )


@cache
def _languages_cached(binary: str) -> frozenset[str]:
    proc = subprocess.run([binary, "--list-langs"], capture_output=True, text=True, timeout=60, check=False)
    lines = (proc.stdout + "\n" + proc.stderr).splitlines()
    return frozenset(line.strip() for line in lines[1:] if line.strip() and " " not in line.strip())


def installed_languages() -> list[str]:
    """Tesseract traineddata installed on this machine ('eng', 'osd', ...), from `tesseract --list-langs`."""
    binary = _require_binary()
    with _LANG_LOCK:
        return sorted(_languages_cached(binary))


def _apt_package(code: str) -> str:
    return "tesseract-ocr-" + code.lower().replace("_", "-")


def tesseract_language(language: object) -> str:
    """The Tesseract `-l` argument for an Eden AI `language` ('fr' -> 'fra'); ItemError when not installed."""
    installed = set(installed_languages())
    if not isinstance(language, str) or not language.strip() or language.strip().lower() in {"auto", "auto-detect"}:
        if DEFAULT_LANGUAGE in installed:
            return DEFAULT_LANGUAGE
        usable = sorted(installed - {"osd", "equ"})
        if not usable:
            raise ItemError(f"no Tesseract language data is installed; install English with: {INSTALL_HINT}-eng")
        return usable[0]
    codes = []
    for part in language.strip().split("+"):
        key = part.strip().replace("_", "-").lower()
        base = key.split("-", 1)[0]
        if part.strip() in installed:
            code = part.strip()  # already a Tesseract name: 'eng', 'chi_sim'
        elif key in _VARIANTS:
            code = _VARIANTS[key]
        elif base in TESSERACT_CODES:
            code = TESSERACT_CODES[base]
        elif len(base) == 3 and base.isalpha():
            code = base
        else:
            raise ItemError(
                f"unknown OCR language {language!r}: pass an ISO 639-1 code such as 'en' or 'fr'. "
                f"Installed Tesseract languages: {', '.join(sorted(installed))}"
            )
        if code not in installed:
            raise ItemError(
                f"Tesseract has no '{code}' language data (for language {language!r}); installed: "
                f"{', '.join(sorted(installed))}. Install it with: apt-get install {_apt_package(code)}"
            )
        codes.append(code)
    return "+".join(codes)


def check(params: dict) -> None:
    """Pre-flight: the `tesseract` command exists and the requested language's data is installed."""
    _require_binary()
    try:
        tesseract_language(params.get("language"))
    except ItemError as exc:
        raise ValidationError(f"the 'local' provider cannot OCR this language: {exc}") from None


def _flatten(image: Image.Image) -> Image.Image:
    """Upright, 8-bit grey or RGB; transparency composited on white (Tesseract would see it as black)."""
    image = ImageOps.exif_transpose(image)
    if image.mode in ("L", "RGB"):
        return image
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(background, rgba).convert("RGB")
    if image.mode.startswith("I"):  # 16/32-bit grey -> 8-bit
        grey = np.clip(np.asarray(image, dtype=np.float64) / 256, 0, 255).astype(np.uint8)
        return Image.fromarray(grey)
    return image.convert("RGB")


def _pdf_pages(data: bytes, password: object) -> list[_Page]:
    secret = password if isinstance(password, str) and password else None
    pages: list[_Page] = []
    with _PDFIUM_LOCK:
        try:
            pdf = pypdfium2.PdfDocument(data, password=secret)
        except pypdfium2.PdfiumError as exc:
            hint = " (pass file_password= for a protected PDF)" if "password" in str(exc).lower() else ""
            raise ItemError(f"cannot open the PDF: {exc}{hint}") from None
        try:
            for page in pdf:
                width, height = page.get_size()
                scale = min(PDF_DPI / 72, MAX_PAGE_SIDE / max(width, height, 1))
                image = page.render(scale=scale).to_pil().convert("L")
                pages.append(_Page(image, round(scale * 72)))
                page.close()
        finally:
            pdf.close()
    if not pages:
        raise ItemError("the PDF has no pages")
    return pages


def _image_pages(data: bytes) -> list[_Page]:
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise ItemError(f"not a readable image or PDF ({exc})") from None
    dpi = image.info.get("dpi")
    resolution = round(dpi[0]) if isinstance(dpi, tuple) and dpi and dpi[0] and dpi[0] >= 70 else None
    frames = ImageSequence.Iterator(image) if image.format == "TIFF" else [image]
    return [_Page(_flatten(frame.copy()), resolution) for frame in frames]


def _pages(item: dict, data: bytes) -> list[_Page]:
    if data[:5] == b"%PDF-":
        return _pdf_pages(data, item.get("file_password"))
    return _image_pages(data)


def _run(binary: str, page: _Page, language: str) -> str:
    buffer = io.BytesIO()
    page.image.save(buffer, format="PPM")  # PGM for grey images; read from stdin by Leptonica, no temp file
    command = [binary, "stdin", "stdout", "-l", language]
    if page.dpi:
        command += ["--dpi", str(page.dpi)]
    env = dict(os.environ)
    env.setdefault("OMP_THREAD_LIMIT", "1")
    proc = subprocess.run(
        [*command, "tsv"], input=buffer.getvalue(), capture_output=True, timeout=TIMEOUT_SECONDS, env=env, check=False
    )
    if proc.returncode != 0:
        message = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise ItemError(f"tesseract failed (exit {proc.returncode}): {' '.join(message[-3:])[:400]}")
    return proc.stdout.decode("utf-8", "replace")


def parse_tsv(tsv: str, width: int, height: int) -> tuple[list[str], list[dict]]:
    """Tesseract TSV -> (text lines, word boxes relative to a width x height page)."""
    lines: dict[tuple[str, ...], list[str]] = {}
    boxes: list[dict] = []
    for row in tsv.splitlines()[1:]:
        cells = row.split("\t", 11)
        if len(cells) < 12 or cells[0] != "5":
            continue
        word = cells[11].strip()
        if not word:
            continue
        left, top, w, h = (int(v) for v in cells[6:10])
        lines.setdefault(tuple(cells[1:5]), []).append(word)
        boxes.append(
            {
                "text": word,
                "left": round(left / width, 6),
                "top": round(top / height, 6),
                "width": round(w / width, 6),
                "height": round(h / height, 6),
            }
        )
    return [" ".join(words) for words in lines.values()], boxes


def _ocr_one(binary: str, item: dict) -> dict:
    language = tesseract_language(item.get("language"))
    data = load_bytes(item)
    lines: list[str] = []
    boxes: list[dict] = []
    for page in _pages(item, data):
        page_lines, page_boxes = parse_tsv(_run(binary, page, language), *page.image.size)
        lines += page_lines
        boxes += page_boxes
    return {"text": "\n".join(lines), "bounding_boxes": boxes}


# items run in parallel: each call into this backend should keep every thread busy
MIN_CHUNK_ITEMS = parallel_chunk_items()


def compute(items: list[dict]) -> list[dict]:
    """One `{text, bounding_boxes}` per item; images are read in parallel, one tesseract process each."""
    binary = _require_binary()
    return map_items(items, lambda item: _ocr_one(binary, item), workers=worker_count(len(items)))
