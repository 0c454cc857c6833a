"""Data and a running server for the web tests (no tests here; imported by test_web_*).

The dataset is generated with :mod:`tests.truth`, stored as rollups the way
ingest stores them, and described so the tests can compute what each page
must show straight from the samples (the oracle), not from the queries
under test.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import h3
import psycopg
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from demo.services import Postgres, free_port
from giamsat.aggregator import settings
from giamsat.aggregator.aggregates.rollup import COLUMNS
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance import Sample, build_rollups
from giamsat.aggregator.http.app import create_app
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store import areas, db, probes
from giamsat.aggregator.store import rollups as stored_rollups
from giamsat.aggregator.store import tokens as auth
from giamsat.contract.timezone import VIETNAM_TZ
from giamsat.maps.render import TileSource
from tests.support.truth import Truth, generate

FAMILIES = {"LTE": ("LTE",), "NR": ("NR-SA", "NR-NSA")}
TRUTHS = (
    # Thái Nguyên (the former Bắc Kạn town): Viettel 5G meets QCVN 126's mean download,
    # MobiFone's does not. Their probes record transfer outcomes (1 % dropped).
    Truth(operator="Viettel", tech="NR-SA", dl_mbps=130.0, probes=6, days=6,
          lat=22.15, lon=105.83, seed=11, dropped=0.01),
    Truth(operator="MobiFone", tech="NR-SA", dl_mbps=50.0, probes=6, days=6,
          lat=22.16, lon=105.86, seed=12, dropped=0.01),
    # Lào Cai (south of the city, on the border): VinaPhone 4G loses service in
    # six cycles out of ten: dead zones.
    Truth(operator="VinaPhone", tech="LTE", probes=3, days=4, no_service=0.6,
          rsrp_dbm=-100.0, lat=22.35, lon=104.05, seed=13),
    # November: Viettel only, so MobiFone's trend line has a gap.
    Truth(operator="Viettel", tech="NR-SA", dl_mbps=110.0, probes=6, days=3,
          lat=22.15, lon=105.83, start=date(2026, 11, 1), seed=14),
)  # fmt: skip
OCTOBER = (date(2026, 10, 1), date(2026, 10, 31))


@dataclass(frozen=True)
class FleetProbe:
    id: str
    kind: str
    village: str
    seen_ago: timedelta | None
    health: dict[str, float] | None


FLEET = (
    FleetProbe("bk-pacnam-01", "fixed", "Pác Nặm", timedelta(minutes=10),
               {"spool_queued": 3, "spool_refused": 0, "budget_used_mb": 120.5,
                "budget_mb": 2048.0}),
    FleetProbe("bk-khuoibooc-02", "fixed", "Khuổi Bốc", timedelta(days=2),
               {"spool_queued": 250, "spool_refused": 7, "budget_used_mb": 2048.0,
                "budget_mb": 2048.0}),
    FleetProbe("lc-phone-07", "phone", "Bản Phố", timedelta(minutes=30), None),
    FleetProbe("lc-never-09", "fixed", "Nậm Chày", None, None),
)  # fmt: skip


@dataclass
class Dataset:
    samples: list[Sample]
    kinds: dict[str, str]  # probe -> fixed | phone

    def family_of(self, tech: str) -> str | None:
        return next((f for f, techs in FAMILIES.items() if tech in techs), None)

    def served(self, start: datetime, end: datetime) -> dict[str, set[str]]:
        found: dict[str, set[str]] = defaultdict(set)
        for s in self.samples:
            family = self.family_of(s.tech)
            if family and s.service and start <= s.t < end:
                found[s.op].add(family)
        return found

    def hexes(self, start: datetime, end: datetime) -> dict[tuple[str, str, str], dict]:
        """Oracle: per (h3, op, family), samples, no-service, local days, probes, values."""
        served = self.served(start, end)
        out: dict[tuple[str, str, str], dict] = {}
        for s in self.samples:
            if not start <= s.t < end:
                continue
            if s.tech == NO_TECH:
                families = served.get(s.op) or set(FAMILIES)
            else:
                families = {self.family_of(s.tech)} - {None}
            for family in families:
                acc = out.setdefault(
                    (s.h3, s.op, family),
                    {"n": 0, "lost": 0, "days": set(), "probes": set(), "rsrp": [], "dl": []},
                )
                acc["n"] += 1
                acc["lost"] += not s.service
                acc["days"].add(s.t.astimezone(VIETNAM_TZ).date())
                acc["probes"].add(s.probe)
                if s.service and s.rsrp_dbm is not None:
                    acc["rsrp"].append(s.rsrp_dbm)
                if s.service and s.dl_mbps is not None:
                    acc["dl"].append(s.dl_mbps)
        return out


def bounds(first: date, last: date) -> tuple[datetime, datetime]:
    start = datetime.combine(first, datetime.min.time(), VIETNAM_TZ)
    end = datetime.combine(last + timedelta(days=1), datetime.min.time(), VIETNAM_TZ)
    return start, end


def _pubkey() -> str:
    import base64

    raw = Ed25519PrivateKey.generate().public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_dataset(dsn: str) -> Dataset:
    """Areas, rollups of :data:`TRUTHS`, the registry, and latest records of :data:`FLEET`."""
    samples = [s for truth in TRUTHS for s in generate(truth)]
    kinds = {s.probe: "phone" if s.env == "outdoor_mobile" else "fixed" for s in samples}
    rows = [r.as_row() for r in build_rollups(samples)]
    now = datetime.now(UTC)
    with psycopg.connect(dsn, autocommit=True) as conn:
        areas.sync(conn, areas.load_areas(PROJECT_CONFIG / "areas"))
        with conn.transaction(), conn.cursor() as cur:
            cur.executemany(stored_rollups.UPSERT_ONE, [[row[c] for c in COLUMNS] for row in rows])
        for probe, kind in sorted(kinds.items()):
            probes.add(conn, probe, _pubkey(), kind=kind, village="Bản thử nghiệm")
        for fp in FLEET:
            probes.add(conn, fp.id, _pubkey(), kind=fp.kind, village=fp.village)
            if fp.seen_ago is None:
                continue
            t = now - fp.seen_ago
            record = {"v": 1, "id": str(uuid.uuid4()), "probe": fp.id, "t": t.isoformat(),
                      "loc": {"lat": 22.61, "lon": 105.87}}  # fmt: skip
            if fp.health is not None:
                record["health"] = fp.health
            conn.execute(
                "INSERT INTO records (t, id, probe, received_at, lat, lon, h3, raw) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                (t, record["id"], fp.id, t + timedelta(seconds=5), 22.61, 105.87,
                 h3.latlng_to_cell(22.61, 105.87, 8), json.dumps(record)),
            )  # fmt: skip
    return Dataset(samples, kinds)


@contextmanager
def fresh_database(pg_server: Postgres) -> Iterator[str]:
    """A migrated database of its own, for a module of tests that share one dataset."""
    name = f"w_{uuid.uuid4().hex[:12]}"
    base = pg_server.dsn.rsplit("/", 1)[0]
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    dsn = f"{base}/{name}"
    try:
        with psycopg.connect(dsn, autocommit=True) as conn:
            db.migrate(conn)
        yield dsn
    finally:
        with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def token(dsn: str, role: str = "viewer") -> str:
    with psycopg.connect(dsn, autocommit=True) as conn:
        return auth.create_token(conn, f"{role}-{uuid.uuid4().hex[:6]}", role)


@dataclass(frozen=True)
class WebServer:
    url: str
    key_file: Path


@contextmanager
def web_server(dsn: str, directory: Path, tiles: TileSource | None = None) -> Iterator[WebServer]:
    """``create_app`` (which registers the pages) served by uvicorn in a thread on a free port."""
    web = settings.WebSettings(tiles.url, tiles.attribution) if tiles else settings.WebSettings()
    cfg = dataclasses.replace(settings.load(None), dsn=dsn, web=web, state_dir=directory)
    app = create_app(cfg)
    key_file = directory / "opendata.key"
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the web server did not start")
        time.sleep(0.05)
    try:
        yield WebServer(f"http://127.0.0.1:{port}", key_file)
    finally:
        server.should_exit = True
        thread.join(timeout=20)
