"""The offline `local` media backends: OCR (Tesseract), face detection (OpenCV Haar) and text to speech (eSpeak NG).

All calls go through `edenframe._local.local_compute(path)(items)`, the function the provider layer calls. Inputs
are made here: text rendered with Pillow's built-in font (Aileron Regular, embedded in Pillow >= 10.1, so no font
package is needed), a real portrait shipped by matplotlib (`mpl-data/sample_data/grace_hopper.jpg`, found without
importing matplotlib), and a rendered gradient. A test skips only when its apt binary (tesseract-ocr, espeak-ng) or
its pip extra (Pillow + pypdfium2, opencv-python-headless<5, matplotlib for the portrait) is missing.
"""

from __future__ import annotations

import base64
import difflib
import importlib.util
import io
import shutil
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pytest
from helpers import require_extra

from edenframe._catalog import get_subfeature
from edenframe._errors import MissingDependencyError, ValidationError
from edenframe._local import IMPLEMENTATIONS, local_check, local_compute

OCR = "ocr/ocr"
FACES = "image/face_detection"
SPEECH = "audio/text_to_speech"

needs_tesseract = pytest.mark.skipif(shutil.which("tesseract") is None, reason="apt-get install tesseract-ocr")
needs_espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="apt-get install espeak-ng")


@pytest.fixture
def ocr_deps() -> None:
    require_extra("local-vision")


@pytest.fixture
def cv_deps() -> None:
    require_extra("local-vision")


def run(path: str, items: list[dict]) -> list[dict]:
    out = local_compute(path)(items)
    assert len(out) == len(items)
    for result in out:
        assert result["cost"] == 0.0
        assert result["status"] in ("success", "fail")
        if result["status"] == "success":
            assert_schema(path, result)
        else:
            assert set(result) == {"status", "error", "cost"} and result["error"]["message"]
    return out


def one(path: str, **item: Any) -> dict:
    [out] = run(path, [item])
    assert out["status"] == "success", out
    return out


def failure(path: str, **item: Any) -> str:
    [out] = run(path, [item])
    assert out["status"] == "fail", out
    return str(out["error"]["message"])


def assert_schema(path: str, out: dict) -> None:
    """Exactly the catalog's output fields, and pyarrow accepts the object as the catalog's struct type."""
    output = get_subfeature(path).output
    fields = {k: v for k, v in out.items() if k not in ("status", "cost")}
    assert tuple(fields) == output.names
    pa.array([fields], type=output.arrow())


def test_registered_under_local_vision() -> None:
    for path in (OCR, FACES, SPEECH):
        assert IMPLEMENTATIONS[path][1] == "local-vision"


# ---------------------------------------------------------------------------------------------------------------
# OCR
# ---------------------------------------------------------------------------------------------------------------

LINES = [
    "Invoice #4711 - Total: $1,234.56",
    "The quick brown fox jumps over",
    "the lazy dog. Offline OCR test.",
    "Shipped on 2024-03-15 to Paris.",
]


def _font(size: int) -> Any:
    from PIL import ImageFont

    font = ImageFont.load_default(size=size)
    if not isinstance(font, ImageFont.FreeTypeFont):  # Pillow built without FreeType: try Debian's DejaVu
        dejavu = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
        if not dejavu.exists():
            pytest.skip("no scalable font: Pillow lacks FreeType and fonts-dejavu-core is not installed")
        font = ImageFont.truetype(str(dejavu), size)
    return font


def render_text(lines: list[str], size: int = 36) -> tuple[Any, list[tuple[str, tuple[float, float, float, float]]]]:
    """A white image with `lines` in black, and each word's drawn box in relative (x0, y0, x1, y1) coordinates."""
    from PIL import Image, ImageDraw

    font = _font(size)
    width, height = 1000, 40 + len(lines) * round(size * 1.8)
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    words = []
    for k, line in enumerate(lines):
        x0, y0 = 40, 20 + k * round(size * 1.8)
        draw.text((x0, y0), line, fill="black", font=font)
        offset = 0
        for word in line.split(" "):
            start = line.index(word, offset)
            left = x0 + draw.textlength(line[:start], font=font)
            box = draw.textbbox((left, y0), word, font=font)
            words.append((word, (box[0] / width, box[1] / height, box[2] / width, box[3] / height)))
            offset = start + len(word)
    return image, words


def normalised(text: str) -> str:
    return " ".join(text.split()).casefold()


