"""Sample data shipped with edenframe, for demos, notebooks and tests."""

from __future__ import annotations

from importlib import resources

import pandas as pd

__all__ = ["reviews"]


def reviews() -> pd.DataFrame:
    """300 made-up product reviews, in seven languages, with a few messy rows planted on purpose.

    Columns: `review_id`, `product`, `category`, `rating` (1-5), `date` (ISO), `country` (ISO 3166-1 alpha-2) and
    `review`. About three quarters of the reviews are in English. The planted rows: 3 whitespace-only reviews,
    2 missing ones, 2 exact duplicates, one with an e-mail address and a phone number, one with typos and a
    two-letter review. `edenframe/data/README.md` describes the file.

    Only empty fields are read as missing: whitespace-only reviews stay as they are, as they would in a real export,
    and text such as "NA" or "null" is kept as text.
    """
    source = resources.files("edenframe").joinpath("data/reviews.csv")
    with source.open("r", encoding="utf-8") as handle:
        return pd.read_csv(handle, keep_default_na=False, na_values=[""])
