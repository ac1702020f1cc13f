"""v3 answers whose shape is not v2's, through the public API against the emulator's v3 URL: invoices and receipts
(the financial parser's fields mapped back to v2's), text to speech (a link only: `save_to` downloads it), semantic
search (embeddings and cosine similarity in the client) and the emulator's fixed answers (`responses=`) on v3."""

from __future__ import annotations

import json
import time
import urllib.request
import wave
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from edenframe import RowErrorWarning
from edenframe._transport.rate_budget import budget_for
from edenframe._v3_models import FINANCIAL_TO_INVOICE, FINANCIAL_TO_RECEIPT, V3_SUBFEATURES, OutputMap
from edenframe.testing import EdenEmulator

FILES = ["https://example.com/a.pdf", "https://example.com/b.pdf", "https://example.com/a.pdf"]


def _run(emu: EdenEmulator, frame: pd.DataFrame, method: str, base_url: str, **options: Any) -> pd.DataFrame:
    return getattr(frame.eden, method)(
        "x", base_url=base_url, api_key=emu.api_key, cache=False, progress=False, **options
    )


def _leaves(value: Any, prefix: str = "") -> set[str]:
    """The dotted paths of every non-null leaf of a parsed document (list elements as "[]")."""
    if isinstance(value, dict):
        return {leaf for key, item in value.items() for leaf in _leaves(item, f"{prefix}.{key}" if prefix else key)}
    if isinstance(value, (list, np.ndarray)):
        return {leaf for item in value for leaf in _leaves(item, prefix + "[]")}
    return set() if value is None or value is pd.NA else {prefix}


def _mapped(shape: OutputMap) -> set[str]:
    return {v2 for v2, _ in shape.fields}


# -- 1. invoices and receipts --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "shape"), [("parse_invoice", FINANCIAL_TO_INVOICE), ("parse_receipt", FINANCIAL_TO_RECEIPT)]
)
def test_invoices_and_receipts_fill_the_same_fields_on_v2_and_v3(method: str, shape: OutputMap) -> None:
    """The same synthetic document: every v2 field the mapping has a v3 source for is filled on v3 as on v2, and
    v3 fills nothing v2 lacks (before the mapping, almost every v2 field came back null on v3)."""
    frame = pd.DataFrame({"x": FILES}, index=[4, 5, 6])
    with EdenEmulator() as emu:
        v2 = _run(emu, frame, method, emu.base_url, providers="amazon", language="en")
        v3 = _run(emu, frame, method, emu.base_url_v3, providers="amazon", language="en")
    assert list(v3.columns) == list(v2.columns) and v3.dtypes.to_dict() == v2.dtypes.to_dict()
    column = f"{method}_extracted_data"
    assert v3[f"{method}_error"].isna().all()
    for position in range(len(frame)):
        on_v2 = set().union(*(_leaves(doc) for doc in v2[column].iloc[position]))
        on_v3 = set().union(*(_leaves(doc) for doc in v3[column].iloc[position]))
        assert on_v3 <= on_v2
        assert on_v3 == on_v2 & _mapped(shape), sorted((on_v2 & _mapped(shape)) ^ on_v3)
        assert len(on_v3) > 20


def test_the_mapping_reads_only_documented_financial_fields() -> None:
    """Every v3 source is a field of the financial parser's documented output (the page's Output table)."""
    output = V3_SUBFEATURES["ocr/financial_parser"].output
    assert output is not None
    documented = _leaves(output.sample("x"), "")
    element_fields = {path.removeprefix("extracted_data[].") for path in documented}
    for shape in (FINANCIAL_TO_INVOICE, FINANCIAL_TO_RECEIPT):
        for source in shape.sources():
            assert source in element_fields, source


