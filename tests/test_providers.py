"""Provider names and language codes are checked before any request: against the API's live provider list (the
emulator's info endpoints), falling back to the catalog when that list cannot be read."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import edenframe
from edenframe import ValidationError
from edenframe._providers import forget_provider_lists
from edenframe.testing import EdenEmulator

SENTIMENT = "text/sentiment_analysis"
NER = "text/named_entity_recognition"
INFO_V2 = "/v2/info/provider_subfeatures/"


@pytest.fixture(autouse=True)
def _fresh_provider_lists() -> Iterator[None]:
    """Lists are kept per process and base URL: a new emulator may reuse an old one's port."""
    forget_provider_lists()
    yield
    forget_provider_lists()


@pytest.fixture()
def emu() -> Iterator[EdenEmulator]:
    with EdenEmulator() as emulator:
        connect(emulator)
        yield emulator


def connect(emulator: EdenEmulator, **settings: Any) -> None:
    edenframe.configure(
        **{"api_key": emulator.api_key, "base_url": emulator.base_url, "poll_interval": 0.01, "progress": False,
           "cache": False, **settings}
    )  # fmt: skip


def reviews(n: int = 3) -> pd.DataFrame:
    return pd.DataFrame({"review": [f"review {i}: it was fine" for i in range(n)]})


def posts(emulator: EdenEmulator) -> list[Any]:
    return [c for c in emulator.calls if c.method != "GET"]


def info_reads(emulator: EdenEmulator) -> list[Any]:
    return [c for c in emulator.calls if c.method == "GET" and "/info" in c.path]


def sent_providers(emulator: EdenEmulator, field: str = "providers") -> set[str]:
    return {item[field] for c in emulator.calls if c.method == "POST" for item in c.json["requests"]}


# -- names checked against the live list ----------------------------------------------------------------------------


def test_a_typo_is_refused_with_did_you_mean_before_any_request(emu: EdenEmulator) -> None:
    with pytest.raises(ValidationError, match=r"'googel' is not an Eden AI provider of sentiment\(\).*"
                                              r"Did you mean 'google'\?") as refused:  # fmt: skip
        reviews(5000).eden.sentiment("review", providers="googel")
    assert "Providers listed by Eden AI (GET " in str(refused.value)
    assert posts(emu) == []  # not one of the 10 batch jobs 5,000 rows would have launched
    [read] = emu.calls
    assert read.path == INFO_V2 and read.query == {"feature__name": "text", "subfeature__name": "sentiment_analysis"}


def test_wrong_case_runs_under_eden_ai_spelling(emu: EdenEmulator) -> None:
    out = reviews().eden.sentiment("review", providers="Google")
    assert out["sentiment_error"].isna().all()
    assert out.attrs["edenframe"]["providers"] == ["google"]
    assert sent_providers(emu) == {"google"}
    both = reviews().eden.sentiment("review", providers="GOOGLE, Amazon")
    assert "sentiment_google_general_sentiment" in both and "sentiment_amazon_general_sentiment" in both
    with pytest.raises(ValidationError, match="names the same provider twice"):
        reviews().eden.sentiment("review", providers="google,Google")


def test_a_provider_that_does_not_offer_the_subfeature(emu: EdenEmulator) -> None:
    with pytest.raises(ValidationError, match=r"'deepl' does not offer sentiment\(\) \(text/sentiment_analysis\)"):
        reviews().eden.sentiment("review", providers="deepl")
    assert posts(emu) == []


def test_a_provider_newer_than_the_catalog_runs_and_a_retired_one_is_refused() -> None:
    assert "newcomer" not in edenframe.get_subfeature(SENTIMENT).providers
    assert "amazon" in edenframe.get_subfeature(SENTIMENT).providers
    with EdenEmulator(providers={SENTIMENT: ["google", "newcomer"]}) as emulator:
        connect(emulator)
        out = reviews().eden.sentiment("review", providers="newcomer")
        assert out["sentiment_error"].isna().all() and out["sentiment_general_sentiment"].notna().all()
        emulator.reset()
        with pytest.raises(ValidationError, match=r"'amazon' does not offer sentiment\(\).*newcomer") as refused:
            reviews().eden.sentiment("review", providers="amazon")
        assert "out of date" not in str(refused.value)  # the live list was used
        assert emulator.calls == []  # the list read by the first call is still fresh


