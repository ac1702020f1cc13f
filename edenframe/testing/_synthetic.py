"""The schema-driven `synthetic` provider: deterministic, schema-valid standardized outputs for every subfeature.

Values are derived from a SHA-256 of (subfeature path, provider, input value, parameters), never from `hash()` or
the position of a row, so the same input always gives the same result in every process, and a client may pack,
order and split its requests however it likes. Different providers give different values.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import struct as _struct
import zlib
from typing import Any

from .._catalog import MISSING, Subfeature, get_subfeature
from .._prices import estimate_cost
from .._schema import FLOAT, STR, ListOf, Struct, Type

# Request options common to every subfeature (wire-format.md section 1.2): never part of a synthetic result's seed.
COMMON_OPTIONS = frozenset(
    {
        "providers",
        "fallback_providers",
        "settings",
        "response_as_dict",
        "attributes_as_list",
        "show_original_response",
        "show_base_64",
    }
)

DEFAULT_EMBEDDING_SIZE = 8
_SNIPPET_CHARS = 200


class _Stream:
    """An endless, platform-independent stream of pseudo-random numbers from a seed (SHA-256 in counter mode)."""

    def __init__(self, *seed: Any) -> None:
        self._seed = hashlib.sha256(_canonical(seed).encode()).digest()
        self._counter = 0
        self._buffer = b""

    @property
    def digest8(self) -> str:
        return self._seed.hex()[:8]

    def _bytes(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._buffer += hashlib.sha256(self._seed + self._counter.to_bytes(8, "big")).digest()
            self._counter += 1
        out, self._buffer = self._buffer[:n], self._buffer[n:]
        return out

    def u64(self) -> int:
        value: int = _struct.unpack(">Q", self._bytes(8))[0]
        return value

    def below(self, n: int) -> int:
        return self.u64() % n if n > 0 else 0

    def unit(self) -> float:
        """A float in [0, 1)."""
        return (self.u64() >> 11) / float(1 << 53)

    def token(self) -> str:
        return self._bytes(4).hex()


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, (tuple, set, frozenset)):
        return list(value)
    return str(value)


def canonical_input(entry: Subfeature, item: dict[str, Any]) -> Any:
    """The request item's input value, in the form that seeds its result (uploaded bytes become their SHA-256)."""
    value = item.get(entry.input_field)
    if value is None and entry.input_kind == "file":
        value = item.get("file")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return "sha256:" + hashlib.sha256(bytes(value)).hexdigest()
    if isinstance(value, tuple):
        return list(value)
    return value


def canonical_params(entry: Subfeature, item: dict[str, Any]) -> dict[str, Any]:
    """The subfeature parameters of a request item that influence its result: explicit, non-null, not the default.

    Sending `language=None` or a parameter's default value therefore gives the same result as leaving it out.
    """
    params: dict[str, Any] = {}
    for p in entry.params:
        if p.name not in item:
            continue
        value = item[p.name]
        if value is None or (p.default is not MISSING and value == p.default):
            continue
        params[p.name] = list(value) if isinstance(value, tuple) else value
    return params


def _snippet(value: Any) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, list):
        text = " | ".join(str(v) for v in value)
    else:
        text = "" if value is None else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _SNIPPET_CHARS else text[: _SNIPPET_CHARS - 1] + "…"


