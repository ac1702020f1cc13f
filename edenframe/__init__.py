"""edenframe: Eden AI for pandas.

`import edenframe` registers `df.eden` and `s.eden` (and `ddf.eden` once `dask.dataframe` is imported): each method
sends one Eden AI request per distinct row value through Eden AI's v3 API, paced to the account's rate budget (or
v2's batch API, by base URL, or the offline `local` provider) and returns a new DataFrame with typed result columns
aligned on the original index.
"""

from __future__ import annotations

from . import _accessor as _accessor  # registers the accessors
from . import _llm_tasks as _llm_tasks  # registers the chat tasks of the subfeatures v3 serves through an LLM
from . import _prompt_task as _prompt_task  # registers the prompts' chat task (_chat.CHAT_TASKS)
from . import datasets as datasets
from ._accessor import EdenFrameAccessor, EdenSeriesAccessor
from ._cache import cache_info, clear_cache
from ._catalog import Param, Subfeature, all_subfeatures, get_subfeature
from ._config import configure, reset_configuration
from ._dask_registration import register_when_imported as _register_dask
from ._errors import (
    APIError,
    BudgetExceededError,
    EdenFrameError,
    MissingAPIKeyError,
    MissingDependencyError,
    RowErrors,
    RowErrorWarning,
    ValidationError,
)
from ._io import read_parquet
from ._models import models
from ._prices import Price, PriceTable, arefresh_prices, load_prices, refresh_prices
from ._report import RunReport
from ._tables import read_table, write_table

# ddf.eden is registered once dask.dataframe is imported (at once if it already is): importing dask here would
# double the time `import edenframe` takes
_register_dask()

__version__ = "0.1.0"


def subfeatures() -> list[str]:
    """Every supported subfeature as `"feature/subfeature"`, in catalog order."""
    return [entry.path for entry in all_subfeatures()]


__all__ = [
    "APIError",
    "BudgetExceededError",
    "EdenFrameAccessor",
    "EdenFrameError",
    "EdenSeriesAccessor",
    "MissingAPIKeyError",
    "MissingDependencyError",
    "Param",
    "Price",
    "PriceTable",
    "RowErrorWarning",
    "RowErrors",
    "RunReport",
    "Subfeature",
    "ValidationError",
    "__version__",
    "all_subfeatures",
    "arefresh_prices",
    "cache_info",
    "clear_cache",
    "configure",
    "get_subfeature",
    "load_prices",
    "models",
    "read_parquet",
    "read_table",
    "refresh_prices",
    "reset_configuration",
    "subfeatures",
    "write_table",
]
