"""Evidence bundles kept by their SHA-256, so the bundle a notice cites can be fetched again.

A notice quotes a bundle's hash; an operator contesting it months later, or a
court, needs the bundle itself. Every bundle the API builds is kept, and so is
every bundle ``giamsat cases advance --bundle`` cites; the same bytes are kept
once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

import psycopg


def keep(conn: psycopg.Connection, path: Path) -> str:
    """Store the bundle at ``path`` (if its bytes are not kept yet); returns its SHA-256."""
    content = path.read_bytes()
    sha256 = hashlib.sha256(content).hexdigest()
    conn.execute(
        "INSERT INTO evidence_bundles (sha256, name, bytes, content) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (sha256) DO NOTHING",
        (sha256, path.name, len(content), content),
    )
    return sha256


def kept(conn: psycopg.Connection, hashes: Iterable[str]) -> set[str]:
    """Which of ``hashes`` are kept."""
    wanted = sorted(set(hashes))
    if not wanted:
        return set()
    rows = conn.execute(
        "SELECT sha256 FROM evidence_bundles WHERE sha256 = ANY(%s)", (wanted,)
    ).fetchall()
    return {r[0] for r in rows}


def fetch(conn: psycopg.Connection, sha256: str) -> tuple[str, bytes] | None:
    """The kept bundle's file name and bytes, or None."""
    row = conn.execute(
        "SELECT name, content FROM evidence_bundles WHERE sha256 = %s", (sha256,)
    ).fetchone()
    return None if row is None else (str(row[0]), bytes(row[1]))
