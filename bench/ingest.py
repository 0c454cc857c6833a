"""Ingest throughput: signed records through Mosquitto into TimescaleDB, against a raw COPY.

Run from the project root:
    .venv/bin/python bench/ingest.py [--records 200000 --probes 200 --workers 2]

One run, on this machine, with private services in a temporary directory:

1. A Mosquitto 2 broker (persistence on) and PostgreSQL 15 + TimescaleDB,
   migrated; the probes are registered with their own Ed25519 keys.
2. Realistic records (one a minute per probe, ~5 % of them "no service",
   a throughput test every tenth cycle) are built and signed by the probes'
   keys before anything is timed.
3. The workers' persistent sessions join the shared subscription once and
   leave without unsubscribing, so the broker queues their share of every
   record while they are away; then several publisher processes publish all
   records with QoS 1. Publishing is therefore finished before the clock
   starts and cannot be what is measured.
4. Timed: from starting N real ``giamsat ingest`` processes (each with its
   own generated config) until the database holds every record. Each worker
   validates (schema, signature, clock), stores in batches, updates the
   hourly rollups and acknowledges after commit, exactly as in production.
5. Reference, same run: the stored rows are read back and COPY'd, raw, into
   a fresh hypertable shaped like ``records`` (same columns, keys, indexes,
   chunk interval), three times, median: the database's own ceiling for
   these rows.

Every record must be stored exactly once and counted once in the rollups,
with nothing dead-lettered; otherwise the run fails. It also fails (exit
status 1) when the target is missed: 20,000 records/s and half the raw COPY
rate. Services and workers are stopped at the end, also on error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import paho.mqtt.client as mqtt
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from paho.mqtt.enums import CallbackAPIVersion

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # demo.services: the private service launchers

from demo.services import Mosquitto, Postgres  # noqa: E402
from giamsat.aggregator.settings import BrokerSettings  # noqa: E402
from giamsat.aggregator.store import db, probes  # noqa: E402
from giamsat.aggregator.store.records import COLUMNS  # noqa: E402
from giamsat.contract import record  # noqa: E402
from giamsat.contract.record import public_key_b64  # noqa: E402

BIN = Path(sys.executable).parent
SUBSCRIPTION = BrokerSettings().subscription
OPERATORS = (("Viettel", 4), ("VinaPhone", 2), ("MobiFone", 1))
ENVIRONMENTS = ("indoor", "outdoor_fixed", "outdoor_mobile")
CYCLE = timedelta(minutes=1)
TARGET_RATE, TARGET_RATIO = 20_000, 0.5


@dataclass
class BenchBroker(Mosquitto):
    """The test broker with a wider in-flight window and Mosquitto's default save interval.

    Acknowledgements come after commit, so a worker can hold at most
    ``max_inflight_messages`` unacknowledged records: the window must exceed
    the batch size or receiving and storing cannot overlap. Saving the whole
    queue every second (the drills' setting) would rewrite ~200 MB a second
    here, so the save interval is Mosquitto's default, 30 minutes.
    """

    inflight: int = 1000

    def write_config(self) -> None:
        super().write_config()
        with self.conf_path.open("a") as conf:  # later lines override earlier ones
            conf.write(f"max_inflight_messages {self.inflight}\nautosave_interval 1800\n")


def probe_records(args: tuple[int, int, float]) -> tuple[str, str, list[bytes]]:
    """One probe's id, public key and signed records, oldest first (runs in a pool)."""
    index, count, end_ts = args
    rng = random.Random(index)
    key = Ed25519PrivateKey.generate()
    probe = f"bench-{index:04d}"
    op, mnc = OPERATORS[index % len(OPERATORS)]
    tech = "NR-NSA" if index % 4 == 0 else "LTE"
    loc = {
        "lat": round(rng.uniform(20.5, 23.0), 5),
        "lon": round(rng.uniform(103.5, 106.5), 5),
        "acc_m": rng.randint(3, 30),
        "src": "gps",
        "env": ENVIRONMENTS[index % len(ENVIRONMENTS)],
    }
    end = datetime.fromtimestamp(end_ts, UTC)
    out = []
    for i in range(count):
        when = end - (count - i) * CYCLE
        health = {"spool_queued": 0, "spool_refused": 0, "budget_used_mb": i * 0.5,
                  "budget_mb": 2000}  # fmt: skip
        if rng.random() < 0.05:
            rec = record.build(
                probe, loc=loc, net={"service": False, "sim_op": op}, errors=["no_service"],
                extra={"health": health}, when=when,
            )  # fmt: skip
        else:
            throughput = i % 10 == 0
            rsrp, rsrq, sinr = rng.randint(-125, -70), rng.randint(-20, -5), rng.uniform(-5, 25)
            sig: dict[str, object] = {
                "rsrp_dbm": rsrp, "rsrq_db": rsrq, "sinr_db": round(sinr, 1),
                "pci": rng.randint(0, 503), "cell": f"0x{rng.getrandbits(28):07X}",
                "tac": "0x3AC9", "band": "B3",
            }  # fmt: skip
            if tech == "NR-NSA":
                # The NR leg 5G is judged on, beside the LTE anchor (heard stronger).
                sig |= {"nr_rsrp_dbm": rsrp - 6, "nr_rsrq_db": rsrq,
                        "nr_sinr_db": round(sinr, 1), "nr_band": "n78"}  # fmt: skip
            rec = record.build(
                probe,
                loc=loc,
                net={"service": True, "mcc": 452, "mnc": mnc, "tech": tech, "op": op},
                sig=sig,
                lat={
                    "target": "speed.example.vn", "method": "icmp", "n": 20,
                    "rtt_ms_p50": round(rng.uniform(15, 90), 1),
                    "jitter_ms": round(rng.uniform(0.5, 12), 1),
                    "loss_pct": rng.choice((0.0, 0.0, 0.0, 5.0)),
                },
                dl=_transfer(rng, 5, 150) if throughput else None,
                ul=_transfer(rng, 1, 40) if throughput else None,
                access={"ok": rng.random() > 0.02, "dur_s": round(rng.uniform(0.2, 3), 2)},
                extra={"health": health},
                when=when,
            )  # fmt: skip
        out.append(record.encode(record.sign(rec, key)))
    return probe, public_key_b64(key), out


def _transfer(rng: random.Random, low: float, high: float) -> dict[str, object]:
    mbps = round(rng.uniform(low, high), 1)
    seconds = round(rng.uniform(3, 6), 1)
    return {"mbps": mbps, "bytes": int(mbps * 125_000 * seconds), "dur_s": seconds,
            "streams": 4, "method": "giamsat-http"}  # fmt: skip


def _mqtt_client(client_id: str, protocol: int = mqtt.MQTTv5) -> mqtt.Client:
    return mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, protocol=protocol,
        clean_session=False if protocol == mqtt.MQTTv311 else None,
    )  # fmt: skip