class _Generator:
    """Walks an output type and fills it from one stream, with hints taken from the request."""

    def __init__(self, stream: _Stream, text: Any, params: dict[str, Any]) -> None:
        self.stream = stream
        self.text = text
        self.params = params

    def value(self, t: Type, name: str, top: bool = False) -> Any:
        if top and t == STR:
            return self._string(name, top=True)
        return t.sample(name, self)  # the type walks itself, drawing from this generator (a `Source`)

    # -- the `Source` the types draw from ------------------------------------------------------------------------

    def below(self, n: int) -> int:
        return self.stream.below(n)

    def unit(self) -> float:
        return self.stream.unit()

    def token(self) -> str:
        return self.stream.token()

    def string(self, name: str) -> str:
        return self._string(name, top=False)

    def embedding(self) -> list[float]:
        return self._embedding()

    def _string(self, name: str, top: bool) -> str:
        # A string field `label` picks from a list parameter `labels` (custom classification), and so on.
        choices = self.params.get(f"{name}s")
        if isinstance(choices, list) and choices and all(isinstance(c, str) for c in choices):
            return choices[self.stream.below(len(choices))]
        token = self.stream.token()
        if top:
            # Top-level strings (a translation, a summary, generated text) carry the input, so tests can see which
            # row a value belongs to: "[text 1a2b3c4d] the input".
            return f"[{name} {token}] {_snippet(self.text)}"
        return f"{name}-{token}"

    def _embedding(self) -> list[float]:
        size = self.params.get("dimensions")
        try:
            n = int(size) if size is not None else DEFAULT_EMBEDDING_SIZE
        except (TypeError, ValueError):
            n = DEFAULT_EMBEDDING_SIZE
        n = max(1, n)
        return [round(self.stream.unit() * 2.0 - 1.0, 6) for _ in range(n)]


def _item_type(entry: Subfeature) -> Struct:
    assert entry.pack is not None and entry.pack.items_field is not None
    items = entry.output.field(entry.pack.items_field)
    if not isinstance(items, ListOf) or not isinstance(items.item, Struct):
        raise TypeError(f"{entry.path}: packed field {entry.pack.items_field!r} must be a list of objects")
    return items.item


def _packed_item(entry: Subfeature, provider: str, text: Any, params: dict[str, Any], index: int) -> dict[str, Any]:
    """One input text's item: depends only on (path, provider, text, params); `index` only fills the index field."""
    assert entry.pack is not None
    item_type = _item_type(entry)
    gen = _Generator(_Stream(entry.path, provider, "item", text, params), text, params)
    out: dict[str, Any] = {}
    for field, ft in item_type.fields:
        if field == entry.pack.index_field:
            out[field] = index
        elif field in entry.pack.drop:
            out[field] = _dropped_constant(entry, field, ft, text, gen)
        else:
            out[field] = gen.value(ft, field)
    return out


def _dropped_constant(entry: Subfeature, field: str, t: Type, text: Any, gen: _Generator) -> Any:
    """Fields that are not row results: a type tag (`object: "search_result"`) or an echo of the input."""
    if t == STR:
        return f"{entry.subfeature}_result" if field == "object" else text
    return gen.value(t, field)


def _sort_key_field(item_type: Struct, skip: set[str]) -> str | None:
    for field, ft in item_type.fields:
        if field not in skip and ft == FLOAT:
            return field
    return None


def synthetic_output(entry: Subfeature, provider: str, item: dict[str, Any]) -> dict[str, Any]:
    """The standardized output of `provider` for one request item (fields only: no `status`, no `cost`).

    Valid for `entry.output`, deterministic in (subfeature, provider, input value, parameters). For packed
    subfeatures each input text gets its own item, which depends only on that text, never on its position.
    """
    params = canonical_params(entry, item)
    value = canonical_input(entry, item)
    pack = entry.pack
    if pack is None or pack.items_field is None:
        gen = _Generator(_Stream(entry.path, provider, value, params), value, params)
        out = {field: gen.value(ft, field, top=True) for field, ft in entry.output.fields}
        return _with_media(entry, out, provider, value)

    texts = value if isinstance(value, list) else [] if value is None else [value]
    items = [_packed_item(entry, provider, text, params, index) for index, text in enumerate(texts)]
    if pack.index_field is not None:
        key = _sort_key_field(_item_type(entry), {pack.index_field, *pack.drop})
        if key is not None:
            # As real search does: best match first (a stable sort, so ties keep input order).
            items.sort(key=lambda it: -float(it[key]))
    gen = _Generator(_Stream(entry.path, provider, value, params), value, params)
    out: dict[str, Any] = {}
    for field, ft in entry.output.fields:
        out[field] = items if field == pack.items_field else gen.value(ft, field, top=True)
    return out


