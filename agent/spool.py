"""The probe's outbox: a SQLite (WAL) queue that survives power cuts and long outages.

Every record is written here before any attempt to publish it and deleted
only once the broker has acknowledged it (QoS 1 PUBACK). The queue is bounded
in bytes; when it is full a new record is refused and counted, loudly, so the
loss is visible in logs and in `giamsat-agent status` rather than silent.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("giamsat.agent.spool")

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    id      TEXT NOT NULL UNIQUE,
    created REAL NOT NULL,
    payload BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@dataclass(frozen=True)
class SpoolStatus:
    queued: int
    bytes: int
    oldest_age_s: float | None
    refused_full: int
    last_publish: float | None
    max_bytes: int


class Spool:
    def __init__(self, path: Path, max_bytes: int = 50 * 1024 * 1024) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.max_bytes = max_bytes
        self.db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a PUBACK'd delete must not come back
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def _meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str) -> None:
        self.db.execute(
            "INSERT INTO meta (key, value) VALUES (?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def bytes_used(self) -> int:
        return self.db.execute("SELECT coalesce(sum(length(payload)), 0) FROM outbox").fetchone()[0]

    def put(self, record_id: str, payload: bytes) -> bool:
        """Queue a record; False (and a warning) when the spool is full."""
        if self.bytes_used() + len(payload) > self.max_bytes:
            refused = int(self._meta("refused_full") or 0) + 1
            self._set_meta("refused_full", str(refused))
            log.warning(
                "spool full (%d bytes, limit %d): record %s NOT kept (%d refused so far)",
                self.bytes_used(), self.max_bytes, record_id, refused,
            )  # fmt: skip
            return False
        self.db.execute(
            "INSERT OR IGNORE INTO outbox (id, created, payload) VALUES (?, ?, ?)",
            (record_id, time.time(), payload),
        )
        return True

    def pending(self, limit: int = 100, after_seq: int = 0) -> list[tuple[int, str, bytes]]:
        """Oldest first, so records reach the aggregator in the order they were taken."""
        return self.db.execute(
            "SELECT seq, id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, limit),
        ).fetchall()

    def delete(self, seqs: list[int]) -> None:
        if not seqs:
            return
        self.db.execute("BEGIN")
        self.db.executemany("DELETE FROM outbox WHERE seq = ?", [(s,) for s in seqs])
        self._set_meta("last_publish", str(time.time()))
        self.db.execute("COMMIT")

    def __len__(self) -> int:
        return self.db.execute("SELECT count(*) FROM outbox").fetchone()[0]

    def status(self) -> SpoolStatus:
        count, size, oldest = self.db.execute(
            "SELECT count(*), coalesce(sum(length(payload)), 0), min(created) FROM outbox"
        ).fetchone()
        last = self._meta("last_publish")
        return SpoolStatus(
            queued=count,
            bytes=size,
            oldest_age_s=None if oldest is None else max(0.0, time.time() - oldest),
            refused_full=int(self._meta("refused_full") or 0),
            last_publish=float(last) if last else None,
            max_bytes=self.max_bytes,
        )