def char_accuracy(expected: str, actual: str) -> float:
    return difflib.SequenceMatcher(None, normalised(expected), normalised(actual)).ratio()


def assert_boxes_inside(boxes: list[dict]) -> None:
    assert boxes
    for box in boxes:
        assert set(box) == {"text", "left", "top", "width", "height"}
        assert box["text"].strip()
        for name in ("left", "top", "width", "height"):
            assert isinstance(box[name], float) and 0.0 <= box[name] <= 1.0, box
        assert box["left"] + box["width"] <= 1.0 + 1e-6 and box["top"] + box["height"] <= 1.0 + 1e-6


@pytest.fixture
def text_image(ocr_deps: None, tmp_path: Path) -> tuple[Path, list]:
    image, words = render_text(LINES)
    path = tmp_path / "page.png"
    image.save(path)
    return path, words


@needs_tesseract
def test_ocr_reads_rendered_text_with_word_boxes_where_drawn(text_image: tuple[Path, list]) -> None:
    path, words = text_image
    out = one(OCR, file_url=str(path), language="en")
    accuracy = char_accuracy(" ".join(LINES), out["text"])
    assert accuracy >= 0.95, (accuracy, out["text"])
    assert out["text"].count("\n") == len(LINES) - 1  # one line of text per drawn line
    boxes = out["bounding_boxes"]
    assert_boxes_inside(boxes)
    # every word read exactly has its box centred inside the box the word was drawn in
    by_text: dict[str, list[dict]] = {}
    for box in boxes:
        by_text.setdefault(box["text"], []).append(box)
    matched = 0
    for word, (x0, y0, x1, y1) in words:
        candidates = by_text.get(word, [])
        if not candidates:
            continue
        matched += 1
        centres = [(b["left"] + b["width"] / 2, b["top"] + b["height"] / 2) for b in candidates]
        assert any(x0 <= cx <= x1 and y0 <= cy <= y1 for cx, cy in centres), (word, (x0, y0, x1, y1), candidates)
    assert matched >= 0.8 * len(words), (matched, len(words))


@needs_tesseract
@pytest.mark.parametrize("variant", ["small print", "noisy scan", "tilted 2 degrees", "jpeg quality 20"])
def test_ocr_survives_harder_images(ocr_deps: None, variant: str) -> None:
    from PIL import Image

    image, _ = render_text(LINES, size=16 if variant == "small print" else 24)
    if variant == "noisy scan":
        pixels = np.asarray(image).astype(np.float64)
        noise = np.random.default_rng(0).normal(0, 40, pixels.shape)
        image = Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))
    elif variant == "tilted 2 degrees":
        image = image.rotate(2, expand=True, fillcolor="white")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG" if variant.startswith("jpeg") else "PNG", quality=20)
    out = one(OCR, file=buffer.getvalue())
    accuracy = char_accuracy(" ".join(LINES), out["text"])
    assert accuracy >= 0.95, (variant, accuracy, out["text"])


@needs_tesseract
def test_ocr_takes_bytes_file_urls_and_paths_alike(text_image: tuple[Path, list]) -> None:
    path, _ = text_image
    by_path = one(OCR, file_url=str(path))
    assert one(OCR, file=path.read_bytes()) == by_path
    assert one(OCR, file_url=path.as_uri()) == by_path
    assert one(OCR, file_url=path) == by_path  # a pathlib.Path


@needs_tesseract
def test_ocr_reads_every_page_of_a_pdf(ocr_deps: None, tmp_path: Path) -> None:
    first, _ = render_text(LINES[:2])
    second, _ = render_text(LINES[2:])
    pdf = tmp_path / "two-pages.pdf"
    # 300 dpi images, rendered back by pypdfium2 at 300 dpi: the pages come back at their own size
    first.save(pdf, resolution=300, save_all=True, append_images=[second])
    out = one(OCR, file_url=str(pdf))
    assert char_accuracy(" ".join(LINES), out["text"]) >= 0.95, out["text"]
    assert normalised(out["text"]).index("invoice") < normalised(out["text"]).index("shipped")  # page order
    assert_boxes_inside(out["bounding_boxes"])
    # each page's boxes are relative to that page: the second page's first line is at its top again
    lazy = next(b for b in out["bounding_boxes"] if b["text"] == "lazy")
    assert lazy["top"] < 0.5