def _with_media(entry: Subfeature, out: dict[str, Any], provider: str, value: Any) -> dict[str, Any]:
    """Media payloads as real files (a PNG, a WAV, a PDF), base64-encoded as Eden AI sends them."""
    media = entry.media
    if media is None:
        return out
    holders = out.get(media.within) if media.within else [out]
    for position, holder in enumerate(holders or []):
        digest = _Stream(entry.path, provider, value, position).digest8
        content, extension = _media_file(media.kind, digest)
        holder[media.payload] = base64.b64encode(content).decode("ascii")
        holder[media.url] = f"https://media.edenframe.invalid/{digest}.{extension}"
    return out


def _media_file(kind: str, digest: str) -> tuple[bytes, str]:
    shade = int(digest[:6], 16).to_bytes(3, "big")
    if kind == "image":  # a valid 1x1 PNG whose colour comes from the digest

        def chunk(tag: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

        header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
        pixels = zlib.compress(b"\x00" + shade)
        return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b""), "png"
    if kind == "audio":  # 0.1 s of 8 kHz mono 8-bit WAV
        samples = bytes((shade[i % 3] + 16 * (i % 8)) % 256 for i in range(800))
        fmt = struct.pack("<HHIIHH", 1, 1, 8000, 8000, 1, 8)
        body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(samples))
        return b"RIFF" + struct.pack("<I", len(body) + len(samples)) + body + samples, "wav"
    return f"%PDF-1.4\n% edenframe synthetic document {digest}\n%%EOF\n".encode(), "pdf"


def synthetic_cost(entry: Subfeature, provider: str, item: dict[str, Any]) -> float:
    """The cost charged for one request item: Eden AI's listed price (`estimate_cost` on the shipped price table)
    when it knows the provider's price, so that edenframe's estimates and the emulator's charges agree; otherwise
    (the `synthetic` provider, unpriced providers or units) a small deterministic cost, 0.0001 per input text
    plus 1e-7 per input character. `local` is free."""
    if provider.split("/", 1)[0].strip() == "local":
        return 0.0
    estimate = estimate_cost(entry, provider, item)
    if estimate is not None:
        return estimate
    value = canonical_input(entry, item)
    texts = value if isinstance(value, list) else [value]
    chars = sum(len(t) for t in texts if isinstance(t, str))
    return round(0.0001 * len(texts) + 1e-7 * chars, 10)


def expected_row(path_or_method: str, provider: str, value: Any, **params: Any) -> dict[str, Any]:
    """The result a client should show on the row whose input is `value`, sent to `provider` with `params`.

    For packed subfeatures (embeddings, search, custom_classification) that is the row's own item without the
    echo/constant fields and the index field; otherwise the whole standardized output. `provider="local"` runs the
    offline implementation instead of the synthetic generator.
    """
    entry = get_subfeature(path_or_method)
    pack = entry.pack
    packed = pack is not None and pack.items_field is not None
    if pack is not None and pack.items_field is None and not isinstance(value, (list, tuple)):
        value = [value]  # one row per request, sent as a one-element `texts` list
    item = {entry.input_field: [value] if packed else value, **params}
    if provider.split("/", 1)[0].strip() == "local":
        from .._local import local_compute

        result = dict(local_compute(entry.path)([item])[0])
        if result.get("status") == "fail":
            raise ValueError(f"the local provider failed on {value!r}: {result.get('error')}")
        for key in ("status", "cost", "usage", "original_response", "provider"):
            result.pop(key, None)
        output = result
    else:
        output = synthetic_output(entry, provider, item)
    if not packed:
        return output
    assert pack is not None and pack.items_field is not None
    row = dict(output[pack.items_field][0])
    for field in (*pack.drop, pack.index_field):
        if field is not None:
            row.pop(field, None)
    return row
