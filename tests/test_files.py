"""File and media subfeatures through df.eden: URL columns via the batch API, local paths and bytes uploaded as
multipart through the sync endpoint, per-row errors for missing files, save_to, and the offline engines."""

from __future__ import annotations

import base64
import difflib
import http.server
import importlib.util
import shutil
import threading
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from helpers import required_params, sent

import edenframe
from edenframe.testing import EdenEmulator, expected_row

# on the v2 emulator: v3's own subfeatures are refused on v2 (tests/test_v3_subfeatures.py runs them on v3)
V2_ENTRIES = [e for e in edenframe._catalog.all_subfeatures() if not e.v3_only]
FILE_SUBFEATURES = [e for e in V2_ENTRIES if e.input_kind == "file"]
MEDIA_SUBFEATURES = [e for e in V2_ENTRIES if e.media is not None]


@pytest.fixture
def images(tmp_path: Path) -> list[Path]:
    paths = []
    for i in range(3):
        path = tmp_path / f"scan-{i}.png"
        path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes([i]) * 64)
        paths.append(path)
    return paths


def test_url_column_goes_through_the_batch_api(emulator: EdenEmulator) -> None:
    urls = [f"https://images.example.com/photo-{i}.jpg" for i in range(4)]
    df = pd.DataFrame({"image_url": [*urls, None]}, index=list("abcde"))
    out = df.eden.detect_objects("image_url", providers="google")
    launches = [c for c in emulator.calls if c.method == "POST" and "/batch/" in c.path]
    assert [item["file_url"] for item in launches[0].json["requests"]] == urls
    for label, url in zip("abcd", urls, strict=True):
        want = expected_row("image/object_detection", "google", url)["items"]
        assert [item["label"] for item in out.loc[label, "detect_objects_items"]] == [i["label"] for i in want]
    assert out.loc["e", "detect_objects_items"] is pd.NA and out.attrs["edenframe"]["skipped"] == 1


def test_paths_and_bytes_are_uploaded_as_multipart(emulator: EdenEmulator, images: list[Path]) -> None:
    contents = [p.read_bytes() for p in images]
    df = pd.DataFrame({"scan": [str(images[0]), images[1], contents[2], str(images[0])]})
    out = df.eden.ocr("scan", providers="amazon")
    uploads = [c for c in emulator.calls if c.method == "POST" and "/batch/" not in c.path]
    assert len(uploads) == 3  # the repeated path is sent once
    assert all(isinstance(c.json, dict) and c.json["providers"] == "amazon" for c in uploads)
    for position, content in enumerate([contents[0], contents[1], contents[2], contents[0]]):
        want = expected_row("ocr/ocr", "amazon", content)
        assert out["ocr_text"].iloc[position] == want["text"]
    assert out["ocr_error"].isna().all()


def test_missing_file_is_a_row_error_with_its_path(emulator: EdenEmulator, images: list[Path], tmp_path: Path) -> None:
    missing = tmp_path / "nope" / "lost.png"
    df = pd.DataFrame({"scan": [str(images[0]), str(missing), "https://files.example.com/a.png"]})
    with pytest.warns(edenframe.RowErrorWarning, match="1 of 3 rows failed"):
        out = df.eden.parse_invoice("scan", providers="mindee")
    assert str(missing) in out["parse_invoice_error"].iloc[1]
    assert out["parse_invoice_error"].iloc[[0, 2]].isna().all()


def test_non_file_cells_are_refused_before_sending(emulator: EdenEmulator) -> None:
    df = pd.DataFrame({"scan": ["https://a.example/x.png", 42]})
    with pytest.raises(edenframe.ValidationError, match=r"file methods take URLs, local paths or bytes"):
        df.eden.ocr("scan", providers="amazon")
    assert sent(emulator) == []


