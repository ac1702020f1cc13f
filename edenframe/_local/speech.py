"""audio/text_to_speech offline with eSpeak NG (Debian `espeak-ng`), run as a separate process.

eSpeak NG is GPL-3.0, so edenframe never loads it into the Python process: it runs the `espeak-ng` command, one
process per text (about 10-50 ms each), several at once on a small thread pool. The voice is a robotic formant
synthesiser, intelligible but far from the neural voices of remote providers.

Request fields, as Eden AI's:

* `language`: an ISO code ('en', 'fr', 'pt-BR'); matched to an installed eSpeak NG voice, using eSpeak's own
  language priorities ('fr' -> fr-fr), except plain 'en', which picks en-us. A region eSpeak does not have falls
  back to the base language ('fr-CA' -> fr-fr). Empty or None means en-us. An unknown language fails the item and
  says to look at `espeak-ng --voices`.
* `option`: 'FEMALE' adds eSpeak's `+f3` variant; 'MALE' and '' use the default (male) voice.
* `rate`, `pitch`, `volume`: -100..100 percent changes, mapped to `-s` (175 words per minute x (1 + rate/100),
  clamped to eSpeak's 80..450), `-p` (50 + pitch/2, within 0..99) and `-a` (100 + volume, within 0..200).
* `audio_format`: only '' or 'wav' (eSpeak writes WAV; Eden AI's default is mp3, which would need an encoder);
  `sampling_rate`: 0 or 22050 (eSpeak's only rate). Other values fail the item instead of mislabelling audio.
* Text starting with `<speak` is read as SSML (`-m`).

Output: `audio` is the base64 of a 16-bit mono 22050 Hz WAV; `voice_type` is 1, which is what Eden AI's own
amazon, google and microsoft connectors always return (edenai-apis sets it to 1 whatever the gender);
`audio_resource_url` is "" because nothing is uploaded offline (the schema requires a string).
"""

from __future__ import annotations

import base64
import re
import struct
import subprocess
import threading
from functools import cache

from .._errors import ValidationError
from ._files import ItemError, map_items, parallel_chunk_items, worker_count
from ._objects import require_binary

ESPEAK = "espeak-ng"
INSTALL_HINT = "apt-get install espeak-ng"
SAMPLE_RATE = 22050
DEFAULT_VOICE = "en-us"
FEMALE_VARIANT = "+f3"
VOICE_TYPE = 1  # what Eden AI's connectors return for every voice
TIMEOUT_SECONDS = 300
_PREFERRED = {"en": "en-us"}  # over eSpeak's own choice (en-gb)
_OTHER_LANGUAGE = re.compile(r"\(([^\s()]+)\s+(\d+)\)")

_LOCK = threading.Lock()


def _require_binary() -> str:
    return require_binary(ESPEAK, "speaks text with eSpeak NG", INSTALL_HINT)


@cache
def _voices_cached(binary: str) -> dict[str, str]:
    """Language code (lower case) -> voice, from `espeak-ng --voices`: the voices' own codes, then the aliases of
    their "Other Languages" column by eSpeak's priority (lower wins)."""
    proc = subprocess.run([binary, "--voices"], capture_output=True, text=True, timeout=60, check=False)
    exact: dict[str, str] = {}
    aliases: dict[str, tuple[int, str]] = {}
    for line in proc.stdout.splitlines()[1:]:
        parts = line.split()
        if len(parts) < 5:
            continue
        code = parts[1].lower()
        exact.setdefault(code, code)
        for alias, priority in _OTHER_LANGUAGE.findall(line):
            alias = alias.lower()
            if alias not in aliases or int(priority) < aliases[alias][0]:
                aliases[alias] = (int(priority), code)
    return {**{alias: code for alias, (_, code) in aliases.items()}, **exact}


def voices() -> dict[str, str]:
    """Installed eSpeak NG voices: language code -> voice name to pass to `-v`."""
    binary = _require_binary()
    with _LOCK:
        return _voices_cached(binary)


def voice_for(language: object) -> str:
    """The eSpeak NG voice for an Eden AI language code; ItemError when none is installed."""
    if language is None or (isinstance(language, str) and not language.strip()):
        return DEFAULT_VOICE
    if not isinstance(language, str):
        raise ItemError(f"language must be a string such as 'en' or 'fr', got {type(language).__name__}")
    table = voices()
    key = language.strip().replace("_", "-").lower()
    base = key.split("-", 1)[0]
    for code in (key, base):  # 'fr-ca' -> 'fr' when eSpeak has no Canadian French
        preferred = _PREFERRED.get(code)
        if preferred in table:
            return preferred
        if code in table:
            return table[code]
    raise ItemError(
        f"no eSpeak NG voice for language {language!r}; `espeak-ng --voices` lists the installed languages "
        "(e.g. en, en-gb, fr, de, es, pt-br, cmn). Or use a remote provider."
    )


