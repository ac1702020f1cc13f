"""Registering `ddf.eden` without importing `dask.dataframe` at `import edenframe` (it takes most of the import).

Dask keeps accessors as attributes of its DataFrame class (`register_dataframe_accessor` sets one there), and that
class only exists once `dask.dataframe` is imported: any submodule import runs the package first, and Dask offers
no entry point or other deferred registration for accessors. So the registration waits for that import instead:

* `dask.dataframe` already imported when edenframe is: `edenframe._dask` is imported at once, which registers;
* otherwise a finder at the front of `sys.meta_path` watches for `dask.dataframe`. It does not load anything
  itself: it asks the other finders for the module's spec and wraps the loader so that, right after the module's
  code has run, `edenframe._dask` is imported. Then it removes itself. Imports of other modules only pay a string
  comparison.

A failure while registering is a warning there, never an error: it must not break the user's `import dask.dataframe`.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Sequence
from types import ModuleType
from typing import Any

DASK_DATAFRAME = "dask.dataframe"


def register_when_imported() -> None:
    """Register `ddf.eden` now when `dask.dataframe` is imported, else as soon as it is."""
    if DASK_DATAFRAME in sys.modules:
        _register(strict=True)
    elif not any(isinstance(finder, _Watcher) for finder in sys.meta_path):
        sys.meta_path.insert(0, _Watcher())


def _register(strict: bool) -> None:
    try:
        from . import _dask  # noqa: F401  (importing it registers the accessor)
    except ImportError as exc:
        if (exc.name or "").startswith(("dask", "distributed")):
            return  # dask without its dataframe requirements: no ddf.eden, as without dask
        if strict:
            raise
        warnings.warn(f"edenframe could not register ddf.eden: {exc}", RuntimeWarning, stacklevel=2)
    except Exception as exc:
        if strict:
            raise
        warnings.warn(
            f"edenframe could not register ddf.eden: {type(exc).__name__}: {exc}", RuntimeWarning, stacklevel=2
        )


class _Watcher(importlib.abc.MetaPathFinder):
    """Finds nothing itself; hands `dask.dataframe`'s spec over with a loader that registers once it has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != DASK_DATAFRAME:
            return None
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if isinstance(finder, _Watcher) or find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _RegisteringLoader(spec.loader)
        return spec


class _RegisteringLoader(importlib.abc.Loader):
    """The real loader, plus the registration right after the module's code has run."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        # the module keeps its real loader (importlib.resources, reload and inspection look there)
        module.__loader__ = self.loader
        if module.__spec__ is not None:
            module.__spec__.loader = self.loader
        self.loader.exec_module(module)
        sys.meta_path[:] = [finder for finder in sys.meta_path if not isinstance(finder, _Watcher)]
        _register(strict=False)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ... of the real loader
        return getattr(self.loader, name)