def test_info_endpoint_failing_falls_back_to_the_catalog() -> None:
    with EdenEmulator(providers={SENTIMENT: ["google", "newcomer"]}, info_status=503) as emulator:
        connect(emulator)
        out = reviews().eden.sentiment("review", providers="google")  # in the catalog: runs
        assert out["sentiment_error"].isna().all()
        with pytest.raises(ValidationError, match=r"'newcomer' is not an Eden AI provider") as refused:
            reviews().eden.sentiment("review", providers="newcomer")
        message = str(refused.value)
        assert "edenframe's built-in list" in message and "answered HTTP 503" in message
        assert "out of date" in message
        # a failed read is retried after a minute, not on every call
        assert [c.status for c in info_reads(emulator)] == [503]


def test_unreachable_info_endpoint_falls_back_within_seconds() -> None:
    with socket.socket() as probe:  # a loopback port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    dead = f"http://127.0.0.1:{port}/v2"
    started = time.monotonic()
    plan = reviews().eden.sentiment("review", providers="amazon", base_url=dead, dry_run=True)
    assert len(plan) == 3
    with pytest.raises(ValidationError, match=r"built-in list.*GET http://127\.0\.0\.1:\d+/v2/info/provider_"):
        reviews().eden.sentiment("review", providers="amazn", base_url=dead, dry_run=True)
    assert time.monotonic() - started < 5


