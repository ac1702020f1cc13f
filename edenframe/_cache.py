"""The result cache and the batch-job journal: one SQLite file, so reruns and crash recovery cost nothing.

Results: every successful provider result is stored as it arrives (per result page), keyed by a hash of
(subfeature, provider, request parameters including model settings, input). Failures are never stored.
Journal: every batch job is claimed (with the names of its request items) *before* it is launched and marked
collected once its results are stored, so a rerun after a crash re-attaches to jobs still on the server.

Several processes may share one file. Each open job has an owner (host, process id and a token per run) and a lease
the owner refreshes while it runs: only the owner reads and deletes a job; another run that needs the same items
waits for the job to be collected and takes the results from the cache, and adopts the job only when its owner is
gone (its process no longer exists on this host, or its lease went stale).

JSON only (never pickle), file mode 0600, WAL mode so several processes and threads can share it. The API key is
never stored: nothing here receives it.
"""

from __future__ import annotations

import logging
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import orjson

from ._blocking import warn_user
from ._errors import ValidationError

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
# Who holds an open job (added to files written by older versions: their jobs have no owner, so they are adopted).
_OWNER_COLUMNS = {"owner": "TEXT", "host": "TEXT", "pid": "INTEGER", "lease": "REAL"}

# A job's owner refreshes its lease every LEASE_SECONDS / 4; a lease older than LEASE_SECONDS means the owner is gone
# (a crashed process on another machine, or a frozen one), and its job may be adopted.
LEASE_SECONDS = 60.0
HOST = socket.gethostname()

# Job states: 'claimed' (taken by a run, not launched yet: nothing on the server), 'launching' (about to be POSTed,
# or launched), 'collected' (results stored: rows of older versions; a collected job is now removed).


