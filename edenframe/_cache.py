"""The result cache and the batch-job journal: one SQLite file, so reruns and crash recovery cost nothing.

Results: every successful provider result is stored as it arrives (per result page), keyed by a hash of
(subfeature, provider, request parameters including model settings, input). Failures are never stored.
Journal: every batch job is recorded (with the names of its request items) *before* it is launched and marked
collected once its results are stored, so a rerun after a crash re-attaches to jobs still on the server.

JSON only (never pickle), file mode 0600, WAL mode so several processes and threads can share it. The API key is
never stored: nothing here receives it.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from ._errors import ValidationError
from ._sync import warn_user

log = logging.getLogger("edenframe")

CACHE_FILE = "cache.sqlite3"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS results (
    key TEXT PRIMARY KEY, subfeature TEXT NOT NULL, provider TEXT NOT NULL, record TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS jobs (
    name TEXT PRIMARY KEY, subfeature TEXT NOT NULL, base_url TEXT NOT NULL, state TEXT NOT NULL,
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS job_items (job TEXT NOT NULL, item TEXT NOT NULL, PRIMARY KEY (job, item));
CREATE INDEX IF NOT EXISTS job_items_item ON job_items (item);
"""


def default_cache_dir() -> Path:
    """`EDENFRAME_CACHE_DIR`, else the user cache directory (`$XDG_CACHE_HOME/edenframe`, `~/.cache/edenframe`)."""
    if os.environ.get("EDENFRAME_CACHE_DIR"):
        return Path(os.environ["EDENFRAME_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edenframe"


def cache_path(setting: Any) -> Path | None:
    """Where the cache lives for a `cache=` setting: True/None (default place), a path, or False (no cache)."""
    if setting is False:
        return None
    if setting is None or setting is True:
        return default_cache_dir() / CACHE_FILE
    if isinstance(setting, (str, os.PathLike)):
        path = Path(setting).expanduser()
        return path / CACHE_FILE if path.is_dir() or not path.suffix else path
    raise ValidationError(f"cache must be True, False or a path, not {type(setting).__name__}")


class ResultCache:
    """A handle on the cache file for one run (thread-safe; used from the event loop and worker threads)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = _connect(path)
        self.broken = False

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # -- results --------------------------------------------------------------------------------------------------

    def lookup(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        found: dict[str, dict[str, Any]] = {}
        for chunk in _chunks(keys, 500):
            rows = self._query(f"SELECT key, record FROM results WHERE key IN ({','.join('?' * len(chunk))})", chunk)
            for key, record in rows:
                try:
                    found[key] = orjson.loads(record)
                except orjson.JSONDecodeError:
                    continue  # a damaged entry is a miss, not a crash
        return found

    def store(self, entries: list[tuple[str, str, str, dict[str, Any]]]) -> None:
        """Store (key, subfeature, provider, record) entries in one transaction."""
        if not entries:
            return
        now = time.time()
        rows = [(key, sub, prov, _dumps(record), now) for key, sub, prov, record in entries]
        self._write("INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)", rows)

    # -- batch-job journal ----------------------------------------------------------------------------------------

    def open_jobs(self, subfeature: str, base_url: str, items: Iterable[str]) -> dict[str, list[str]]:
        """Jobs recorded but not collected that contain any of `items`: job name -> all its item names."""
        wanted = list(items)
        jobs: set[str] = set()
        for chunk in _chunks(wanted, 500):
            rows = self._query(
                "SELECT DISTINCT j.name FROM job_items i JOIN jobs j ON j.name = i.job "
                f"WHERE j.state != 'collected' AND j.subfeature = ? AND j.base_url = ? "
                f"AND i.item IN ({','.join('?' * len(chunk))})",
                [subfeature, base_url, *chunk],
            )
            jobs.update(name for (name,) in rows)
        out: dict[str, list[str]] = {}
        for job in sorted(jobs):
            out[job] = [item for (item,) in self._query("SELECT item FROM job_items WHERE job = ?", [job])]
        return out

    def record_job(self, job: str, subfeature: str, base_url: str, items: list[str]) -> None:
        now = time.time()
        with self._transaction() as db:
            db.execute("INSERT OR REPLACE INTO jobs VALUES (?, ?, ?, 'launching', ?)", (job, subfeature, base_url, now))
            db.executemany("INSERT OR IGNORE INTO job_items VALUES (?, ?)", [(job, item) for item in items])

    def close_job(self, job: str) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM job_items WHERE job = ?", (job,))
            db.execute("UPDATE jobs SET state = 'collected' WHERE name = ?", (job,))

    # -- maintenance ----------------------------------------------------------------------------------------------

    def info(self) -> dict[str, Any]:
        by_subfeature = dict(self._query("SELECT subfeature, COUNT(*) FROM results GROUP BY subfeature", []))
        open_jobs = self._query("SELECT COUNT(*) FROM jobs WHERE state != 'collected'", [])[0][0]
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*") if p.is_file())
        return {
            "path": str(self.path),
            "results": sum(by_subfeature.values()),
            "by_subfeature": by_subfeature,
            "open_jobs": open_jobs,
            "bytes": size,
        }

    def clear(self, subfeature: str | None = None, older_than: float | None = None) -> int:
        clauses, args = [], []
        if subfeature is not None:
            clauses.append("subfeature = ?")
            args.append(subfeature)
        if older_than is not None:
            clauses.append("created < ?")
            args.append(time.time() - older_than)
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        with self._transaction() as db:
            removed = db.execute(f"DELETE FROM results{where}", args).rowcount
            if subfeature is None and older_than is None:
                db.execute("DELETE FROM job_items")
                db.execute("DELETE FROM jobs")
        return int(removed)

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _query(self, sql: str, args: list[Any]) -> list[tuple[Any, ...]]:
        if self.broken:
            return []
        try:
            with self._lock:
                return self._db.execute(sql, args).fetchall()
        except sqlite3.DatabaseError as exc:
            self._give_up(exc)
            return []

    def _write(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._transaction() as db:
            db.executemany(sql, rows)

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        """A write transaction; a database failure disables the cache for the run instead of failing it."""
        if self.broken:
            yield _NullConnection()
            return
        with self._lock:
            try:
                yield self._db
                self._db.commit()
            except sqlite3.DatabaseError as exc:
                _quiet_rollback(self._db)
                self._give_up(exc)
            except BaseException:
                _quiet_rollback(self._db)
                raise

    def _give_up(self, exc: Exception) -> None:
        if not self.broken:
            self.broken = True
            warn_user(
                f"the edenframe cache at {self.path} failed ({exc}); this run continues without it",
                RuntimeWarning,
                stacklevel=3,
            )


class _NullConnection:
    def execute(self, *args: Any) -> Any:
        return self

    def executemany(self, *args: Any) -> Any:
        return self

    rowcount = 0


def _dumps(record: dict[str, Any]) -> str:
    # orjson: several times faster than json, and the cache writes every result of a run
    return orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS).decode("utf-8")


def _quiet_rollback(db: sqlite3.Connection) -> None:
    with suppress(sqlite3.DatabaseError):
        db.rollback()


def _connect(path: Path) -> sqlite3.Connection:
    """Open (creating with mode 0600) the cache file; a corrupted file is moved aside and replaced."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    try:
        return _open(path)
    except sqlite3.DatabaseError as exc:
        aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
        os.replace(path, aside)
        for suffix in ("-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        warn_user(
            f"the edenframe cache {path} was unreadable ({exc}); it was moved to {aside.name} and a new one started",
            RuntimeWarning,
            stacklevel=4,
        )
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
        return _open(path)


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level="DEFERRED")
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        db.execute("SELECT COUNT(*) FROM results").fetchone()
        db.commit()
    except sqlite3.DatabaseError:
        db.close()
        raise
    os.chmod(path, 0o600)
    return db


def _chunks(values: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def open_cache(setting: Any) -> ResultCache | None:
    """The cache for a run, or None when `cache=False`."""
    path = cache_path(setting)
    return ResultCache(path) if path is not None else None


def cache_info(cache: Any = None) -> dict[str, Any]:
    """What the cache holds: its path, the number of stored results (per subfeature), open jobs and size."""
    handle = open_cache(True if cache is None else cache)
    if handle is None:
        raise ValidationError("cache_info() needs a cache: pass a path or leave it to the default")
    try:
        return handle.info()
    finally:
        handle.close()


def clear_cache(subfeature: str | None = None, *, older_than: float | None = None, cache: Any = None) -> int:
    """Delete stored results (all, one subfeature's, or those older than `older_than` seconds); returns how many."""
    handle = open_cache(True if cache is None else cache)
    if handle is None:
        raise ValidationError("clear_cache() needs a cache: pass a path or leave it to the default")
    try:
        return handle.clear(subfeature, older_than)
    finally:
        handle.close()
