"""The simulated fleet: signed records for every probe, registered and published for real.

``python -m demo.fleet --config .state/demo/aggregator.toml`` (or ``--dsn`` and
``--broker-host/--broker-port``) generates a measurement every
``--interval-min`` minutes over the last ``--days`` days for each of
``--probes`` probes, registers the probes in the aggregator's registry, and
publishes the records through the broker with QoS 1 exactly as probes do:
one MQTT connection per probe, on the probe's own topic, signed with the
probe's own Ed25519 key (kept under ``--state-dir`` so a second run reuses
the registrations). It then waits until ingest has stored every record.

Records are reproducible: the same seed, keys and time grid give the same
record ids and bytes, so running it twice within one interval stores nothing
new (ingest is idempotent on the record id). The time grid ends at the last
whole interval before now, so no record is in the future.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import random
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TextIO

import paho.mqtt.client as mqtt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

from demo.radio import PROFILES, Measurement, RadioModel, local_time, place_towers
from demo.terrain import Terrain, distance_m
from demo.villages import Village, select
from giamsat.agent import identity
from giamsat.aggregator.ingest import broker
from giamsat.aggregator.store import probes as registry
from giamsat.contract import record

SPEED_TARGET = "speed.example.vn"
MAX_TEST_BYTES = 100_000_000  # the agent's default [throughput] max_bytes per direction
MAX_TEST_S = 10.0  # and its max_s
STALL_S = 5.0  # and its stall_s: a started transfer that moves nothing this long is dropped
LTE_RESOURCE_BLOCKS = {20.0: 100, 15.0: 75, 10.0: 50}
DAYTIME_HOURS = range(6, 22)  # when phones are on the move (local time)
ROUTE_STEP_M = 300.0  # phones' positions are quantised along their route


@dataclass(frozen=True)
class FleetSize:
    probes: int
    days: int
    interval_min: int


DEMO = FleetSize(probes=50, days=7, interval_min=15)
# Three days: the coverage map, and so the list of gaps, classes a hexagon only
# on samples of at least three local days (giamsat.maps.classify, min_days).
CI = FleetSize(probes=12, days=3, interval_min=60)


@dataclass(frozen=True)
class OperatorRow:
    operator: str
    probes: int
    records: int
    no_service: int
    nr_records: int
    dl_mean_mbps: float | None
    dl_samples: int

    @property
    def no_service_pct(self) -> float:
        return 100.0 * self.no_service / self.records if self.records else 0.0


@dataclass(frozen=True)
class DeadZone:
    """A probe whose every record says "no service", and why the terrain makes it so."""

    probe: str
    place: str
    operator: str
    valley_depth_m: float  # how far it lies below the ground 1.5 km around it
    nearest_tower_km: float | None  # nearest tower of its SIM's operator

    def describe(self) -> str:
        where = (
            f"{self.valley_depth_m:.0f} m below its surroundings"
            if self.valley_depth_m > 50
            else "not in a valley"
        )
        tower = (
            "no tower within 35 km"
            if self.nearest_tower_km is None
            else f"nearest {self.operator} tower {self.nearest_tower_km:.1f} km"
        )
        return f"{self.probe:<18} {self.operator:<10} {self.place}: {where}, {tower}"


@dataclass(frozen=True)
class Summary:
    """What a run produced, for the demo script to print or check."""

    probes: int
    records: int
    published: int
    stored: int | None  # None when the run did not wait for ingest
    start: datetime
    end: datetime
    operators: tuple[OperatorRow, ...]
    dead_zones: tuple[DeadZone, ...]
    seconds: dict[str, float]

    @property
    def dead_probes(self) -> tuple[str, ...]:
        return tuple(z.probe for z in self.dead_zones)

    def table(self) -> str:
        """The short table a person reads at the end of a run."""
        head = (
            f"{'operator':<10} {'probes':>6} {'records':>8} {'no service':>11} "
            f"{'5G':>7} {'mean DL':>9}"
        )
        lines = [head, "-" * len(head)]
        for row in (*self.operators, self._total()):
            dl = "-" if row.dl_mean_mbps is None else f"{row.dl_mean_mbps:.1f}"
            share_5g = 100.0 * row.nr_records / row.records if row.records else 0.0
            lines.append(
                f"{row.operator:<10} {row.probes:>6} {row.records:>8} "
                f"{row.no_service_pct:>10.1f}% {share_5g:>6.1f}% {dl:>9}"
            )
        stored = "not checked" if self.stored is None else str(self.stored)
        timing = ", ".join(f"{k} {v:.1f} s" for k, v in self.seconds.items())
        lines += [
            "",
            f"period {self.start:%Y-%m-%d %H:%M} to {self.end:%Y-%m-%d %H:%M} UTC; "
            f"published {self.published}, stored {stored}",
            f"time: {timing}",
            "",
            "probes that never had service (dead zones):" if self.dead_zones else "no dead zones",
        ]
        lines += [f"  {z.describe()}" for z in self.dead_zones]
        return "\n".join(lines)

    def _total(self) -> OperatorRow:
        rows = self.operators
        samples = sum(r.dl_samples for r in rows)
        dl_sum = sum(r.dl_mean_mbps * r.dl_samples for r in rows if r.dl_mean_mbps is not None)
        return OperatorRow(
            "all",
            sum(r.probes for r in rows),
            sum(r.records for r in rows),
            sum(r.no_service for r in rows),
            sum(r.nr_records for r in rows),
            dl_sum / samples if samples else None,
            samples,
        )


class Progress:
    """One status line: rewritten in place on a terminal, a few plain lines otherwise."""

    def __init__(self, stream: TextIO | None = sys.stderr) -> None:
        self.stream = stream
        self.tty = bool(stream and stream.isatty())
        self._last_step: dict[str, int] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self.stream is None:
            return
        step = 10 * done // max(total, 1)
        if not self.tty and self._last_step.get(phase) == step:
            return  # a log file gets one line per tenth, not one per record
        self._last_step[phase] = step
        text = f"{phase:<10} {done:>7}/{total:<7} {100 * done / max(total, 1):5.1f}%"
        if self.tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
        else:
            self.stream.write(text + "\n")
        self.stream.flush()


ProgressFn = Callable[[str, int, int], None]


def _quiet(phase: str, done: int, total: int) -> None:
    return None


# --- generating --------------------------------------------------------------


class World:
    """The terrain, every operator's towers and the radio model, built once per seed."""

    def __init__(self, seed: int = 1) -> None:
        self.seed = seed
        self.terrain = Terrain(seed)
        self.towers = place_towers(self.terrain, seed)
        self.radio = RadioModel(self.terrain, self.towers, seed)