FINANCIAL_ANSWER = {
    "extracted_data": [
        {
            "customer_information": {"name": "Ada Client", "billing_address": "1 Rue A", "customer_number": "C-9"},
            "merchant_information": {"name": "Shop SA", "address": "2 Road B", "website": "https://shop.example"},
            "payment_information": {
                "total": 120.5,
                "subtotal": 100.0,
                "total_tax": 20.5,
                "tax_rate": 20.0,
                "amount_tip": 3.0,
                "payment_card_number": "**** 4242",
                "amount_change": 0.25,
            },
            "financial_document_information": {
                "invoice_receipt_id": "INV-7",
                "invoice_date": "2026-05-01",
                "time": "10:30",
                "barcodes": [{"value": "123", "type": "EAN"}],
            },
            "local": {"currency": "euro", "currency_code": "EUR", "country": "FR", "language": "fr"},
            "bank": {"iban": "FR76 0000", "bic": "BNPAFRPP"},
            "item_lines": [
                {"description": "tea", "quantity": 2.0, "unit_price": 1.5, "amount_line": 3.0, "tax": 0.6},
                {"description": "cake", "amount_line": 4.0, "discount_amount": 0.5},
            ],
            "document_metadata": {"document_index": 0, "document_page_number": 1, "document_type": "invoice"},
        }
    ],
    "cost": 0.01,
}


def test_an_invoice_maps_field_by_field() -> None:
    frame = pd.DataFrame({"x": FILES[:1]})
    with EdenEmulator(responses={"ocr/financial_parser": {"mindee": FINANCIAL_ANSWER}}) as emu:
        out = _run(emu, frame, "parse_invoice", emu.base_url_v3, providers="mindee", language="en")
        [sent] = [c.json for c in emu.calls if c.path == "/v3/universal-ai"]
    assert sent["input"]["document_type"] == "invoice"
    [doc] = out["parse_invoice_extracted_data"].iloc[0]
    assert doc["customer_information"]["customer_name"] == "Ada Client"
    assert doc["customer_information"]["customer_address"] == "1 Rue A"  # billing, the first of the alternatives
    assert doc["customer_information"]["customer_id"] == "C-9"
    assert doc["merchant_information"]["merchant_website"] == "https://shop.example"
    assert (doc["invoice_number"], doc["invoice_total"], doc["invoice_subtotal"]) == ("INV-7", 120.5, 100.0)
    assert doc["taxes"] == [{"value": 20.5, "rate": 20.0}]
    assert doc["date"] == "2026-05-01" and doc["locale"] == {"currency": "EUR", "language": "fr"}
    assert doc["bank_informations"]["iban"] == "FR76 0000" and doc["bank_informations"]["swift"] == "BNPAFRPP"
    lines = list(doc["item_lines"])
    assert [line["description"] for line in lines] == ["tea", "cake"]
    assert [line["amount"] for line in lines] == [3.0, 4.0]
    assert lines[0]["tax_item"] == 0.6 and lines[1]["discount"] == 0.5 and lines[1]["quantity"] is None
    assert out["parse_invoice_cost"].iloc[0] == 0.01


def test_a_receipt_maps_field_by_field_with_v2s_string_amounts() -> None:
    frame = pd.DataFrame({"x": FILES[:1]})
    with EdenEmulator(responses={"ocr/financial_parser": {"mindee": FINANCIAL_ANSWER}}) as emu:
        out = _run(emu, frame, "parse_receipt", emu.base_url_v3, providers="mindee", language="en")
    assert out["parse_receipt_error"].isna().all()
    [doc] = out["parse_receipt_extracted_data"].iloc[0]
    assert doc["time"] == "10:30" and list(doc["barcodes"]) == [{"value": "123", "type": "EAN"}]
    assert doc["payment_information"] == {
        "card_type": None,
        "card_number": "**** 4242",
        "cash": None,
        "tip": "3",  # v2's receipt holds its amounts as strings
        "discount": None,
        "change": "0.25",
    }
    assert doc["taxes"] == [{"taxes": 20.5, "rate": 20.0}] and doc["locale"]["country"] == "FR"
    assert [line["amount"] for line in doc["item_lines"]] == [3.0, 4.0]


def test_a_document_without_taxes_gets_no_tax_line() -> None:
    answer = {"extracted_data": [{"payment_information": {"total": 5.0}}]}
    frame = pd.DataFrame({"x": FILES[:1]})
    with EdenEmulator(responses={"ocr/financial_parser": {"mindee": answer}}) as emu:
        out = _run(emu, frame, "parse_invoice", emu.base_url_v3, providers="mindee", language="en")
    [doc] = out["parse_invoice_extracted_data"].iloc[0]
    assert list(doc["taxes"]) == [] and list(doc["item_lines"]) == [] and doc["invoice_total"] == 5.0