@needs_tesseract
def test_ocr_flattens_transparent_images(ocr_deps: None) -> None:
    from PIL import Image

    image, _ = render_text(LINES[:1])
    rgba = image.convert("RGBA")
    alpha = Image.eval(image.convert("L"), lambda v: 255 - v)  # ink opaque, paper transparent
    rgba.putalpha(alpha)
    buffer = io.BytesIO()
    rgba.save(buffer, format="PNG")
    out = one(OCR, file=buffer.getvalue())
    assert char_accuracy(LINES[0], out["text"]) >= 0.95, out["text"]


@needs_tesseract
def test_ocr_language_codes_and_missing_language_data(ocr_deps: None, text_image: tuple[Path, list]) -> None:
    from edenframe._local import ocr

    path, _ = text_image
    installed = set(ocr.installed_languages())
    assert "eng" in installed
    assert ocr.tesseract_language("en") == ocr.tesseract_language("en-US") == ocr.tesseract_language("eng") == "eng"
    assert one(OCR, file_url=str(path), language="en-GB")["text"] == one(OCR, file_url=str(path))["text"]
    absent = [code for code in ("ja", "ko", "am", "km", "bo", "dz", "si", "fr", "de") if
              ocr.TESSERACT_CODES[code] not in installed]  # fmt: skip
    if not absent:
        pytest.skip("every language this test could use as a missing one is installed")
    missing = absent[0]
    tess = ocr.TESSERACT_CODES[missing]
    message = failure(OCR, file_url=str(path), language=missing)
    assert f"apt-get install tesseract-ocr-{tess}" in message and "installed: " in message and "eng" in message
    with pytest.raises(ValidationError, match=f"tesseract-ocr-{tess}"):
        local_check(OCR, {"language": missing})
    local_check(OCR, {"language": "en"})
    local_check(OCR, {"language": None})
    assert "unknown OCR language" in failure(OCR, file_url=str(path), language="xx")
    if "fra" in installed:
        assert one(OCR, file_url=str(path), language="fr")["text"]


@needs_tesseract
def test_ocr_failures_are_per_item(ocr_deps: None, text_image: tuple[Path, list], tmp_path: Path) -> None:
    path, _ = text_image
    missing = tmp_path / "nowhere" / "scan.png"
    garbage = tmp_path / "notes.txt"
    garbage.write_text("not an image")
    out = run(
        OCR,
        [
            {"file_url": str(missing)},
            {"file_url": "https://example.com/scan.png"},
            {"file_url": str(path)},
            {"file_url": str(garbage)},
            {"file": b"%PDF-1.4 broken"},
            {"file_url": str(tmp_path)},
        ],
    )
    assert [o["status"] for o in out] == ["fail", "fail", "success", "fail", "fail", "fail"]
    assert str(missing) in out[0]["error"]["message"] and "not found" in out[0]["error"]["message"]
    url_message = out[1]["error"]["message"]
    assert "https://example.com/scan.png" in url_message
    assert "local file path or the file's bytes" in url_message and "network" in url_message
    assert "not a readable image" in out[3]["error"]["message"]
    assert "PDF" in out[4]["error"]["message"]
    assert "directory" in out[5]["error"]["message"]