def default_cache_dir() -> Path:
    """`EDENFRAME_CACHE_DIR`, else the user cache directory (`$XDG_CACHE_HOME/edenframe`, `~/.cache/edenframe`)."""
    if os.environ.get("EDENFRAME_CACHE_DIR"):
        return Path(os.environ["EDENFRAME_CACHE_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "edenframe"


def cache_setting(explicit: Any = None, settings: Any = None) -> Any:
    """The `cache=` setting in force: the explicit argument, else `configure(cache=)`, else True (the default place,
    which `EDENFRAME_CACHE_DIR` moves). Runs and `cache_info()`/`clear_cache()` resolve it here, so they agree."""
    if explicit is not None:
        return explicit
    if settings is None:
        from ._config import current_settings

        settings = current_settings()
    return settings.cache


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
        # This run's identity in the journal: the process (for a liveness check on this host) and a token, since
        # several runs of one process (threads, or a run after a cancelled one) are different owners.
        self.owner = f"{HOST}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        self._heartbeat: threading.Thread | None = None
        self._stopping = threading.Event()

    def close(self) -> None:
        self._stopping.set()
        if self._heartbeat is not None:  # it runs once this handle holds a job: only then is there any to release
            self._heartbeat.join()
            self.release_jobs()
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

    def claim_job(self, job: str, subfeature: str, base_url: str, items: list[str]) -> list[str]:
        """Take `job` for this run before launching it; returns the open jobs that stand in the way ([]: claimed).

        In one write transaction, so two processes never both claim a job or the same request: a job of the same
        name held by another run, or any other open job holding some of these items, blocks the claim (the caller
        then waits for those jobs, or adopts them if their owner is gone).
        """
        blocking: set[str] = set()
        with self._transaction(immediate=True) as db:
            row = db.execute("SELECT state, owner FROM jobs WHERE name = ?", (job,)).fetchone()
            if row is not None and row[0] != "collected" and row[1] != self.owner:
                blocking.add(job)
            for chunk in _chunks(items, 500):
                overlap = db.execute(
                    # request names hash the item, not the server or subfeature: only jobs of this server and
                    # subfeature stand in the way (a run against another base URL holds other requests)
                    "SELECT DISTINCT j.name FROM job_items i JOIN jobs j ON j.name = i.job "
                    "WHERE j.state != 'collected' AND j.name != ? AND j.subfeature = ? AND j.base_url = ? "
                    f"AND i.item IN ({','.join('?' * len(chunk))})",
                    [job, subfeature, base_url, *chunk],
                ).fetchall()
                blocking.update(name for (name,) in overlap)
            if not blocking:
                db.execute(
                    "INSERT OR REPLACE INTO jobs (name, subfeature, base_url, state, created, owner, host, pid, lease) "
                    "VALUES (?, ?, ?, 'claimed', ?, ?, ?, ?, ?)",
                    (job, subfeature, base_url, time.time(), self.owner, HOST, os.getpid(), time.time()),
                )
                db.execute("DELETE FROM job_items WHERE job = ?", (job,))
                db.executemany("INSERT OR IGNORE INTO job_items VALUES (?, ?)", [(job, item) for item in items])
        if self.broken:
            return []  # no journal any more: the run goes on as without a cache
        if not blocking:
            self._keep_alive()
        return sorted(blocking)

    def record_job(self, job: str, subfeature: str, base_url: str, items: list[str]) -> None:
        """Mark a job this run holds as launching (just before its POST): from now on it may exist on the server."""
        now = time.time()
        with self._transaction() as db:
            updated = db.execute(
                "UPDATE jobs SET state = 'launching', lease = ? WHERE name = ? AND owner = ?", (now, job, self.owner)
            ).rowcount
            if not updated:  # not claimed first (a caller that does not claim): record it as ours
                db.execute(
                    "INSERT OR REPLACE INTO jobs (name, subfeature, base_url, state, created, owner, host, pid, lease) "
                    "VALUES (?, ?, ?, 'launching', ?, ?, ?, ?, ?)",
                    (job, subfeature, base_url, now, self.owner, HOST, os.getpid(), now),
                )
                db.executemany("INSERT OR IGNORE INTO job_items VALUES (?, ?)", [(job, item) for item in items])
        self._keep_alive()

    def job_holder(self, job: str) -> tuple[str, str]:
        """Who holds `job`, and its state: 'closed' (collected, or no longer journaled), 'me' (this run), 'alive'
        (another run that still runs) or 'gone' (an owner that no longer runs, or none recorded: adoptable)."""
        rows = self._query("SELECT state, owner, host, pid, lease FROM jobs WHERE name = ?", [job])
        if self.broken or not rows or rows[0][0] == "collected":
            return "closed", "collected"
        state, owner, host, pid, lease = rows[0]
        if owner == self.owner:
            return "me", str(state)
        return ("alive" if _owner_alive(owner, host, pid, lease) else "gone"), str(state)

    def adopt_job(self, job: str) -> str | None:
        """Take over a job whose owner is gone; returns its state ('claimed' or 'launching'), or None when another
        run took it first, it was collected meanwhile, or its owner turned out to be alive."""
        with self._transaction(immediate=True) as db:
            row = db.execute("SELECT state, owner, host, pid, lease FROM jobs WHERE name = ?", (job,)).fetchone()
            if row is None or row[0] == "collected" or row[1] == self.owner or _owner_alive(*row[1:]):
                return None
            db.execute(
                "UPDATE jobs SET owner = ?, host = ?, pid = ?, lease = ? WHERE name = ?",
                (self.owner, HOST, os.getpid(), time.time(), job),
            )
        if self.broken:
            return None
        self._keep_alive()
        return str(row[0])

    def close_job(self, job: str) -> None:
        # Removed, not kept as 'collected': a job no longer journaled reads as closed all the same (`job_holder`),
        # and v3 journals two rows per async request (its claim and its job), so a tombstone per request would grow
        # the file without bound and make every lease refresh scan it (2 s per beat at 10 million requests).
        with self._transaction() as db:
            db.execute("DELETE FROM job_items WHERE job = ?", (job,))
            db.execute("DELETE FROM jobs WHERE name = ?", (job,))

    def release_jobs(self) -> None:
        """At the end of a run: claims never launched are dropped, jobs left open are handed to the next run (their
        lease ends now, so it adopts them at once rather than waiting for the lease to run out)."""
        with self._transaction() as db:
            db.execute(
                "DELETE FROM job_items WHERE job IN (SELECT name FROM jobs WHERE owner = ? AND state = 'claimed')",
                (self.owner,),
            )
            db.execute("DELETE FROM jobs WHERE owner = ? AND state = 'claimed'", (self.owner,))
            db.execute("UPDATE jobs SET lease = 0 WHERE owner = ? AND state != 'collected'", (self.owner,))

    def _keep_alive(self) -> None:
        """Start refreshing this run's leases (once): a thread, so a busy event loop cannot let them go stale."""
        with self._lock:
            if self._heartbeat is not None or self._stopping.is_set():
                return
            self._heartbeat = threading.Thread(target=self._beat, name="edenframe-lease", daemon=True)
            self._heartbeat.start()

    def _beat(self) -> None:
        while not self._stopping.wait(LEASE_SECONDS / 4):
            with self._transaction() as db:
                db.execute(
                    "UPDATE jobs SET lease = ? WHERE owner = ? AND state != 'collected'", (time.time(), self.owner)
                )

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
        """Delete stored results; returns how many. Open jobs stay journaled (they were paid for: a rerun collects
        them); the file is compacted afterwards so that the space goes back to the disk."""
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
                db.execute("DELETE FROM jobs WHERE state = 'collected'")
        if removed and not self.broken:
            self._compact()
        return int(removed)

    def _compact(self) -> None:
        """VACUUM, then fold the write-ahead log back in: deleted rows otherwise keep their pages in the file."""
        with self._lock:
            try:
                self._db.execute("VACUUM")
                self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            except sqlite3.DatabaseError as exc:  # e.g. another process holds the file: the space comes back later
                log.info("the edenframe cache was not compacted: %s", exc)

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
    def _transaction(self, immediate: bool = False) -> Iterator[Any]:
        """A write transaction; a database failure disables the cache for the run instead of failing it.

        `immediate`: take the write lock before the first read, for a read-then-write that another process must not
        interleave (two runs claiming the same job)."""
        if self.broken:
            yield _NullConnection()
            return
        with self._lock:
            try:
                if immediate:
                    self._db.execute("BEGIN IMMEDIATE")
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

    def fetchone(self) -> None:
        return None

    def fetchall(self) -> list[Any]:
        return []

    rowcount = 0


def _owner_alive(owner: str | None, host: str | None, pid: int | None, lease: float | None) -> bool:
    """Whether the run holding a job still runs: its lease is fresh and, on this host, its process exists."""
    if not owner or lease is None or time.time() - float(lease) > LEASE_SECONDS:
        return False
    if host == HOST and pid is not None:
        return _process_exists(int(pid))
    return True


def _process_exists(pid: int) -> bool:
    if os.name != "posix":
        return True  # os.kill(pid, 0) would terminate it on Windows: the lease alone decides there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it exists
    return True


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
        return _open_waiting(path)
    except sqlite3.DatabaseError as exc:
        if _is_busy(exc):
            raise  # another process holds the file: it is in use, not corrupt (the run goes on without the cache)
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


def _is_busy(exc: sqlite3.DatabaseError) -> bool:
    """A lock held by another process (SQLITE_BUSY / SQLITE_LOCKED), as opposed to a damaged file."""
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in str(exc) or "busy" in str(exc))


def _open_waiting(path: Path, patience: float = 30.0) -> sqlite3.Connection:
    """`_open`, waiting while another process holds the file: switching a new file to WAL takes an exclusive lock
    that SQLite may refuse at once, without its busy timeout, when two runs open a new cache together."""
    deadline = time.monotonic() + patience
    delay = 0.01
    while True:
        try:
            return _open(path)
        except sqlite3.OperationalError as exc:
            if not _is_busy(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)
        delay = min(delay * 2, 0.5)


def _open(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=30.0, check_same_thread=False, isolation_level="DEFERRED")
    try:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(_SCHEMA)
        present = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
        for column, kind in _OWNER_COLUMNS.items():
            if column not in present:
                try:
                    db.execute(f"ALTER TABLE jobs ADD COLUMN {column} {kind}")
                except sqlite3.OperationalError as exc:
                    if "duplicate column" not in str(exc):
                        raise  # else another process upgraded the file at the same moment
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


def _open_for(name: str, cache: Any) -> ResultCache:
    """The cache a call would use (see `cache_setting`), for cache_info() and clear_cache()."""
    handle = open_cache(cache_setting(cache))
    if handle is None:
        raise ValidationError(
            f"{name}() found the cache turned off (cache=False); pass cache='path/to/cache.sqlite3' to look at a file"
        )
    return handle


def cache_info(cache: Any = None) -> dict[str, Any]:
    """What the cache holds: its path, the number of stored results (per subfeature), open jobs and size.

    Looks at the cache the calls use: `cache=` if given, else `configure(cache=)`, else `EDENFRAME_CACHE_DIR`, else
    the default place."""
    handle = _open_for("cache_info", cache)
    try:
        return handle.info()
    finally:
        handle.close()


def clear_cache(subfeature: str | None = None, *, older_than: float | None = None, cache: Any = None) -> int:
    """Delete stored results (all, one subfeature's, or those older than `older_than` seconds); returns how many.

    `subfeature` is a path (`"text/sentiment_analysis"`) or a method name (`"sentiment"`). Acts on the cache the calls
    use (as `cache_info()`) and shrinks the file afterwards."""
    path = None
    if subfeature is not None:
        from ._catalog import get_subfeature

        if not isinstance(subfeature, str):
            raise ValidationError(f"subfeature must be a name such as 'sentiment', not {type(subfeature).__name__}")
        from ._prompt_task import PROMPT_METHOD, PROMPT_PATH

        # a prompt's entry is built per call, never in the catalog; other unknown names: close matches
        path = PROMPT_PATH if subfeature in (PROMPT_PATH, PROMPT_METHOD) else get_subfeature(subfeature).path
    if older_than is not None and (
        isinstance(older_than, bool) or not isinstance(older_than, (int, float)) or not older_than >= 0
    ):
        raise ValidationError(f"older_than must be a number of seconds (>= 0), not {older_than!r}")
    handle = _open_for("clear_cache", cache)
    try:
        return handle.clear(path, older_than)
    finally:
        handle.close()
