"""The store helper: one SQLAlchemy 2.0 engine per service, on SQLite or PostgreSQL.

SQLite (the embedded default) gets WAL, a busy timeout, foreign keys and explicit
transactions, with `write_session()` taking the write lock up front (BEGIN IMMEDIATE) so
concurrent writers queue instead of failing on lock upgrade. PostgreSQL URLs use psycopg 3.
Blocking store calls run in a bounded thread pool via `await db.run(fn, ...)` so the async
gRPC server never blocks its event loop; they run in a copy of the caller's context, so their
log lines carry the call's request id. Engines hide SQL parameters from exception messages
(`hide_parameters`): a failing statement must not put request values into logs.
Migrations are Alembic, applied on start.

A store that cannot be reached is the caller's UNAVAILABLE, not our INTERNAL:
`unavailable_error(error)` recognises connection-class failures (PostgreSQL down,
restarting or out of connections; SQLite locked past its busy timeout or its file
unreadable) and the server interceptor answers them `Unavailable("database")` for every
service. Errors that say something about the statement or the data (constraint
violations, serialization failures, syntax, missing tables) are not in that class.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import pathlib
import sqlite3
import threading
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import psycopg
from sqlalchemy import create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from telco360_runtime.errors import FieldViolation, InvalidArgument, Unavailable

T = TypeVar("T")

#: The dependency name a store outage answers with (ErrorInfo metadata `dependency`).
DATABASE = "database"
# PostgreSQL SQLSTATEs meaning "the server cannot serve now": connection exceptions (08),
# insufficient resources (53: too many connections, disk full, out of memory), operator
# intervention (57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now) and a
# read-only transaction (25006: a standby after failover).
_PG_DOWN_CLASSES = ("08", "53")
_PG_DOWN_STATES = frozenset({"57P01", "57P02", "57P03", "25006"})
# SQLite messages of the same kind: locked past busy_timeout, file gone or unreadable.
_SQLITE_DOWN = (
    "database is locked",
    "database table is locked",
    "unable to open database file",
    "disk i/o error",
    "database or disk is full",
)


def _store_is_down(error: BaseException | None) -> bool:
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection came free in time
        return True
    if isinstance(error, sa_exc.DBAPIError):
        if error.connection_invalidated:
            return True
        error = error.orig
    if isinstance(error, psycopg.InterfaceError):  # e.g. "the connection is closed"
        return True
    if isinstance(error, psycopg.OperationalError):
        state = getattr(error, "sqlstate", None)
        # No SQLSTATE: the client's own failure to connect or to read from the server.
        return state is None or state.startswith(_PG_DOWN_CLASSES) or state in _PG_DOWN_STATES
    if isinstance(error, sqlite3.OperationalError):
        return str(error).lower().startswith(_SQLITE_DOWN)
    return False


def unavailable_error(error: BaseException) -> Unavailable | None:
    """`Unavailable("database")` when `error`, or an exception it was raised from, says the
    store cannot be reached; None for every other error."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if _store_is_down(current):
            return Unavailable(DATABASE, "the database is unavailable; retry later")
        current = current.__cause__
    return None


def nul_text_error(error: BaseException) -> InvalidArgument | None:
    """InvalidArgument when the store refused a text holding NUL (PostgreSQL cannot store it).

    A safety net behind the services' own checks (bounds.check_text refuses NUL by field):
    whatever text a request carried, the caller learns its input was bad, not INTERNAL.
    """
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if "NUL (0x00)" in str(current)[:300]:
            return InvalidArgument(
                FieldViolation("request", "text must not contain NUL (0x00) characters", "BAD_FORMAT")
            )
        current = current.__cause__ or current.__context__
    return None


