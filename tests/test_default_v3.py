"""v3 is the default API: with only EDENAI_API_KEY set, a call builds v3's route to `https://api.edenai.run/v3`; a
user who upgraded and calls a method v3 has no expert model for gets the one-line way back to v2; v2 keeps working
by base URL (the v2 suites name it explicitly)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import edenframe
from edenframe._cli import main
from edenframe._config import DEFAULT_BASE_URL, V2_BASE_URL, current_settings
from edenframe.testing import EdenEmulator

V2_FIX = "edenframe.configure(base_url='https://api.edenai.run/v2')"


def test_the_default_base_url_is_eden_ai_v3() -> None:
    assert DEFAULT_BASE_URL == "https://api.edenai.run/v3"
    assert V2_BASE_URL == "https://api.edenai.run/v2"
    settings = current_settings()
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.rate_limit == 10.0  # v3's account budget, paced to without being asked


def test_only_an_api_key_set_speaks_v3(monkeypatch: pytest.MonkeyPatch) -> None:
    """The issue's "done when": `df.eden.ner("text", providers="amazon")` with only EDENAI_API_KEY set. The plan
    names the v3 transport, and the call itself goes to v3's universal-ai route on Eden AI's host (the test guard
    refuses the DNS look-up, so the first-contact error shows where the request was going)."""
    monkeypatch.setenv("EDENAI_API_KEY", "only-the-key")
    frame = pd.DataFrame({"text": ["Paris is lovely in spring"]})
    plan = frame.eden.ner("text", providers="amazon", dry_run=True)
    assert plan["transport"].tolist() == ["v3"]
    edenframe.configure(max_retries=0)
    with pytest.raises(edenframe.APIError) as stopped:
        frame.eden.ner("text", providers="amazon", cache=False, progress=False)
    message = str(stopped.value)
    assert "https://api.edenai.run/v3" in message and "POST /universal-ai" in message
    assert "only-the-key" not in message


def test_the_emulators_v3_url_in_the_environment_runs_v3_end_to_end(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = pd.DataFrame({"text": ["Paris is lovely", "Rome is loud", "Paris is lovely"]}, index=[7, 8, 9])
    with EdenEmulator() as emu:
        monkeypatch.setenv("EDENAI_API_KEY", emu.api_key)
        monkeypatch.setenv("EDENAI_BASE_URL", emu.base_url_v3)
        out = frame.eden.ner("text", providers="amazon", progress=False)
        posts = [call for call in emu.calls if call.method == "POST"]
    assert [call.path for call in posts] == ["/v3/universal-ai", "/v3/universal-ai"]  # one per distinct text
    assert {call.json["model"] for call in posts} == {"text/named_entity_recognition/amazon"}
    assert out["ner_error"].isna().all() and out["ner_items"].notna().all()
    assert out.loc[7, "ner_items"] == out.loc[9, "ner_items"]


def test_v2_keeps_working_by_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """The v2 path unchanged: a v2 base URL sends batch jobs, and a method without a v3 expert model runs."""
    frame = pd.DataFrame({"text": ["good", "bad"]})
    with EdenEmulator() as emu:
        monkeypatch.setenv("EDENAI_API_KEY", emu.api_key)
        monkeypatch.setenv("EDENAI_BASE_URL", emu.base_url)
        out = frame.eden.sentiment("text", providers="google", progress=False)
        posts = [call.path for call in emu.calls if call.method == "POST"]
    assert posts and all(path.startswith("/v2/text/sentiment_analysis/batch/") for path in posts), posts
    assert out["sentiment_general_sentiment"].notna().all()


def test_an_upgraded_users_v2_only_call_names_the_one_line_fix(monkeypatch: pytest.MonkeyPatch) -> None:
    """`providers="google"` for sentiment worked on v2 yesterday; on the default v3 it is refused before any request
    (a request would have met the DNS guard: an APIError), naming v2's one-line fix and the LLM way out."""
    monkeypatch.setenv("EDENAI_API_KEY", "k")
    frame = pd.DataFrame({"text": ["good"]})
    with pytest.raises(edenframe.ValidationError) as refused:
        frame.eden.sentiment("text", providers="google")
    message = str(refused.value)
    assert "by default" in message and "if this call worked with an earlier edenframe" in message
    assert f"the one-line fix is {V2_FIX}" in message
    assert "end of 2026" in message
    assert "LLM" in message and "providers='local'" in message


def test_the_upgrade_note_is_only_for_the_default_base_url() -> None:
    frame = pd.DataFrame({"text": ["good"]})
    with EdenEmulator() as emu:
        with pytest.raises(edenframe.ValidationError) as refused:
            frame.eden.sentiment("text", providers="google", api_key=emu.api_key, base_url=emu.base_url_v3)
        assert emu.calls == [] or all(call.method == "GET" for call in emu.calls)
    message = str(refused.value)
    assert "no expert model" in message and "by default" not in message


def test_the_command_line_names_the_environment_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "in.csv"
    pd.DataFrame({"review": ["good"]}).to_csv(source, index=False)
    monkeypatch.setenv("EDENAI_API_KEY", "k")
    code = main(["run", str(source), "-s", "sentiment", "-c", "review", "-p", "google", "-o", str(tmp_path / "o.csv")])
    err = capsys.readouterr().err
    assert code == 2
    assert "the one-line fix is EDENAI_BASE_URL=https://api.edenai.run/v2" in err
    assert not (tmp_path / "o.csv").exists()


def test_a_bad_base_url_suggests_v3_first() -> None:
    with pytest.raises(edenframe.ValidationError) as refused:
        edenframe.configure(base_url="https://api.edenai.run/v1")
    message = str(refused.value)
    assert message.index("/v3") < message.index("/v2")
    assert "'https://api.edenai.run/v3'" in message and "'https://api.edenai.run/v2'" in message