@pytest.mark.parametrize(
    "entry", [*FILE_SUBFEATURES, *[e for e in MEDIA_SUBFEATURES if e.input_kind != "file"]], ids=lambda e: e.path
)
def test_every_file_and_media_subfeature_with_synthetic(
    emulator: EdenEmulator, entry: edenframe.Subfeature, images: list[Path]
) -> None:
    if entry.input_kind == "file":
        values: list[Any] = ["https://files.example.com/doc-1.png", str(images[0]), images[1].read_bytes()]
        identities: list[Any] = [values[0], images[0].read_bytes(), values[2]]
    else:
        values = ["a red bicycle", "a quiet harbour at dawn"]
        identities = values
    params = required_params(entry)
    out = pd.DataFrame({"input": values}).eden.run(entry.path, "input", providers="synthetic", **params)
    assert out[f"{entry.subfeature}_error"].isna().all()
    for position, identity in enumerate(identities):
        want = expected_row(entry.path, "synthetic", identity, **params)
        for field, t in entry.row_output.fields:
            column = f"{entry.subfeature}_{field}"
            assert out[column].dtype == t.dtype()
            got = out[column].iloc[position]
            if isinstance(want[field], (str, int, float)):
                assert got == pytest.approx(want[field]) if isinstance(want[field], float) else got == want[field]


@pytest.mark.parametrize("entry", MEDIA_SUBFEATURES, ids=lambda e: e.path)
def test_save_to_writes_real_files(emulator: EdenEmulator, entry: edenframe.Subfeature, tmp_path: Path) -> None:
    if entry.input_kind == "file":
        values = ["https://files.example.com/one.pdf", "https://files.example.com/two.pdf"]
    else:
        values = ["first prompt", "second prompt"]
    params = required_params(entry)
    df = pd.DataFrame({"input": values}, index=["row one", "row/two"])
    providers = (entry.providers[0], "synthetic")
    out = df.eden.run(entry.path, "input", providers=list(providers), save_to=tmp_path / "media", **params)
    for provider in providers:
        paths = out[f"{entry.subfeature}_{provider}_path"]
        for position, value in enumerate(values):
            got = paths.iloc[position]
            files = [Path(p) for p in (got if entry.media.within else [got])]  # type: ignore[union-attr]
            want = expected_row(entry.path, provider, value, **params)
            holders = want[entry.media.within] if entry.media.within else [want]  # type: ignore[union-attr]
            assert len(files) == len(holders)
            for path, holder in zip(files, holders, strict=True):
                assert path.parent == tmp_path / "media" / f"{entry.subfeature}_{provider}"
                assert path.name.startswith(("row_one", "row_two"))
                assert path.read_bytes() == base64.b64decode(holder[entry.media.payload])  # type: ignore[union-attr]


class MediaHost:
    """A storage host for resource URLs on loopback: `/flaky.wav` answers 503 once then the file, `/gone.wav` 404.
    Records the headers it received (a resource host must never see the Eden AI key)."""

    WAV = base64.b64decode("UklGRiwAAABXQVZFZm10IBAAAAABAAEAQB8AAEAfAAABAAgAZGF0YQgAAACAgICAgICAgA==")

    def __init__(self) -> None:
        self.headers: list[dict[str, str]] = []
        self.flaky_left = 1
        host = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                host.headers.append(dict(self.headers))
                path = self.path.split("?", 1)[0]
                if path == "/flaky.wav" and host.flaky_left > 0:
                    host.flaky_left -= 1
                    self.send_response(503)
                    self.send_header("Retry-After", "0")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif path == "/flaky.wav":
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(host.WAV)))
                    self.end_headers()
                    self.wfile.write(host.WAV)
                else:
                    self.send_error(404)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def media_host() -> Iterator[MediaHost]:
    host = MediaHost()
    yield host
    host.close()


def _speech(index: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"line": [f"line {label}" for label in index]}, index=index)


TTS = edenframe.get_subfeature("audio/text_to_speech")