def _percent(item: dict, name: str) -> int:
    value = item.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int | float) or not -100 <= value <= 100:
        raise ItemError(f"{name} must be a number from -100 to 100, got {value!r}")
    return round(value)


def _check_format(params: dict) -> None:
    audio_format = params.get("audio_format")
    if audio_format not in (None, "") and str(audio_format).strip().lower() not in ("wav", "audio/wav", "wave"):
        raise ItemError(f"local text_to_speech writes WAV only, not {audio_format!r}: pass audio_format='' or 'wav'")
    rate = params.get("sampling_rate")
    if rate not in (None, 0, SAMPLE_RATE):
        raise ItemError(f"local text_to_speech produces {SAMPLE_RATE} Hz audio only, not {rate!r}: pass 0")


def check(params: dict) -> None:
    """Pre-flight: `espeak-ng` is installed, has a voice for `language`, and the format is WAV at 22050 Hz."""
    _require_binary()
    try:
        voice_for(params.get("language"))
        _check_format(params)
    except ItemError as exc:
        raise ValidationError(f"the 'local' provider cannot do this text_to_speech call: {exc}") from None


def command(binary: str, item: dict) -> list[str]:
    """The espeak-ng command line for one item (the text goes on stdin)."""
    voice = voice_for(item.get("language"))
    option = item.get("option") or ""
    if not isinstance(option, str) or option.strip().upper() not in ("", "FEMALE", "MALE"):
        raise ItemError(f"option must be 'FEMALE', 'MALE' or '', got {option!r}")
    if option.strip().upper() == "FEMALE":
        voice += FEMALE_VARIANT
    speed = min(450, max(80, round(175 * (1 + _percent(item, "rate") / 100))))
    pitch = min(99, max(0, round(50 + _percent(item, "pitch") / 2)))
    amplitude = min(200, max(0, 100 + _percent(item, "volume")))
    args = [binary, "-b", "1", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude)]
    if item["text"].lstrip().startswith("<speak"):
        args.append("-m")
    return [*args, "--stdin", "--stdout"]


def _fixed_wav(raw: bytes) -> bytearray:
    """espeak-ng writing to a pipe cannot seek back to fill in the RIFF sizes (it leaves 0x7ffff000 there): the
    same file with the sizes of the PCM data actually received (patched in one copy: this runs for every row, on
    hundreds of KB)."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        raise ItemError("espeak-ng returned no WAV data")
    pos, frame = 12, 0
    while pos + 8 <= len(raw):
        chunk, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        if chunk == b"fmt " and size >= 16:
            channels, bits = struct.unpack_from("<H", raw, pos + 10)[0], struct.unpack_from("<H", raw, pos + 22)[0]
            frame = channels * bits // 8
        elif chunk == b"data":
            if not frame:
                break
            pcm = len(raw) - pos - 8
            pcm -= pcm % frame
            wav = bytearray(memoryview(raw)[: pos + 8 + pcm])  # a slice of `raw` itself would be a second copy
            struct.pack_into("<I", wav, 4, len(wav) - 8)
            struct.pack_into("<I", wav, pos + 4, pcm)
            return wav
        pos += 8 + size + (size & 1)
    raise ItemError("espeak-ng returned a WAV without format or data")


def _speak(binary: str, item: dict) -> dict:
    text = item.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ItemError("'text' must be a non-empty string")
    _check_format(item)
    proc = subprocess.run(
        command(binary, item), input=text.encode("utf-8"), capture_output=True, timeout=TIMEOUT_SECONDS, check=False
    )
    if proc.returncode != 0:
        raise ItemError(f"espeak-ng failed (exit {proc.returncode}): {proc.stderr.decode('utf-8', 'replace')[:400]}")
    audio = _fixed_wav(proc.stdout)
    return {
        "audio": base64.b64encode(audio).decode("ascii"),
        "voice_type": VOICE_TYPE,
        "audio_resource_url": "",  # nothing is uploaded offline; Eden AI's schema requires a string
    }


# items run in parallel: each call into this backend should keep every thread busy
MIN_CHUNK_ITEMS = parallel_chunk_items()


def compute(items: list[dict]) -> list[dict]:
    """One `{audio, voice_type, audio_resource_url}` per text; a few espeak-ng processes run at once."""
    binary = _require_binary()
    return map_items(items, lambda item: _speak(binary, item), workers=worker_count(len(items)))