def join_and_leave(port: int, client_ids: list[str]) -> None:
    """Create the workers' persistent sessions in the shared group, then disconnect.

    The sessions stay subscribed while nobody is connected, so the broker
    queues each worker's share of what is published next.
    """
    for client_id in client_ids:
        client = _mqtt_client(client_id, mqtt.MQTTv311)  # as ingest connects
        subscribed = threading.Event()
        client.on_subscribe = lambda *_, done=subscribed: done.set()
        client.connect("127.0.0.1", port)
        client.loop_start()
        try:
            client.subscribe(SUBSCRIPTION, qos=1)
            if not subscribed.wait(timeout=10):
                raise RuntimeError(f"{client_id} could not subscribe")
        finally:
            client.disconnect()
            client.loop_stop()


def publish_share(args: tuple[int, list[tuple[str, list[bytes]]]]) -> int:
    """Publish the records of some probes with QoS 1, interleaved as a fleet would."""
    port, fleet = args
    client = _mqtt_client(f"bench-pub-{uuid.uuid4().hex[:8]}")
    client.max_inflight_messages_set(500)
    client.max_queued_messages_set(0)
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        infos = []
        longest = max(len(payloads) for _, payloads in fleet)
        for i in range(longest):
            for probe, payloads in fleet:
                if i < len(payloads):
                    infos.append(client.publish(record.topic_for(probe), payloads[i], qos=1))
        for info in infos:
            info.wait_for_publish(timeout=60)
            if not info.is_published():
                raise RuntimeError("the broker did not acknowledge a record")
        return len(infos)
    finally:
        client.disconnect()
        client.loop_stop()