def test_a_file_that_cannot_be_saved_is_a_row_error(emulator: EdenEmulator, tmp_path: Path) -> None:
    folder = tmp_path / "speech" / "text_to_speech_synthetic"
    (folder / "b.wav").mkdir(parents=True)  # a directory where row b's file goes: that one file cannot be written
    df = _speech(["a", "b", "c"])
    with pytest.warns(edenframe.RowErrorWarning, match=r"1 of 3 rows failed .*could not write .*b\.wav"):
        out = df.eden.text_to_speech("line", providers="synthetic", save_to=tmp_path / "speech", **required_params(TTS))
    assert out.attrs["edenframe"]["failed"] == 1
    assert "could not write" in out.loc["b", "text_to_speech_error"]
    assert pd.isna(out.loc["b", "text_to_speech_path"])
    assert out.loc["b", "text_to_speech_audio"]  # the row's results are kept: nothing was lost
    for label in "ac":
        assert pd.isna(out.loc[label, "text_to_speech_error"])
        assert Path(out.loc[label, "text_to_speech_path"]) == folder / f"{label}.wav"
        assert (folder / f"{label}.wav").read_bytes() == base64.b64decode(out.loc[label, "text_to_speech_audio"])

    with pytest.raises(edenframe.RowErrors, match="could not write") as raised:
        df.eden.text_to_speech(
            "line", providers="synthetic", save_to=tmp_path / "speech", errors="raise", **required_params(TTS)
        )
    assert list(raised.value.errors.index) == ["b"]
    assert raised.value.result.attrs["edenframe"]["failed"] == 1


def test_a_folder_that_cannot_be_created_fails_every_row_it_holds(emulator: EdenEmulator, tmp_path: Path) -> None:
    (tmp_path / "text_to_speech_synthetic").write_text("a file where the folder goes")
    with pytest.warns(edenframe.RowErrorWarning, match="2 of 2 rows failed .*could not create the folder"):
        out = _speech(["a", "b"]).eden.text_to_speech(
            "line", providers="synthetic", save_to=tmp_path, **required_params(TTS)
        )
    assert out.attrs["edenframe"]["failed"] == 2
    assert out["text_to_speech_path"].isna().all()


def test_resource_urls_are_downloaded_with_retries_and_without_the_key(
    emulator: EdenEmulator, media_host: MediaHost, tmp_path: Path
) -> None:
    edenframe.configure(backoff_base=0.01, backoff_max=0.05)
    secret = "?Signature=do-not-log"
    emulator.responses["audio/text_to_speech"] = {
        "google": {"audio": None, "voice_type": 1, "audio_resource_url": f"{media_host.url}/flaky.wav{secret}"},
        "amazon": {"audio": None, "voice_type": 1, "audio_resource_url": f"{media_host.url}/gone.wav{secret}"},
        "microsoft": {"audio": "abc", "voice_type": 1, "audio_resource_url": ""},  # base64 that does not decode
    }
    df = _speech(["a", "b"])
    with pytest.warns(edenframe.RowErrorWarning, match="2 of 2 rows failed"):
        out = df.eden.text_to_speech(
            "line", providers="google,amazon,microsoft", save_to=tmp_path, **required_params(TTS)
        )
    assert out.attrs["edenframe"]["failed"] == 2
    for label in "ab":
        path = Path(out.loc[label, "text_to_speech_google_path"])
        assert path == tmp_path / "text_to_speech_google" / f"{label}.wav"
        assert path.read_bytes() == MediaHost.WAV  # the first attempt got a 503: retried
        assert pd.isna(out.loc[label, "text_to_speech_google_error"])
        gone = out.loc[label, "text_to_speech_amazon_error"]
        assert gone == f"could not download {media_host.url}/gone.wav: HTTP 404"
        assert "could not decode the base64 payload" in out.loc[label, "text_to_speech_microsoft_error"]
        assert pd.isna(out.loc[label, "text_to_speech_amazon_path"])
    assert media_host.flaky_left == 0
    assert all("Authorization" not in headers for headers in media_host.headers)
    assert emulator.api_key not in " ".join(str(h) for h in media_host.headers)


