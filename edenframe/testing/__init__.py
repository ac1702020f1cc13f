"""Test your pipelines without Eden AI: `EdenEmulator` serves the Eden AI v2 sync and batch API over loopback HTTP.

```python
from edenframe.testing import EdenEmulator, expected_row

with EdenEmulator() as emu:
    edenframe.configure(api_key=emu.api_key, base_url=emu.base_url)
    out = df.eden.sentiment("review", providers="synthetic")
    assert out.loc[0, "sentiment_general_sentiment"] == expected_row(
        "sentiment", "synthetic", df.loc[0, "review"])["general_sentiment"]
```

Every known provider of a subfeature (and the pseudo-provider `synthetic`) answers with deterministic synthetic
results derived from the input; `local` runs the offline implementations. `serve()` runs the emulator in the
foreground (`edenframe serve`).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from ._oracle import assert_rows_match
from ._records import BatchJob, BatchRequestState, Call, Charge
from ._server import EdenEmulator
from ._synthetic import expected_row, synthetic_cost, synthetic_output

__all__ = [
    "BatchJob",
    "BatchRequestState",
    "Call",
    "Charge",
    "EdenEmulator",
    "assert_rows_match",
    "expected_row",
    "serve",
    "synthetic_cost",
    "synthetic_output",
]


def serve(host: str = "127.0.0.1", port: int = 8080, api_key: str = "test-key", **options: Any) -> None:
    """Run an `EdenEmulator` in the foreground until Ctrl-C, printing how to point edenframe at it.

    `options` are `EdenEmulator`'s keyword arguments (`job_seconds`, `page_size`, `rate_limit`, ...).
    """
    options.setdefault("log_requests", True)
    logger = logging.getLogger("edenframe.testing")
    if options["log_requests"] and not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)

    async def main() -> None:
        async with EdenEmulator(api_key=api_key, host=host, port=port, **options) as emu:
            print(f"Eden AI v3 emulator listening on {emu.base_url_v3}", flush=True)
            print(f"and Eden AI v2 on {emu.base_url} (the same key)", flush=True)
            print("Point edenframe at it with:", flush=True)
            print("    import edenframe", flush=True)
            print(f"    edenframe.configure(api_key={api_key!r}, base_url={emu.base_url_v3!r})", flush=True)
            print(f"or set EDENAI_API_KEY={api_key} EDENAI_BASE_URL={emu.base_url_v3}", flush=True)
            print(f"(for the v2 API: base_url={emu.base_url!r})", flush=True)
            print("Press Ctrl-C to stop.", flush=True)
            await asyncio.Event().wait()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        print("emulator stopped", flush=True)
