"""Rows per request for the packed embeddings methods: v3's `POST /v3/embeddings` takes 2048 inputs for OpenAI
(OA-06 EmbeddingsBody.input, "Max 2048 items for OpenAI"), so `embed` packs 2048 rows a request there and `search`
2047 (the query shares the list); other providers, and v2, keep the catalog's 96. Through the public API against the
emulator (which refuses more than 2048 inputs) over loopback."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

import edenframe
from edenframe.testing import EdenEmulator

ROWS = 5000


def frame() -> pd.DataFrame:
    return pd.DataFrame({"t": [f"text number {i}" for i in range(ROWS)]})


def inputs_per_post(emu: EdenEmulator) -> list[int]:
    return [len(c.json["input"]) for c in emu.calls if c.method == "POST" and c.path == "/v3/embeddings"]


@pytest.fixture
def emu(make_emulator: Callable[..., EdenEmulator]) -> EdenEmulator:
    emulator = make_emulator(connect=False)
    edenframe.configure(api_key=emulator.api_key, base_url=emulator.base_url_v3, cache=False, progress=False)
    return emulator


@pytest.mark.parametrize(
    ("api", "providers", "per_request"),
    [
        ("v3", "openai", 2048),
        ("v3", "openai/text-embedding-3-large", 2048),
        ("v3", "cohere", 96),
        ("v3", "openai,cohere", 96),  # one request serves both: the smaller pack
        ("v2", "openai", 96),
    ],
)
def test_the_plan_packs_the_documented_rows_per_request(
    emu: EdenEmulator, api: str, providers: str, per_request: int
) -> None:
    base_url = emu.base_url_v3 if api == "v3" else emu.base_url
    plan = frame().eden.embed("t", providers=providers, base_url=base_url, dry_run=True)
    full, rest = divmod(ROWS, per_request)
    assert plan["inputs"].tolist() == [per_request] * full + ([rest] if rest else [])
    assert int(plan["rows"].sum()) == ROWS


def test_embed_on_v3_sends_2048_rows_a_request_each_vector_on_its_row(emu: EdenEmulator) -> None:
    df = frame()
    out = df.eden.embed("t", providers="openai")
    assert inputs_per_post(emu) == [2048, 2048, ROWS - 4096]
    assert out["embed_error"].isna().all()
    # the same texts in another order (other packs) give each row the same vector
    shuffled = df.sample(frac=1, random_state=3)
    again = shuffled.eden.embed("t", providers="openai")
    for label in (0, 2047, 2048, 4999):
        assert np.allclose(out.loc[label, "embed_embedding"], again.loc[label, "embed_embedding"])


def test_search_on_v3_packs_2047_texts_with_the_query(emu: EdenEmulator) -> None:
    out = frame().eden.search("t", providers="openai", query="number 7")
    assert inputs_per_post(emu) == [2048, 2048, ROWS - 2 * 2047 + 1]
    assert out["search_error"].isna().all() and out["search_score"].notna().all()