# -- 2. text to speech ------------------------------------------------------------------------------------------


def test_text_to_speech_on_v3_downloads_the_link_into_save_to(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": ["hello there", "good bye", "hello there"]}, index=["a", "b", "c"])
    with EdenEmulator() as emu:
        v2 = _run(emu, frame, "text_to_speech", emu.base_url, providers="amazon", save_to=tmp_path / "v2")
        v3 = _run(emu, frame, "text_to_speech", emu.base_url_v3, providers="amazon", save_to=tmp_path / "v3")
        downloads = [c for c in emu.calls if c.path.startswith("/media/")]
        media = emu.url + "/media/"
    assert list(v3.columns) == list(v2.columns) and v3.dtypes.to_dict() == v2.dtypes.to_dict()
    assert v3["text_to_speech_error"].isna().all() and v3["text_to_speech_audio"].isna().all()
    assert v3["text_to_speech_audio_resource_url"].str.startswith(media).all()
    assert len(downloads) == 3  # one per row: the file is written for every row, duplicates included
    for row in frame.index:
        path = Path(v3.loc[row, "text_to_speech_path"])
        assert path.parent == tmp_path / "v3" / "text_to_speech_amazon" and path.suffix == ".wav"
        # the same audio as v2's base64 payload, and a real WAV file
        assert path.read_bytes() == Path(v2.loc[row, "text_to_speech_path"]).read_bytes()
        with wave.open(str(path)) as audio:
            assert audio.getnframes() > 0


def test_a_failed_download_is_that_rows_error(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": ["fine", "broken"]})
    with EdenEmulator() as emu:
        good = f"{emu.url}/media/0123abcd.wav"
        missing = f"{emu.url}/media/not-a-file.wav"
        fixed = {"amazon": {"audio_resource_url": good, "cost": 0.001}, "google": {"audio_resource_url": missing}}
        emu.responses["audio/tts"] = fixed  # before the v3 routes read it: they read it when a request comes
        with pytest.warns(RowErrorWarning, match="could not download"):
            out = _run(emu, frame, "text_to_speech", emu.base_url_v3, providers="amazon,google", save_to=tmp_path)
    assert out["text_to_speech_amazon_error"].isna().all()
    assert out["text_to_speech_amazon_path"].notna().all()
    assert out["text_to_speech_google_path"].isna().all()
    assert out["text_to_speech_google_error"].str.contains("could not download .*HTTP 404").all()


def test_downloads_from_edens_host_spend_the_account_budget_and_others_do_not(tmp_path: Path) -> None:
    frame = pd.DataFrame({"x": ["one", "two", "three"]})
    with EdenEmulator() as emu:
        budget = budget_for(emu.base_url_v3, emu.api_key, rate=50.0)
        before = budget.stats.started
        _run(emu, frame, "text_to_speech", emu.base_url_v3, providers="amazon", save_to=tmp_path / "a")
        # the provider check's one GET /v3/info, 3 launches and 3 downloads from the emulator's own host (the base
        # URL's origin)
        assert budget.stats.started - before == 7
        other = f"http://localhost:{emu.url.rsplit(':', 1)[1]}/media/0123abcd.wav"  # same server, another host name
        emu.responses["audio/tts"] = {"amazon": {"audio_resource_url": other}}
        before = budget.stats.started
        out = _run(emu, frame, "text_to_speech", emu.base_url_v3, providers="amazon", save_to=tmp_path / "b")
        assert budget.stats.started - before == 3  # the launches only
    assert out["text_to_speech_path"].notna().all()


# -- 3. search ----------------------------------------------------------------------------------------------------


def _numpy_cosine(emu: EdenEmulator, model: str, query: str, texts: list[str]) -> np.ndarray:
    """The emulator's vectors for these texts (from /v3/embeddings, by index), compared with numpy."""
    data = sorted(
        _http(emu, "POST", "/embeddings", {"model": model, "input": [query, *texts]})["data"],
        key=lambda row: row["index"],
    )
    vectors = np.array([row["embedding"] for row in data], dtype=np.float64)
    q, d = vectors[0], vectors[1:]
    return (d @ q) / (np.linalg.norm(d, axis=1) * np.linalg.norm(q))


def test_search_on_v3_ranks_by_the_cosine_of_the_embeddings() -> None:
    texts = ["the cat sat on the mat", "stock markets fell", "a kitten is sleeping", "the cat sat on the mat", None]
    frame = pd.DataFrame({"x": texts}, index=[10, 11, 12, 13, 14])
    with EdenEmulator() as emu:
        v2 = _run(emu, frame, "search", emu.base_url, providers="openai", query="cats")
        v3 = _run(emu, frame, "search", emu.base_url_v3, providers="openai", query="cats")
        posts = [c.json for c in emu.calls if c.method == "POST" and c.path.startswith("/v3/")]
        expected = _numpy_cosine(emu, "openai/text-embedding-3-small", "cats", texts[:3])
    assert list(v3.columns) == list(v2.columns) and v3.dtypes.to_dict() == v2.dtypes.to_dict()
    # one request: the query and the distinct texts, the bare provider given its documented default model
    assert posts == [
        {"model": "openai/text-embedding-3-small", "input": ["cats", *texts[:3]]},
    ]
    scores = v3["search_score"]
    np.testing.assert_allclose(scores.loc[[10, 11, 12]].to_numpy(), expected, rtol=1e-9)
    assert scores.loc[13] == scores.loc[10] and pd.isna(scores.loc[14])
    assert v3["search_error"].isna().all()
    ranked = scores.loc[[10, 11, 12]].sort_values(ascending=False).index.tolist()
    assert ranked == [[10, 11, 12][i] for i in np.argsort(-expected, kind="stable")]


@pytest.mark.parametrize("metric", ["euclidean", "manhattan"])
def test_search_on_v3_respects_the_other_metrics(metric: str) -> None:
    texts = ["alpha beta", "gamma delta", "beta alpha gamma"]
    frame = pd.DataFrame({"x": texts})
    with EdenEmulator() as emu:
        out = _run(
            emu,
            frame,
            "search",
            emu.base_url_v3,
            providers="openai/text-embedding-3-large",
            query="beta",
            similarity_metric=metric,
        )
        [post] = [c.json for c in emu.calls if c.path == "/v3/embeddings"]
    assert post["model"] == "openai/text-embedding-3-large"
    assert (out["search_score"] <= 0).all() and out["search_error"].isna().all()  # negated distances


def test_search_on_v3_matches_vectors_by_index_not_position() -> None:
    """Vectors fixed per input position: a server answering `data[]` in another order moves no score."""
    vectors = {"items": [{"embedding": v} for v in ([1.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0])]}
    frame = pd.DataFrame({"x": ["same as query", "orthogonal", "diagonal"]})
    with EdenEmulator(responses={"text/embeddings": {"cohere": vectors}}) as emu:
        out = _run(emu, frame, "search", emu.base_url_v3, providers="cohere/embed-v4.0", query="q")
    np.testing.assert_allclose(out["search_score"].to_numpy(), [1.0, 0.0, 2**-0.5])


def test_embed_on_v3_gives_a_bare_provider_its_documented_default_model() -> None:
    frame = pd.DataFrame({"x": ["one", "two"]})
    with EdenEmulator() as emu:
        out = _run(emu, frame, "embed", emu.base_url_v3, providers="openai")
        _run(emu, frame, "embed", emu.base_url_v3, providers="cohere")  # no documented default: sent as it is
        models = [c.json["model"] for c in emu.calls if c.path == "/v3/embeddings"]
    assert models == ["openai/text-embedding-3-small", "cohere"]
    assert out["embed_error"].isna().all()


# -- 4. fixed answers on v3 ---------------------------------------------------------------------------------------


def test_fixed_responses_answer_v3_sync_requests() -> None:
    moderation = {"nsfw_likelihood": 5, "nsfw_likelihood_score": 0.9, "items": [], "cost": 0.123}
    frame = pd.DataFrame({"x": ["hello", "world"]})
    with EdenEmulator(responses={"text/moderation": {"google": moderation}}) as emu:
        v2 = _run(emu, frame, "moderate", emu.base_url, providers="google")
        v3 = _run(emu, frame, "moderate", emu.base_url_v3, providers="google")
        charged = [c.cost for c in emu.ledger if c.job == "sync" and c.name is None]
    for out in (v2, v3):
        assert out["moderate_nsfw_likelihood"].tolist() == [5, 5]
        assert out["moderate_nsfw_likelihood_score"].tolist() == [0.9, 0.9]
    assert v3["moderate_cost"].tolist() == [0.123, 0.123] and charged == [0.123, 0.123]


def test_a_fixed_failure_fails_the_provider_and_a_fallback_answers() -> None:
    failed = {"status": "fail", "error": {"message": "quota of the provider reached"}}
    frame = pd.DataFrame({"x": ["hello"]})
    with EdenEmulator(responses={"text/moderation": {"google": failed}}) as emu:
        with pytest.warns(RowErrorWarning):
            alone = _run(emu, frame, "moderate", emu.base_url_v3, providers="google")
        rescued = _run(emu, frame, "moderate", emu.base_url_v3, providers="google", fallback_providers="microsoft")
    assert "quota of the provider reached" in alone["moderate_error"].iloc[0]
    assert rescued["moderate_error"].isna().all() and rescued["moderate_provider"].tolist() == ["microsoft"]


def test_fixed_responses_answer_v3_async_jobs() -> None:
    """No catalog method runs an async v3 subfeature yet: the emulator's async route is asked over HTTP."""
    fixed = {"raw_text": "fixed text", "pages": [], "number_of_pages": 1, "cost": 0.5}
    body = {"model": "ocr/ocr_async/amazon", "input": {"file": FILES[0]}}
    with EdenEmulator(responses={"ocr/ocr_async": {"amazon": fixed}}) as emu:
        launched = _http(emu, "POST", "/universal-ai/async", body)
        job = _http(emu, "GET", f"/universal-ai/async/{launched['public_id']}")
        for _ in range(100):
            if job["status"] != "processing":
                break
            time.sleep(0.02)
            job = _http(emu, "GET", f"/universal-ai/async/{launched['public_id']}")
    assert job["status"] == "success" and job["output"]["raw_text"] == "fixed text"
    assert float(job["cost"]) == 0.5


def _http(emu: EdenEmulator, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        emu.base_url_v3 + path,
        data=None if body is None else json.dumps(body).encode(),
        method=method,
        headers={"Authorization": f"Bearer {emu.api_key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:  # loopback only
        return json.load(response)


def test_a_provider_only_in_the_fixed_responses_is_served_on_v3() -> None:
    fixed = {"audio_resource_url": "https://storage.example/x.mp3", "audio": "ignored-on-v3", "voice_type": 1}
    frame = pd.DataFrame({"x": ["hi"]})
    with EdenEmulator(responses={"audio/text_to_speech": {"newvoice": fixed}}) as emu:
        out = _run(emu, frame, "text_to_speech", emu.base_url_v3, providers="newvoice")
    assert out["text_to_speech_error"].isna().all()
    assert out["text_to_speech_audio_resource_url"].tolist() == ["https://storage.example/x.mp3"]
    assert out["text_to_speech_audio"].isna().all()  # v3 has no base64 payload: the v2 field is not passed on


def test_fixed_embeddings_on_v3_are_the_vectors_by_input_position() -> None:
    fixed = {"items": [{"embedding": [0.5, 0.25]}, {"embedding": [1.0, 2.0]}], "cost": 0.002}
    frame = pd.DataFrame({"x": ["first", "second", "third"]})
    with EdenEmulator(responses={"text/embeddings": {"mistral": fixed}}) as emu, pytest.warns(RowErrorWarning):
        out = _run(emu, frame, "embed", emu.base_url_v3, providers="mistral/mistral-embed")
    assert [list(v) for v in out["embed_embedding"].iloc[:2]] == [[0.5, 0.25], [1.0, 2.0]]
    # the answer held two vectors for three inputs: the third row is an error, no row moved
    assert out["embed_error"].iloc[:2].isna().all() and pd.notna(out["embed_error"].iloc[2])