def worker_config(path: Path, dsn: str, port: int, client_id: str, batch: int) -> Path:
    path.write_text(
        f'[database]\ndsn = "{dsn}"\n\n'
        f'[broker]\nhost = "127.0.0.1"\nport = {port}\nclient_id = "{client_id}"\n\n'
        f"[ingest]\nbatch_size = {batch}\nbatch_ms = 50\n"
    )
    return path


def rolled_up(conn: psycopg.Connection) -> int:
    """Records counted in the rollups: cheap to poll, committed with the records themselves."""
    return conn.execute("SELECT coalesce(sum(records), 0) FROM rollups").fetchone()[0]


def raw_copy_rate(conn: psycopg.Connection, runs: int = 3) -> tuple[float, int]:
    """Rows/s of a plain COPY of the stored rows into a fresh hypertable like ``records``.

    The median of ``runs`` COPYs, each into a new table: one COPY's rate moves
    by a factor of two with where the checkpointer happens to be.
    """
    columns = ", ".join(COLUMNS)
    data = io.BytesIO()
    with conn.cursor().copy(f"COPY (SELECT {columns} FROM records) TO STDOUT") as copy:
        for block in copy:
            data.write(block)
    view = data.getbuffer()
    rates, copied = [], 0
    for _ in range(runs):
        conn.execute("DROP TABLE IF EXISTS records_copy")
        conn.execute("CREATE TABLE records_copy (LIKE records INCLUDING ALL)")
        conn.execute(
            "SELECT create_hypertable('records_copy', 't', "
            "chunk_time_interval => interval '7 days')"
        )
        started = time.perf_counter()
        with conn.cursor().copy(f"COPY records_copy ({columns}) FROM STDIN") as copy:
            for offset in range(0, len(view), 1 << 20):
                copy.write(view[offset : offset + (1 << 20)])
        elapsed = time.perf_counter() - started
        copied = conn.execute("SELECT count(*) FROM records_copy").fetchone()[0]
        rates.append(copied / elapsed)
    return statistics.median(rates), copied


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU seconds of each of these processes so far (Linux /proc)."""
    seconds = {}
    for pid in pids:
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            seconds[pid] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return seconds


def postgres_pids(pg: Postgres) -> list[int]:
    """The postmaster and its children (one backend per worker): the database's share."""
    master = int((pg.data_dir / "postmaster.pid").read_text().split()[0])
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    return [master, *map(int, children)]


def stop_all(workers: list[subprocess.Popen[bytes]]) -> list[int]:
    for w in workers:
        if w.poll() is None:
            w.send_signal(signal.SIGTERM)
    codes = []
    for w in workers:
        try:
            codes.append(w.wait(timeout=30))
        except subprocess.TimeoutExpired:
            w.kill()
            codes.append(w.wait())
    return codes