def test_one_provider_calls_into_one_directory_keep_each_providers_files(
    emulator: EdenEmulator, tmp_path: Path
) -> None:
    df = _speech(["a", "b"])
    paths = {}
    for provider in ("google", "amazon", "microsoft"):
        out = df.eden.text_to_speech("line", providers=provider, save_to=tmp_path, **required_params(TTS))
        paths[provider] = out["text_to_speech_path"].tolist()
        assert paths[provider] == [str(tmp_path / f"text_to_speech_{provider}" / f"{k}.wav") for k in "ab"]
    for provider, saved in paths.items():  # every call's files are still there, with that provider's audio
        for label, path in zip("ab", saved, strict=True):
            want = expected_row(TTS.path, provider, f"line {label}", **required_params(TTS))["audio"]
            assert Path(path).read_bytes() == base64.b64decode(want)
    both = df.eden.text_to_speech("line", providers="google,amazon", save_to=tmp_path, **required_params(TTS))
    assert both["text_to_speech_google_path"].tolist() == paths["google"]  # the same file whatever the call


def test_save_to_is_refused_for_methods_without_files(emulator: EdenEmulator, tmp_path: Path) -> None:
    with pytest.raises(edenframe.ValidationError, match="save_to= only applies"):
        pd.DataFrame({"t": ["x"]}).eden.sentiment("t", providers="google", save_to=tmp_path)


# --- the offline engines end to end ---------------------------------------------------------------------------------


def _skip_unless(*binaries: str, modules: tuple[str, ...] = ()) -> None:
    for binary in binaries:
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed (apt-get install it; .ci/run does)")
    for module in modules:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"{module} is not installed (pip install 'edenframe[local-vision]')")


@pytest.mark.extra("local-vision")
def test_local_ocr_through_the_accessor(tmp_path: Path) -> None:
    _skip_unless("tesseract", modules=("PIL",))
    from PIL import Image, ImageDraw, ImageFont

    lines = ["Invoice 4711 for Ada Lovelace", "Total due: 1,234.56 EUR", "Thank you for your order"]
    image = Image.new("RGB", (1100, 260), "white")
    draw = ImageDraw.Draw(image)
    font = ImageFont.load_default(size=40)
    for row, line in enumerate(lines):
        draw.text((30, 30 + 70 * row), line, fill="black", font=font)
    path = tmp_path / "invoice.png"
    image.save(path)
    out = pd.DataFrame({"scan": [str(path), None]}).eden.ocr("scan")
    text = out["ocr_text"].iloc[0]
    ratio = difflib.SequenceMatcher(None, " ".join(lines), " ".join(text.split())).ratio()
    assert ratio >= 0.95, text
    boxes = out["ocr_bounding_boxes"].iloc[0]
    assert len(boxes) >= 12 and all(0.0 <= b["left"] <= 1.0 and 0.0 <= b["top"] <= 1.0 for b in boxes)
    assert out.attrs["edenframe"]["providers"] == ["local"]


def test_local_face_detection_through_the_accessor() -> None:
    _skip_unless(modules=("cv2", "matplotlib"))
    spec = importlib.util.find_spec("matplotlib")
    assert spec is not None and spec.submodule_search_locations
    portrait = Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "sample_data" / "grace_hopper.jpg"
    out = pd.DataFrame({"photo": [portrait]}).eden.detect_faces("photo")
    faces = out["detect_faces_items"].iloc[0]
    assert len(faces) == 1
    box = faces[0]["bounding_box"]
    assert 0.2 < box["x_min"] < box["x_max"] < 0.85 and 0.05 < box["y_min"] < box["y_max"] < 0.8


def test_local_speech_saved_as_wav(tmp_path: Path) -> None:
    _skip_unless("espeak-ng")
    sentence = "The quick brown fox jumps over the lazy dog near the river bank."
    df = pd.DataFrame({"sentence": [sentence, "Bonjour tout le monde"]}, index=["en", "fr"])
    out = df.eden.text_to_speech("sentence", save_to=tmp_path)
    with wave.open(out.loc["en", "text_to_speech_path"]) as audio:
        seconds = audio.getnframes() / audio.getframerate()
        frames = audio.readframes(audio.getnframes())
    assert 0.5 * len(sentence) / 15 < seconds < 3 * len(sentence) / 15
    assert max(frames) > 0 and len(set(frames)) > 50  # not silence
    assert Path(out.loc["fr", "text_to_speech_path"]).name == "fr.wav"