def normalise_url(url: str) -> str:
    """Use psycopg 3 for PostgreSQL URLs that name no driver."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _prepare_sqlite_file(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:" and not database.startswith("file:"):
        pathlib.Path(database).expanduser().resolve().parent.mkdir(parents=True, exist_ok=True)


class Database:
    """Engine, sessions and a thread pool for one service's store."""

    def __init__(self, url: str, *, workers: int = 8, sqlite_synchronous: str = "FULL", echo: bool = False) -> None:
        self.url = normalise_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        if self.is_sqlite:
            _prepare_sqlite_file(self.url)
            self.engine: Engine = create_engine(self.url, echo=echo, connect_args={"timeout": 30}, hide_parameters=True)
            self._install_sqlite_hooks(sqlite_synchronous)
        else:
            # A server that does not answer (host down, packets dropped) fails a connect in
            # seconds instead of the OS's minutes, so calls answer UNAVAILABLE in time.
            connect_args = {} if "connect_timeout" in make_url(self.url).query else {"connect_timeout": 5}
            self.engine = create_engine(
                self.url,
                echo=echo,
                pool_size=max(workers, 5),
                max_overflow=10,
                pool_pre_ping=True,
                hide_parameters=True,
                connect_args=connect_args,
            )
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._write_engine = self.engine.execution_options(sqlite_immediate=True) if self.is_sqlite else self.engine
        self._write_sessions = sessionmaker(self._write_engine, expire_on_commit=False)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="store")
        self._sqlite_writer = threading.RLock()

    def _install_sqlite_hooks(self, synchronous: str) -> None:
        @event.listens_for(self.engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy, not pysqlite, decide when transactions begin.
            dbapi_conn.isolation_level = None
            cursor = dbapi_conn.cursor()
            for pragma in (
                "journal_mode=WAL",
                f"synchronous={synchronous}",
                "foreign_keys=ON",
                "busy_timeout=30000",
                "temp_store=MEMORY",
                "cache_size=-65536",
            ):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(self.engine, "begin")
        def _on_begin(conn: Any) -> None:
            immediate = conn.get_execution_options().get("sqlite_immediate", False)
            conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction, committed on success and rolled back on error."""
        with self._sessions.begin() as session:
            yield session

    @contextmanager
    def write_session(self) -> Iterator[Session]:
        """Like `session`, but takes SQLite's write lock at BEGIN (no lock-upgrade failures).

        On SQLite this process's writers first queue on an in-process lock: SQLite's own busy
        handler sleeps in growing steps, which turns contention into long tail latencies.
        """
        if not self.is_sqlite:
            with self._write_sessions.begin() as session:
                yield session
            return
        with self._sqlite_writer, self._write_sessions.begin() as session:
            yield session

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run blocking store code in the store's thread pool and await its result."""
        loop = asyncio.get_running_loop()
        call_context = contextvars.copy_context()  # per call: nothing outlives it
        return await loop.run_in_executor(self._executor, call_context.run, functools.partial(fn, *args, **kwargs))

    def ping(self) -> None:
        """Run a trivial query (raises when the database is unreachable)."""
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    def dispose(self) -> None:
        """Close all connections and the thread pool."""
        self._executor.shutdown(wait=True)
        self.engine.dispose()


def migrate(url: str, migrations_dir: pathlib.Path | str) -> None:
    """Apply the service's Alembic migrations up to head.

    On PostgreSQL a session advisory lock keyed by the migrations folder makes replicas
    that start together take turns instead of racing on the same DDL.
    """
    from alembic import command
    from alembic.config import Config

    url = normalise_url(url)
    if url.startswith("sqlite"):
        _prepare_sqlite_file(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            lock_key = zlib.crc32(pathlib.Path(migrations_dir).resolve().parent.name.encode())
            if not url.startswith("sqlite"):
                conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": lock_key})
            try:
                config = Config()
                config.set_main_option("script_location", str(migrations_dir))
                config.attributes["connection"] = conn
                command.upgrade(config, "head")
                conn.commit()
            finally:
                if not url.startswith("sqlite"):
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": lock_key})
                    conn.commit()
    finally:
        engine.dispose()


def run_alembic_env(target_metadata: Any) -> None:
    """Body of every service's `migrations/env.py`: migrate on the connection `migrate` passes."""
    from alembic import context as alembic_context

    connection = alembic_context.config.attributes.get("connection")
    if connection is None:
        url = alembic_context.config.get_main_option("sqlalchemy.url")
        engine = create_engine(normalise_url(cast(str, url)))
        with engine.connect() as conn:
            _configure_and_run(alembic_context, conn, target_metadata)
        engine.dispose()
        return
    _configure_and_run(alembic_context, connection, target_metadata)


def _configure_and_run(alembic_context: Any, connection: Any, target_metadata: Any) -> None:
    alembic_context.configure(
        connection=connection, target_metadata=target_metadata, render_as_batch=connection.dialect.name == "sqlite"
    )
    with alembic_context.begin_transaction():
        alembic_context.run_migrations()
