"""mkdocs hook: drops from the nav the pages that other work adds later, while their files do not exist yet.

Only the pages named in OPTIONAL are dropped; any other nav entry without a file still fails `mkdocs build --strict`.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

OPTIONAL = frozenset({"caching-and-cost.md", "dask.md", "benchmarks.md"})

log = logging.getLogger("mkdocs.hooks.optional_pages")


def on_config(config: Any) -> Any:
    docs = Path(config["docs_dir"])
    config["nav"] = _prune(config.get("nav"), docs)
    return config


def _prune(nav: Any, docs: Path) -> Any:
    if not isinstance(nav, list):
        return nav
    kept = []
    for item in nav:
        if isinstance(item, dict):
            title, value = next(iter(item.items()))
            if isinstance(value, list):
                value = _prune(value, docs)
                if value:
                    kept.append({title: value})
                continue
            if _missing(value, docs):
                log.info("optional page %s is not written yet: left out of the nav", value)
                continue
        elif _missing(item, docs):
            log.info("optional page %s is not written yet: left out of the nav", item)
            continue
        kept.append(item)
    return kept


def _missing(value: Any, docs: Path) -> bool:
    return isinstance(value, str) and value in OPTIONAL and not (docs / value).is_file()