def run(args: argparse.Namespace, root: Path, workers: list[subprocess.Popen[bytes]]) -> int:
    pg = Postgres(root / "pg")
    broker = BenchBroker(root / "mqtt", inflight=max(1000, 2 * args.batch_size))
    try:
        pg.start()
        broker.start()
        conn = psycopg.connect(pg.dsn, autocommit=True)
        db.migrate(conn)

        per_probe = [args.records // args.probes + (i < args.records % args.probes)
                     for i in range(args.probes)]  # fmt: skip
        started = time.perf_counter()
        end_ts = time.time() - 60
        with multiprocessing.Pool() as pool:
            fleet = pool.map(probe_records, [(i, n, end_ts) for i, n in enumerate(per_probe)])
        print(f"signed {args.records} records of {args.probes} probes "
              f"in {time.perf_counter() - started:.1f} s (not timed)", flush=True)  # fmt: skip
        for probe, pubkey, _ in fleet:
            probes.add(conn, probe, pubkey)

        client_ids = [f"bench-ingest-{i}" for i in range(args.workers)]
        join_and_leave(broker.port, client_ids)
        started = time.perf_counter()
        shares = [(broker.port, [(p, r) for p, _, r in fleet[i :: args.publishers]])
                  for i in range(args.publishers)]  # fmt: skip
        with multiprocessing.Pool(args.publishers) as pool:
            published = sum(pool.map(publish_share, shares))
        print(f"published {published} records with QoS 1 from {args.publishers} processes "
              f"in {time.perf_counter() - started:.1f} s; queued in the broker "
              "for the workers' sessions (not timed)", flush=True)  # fmt: skip

        configs = [
            worker_config(root / f"{cid}.toml", pg.dsn, broker.port, cid, args.batch_size)
            for cid in client_ids
        ]
        deadline = time.monotonic() + max(300.0, args.records / 500)
        cpu_before = cpu_seconds([broker.process.pid, *postgres_pids(pg)])
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        for config in configs:
            log = (root / f"{config.stem}.log").open("ab")
            workers.append(subprocess.Popen(
                [str(BIN / "giamsat"), "ingest", "--config", str(config)],
                stdout=log, stderr=log,
            ))  # fmt: skip
        first_row = None
        while (stored := rolled_up(conn)) < args.records:
            if first_row is None and stored:
                first_row = time.perf_counter() - started
            if time.monotonic() > deadline or any(w.poll() is not None for w in workers):
                print(f"FAILED: {stored} of {args.records} records stored", file=sys.stderr)
                for log in sorted(root.glob("bench-ingest-*.log")):
                    print(f"--- {log.name}\n{log.read_text()[-2000:]}", file=sys.stderr)
                return 1
            # Each poll scans the rollups, dead row versions included, which costs the
            # database more than the workers' upserts when done every 50 ms: look rarely
            # until the end is near, then often, so the finish is seen within 20 ms.
            time.sleep(0.02 if stored >= 0.97 * args.records else 0.5)
        elapsed = time.perf_counter() - started
        services = {"workers": [w.pid for w in workers], "broker": [broker.process.pid],
                    "database": postgres_pids(pg)}  # fmt: skip
        cpu = {
            name: sum(s - cpu_before.get(pid, 0.0) for pid, s in cpu_seconds(pids).items())
            for name, pids in services.items()
        }
        codes = stop_all(workers)

        total, distinct, rejected = conn.execute(
            "SELECT (SELECT count(*) FROM records), (SELECT count(DISTINCT id) FROM records), "
            "(SELECT count(*) FROM deadletter)"
        ).fetchone()
        copy_rate, copied = raw_copy_rate(conn)
        conn.close()

        rate = args.records / elapsed
        print()
        print(f"machine              nproc {_nproc()}; load average {load_before:.1f} when "
              f"timing started, {os.getloadavg()[0]:.1f} after")  # fmt: skip
        print(f"workers              {args.workers} x giamsat ingest, batch_size "
              f"{args.batch_size}, broker max_inflight_messages {broker.inflight}")  # fmt: skip
        print("timing               workers started after every record was queued")
        print(f"end to end           {args.records} records in {elapsed:.2f} s "
              f"= {rate:,.0f} records/s (first row after {first_row or 0:.2f} s)")  # fmt: skip
        print("CPU while timed      " + ", ".join(
            f"{name} {seconds:.1f} s ({seconds / elapsed:.0%} of a core)"
            for name, seconds in cpu.items()
        ))  # fmt: skip
        print(f"raw COPY             {copied} rows = {copy_rate:,.0f} rows/s (median of 3)")
        print(f"ratio                {rate / copy_rate:.2f} of the raw COPY rate")
        print(f"stored               {total} rows, {distinct} distinct ids, "
              f"{stored} in rollups, {rejected} dead-lettered")  # fmt: skip
        print(f"worker exit codes    {codes}")
        ok = (
            total == distinct == stored == args.records
            and rejected == 0
            and codes == [0] * len(codes)
        )
        print("RESULT               " + ("OK: none lost, none twice" if ok else "FAILED"))
        fast = rate >= TARGET_RATE and rate / copy_rate >= TARGET_RATIO
        print(f"target               >= {TARGET_RATE:,} records/s and >= {TARGET_RATIO} of the "
              f"raw COPY: {'met' if fast else 'MISSED'}")  # fmt: skip
        return 0 if ok and fast else 1
    finally:
        stop_all(workers)
        broker.stop()
        pg.stop(mode="immediate")


def _nproc() -> str:
    return subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--probes", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2, help="giamsat ingest processes")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--publishers", type=int, default=4, help="publishing processes")
    parser.add_argument("--keep", action="store_true", help="keep the service directory")
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="giamsat-bench-ingest-"))
    root.chmod(0o755)  # the postgres user must enter it
    workers: list[subprocess.Popen[bytes]] = []
    try:
        return run(args, root, workers)
    except KeyboardInterrupt:
        return 130
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
