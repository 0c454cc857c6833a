"""Shared fixtures: real Mosquitto and PostgreSQL+TimescaleDB instances started by the tests.

A service that cannot start fails the test loudly; nothing here skips.

Every test is marked ``unit`` or ``services``: a test that uses a service
fixture, or whose module says ``pytestmark = pytest.mark.services`` (it starts
servers, processes, browsers or network namespaces itself), is ``services``;
every other test is ``unit`` and must pass with no network at all
(``make test-unit`` runs them so, in a namespace without even loopback).
"""

from __future__ import annotations

import shutil
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from demo.services import Mosquitto, Postgres, free_port
from giamsat.aggregator.store import db
from tests.support.processes import Aggregator, service_dir, write_aggregator_config

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


SERVICE_FIXTURES = frozenset({"pg_server", "db_dsn", "broker", "aggregator"})


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("services") or item.get_closest_marker("unit"):
            continue
        uses_service = SERVICE_FIXTURES & set(getattr(item, "fixturenames", ()))
        item.add_marker(pytest.mark.services if uses_service else pytest.mark.unit)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Postgres]:
    directory = service_dir("giamsat-pg-")
    server = Postgres(directory)
    server.start()
    yield server
    server.stop(mode="immediate")
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def db_dsn(pg_server: Postgres) -> Iterator[str]:
    """A fresh, migrated database for one test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = pg_server.dsn.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = pg_server.dsn.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(dsn, autocommit=True) as conn:
        db.migrate(conn)
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def broker() -> Iterator[Mosquitto]:
    directory = service_dir("giamsat-mqtt-")
    server = Mosquitto(directory)
    server.start()
    yield server
    server.stop()
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def aggregator(tmp_path: Path, db_dsn: str, broker: Mosquitto) -> Iterator[Aggregator]:
    port = free_port()
    config = write_aggregator_config(tmp_path / "aggregator.toml", db_dsn, broker, port)
    agg = Aggregator(config, port, tmp_path / "aggregator.log")
    agg.start()
    yield agg
    agg.stop()