def test_slow_info_endpoint_times_out_to_the_catalog(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("edenframe._providers.INFO_TIMEOUT", 0.3)
    with EdenEmulator(latency=1.5, providers={SENTIMENT: ["google", "newcomer"]}) as emulator:
        connect(emulator)
        started = time.monotonic()
        with pytest.raises(ValidationError, match=r"no answer within 0\.3 s|timed out"):
            reviews().eden.sentiment("review", providers="newcomer", dry_run=True)
        assert time.monotonic() - started < 1.4
        while not emulator.calls and time.monotonic() - started < 10:  # let the late answer finish before stopping
            time.sleep(0.05)


def test_each_list_is_read_once_per_subfeature(emu: EdenEmulator) -> None:
    frame = reviews()
    for _ in range(3):
        frame.eden.sentiment("review", providers="google")
    frame.eden.keywords("review", providers="amazon")
    frame.eden.keywords("review", providers="amazon,Microsoft", prefix="both")
    frame.eden.sentiment("review", providers="amazon", dry_run=True)
    paths = [c.query["subfeature__name"] for c in info_reads(emu)]
    assert sorted(paths) == ["keyword_extraction", "sentiment_analysis"]


async def test_concurrent_calls_share_one_read() -> None:
    async with EdenEmulator(latency=0.3) as emulator:
        connect(emulator)
        frame = reviews(2)
        outs = await asyncio.gather(
            *(frame.eden.arun(SENTIMENT, "review", providers="synthetic", dry_run=True) for _ in range(6))
        )
        assert all(len(out) == 2 for out in outs)
        assert len(info_reads(emulator)) == 1


def test_provider_model_strings_are_checked_on_the_provider(emu: EdenEmulator) -> None:
    out = reviews().eden.sentiment("review", providers="OpenAI/gpt-4o")
    assert out.attrs["edenframe"]["providers"] == ["openai/gpt-4o"]  # the model part is kept as given
    assert sent_providers(emu) == {"openai/gpt-4o"}
    with pytest.raises(ValidationError, match=r"'opnai' is not .* \(in 'opnai/gpt-4o'.*Did you mean 'openai'"):
        reviews().eden.sentiment("review", providers="opnai/gpt-4o")


def test_fallback_providers_are_checked_too(emu: EdenEmulator) -> None:
    with pytest.raises(ValidationError, match=r"fallback_providers: 'amazn' .* Did you mean 'amazon'\?"):
        reviews().eden.sentiment("review", providers="google", fallback_providers="amazn")
    assert posts(emu) == []
    reviews().eden.sentiment("review", providers="google", fallback_providers="Amazon, microsoft")
    assert sent_providers(emu, "fallback_providers") == {"amazon,microsoft"}


@pytest.mark.extra("local")
def test_local_is_always_allowed_where_it_is_implemented() -> None:
    with EdenEmulator(info_status=503) as emulator:
        connect(emulator)
        out = reviews().eden.sentiment("review", providers="local")
        assert out["sentiment_error"].isna().all()
        assert emulator.calls == []  # nothing remote: no list to read
        with pytest.raises(ValidationError, match=r"'googel' .*Did you mean 'google'\?"):
            reviews().eden.sentiment("review", providers="local,googel")


def test_dry_run_checks_providers_without_a_key() -> None:
    with EdenEmulator(providers={SENTIMENT: ["google", "newcomer"], NER: ["google", "newcomer"]}) as emulator:
        v3 = f"{emulator.url}/v3"  # /v3/info is public: no key needed for the live list
        plan = reviews().eden.ner("review", providers="newcomer", base_url=v3, dry_run=True)
        assert len(plan) == 3
        with pytest.raises(ValidationError, match=r"'amazon' does not offer.*GET http://.*/v3/info"):
            reviews().eden.ner("review", providers="amazon", base_url=v3, dry_run=True)
        # the v2 emulator asks for the key, as every v2 route does: without one, the catalog decides
        with pytest.raises(ValidationError, match=r"'newcomer' .*answered HTTP 403"):
            reviews().eden.sentiment("review", providers="newcomer", base_url=emulator.base_url, dry_run=True)
        assert posts(emulator) == []


def test_v3_lists_every_subfeature_in_one_read() -> None:
    with EdenEmulator(providers={NER: ["google", "newcomer"]}) as emulator:
        v3 = f"{emulator.url}/v3"
        reviews().eden.ner("review", providers="newcomer", base_url=v3, dry_run=True)
        reviews().eden.moderate("review", providers="Microsoft", base_url=v3, dry_run=True)
        reviews().eden.translate("review", providers="deepl", target_language="fr", base_url=v3, dry_run=True)
        assert [(c.method, c.path) for c in emulator.calls] == [("GET", "/v3/info")]


def test_the_api_key_is_sent_but_never_shown(emu: EdenEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="edenframe")
    with EdenEmulator(info_status=503) as failing, pytest.raises(ValidationError) as refused:
        reviews().eden.sentiment("review", providers="googel", base_url=failing.base_url, api_key="secret-1234")
    assert "secret-1234" not in str(refused.value)
    assert all("secret-1234" not in r.getMessage() for r in caplog.records)
    assert any("built-in list" in r.getMessage() or "catalog" in r.getMessage() for r in caplog.records)


@pytest.mark.extra("dask")
def test_dask_graph_building_checks_providers(emu: EdenEmulator) -> None:
    import dask.dataframe as dd

    import edenframe._dask  # noqa: F401  registers ddf.eden

    ddf = dd.from_pandas(reviews(6), npartitions=2)
    with pytest.raises(ValidationError, match=r"Did you mean 'google'\?"):
        ddf.eden.sentiment("review", providers="googel")
    assert posts(emu) == []


# -- the emulator's info endpoints, in the specs' shapes -------------------------------------------------------------


def get_json(url: str, key: str | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"} if key else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read())


def required(spec: dict[str, Any], name: str) -> set[str]:
    return set(spec["components"]["schemas"][name].get("required", ()))


def test_v3_info_has_the_spec_shape(shared_api: Path) -> None:
    from edenframe._v3_models import V3_SUBFEATURES

    spec = json.loads((shared_api / "specs" / "edenai-v3-openapi.2026-06.json").read_text())
    ner = "text/named_entity_recognition"
    with EdenEmulator(providers={ner: ["google", "newcomer"]}) as emulator:
        status, body = get_json(f"{emulator.url}/v3/info")  # public: no key
    assert status == 200 and required(spec, "FeaturesListResponse") <= set(body)
    subfeatures = {}
    for feature in body["features"]:
        assert required(spec, "FeatureInfo") <= set(feature)
        for subfeature in feature["subfeatures"]:
            assert required(spec, "SubfeatureInfo") <= set(subfeature) and subfeature["mode"] in ("sync", "async")
            subfeatures[f"{feature['name']}/{subfeature['name']}"] = subfeature
    # v3's own naming (audio/tts, ocr/financial_parser, its async subfeatures), without the subfeatures v3 has no
    # expert model for (sentiment and the others)
    assert set(subfeatures) == set(V3_SUBFEATURES) and SENTIMENT not in subfeatures
    models = [m["model"] for m in subfeatures[ner]["models"]]
    assert {m.split("/")[2] for m in models} == {"google", "newcomer", "synthetic", "local"}
    assert all(m.startswith(f"{ner}/") for m in models)


def test_v2_info_lists_what_the_emulator_serves(shared_api: Path) -> None:
    spec = json.loads((shared_api / "specs" / "edenai-v2-openapi.full.no-examples.2026-05.json").read_text())
    with EdenEmulator(providers={SENTIMENT: ["google", "newcomer"]}) as emulator:
        url = f"{emulator.base_url}/info/provider_subfeatures/?feature__name=text&subfeature__name=sentiment_analysis"
        status, body = get_json(url, emulator.api_key)
        failing = EdenEmulator(info_status=503).start()
        try:
            down, _ = get_json(f"{failing.base_url}/info/provider_subfeatures/", failing.api_key)
            v3_down, _ = get_json(f"{failing.url}/v3/info")
        finally:
            failing.stop()
    assert status == 200 and (down, v3_down) == (503, 503)
    assert all(required(spec, "ProviderSubfeature") <= set(obj) for obj in body)
    assert {obj["provider"]["name"] for obj in body} == {"google", "newcomer", "synthetic", "local"}
    google = next(obj for obj in body if obj["provider"]["name"] == "google")
    assert google["pricings"] and not next(o for o in body if o["provider"]["name"] == "newcomer")["pricings"]


# -- language codes ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"target_language": "French"}, r"'target_language' must be a language code .*did you mean 'fr'\? \(got 'F"),
        ({"target_language": "xx yy"}, r"'target_language' must be a language code such as 'fr', 'pt-BR' or 'zh-H"),
        ({"target_language": "fr", "source_language": "pt_BR"}, r"'source_language' .*did you mean 'pt-BR'\?"),
        ({"target_language": "de "}, r"without spaces: did you mean 'de'\?"),
        ({"target_language": ""}, r"'target_language' must be a language code"),
    ],
)
def test_language_parameters_must_be_codes(emu: EdenEmulator, options: dict[str, str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        reviews().eden.translate("review", providers="deepl", **options)
    assert emu.calls == []  # refused before the provider list is read


def test_every_declared_format_is_checked() -> None:
    from edenframe._formats import FORMAT_CHECKS

    declared = {(e.path, p.name): p.format for e in edenframe.all_subfeatures() for p in e.params if p.format}
    assert set(declared.values()) <= set(FORMAT_CHECKS)
    languages = {name for (_, name), kind in declared.items() if kind == "language"}
    assert languages == {"language", "source_language", "target_language"}
    assert ("translation/automatic_translation", "target_language") in declared


def test_language_codes_are_sent_as_given(emu: EdenEmulator) -> None:
    for code in ("fr", "pt-BR", "zh-Hant", "es-419"):
        out = reviews(1).eden.translate("review", providers="deepl", target_language=code, source_language="en")
        assert out["translate_error"].isna().all()
    assert {item["target_language"] for c in emu.calls if c.method == "POST" for item in c.json["requests"]} == {
        "fr", "pt-BR", "zh-Hant", "es-419"
    }  # fmt: skip
    reviews(1).eden.sentiment("review", providers="google", language="en-US")
    reviews(1).eden.sentiment("review", providers="google", language="auto-detect")
    with pytest.raises(ValidationError, match=r"sentiment\(\) parameter 'language' .*did you mean 'de'\?"):
        reviews(1).eden.sentiment("review", providers="google", language="German")
