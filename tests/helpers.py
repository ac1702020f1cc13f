"""Test helpers: sample parameter values for any catalog entry, the optional extras a test needs, labelled data."""

from __future__ import annotations

import functools
import importlib.metadata
import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest
from packaging.requirements import Requirement

from edenframe import Subfeature
from edenframe._schema import STR, Type, list_of
from edenframe.testing import Call, EdenEmulator


def sample_value(name: str, t: Type) -> Any:
    """A valid value for a parameter of type `t` (labels and examples chosen so they fit together)."""
    if name == "labels":
        return ["spam", "not spam"]
    if name == "examples" and t == list_of(list_of(STR)):
        return [["win money now", "spam"], ["see you at lunch", "not spam"]]
    if "language" in name and t == STR:
        return "en"
    return t.sample(name)


def required_params(entry: Subfeature) -> dict[str, Any]:
    """Values for every required parameter of `entry` (what a minimal call must pass)."""
    out = {}
    for p in entry.params:
        if p.required:
            out[p.name] = "fr" if p.name == "target_language" else sample_value(p.name, p.type)
    return out


def sent(emu: EdenEmulator) -> list[Call]:
    """The emulator's calls that did or fetched work: all but reads of the public info endpoints (provider lists),
    which edenframe may make while validating a call, before it sends anything."""
    return [c for c in emu.calls if not (c.method == "GET" and "/info" in c.path)]


# ---------------------------------------------------------------------------------------------------------------
# optional extras: `pip install -e .[dev]` alone gives a green run, every test needing more skips and names the extra

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"

# Set by CI, which installs every extra: a test that would skip for a missing extra fails instead, so a broken
# install (a package dropped from an extra, a wheel that no longer installs) cannot hide behind a green run of skips.
REQUIRE_EXTRAS = "EDENFRAME_REQUIRE_EXTRAS"


@functools.cache
def _extras() -> dict[str, list[Requirement]]:
    """pyproject.toml's optional dependencies, read from the checkout (the one place they are listed)."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return {name: [Requirement(r) for r in reqs] for name, reqs in project["optional-dependencies"].items()}


@functools.cache
def missing_from_extra(extra: str) -> tuple[str, ...]:
    """The distributions of `edenframe[extra]` that are not installed (those of an included extra too)."""
    if extra not in _extras():
        raise ValueError(f"unknown extra {extra!r}; pyproject.toml has {sorted(_extras())}")
    missing: list[str] = []
    for requirement in _extras()[extra]:
        if requirement.name == "edenframe":
            missing += [m for sub in sorted(requirement.extras) for m in missing_from_extra(sub)]
            continue
        try:
            importlib.metadata.version(requirement.name)
        except importlib.metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return tuple(dict.fromkeys(missing))


def require_extra(*extras: str) -> None:
    """Skip the calling test (or module, at module level) unless every distribution of these extras is installed;
    with EDENFRAME_REQUIRE_EXTRAS=1 fail instead. The reason names the extra and the install command."""
    for extra in extras:
        missing = missing_from_extra(extra)
        if not missing:
            continue
        reason = f"needs the {extra!r} extra ({', '.join(missing)} not installed): pip install -e '.[{extra}]'"
        if os.environ.get(REQUIRE_EXTRAS, "") not in ("", "0"):
            pytest.fail(f"{REQUIRE_EXTRAS} is set but a test {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)


# ---------------------------------------------------------------------------------------------------------------
# labelled data (tests/data/): kept out of the test code so it can be read, reviewed and extended on its own


def load_json(name: str) -> Any:
    """tests/data/<name>.json."""
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


class ServedV3:
    """A v3 route table served on 127.0.0.1 by `serve_v3_tables`: its state and server, and what the state's
    `record`/`charge` hooks saw (`calls`, `charges`). Test modules add their clients on top."""

    def __init__(self, state: Any, server: Any) -> None:
        self.state, self.server = state, server
        self.calls: list[dict[str, Any]] = state.calls
        self.charges: list[dict[str, Any]] = state.charges

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))


class V3Client(ServedV3):
    """A `ServedV3` with an aiohttp session that sends `headers` (the Bearer key) unless told otherwise."""

    def __init__(self, state: Any, server: Any, session: Any, headers: dict[str, str]) -> None:
        super().__init__(state, server)
        self.session, self.headers = session, headers

    async def post(self, path: str, body: Any, headers: dict[str, str] | None = None) -> tuple[int, Any]:
        sent = self.headers if headers is None else headers
        async with self.session.post(self.url(path), json=body, headers=sent) as r:
            return r.status, await r.json()

    async def get(self, path: str, headers: dict[str, str] | None = None, **query: str) -> tuple[int, Any]:
        sent = self.headers if headers is None else headers
        async with self.session.get(self.url(path), params=query, headers=sent) as r:
            return r.status, await r.json()


async def serve_v3_tables(state: Any, *tables: Any) -> Any:
    """An aiohttp test server on 127.0.0.1 answering from `state` through the given route-table factories
    (`v3_routes`, `chat_routes`). `state.calls` and `state.charges` collect what its `record`/`charge` hooks see."""
    from aiohttp import web
    from aiohttp.test_utils import TestServer

    calls: list[dict[str, Any]] = []
    charges: list[dict[str, Any]] = []
    state.record, state.charge = (lambda **kw: calls.append(kw)), (lambda **kw: charges.append(kw))
    state.calls, state.charges = calls, charges
    app = web.Application()
    for table in tables:
        app.add_routes(table(state))
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    return server