def probe_keys(state_dir: Path, villages: Iterable[Village]) -> dict[str, Ed25519PrivateKey]:
    """Each probe's key, created on first use like a real probe's, under ``state_dir``."""
    return {v.probe: identity.load_or_create(state_dir / "probes" / v.probe) for v in villages}


def time_grid(
    days: int, interval_min: int, now: datetime | None = None
) -> tuple[datetime, datetime]:
    """First and last slot of the run: whole intervals, the last one before ``now``."""
    if days < 1 or interval_min < 1:
        raise ValueError("days and interval_min must be at least 1")
    now = (now or datetime.now(UTC)).astimezone(UTC)
    step = interval_min * 60
    last = datetime.fromtimestamp((int(now.timestamp()) // step - 1) * step, UTC)
    first = last - timedelta(days=days) + timedelta(seconds=step)
    return first, last


def uuid7_at(when: datetime, rng: random.Random) -> str:
    """A version 7 UUID for ``when`` with seeded random bits: reproducible, time-ordered."""
    ms = int(when.timestamp() * 1000)
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= rng.getrandbits(12) << 64
    value |= 0b10 << 62
    value |= rng.getrandbits(62)
    return str(uuid.UUID(int=value))


def _route_positions(route: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """Points every ~300 m along a route, so the radio model's cache sees a finite set."""
    points: list[tuple[float, float]] = []
    for (a_lat, a_lon), (b_lat, b_lon) in itertools.pairwise(route):
        steps = max(1, round(distance_m(a_lat, a_lon, b_lat, b_lon) / ROUTE_STEP_M))
        for i in range(steps):
            f = i / steps
            points.append((a_lat + f * (b_lat - a_lat), a_lon + f * (b_lon - a_lon)))
    points.append(route[-1])
    return points


def record_sections(
    village: Village,
    m: Measurement,
    lat: float,
    lon: float,
    rng: random.Random,
    outcomes: random.Random,
) -> dict[str, Any]:
    """The record's sections for one measurement, shaped as the agent writes them.

    ``rng`` is the probe's stream (its GPS accuracy); ``outcomes`` the stream
    that decides whether a started transfer is dropped, kept apart so that
    drops do not shift the probe's other draws. An NR-NSA record carries the
    LTE anchor in ``sig`` and the NR leg in ``sig.nr_*``, as NSA modems report
    them (DESIGN.md, "5G non-standalone").
    """
    phone = bool(village.route)
    loc = {
        "lat": round(lat, 5),
        "lon": round(lon, 5),
        "acc_m": round(rng.uniform(4.0, 15.0), 1) if phone else 10.0,
        "src": "gps" if phone else "static",
        "env": village.env,
    }
    if not m.service:
        return {
            "loc": loc,
            "net": {"service": False, "sim_op": village.sim},
            "errors": ["no_service"],
        }
    assert m.tower is not None and m.tech is not None and m.cell is not None
    profile = PROFILES[m.tower.operator]
    net = {
        "service": True,
        "mcc": profile.mcc,
        "mnc": profile.mnc,
        "tech": m.tech,
        "op": profile.name,
    }
    sig: dict[str, Any] = {
        "rsrp_dbm": m.rsrp_dbm,
        "rsrq_db": m.rsrq_db,
        "sinr_db": m.sinr_db,
        "pci": m.pci,
        "cell": f"0x{m.cell:X}",
        "tac": f"0x{m.tower.tac:04X}",
        "band": m.band,
        "arfcn": m.arfcn,
    }
    if m.rsrp_dbm is not None and m.rsrq_db is not None:
        blocks = LTE_RESOURCE_BLOCKS.get(profile.lte_mhz, 100)
        sig["rssi_dbm"] = round(m.rsrp_dbm + 10 * math.log10(blocks) - m.rsrq_db)
    if m.nr_tower is not None:
        sig |= {
            "nr_rsrp_dbm": m.nr_rsrp_dbm,
            "nr_rsrq_db": m.nr_rsrq_db,
            "nr_sinr_db": m.nr_sinr_db,
            "nr_pci": m.nr_pci,
            "nr_arfcn": m.nr_arfcn,
            "nr_band": m.nr_band,
        }
    lat_section: dict[str, Any] = {
        "target": SPEED_TARGET,
        "method": "icmp",
        "n": 20,
        "loss_pct": m.loss_pct,
    }
    if m.loss_pct is not None and m.loss_pct < 100.0:
        lat_section |= {"rtt_ms_p50": m.rtt_ms, "jitter_ms": m.jitter_ms}
    return {"loc": loc, "net": net, "sig": sig, "lat": lat_section, **_transfers(m, outcomes)}


def _transfers(m: Measurement, outcomes: random.Random) -> dict[str, Any]:
    """The cycle's ``dl``, ``ul``, ``access`` and ``errors``, as the agent's probe writes them.

    The download's access is the cycle's access sample: without it the
    download did not start (``not_started``, an access failure) and nothing
    else runs. A started transfer is dropped with the measurement's chance;
    the upload runs only after a download that completed.
    """
    # The same number of draws for every cycle with service, whatever happens.
    dl_u, dl_at, dl_stall, ul_u, ul_at, ul_stall = (outcomes.random() for _ in range(6))
    if not m.access_ok:
        return {"dl": _not_started(), "access": {"ok": False}, "errors": ["dl_failed"]}
    access = {"ok": True, "dur_s": m.access_s}
    dl = _transfer(m.dl_mbps or 0.0)
    if dl_u < (m.dl_drop or 0.0):
        dropped = _dropped(dl, dl_at, dl_stall < 0.5)
        return {"dl": dropped, "access": access, "errors": ["dl_failed"]}
    ul = _transfer(m.ul_mbps or 0.0)
    if ul_u < (m.ul_drop or 0.0):
        dropped = _dropped(ul, ul_at, ul_stall < 0.5)
        return {"dl": dl, "ul": dropped, "access": access, "errors": ["ul_failed"]}
    return {"dl": dl, "ul": ul, "access": access, "errors": []}


def _transfer(mbps: float) -> dict[str, Any]:
    """A completed speed test: capped by bytes for fast links, by time for slow ones."""
    mbps = max(mbps, 0.01)
    dur = min(MAX_TEST_S, MAX_TEST_BYTES * 8 / (mbps * 1e6))
    return {
        "mbps": round(mbps, 2),
        "bytes": int(mbps * 1e6 / 8 * dur),
        "dur_s": round(dur, 2),
        "streams": 4,
        "method": "giamsat-http",
        "server": SPEED_TARGET,
        "stop": "max_s" if dur >= MAX_TEST_S else "max_bytes",
        "outcome": "completed",
    }


def _dropped(full: dict[str, Any], at: float, stall: bool) -> dict[str, Any]:
    """``full`` cut short by a fault ``at`` (0 to 1) of its way: a dropped transfer.

    As the agent reports one: what it moved and how long it ran, but no rate.
    A reset (or a server failing) ends the test at once; a stall ends it
    ``STALL_S`` later, with nothing more moved. A stall that ``max_s`` would
    cut before it is noticed is no drop in the agent, so it is drawn as a reset.
    """
    done = 0.05 + 0.9 * at
    t = full["dur_s"] * done
    moved = int(full["bytes"] * done)
    if stall and t + STALL_S < MAX_TEST_S:
        t += STALL_S
    return {
        "bytes": moved,
        "dur_s": round(t, 2),
        "streams": full["streams"],
        "method": full["method"],
        "server": full["server"],
        "stop": "error",
        "outcome": "dropped",
    }


def _not_started() -> dict[str, Any]:
    """A download whose access failed: no byte of an answer arrived, so nothing was moved."""
    return {
        "bytes": 0,
        "streams": 4,
        "method": "giamsat-http",
        "server": SPEED_TARGET,
        "outcome": "not_started",
    }


def generate(
    world: World,
    villages: Sequence[Village],
    keys: Mapping[str, Ed25519PrivateKey],
    *,
    first: datetime,
    last: datetime,
    interval_min: int,
    progress: ProgressFn = _quiet,
) -> dict[str, list[dict[str, Any]]]:
    """Every probe's signed records over [first, last], oldest first.

    Each probe gets its own seeded random stream and a fixed offset within the
    interval (probes are not synchronised); times stay at or before ``last``
    plus that offset, which is before now. Whether a started transfer drops is
    drawn from a second stream of the probe's, so drops shift no other draw.
    """
    slots = int((last - first).total_seconds() // (interval_min * 60)) + 1
    out: dict[str, list[dict[str, Any]]] = {}
    for n, village in enumerate(villages, start=1):
        rng = random.Random(f"fleet:{world.seed}:{village.probe}")
        outcomes = random.Random(f"fleet-outcomes:{world.seed}:{village.probe}")
        offset = timedelta(seconds=rng.uniform(0, interval_min * 60 - 60))
        boot = first - timedelta(hours=rng.uniform(1, 240))
        path = _route_positions(village.route) if village.route else [(village.lat, village.lon)]
        key = keys[village.probe]
        records: list[dict[str, Any]] = []
        for i in range(slots):
            when = first + timedelta(minutes=interval_min * i) + offset
            when = when.replace(microsecond=(when.microsecond // 1000) * 1000)
            lat, lon = path[0]
            if village.route and local_time(when).hour in DAYTIME_HOURS:
                lat, lon = path[rng.randrange(len(path))]
            links = world.radio.links(village.sim, lat, lon, village.env)
            m = world.radio.measure(links, when, rng, nr_capable=village.nr)
            unsigned = record.build(
                village.probe,
                when=when,
                record_id=uuid7_at(when, rng),
                extra={"mono_s": round((when - boot).total_seconds(), 3)},
                **record_sections(village, m, lat, lon, rng, outcomes),
            )
            records.append(record.sign(unsigned, key))
        out[village.probe] = records
        progress("generate", n, len(villages))
    return out


def operator_rows(
    villages: Sequence[Village], records: Mapping[str, Sequence[dict[str, Any]]]
) -> tuple[OperatorRow, ...]:
    """Per-operator counts of what was generated (attributed to each probe's SIM)."""
    rows = []
    for operator in PROFILES:
        mine = [v for v in villages if v.sim == operator]
        recs = [r for v in mine for r in records.get(v.probe, [])]
        if not mine:
            continue
        no_service = sum(1 for r in recs if r["net"].get("service") is False)
        nr = sum(1 for r in recs if r["net"].get("tech") == "NR-NSA")
        dls = [r["dl"]["mbps"] for r in recs if "mbps" in r.get("dl", {})]
        rows.append(
            OperatorRow(
                operator,
                len(mine),
                len(recs),
                no_service,
                nr,
                sum(dls) / len(dls) if dls else None,
                len(dls),
            )
        )
    return tuple(rows)


# --- registering and publishing ----------------------------------------------


def register(dsn: str, villages: Sequence[Village], keys: Mapping[str, Ed25519PrivateKey]) -> None:
    """Register every probe with its public key, as `giamsat probes add` does."""
    with psycopg.connect(dsn) as conn:
        for v in villages:
            registry.add(
                conn, v.probe, record.public_key_b64(keys[v.probe]), kind=v.kind, village=v.label
            )


class PublishError(RuntimeError):
    """The broker refused or did not acknowledge records; the message says which probe."""


def broker_accounts(
    dsn: str, probes: Sequence[str], state_dir: Path, config_dir: Path, reload_command: str
) -> dict[str, str]:
    """Give every simulated probe its own broker account, as `giamsat probes add` does.

    Passwords are kept in ``state_dir`` so a rerun reuses them; the broker's
    passwd and ACL are rewritten and the broker asked to reload.
    """
    path = Path(state_dir) / "broker-passwords.json"
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    with psycopg.connect(dsn, autocommit=True) as conn:
        for probe in probes:
            if probe not in known:
                known[probe] = broker.add_account(conn, probe, "probe")
        broker.write_files(conn, Path(config_dir))
    path.write_text(json.dumps(known))
    path.chmod(0o600)
    warning = broker.reload(reload_command)
    if warning:
        raise PublishError(warning)
    time.sleep(0.5)  # Mosquitto reloads its password file asynchronously after SIGHUP
    return known


def _publish_probe(
    host: str, port: int, probe: str, payloads: Sequence[bytes], timeout_s: float,
    on_ack: Callable[[int], None], password: str | None = None,
) -> None:  # fmt: skip
    if not payloads:
        return
    connected = threading.Event()
    done = threading.Event()
    state = {"acked": 0, "refused": "", "connect": ""}
    lock = threading.Lock()

    def on_connect(client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            state["connect"] = str(reason_code)
        connected.set()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        with lock:
            if reason_code.is_failure:
                state["refused"] = str(reason_code)
                done.set()
                return
            state["acked"] += 1
            if state["acked"] % 100 == 0 or state["acked"] == len(payloads):
                on_ack(state["acked"])
            if state["acked"] == len(payloads):
                done.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=f"probe-{probe}", protocol=mqtt.MQTTv5
    )
    client.on_connect = on_connect
    client.on_publish = on_publish
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    if password is not None:
        client.username_pw_set(probe, password)
    try:
        client.connect(host, port, keepalive=60)
    except OSError as exc:
        raise PublishError(f"{probe}: cannot reach broker {host}:{port}: {exc}") from None
    client.loop_start()
    try:
        if not connected.wait(15) or state["connect"]:
            raise PublishError(f"{probe}: broker refused the connection {state['connect']}")
        topic = record.topic_for(probe)
        for payload in payloads:
            info = client.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishError(f"{probe}: publish failed: {mqtt.error_string(info.rc)}")
        if not done.wait(timeout_s) or state["refused"]:
            raise PublishError(
                f"{probe}: {state['acked']} of {len(payloads)} records acknowledged"
                + (f"; broker refused: {state['refused']}" if state["refused"] else "")
            )
    finally:
        client.disconnect()
        client.loop_stop()


def publish(
    host: str,
    port: int,
    payloads: Mapping[str, Sequence[bytes]],
    *,
    workers: int = 8,
    timeout_s: float = 120.0,
    progress: ProgressFn = _quiet,
    passwords: Mapping[str, str] | None = None,
) -> int:
    """Publish each probe's records on its own connection with QoS 1; returns the number acked.

    A few probes publish at once so the broker round trips overlap. Raises
    :class:`PublishError` if any record is not acknowledged in time.
    """
    total = sum(len(p) for p in payloads.values())
    acked: dict[str, int] = {}
    lock = threading.Lock()
    errors: list[PublishError] = []
    queue = list(payloads.items())

    def report(probe: str, count: int) -> None:
        with lock:
            acked[probe] = count
            progress("publish", sum(acked.values()), total)

    def worker() -> None:
        while True:
            with lock:
                if not queue or errors:
                    return
                probe, items = queue.pop(0)
            try:
                _publish_probe(
                    host, port, probe, items, timeout_s, lambda n, p=probe: report(p, n),
                    (passwords or {}).get(probe),
                )  # fmt: skip
            except PublishError as exc:
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return sum(acked.values())


def wait_stored(
    dsn: str,
    records: Mapping[str, Sequence[dict[str, Any]]],
    *,
    timeout_s: float = 300.0,
    progress: ProgressFn = _quiet,
) -> int:
    """Wait until the database holds every generated record; returns how many it holds.

    Counting is by record id within the probes' period, so records of earlier
    runs do not count. Gives up early, naming the reason, when ingest
    dead-letters records of these probes instead of storing them.
    """
    ids = [r["id"] for recs in records.values() for r in recs]
    probes = list(records)
    topics = [record.topic_for(p) for p in probes]
    times = [record.parse_timestamp(r["t"]) for recs in records.values() for r in recs]
    start = min(times)
    deadline = time.monotonic() + timeout_s
    stored = 0
    with psycopg.connect(dsn, autocommit=True) as conn:
        dead_before = conn.execute("SELECT coalesce(max(id), 0) FROM deadletter").fetchone()[0]
        while True:
            stored = conn.execute(
                "SELECT count(*) FROM records WHERE probe = ANY(%s) AND t >= %s "
                "AND id = ANY(%s::uuid[])",
                (probes, start, ids),
            ).fetchone()[0]
            progress("ingest", stored, len(ids))
            if stored >= len(ids) or time.monotonic() > deadline:
                return stored
            bad = conn.execute(
                "SELECT reason, detail FROM deadletter WHERE id > %s AND topic = ANY(%s) "
                "ORDER BY id LIMIT 1",
                (dead_before, topics),
            ).fetchone()
            if bad:
                raise PublishError(f"ingest dead-lettered a record: {bad[0]}: {bad[1]}")
            time.sleep(0.3)


def run(
    dsn: str,
    broker_host: str,
    broker_port: int,
    *,
    probes: int = DEMO.probes,
    days: int = DEMO.days,
    interval_min: int = DEMO.interval_min,
    seed: int = 1,
    state_dir: Path,
    wait: bool = True,
    now: datetime | None = None,
    progress: ProgressFn | None = None,
    broker_config_dir: Path | None = None,
    broker_reload: str = "",
) -> Summary:
    """Generate, register, publish and (by default) wait for ingest; returns the summary.

    With ``broker_config_dir`` each probe gets its own broker account (a broker
    with an ACL, as in production); without it the broker must allow anonymous
    publishing (tests).
    """
    show = progress or _quiet
    seconds: dict[str, float] = {}
    started = time.monotonic()
    villages = select(probes)
    keys = probe_keys(Path(state_dir), villages)
    world = World(seed)
    first, last = time_grid(days, interval_min, now)
    generated = generate(
        world, villages, keys, first=first, last=last, interval_min=interval_min, progress=show
    )
    seconds["generate"] = time.monotonic() - started
    mark = time.monotonic()
    register(dsn, villages, keys)
    passwords = None
    if broker_config_dir is not None:
        passwords = broker_accounts(
            dsn, [v.probe for v in villages], Path(state_dir), broker_config_dir, broker_reload
        )
    seconds["register"] = time.monotonic() - mark
    mark = time.monotonic()
    payloads = {p: [record.encode(r) for r in recs] for p, recs in generated.items()}
    published = publish(broker_host, broker_port, payloads, progress=show, passwords=passwords)
    seconds["publish"] = time.monotonic() - mark
    stored = None
    if wait:
        mark = time.monotonic()
        stored = wait_stored(dsn, generated, progress=show)
        seconds["ingest"] = time.monotonic() - mark
    return summarise(world, villages, generated, published, stored, seconds)


def dead_zones(
    world: World, villages: Sequence[Village], generated: Mapping[str, Sequence[dict[str, Any]]]
) -> tuple[DeadZone, ...]:
    """The probes that never had service, with their valley depth and nearest own tower."""
    zones = []
    for v in villages:
        recs = generated.get(v.probe, [])
        if not recs or any(r["net"].get("service") is not False for r in recs):
            continue
        own = [distance_m(v.lat, v.lon, t.lat, t.lon) for t in world.towers if t.operator == v.sim]
        nearest = min(own) / 1000.0 if own and min(own) < 35_000 else None
        depth = world.terrain.valley_depth(v.lat, v.lon)
        zones.append(DeadZone(v.probe, v.label, v.sim, depth, nearest))
    return tuple(zones)


def summarise(
    world: World,
    villages: Sequence[Village],
    generated: Mapping[str, Sequence[dict[str, Any]]],
    published: int,
    stored: int | None,
    seconds: dict[str, float],
) -> Summary:
    """Counts of what a run generated, published and stored, and its dead zones."""
    times = [r["t"] for recs in generated.values() for r in recs]
    return Summary(
        probes=len(villages),
        records=sum(len(r) for r in generated.values()),
        published=published,
        stored=stored,
        start=record.parse_timestamp(min(times)),
        end=record.parse_timestamp(max(times)),
        operators=operator_rows(villages, generated),
        dead_zones=dead_zones(world, villages, generated),
        seconds=seconds,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m demo.fleet",
        description="Publish a simulated fleet of probes in Cao Bằng, Lào Cai, Thái Nguyên and "
        "Tuyên Quang through the broker to the aggregator.",
    )
    parser.add_argument("--config", "-c", help="aggregator TOML config: database and broker")
    parser.add_argument("--dsn", help="PostgreSQL DSN (overrides the config)")
    parser.add_argument("--broker-host", help="MQTT broker host (overrides the config)")
    parser.add_argument("--broker-port", type=int, help="MQTT broker port (overrides the config)")
    parser.add_argument("--probes", type=int, default=DEMO.probes, help="number of probes (max 50)")
    parser.add_argument("--days", type=int, default=DEMO.days, help="days of history up to now")
    parser.add_argument(
        "--interval-min", type=int, default=DEMO.interval_min, help="minutes between measurements"
    )
    parser.add_argument("--seed", type=int, default=1, help="terrain, towers and noise seed")
    parser.add_argument(
        "--state-dir", default=".state/fleet", help="where the probes' keys are kept"
    )
    parser.add_argument(
        "--ci",
        action="store_true",
        help=f"short run: {CI.probes} probes, {CI.days} days, every {CI.interval_min} min",
    )
    parser.add_argument("--no-wait", action="store_true", help="do not wait for ingest")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)

    dsn, host, port = args.dsn, args.broker_host, args.broker_port
    if args.config or not (dsn and host and port):
        from giamsat.aggregator import settings
        from giamsat.contract.config import ConfigError

        try:
            cfg = settings.load(args.config)
        except ConfigError as exc:
            print(f"demo.fleet: {exc}", file=sys.stderr)
            return 2
        dsn = dsn or cfg.dsn
        host = host or cfg.broker.host
        port = port or cfg.broker.port
    size = CI if args.ci else FleetSize(args.probes, args.days, args.interval_min)
    try:
        summary = run(
            dsn,
            host,
            port,
            probes=size.probes,
            days=size.days,
            interval_min=size.interval_min,
            seed=args.seed,
            state_dir=Path(args.state_dir),
            wait=not args.no_wait,
            progress=None if args.quiet else Progress(),
        )
    except (PublishError, ValueError, OSError, psycopg.Error) as exc:
        print(f"demo.fleet: {exc}", file=sys.stderr)
        return 1
    print(summary.table())
    if summary.stored is not None and summary.stored < summary.records:
        print(
            f"demo.fleet: only {summary.stored} of {summary.records} records were stored",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
