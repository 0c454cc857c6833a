"""Database connection and numbered migrations.

Migrations are plain SQL files ``NNN_name.sql`` in ``aggregator/migrations``,
applied in order inside one transaction each and recorded in
``schema_migrations``, so ``giamsat db init`` can run on every start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

MIGRATIONS = Path(__file__).with_name("migrations")


class DatabaseError(RuntimeError):
    """The database cannot be used as it is; the message says why and what to do."""


def connect(dsn: str, **kwargs: Any) -> psycopg.Connection:
    try:
        return psycopg.connect(dsn, **kwargs)
    except psycopg.OperationalError as exc:
        raise DatabaseError(f"cannot connect to the database ({dsn}): {exc}".strip()) from None


def check_timescaledb(conn: psycopg.Connection) -> None:
    """Fail with a clear message when TimescaleDB is missing or not preloaded."""
    row = conn.execute(
        "SELECT default_version FROM pg_available_extensions WHERE name = 'timescaledb'"
    ).fetchone()
    if row is None:
        raise DatabaseError(
            "the TimescaleDB extension is not installed on the database server; "
            "run scripts/install-timescaledb.sh (or use the timescale/timescaledb image)"
        )
    preload = conn.execute("SHOW shared_preload_libraries").fetchone()
    if preload is None or "timescaledb" not in preload[0]:
        raise DatabaseError(
            "TimescaleDB is installed but not preloaded; "
            "set shared_preload_libraries = 'timescaledb' in postgresql.conf and restart"
        )


def migration_files() -> list[tuple[int, Path]]:
    found = []
    for path in sorted(MIGRATIONS.glob("*.sql")):
        number = int(path.name.split("_", 1)[0])
        found.append((number, path))
    return found


def migrate(conn: psycopg.Connection) -> list[str]:
    """Apply pending migrations; return the names of those applied."""
    check_timescaledb(conn)
    with conn.transaction():
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version int PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    applied = []
    for number, path in migration_files():
        if number in done:
            continue
        with conn.transaction():
            conn.execute(path.read_text())
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                (number, path.name),
            )
        applied.append(path.name)
    return applied


def prune_raw(conn: psycopg.Connection, keep_days: int) -> list[str]:
    """Drop raw-record chunks older than ``keep_days``; rollups are a separate table and stay."""
    rows = conn.execute(
        "SELECT drop_chunks('records', older_than => %s::interval)", (f"{int(keep_days)} days",)
    ).fetchall()
    return [r[0] for r in rows]