def test_ocr_without_tesseract_names_the_apt_package(ocr_deps: None, monkeypatch: pytest.MonkeyPatch) -> None:
    from edenframe._local import _objects

    monkeypatch.setattr(_objects.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install tesseract-ocr"):
        local_compute(OCR)([{"file_url": "x.png"}])
    with pytest.raises(MissingDependencyError, match="apt-get install tesseract-ocr"):
        local_check(OCR, {"language": "en"})


# ---------------------------------------------------------------------------------------------------------------
# face detection
# ---------------------------------------------------------------------------------------------------------------

# The face in matplotlib's portrait of Grace Hopper (512 x 600 px), marked by hand from the picture: from the cap's
# brim to the chin and from ear to ear, (160, 100)-(370, 320) px.
HOPPER_FACE = (160 / 512, 100 / 600, 370 / 512, 320 / 600)


@pytest.fixture
def portrait(cv_deps: None) -> Path:
    spec = importlib.util.find_spec("matplotlib")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("matplotlib (its sample portrait) is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    if not path.exists():
        pytest.skip(f"{path} is not shipped by this matplotlib")
    return path


def iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def assert_no_invented_attributes(value: Any, path: str = "") -> None:
    """Everything but confidence and bounding_box is empty: None scalars, [] lists, structs of those."""
    if isinstance(value, dict):
        for key, inner in value.items():
            assert_no_invented_attributes(inner, f"{path}.{key}")
    else:
        assert value is None or value == [], (path, value)


def test_face_detection_finds_the_one_face_of_a_portrait(portrait: Path) -> None:
    out = one(FACES, file_url=str(portrait))
    [face] = out["items"]
    box = face["bounding_box"]
    found = (box["x_min"], box["y_min"], box["x_max"], box["y_max"])
    assert all(isinstance(v, float) and 0.0 <= v <= 1.0 for v in found)
    assert iou(found, HOPPER_FACE) >= 0.7, (found, HOPPER_FACE)
    assert isinstance(face["confidence"], float) and 0.8 <= face["confidence"] <= 1.0
    rest = {k: v for k, v in face.items() if k not in ("confidence", "bounding_box")}
    assert_no_invented_attributes(rest)
    assert len(rest["landmarks"]) == 52 and rest["hair"] == {"hair_color": [], "bald": None, "invisible": None}
    # bytes in, same faces out
    assert one(FACES, file=portrait.read_bytes()) == out


def test_face_detection_scales_and_ignores_faceless_images(portrait: Path, tmp_path: Path) -> None:
    import cv2

    big = cv2.resize(cv2.imread(str(portrait)), (2048, 2400), interpolation=cv2.INTER_CUBIC)  # above 1280 px
    ok, encoded = cv2.imencode(".png", big)
    assert ok
    [face] = one(FACES, file=encoded.tobytes())["items"]
    box = face["bounding_box"]
    assert iou((box["x_min"], box["y_min"], box["x_max"], box["y_max"]), HOPPER_FACE) >= 0.7
    gradient = np.tile(np.linspace(0, 255, 640, dtype=np.uint8), (480, 1))
    gradient = np.dstack([gradient, gradient[:, ::-1], np.full_like(gradient, 128)])
    path = tmp_path / "gradient.png"
    cv2.imwrite(str(path), gradient)
    assert one(FACES, file_url=str(path)) == {"items": [], "status": "success", "cost": 0.0}


def test_face_detection_failures_are_per_item(cv_deps: None, tmp_path: Path) -> None:
    missing = tmp_path / "photo.jpg"
    out = run(
        FACES,
        [
            {"file_url": str(missing)},
            {"file_url": "http://example.com/photo.jpg"},
            {"file": b"%PDF-1.7 whatever"},
            {"file": b"certainly not a picture"},
            {"file": b""},
            {},
        ],
    )
    assert all(o["status"] == "fail" for o in out)
    messages = [o["error"]["message"] for o in out]
    assert str(missing) in messages[0]
    assert "local file path or the file's bytes" in messages[1]
    assert "not PDF" in messages[2]
    assert "not a readable image" in messages[3]
    assert "empty" in messages[4]
    assert "file_url" in messages[5]


# ---------------------------------------------------------------------------------------------------------------
# text to speech
# ---------------------------------------------------------------------------------------------------------------

SENTENCE = "The quick brown fox jumps over the lazy dog, and the local engine reads it aloud."
PHRASE_FR = "Bonjour à tous, nous partons demain matin pour Marseille avec nos amis."


def decode_wav(out: dict) -> tuple[Any, np.ndarray]:
    raw = base64.b64decode(out["audio"])
    assert int.from_bytes(raw[4:8], "little") == len(raw) - 8  # the RIFF size, which wave does not check
    with wave.open(io.BytesIO(raw)) as reader:
        params = reader.getparams()
        samples = np.frombuffer(reader.readframes(params.nframes), dtype=np.int16)
    assert len(samples) == params.nframes  # the header's sizes match the data
    return params, samples


def seconds(out: dict) -> float:
    params, _ = decode_wav(out)
    return params.nframes / params.framerate


def rms(out: dict) -> float:
    _, samples = decode_wav(out)
    return float(np.sqrt(np.mean(samples.astype(np.float64) ** 2)))


def plausible_duration(text: str, duration: float) -> bool:
    expected = len(text) / 15  # about 15 characters per second of speech
    return 0.5 * expected <= duration <= 3 * expected


@needs_espeak
def test_speech_is_an_audible_wav_of_plausible_length() -> None:
    out = one(SPEECH, text=SENTENCE, language="en")
    params, samples = decode_wav(out)
    assert (params.nchannels, params.sampwidth, params.framerate) == (1, 2, 22050)
    assert plausible_duration(SENTENCE, seconds(out)), seconds(out)
    assert rms(out) > 500, rms(out)  # int16 full scale is 32767; silence is ~0
    assert np.abs(samples).max() > 5000
    assert out["voice_type"] == 1 and out["audio_resource_url"] == ""


@needs_espeak
def test_speech_switches_language_gender_and_prosody() -> None:
    from edenframe._local import speech

    french = one(SPEECH, text=PHRASE_FR, language="fr")
    assert plausible_duration(PHRASE_FR, seconds(french))
    assert rms(french) > 500
    english_voice = one(SPEECH, text=PHRASE_FR, language="en")
    assert french["audio"] != english_voice["audio"]
    assert speech.voice_for("fr") == speech.voice_for("fr-CA") == "fr-fr"
    assert speech.voice_for("en") == speech.voice_for(None) == "en-us"
    assert speech.voice_for("pt-BR") == "pt-br"
    # gender: the female variant changes the voice
    female = one(SPEECH, text=SENTENCE, option="FEMALE")
    male = one(SPEECH, text=SENTENCE, option="MALE")
    assert female["audio"] != male["audio"]
    assert "en-us+f3" in speech.command("espeak-ng", {"text": "x", "option": "FEMALE"})
    # rate, pitch, volume map onto espeak-ng's -s, -p, -a
    fast = one(SPEECH, text=SENTENCE, rate=60)
    slow = one(SPEECH, text=SENTENCE, rate=-40)
    assert seconds(fast) < seconds(male) < seconds(slow)
    assert rms(one(SPEECH, text=SENTENCE, volume=-60)) < 0.6 * rms(one(SPEECH, text=SENTENCE, volume=60))
    args = speech.command("espeak-ng", {"text": "x", "rate": -100, "pitch": 100, "volume": 100})
    assert args[args.index("-s") + 1] == "80" and args[args.index("-p") + 1] == "99"
    assert args[args.index("-a") + 1] == "200"


@needs_espeak
def test_speech_failures_are_per_item() -> None:
    out = run(
        SPEECH,
        [
            {"text": "Hello there.", "language": "tlh"},
            {"text": "Hello there."},
            {"text": "   "},
            {"text": "Hello there.", "audio_format": "mp3"},
            {"text": "Hello there.", "sampling_rate": 16000},
            {"text": "Hello there.", "rate": 150},
            {"text": "Hello there.", "option": "ROBOT"},
        ],
    )
    assert [o["status"] for o in out] == ["fail", "success", "fail", "fail", "fail", "fail", "fail"]
    messages = [o.get("error", {}).get("message", "") for o in out]
    assert "'tlh'" in messages[0] and "espeak-ng --voices" in messages[0]
    assert "non-empty" in messages[2]
    assert "WAV" in messages[3] and "22050" in messages[4]
    assert "rate" in messages[5] and "option" in messages[6]
    with pytest.raises(ValidationError, match="espeak-ng --voices"):
        local_check(SPEECH, {"language": "tlh"})
    local_check(SPEECH, {"language": "fr", "audio_format": "", "sampling_rate": 0})


@needs_espeak
def test_speech_batch_keeps_order() -> None:
    texts = [f"Item number {k}." + " More words." * k for k in range(6)]
    out = run(SPEECH, [{"text": t} for t in texts])
    durations = [seconds(o) for o in out]
    assert durations == sorted(durations)  # longer texts, longer audio: results come back in input order


def test_speech_without_espeak_names_the_apt_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from edenframe._local import _objects

    monkeypatch.setattr(_objects.shutil, "which", lambda name: None)
    with pytest.raises(MissingDependencyError, match="apt-get install espeak-ng"):
        local_compute(SPEECH)([{"text": "hello"}])


@needs_espeak
def test_speech_through_df_eden_stays_aligned_across_windows() -> None:
    """Media results are turned into Arrow a few hundred rows at a time (each can weigh megabytes); rows keep their
    own audio across those boundaries, whatever the index."""
    import pandas as pd

    import edenframe  # noqa: F401  (registers df.eden)

    texts = [f"Row {k}." + (" A few more words here." * 3 if k % 2 else "") for k in range(300)]
    frame = pd.DataFrame({"t": texts}, index=np.arange(300)[::-1] * 7)
    out = frame.eden.text_to_speech("t", providers="local", progress=False)
    assert out["text_to_speech_error"].isna().all()
    durations = np.array([seconds({"audio": audio}) for audio in out["text_to_speech_audio"]])
    long = np.array([k % 2 == 1 for k in range(300)])
    assert durations[long].min() > durations[~long].max()  # every long text got a long clip, on its own row
