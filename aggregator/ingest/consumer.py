"""MQTT ingest: shared subscription, batch, validate, store, then acknowledge.

A message is acknowledged to the broker only after the batch holding it is
committed, and the session is persistent (clean session off), so a crash
between receipt and commit means redelivery, never loss. Redelivered
records are dropped by the store's ON CONFLICT, so redelivery never means
duplicates either.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiomqtt
import psycopg

from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.settings import Settings
from giamsat.aggregator.store import probes
from giamsat.aggregator.store import records as store
from giamsat.aggregator.store.values import Accepted, ProbeKey, Rejected

log = logging.getLogger("giamsat.ingest")


@dataclass
class IngestStats:
    """Counters the /metrics endpoint reads."""

    ingested: int = 0
    duplicates: int = 0
    deadlettered: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    batch_seconds_total: float = 0.0
    connected: bool = False
    last_seen: dict[str, float] = field(default_factory=dict)


class KeyCache:
    """Probe keys from the registry, re-read on a miss so new probes are seen at once."""

    def __init__(self, conn: psycopg.Connection, ttl_s: float = 60.0) -> None:
        self.conn = conn
        self.ttl_s = ttl_s
        self._keys: dict[str, tuple[float, ProbeKey | None]] = {}

    def __call__(self, probe_id: str) -> ProbeKey | None:
        now = time.monotonic()
        cached = self._keys.get(probe_id)
        if cached and now - cached[0] < self.ttl_s and cached[1] is not None:
            return cached[1]
        key = probes.key_of(self.conn, probe_id)
        self._keys[probe_id] = (now, key)
        return key


class Writer:
    """Validates and stores batches on its own connection (runs in a worker thread)."""

    def __init__(self, settings: Settings, stats: IngestStats) -> None:
        self.settings = settings
        self.stats = stats
        self.conn: psycopg.Connection | None = None
        self.keys: KeyCache | None = None

    def _connection(self) -> tuple[psycopg.Connection, KeyCache]:
        if self.conn is None or self.conn.closed or self.keys is None:
            self.conn = psycopg.connect(self.settings.dsn, autocommit=True)
            self.keys = KeyCache(self.conn)
        return self.conn, self.keys

    def write(self, messages: list[tuple[str, bytes]]) -> store.BatchResult:
        conn, keys = self._connection()
        now = datetime.now(UTC)
        skew = timedelta(seconds=self.settings.ingest.max_clock_skew_s)
        limit = self.settings.ingest.max_payload_bytes
        accepted: list[Accepted] = []
        rejected: list[Rejected] = []
        for topic, payload in messages:
            try:
                outcome = check(topic, payload, keys, now, max_bytes=limit, max_skew=skew)
            except psycopg.Error:
                raise  # the key lookup's database trouble: retry the batch
            except Exception as exc:  # a payload we failed to foresee must not stop ingest
                log.exception("payload on %s broke validation; dead-lettered", topic)
                outcome = Rejected(
                    "internal_error", f"{type(exc).__name__}: {exc}"[:500], topic, payload
                )
            if isinstance(outcome, Accepted):
                accepted.append(outcome)
            else:
                rejected.append(outcome)
        try:
            result = store.write_batch(conn, accepted, rejected)
        except psycopg.OperationalError:
            self.close()
            raise
        except psycopg.Error as exc:
            # A row the database refuses must not block the others forever.
            log.error("batch refused by the database (%s); storing one by one", exc)
            result = self._write_one_by_one(conn, accepted, rejected)
        for item in accepted:
            self.stats.last_seen[item.record["probe"]] = time.time()
        for bad in rejected:
            self.stats.deadlettered[bad.reason] = self.stats.deadlettered.get(bad.reason, 0) + 1
        self.stats.ingested += result.inserted
        self.stats.duplicates += result.duplicates
        return result

    def _write_one_by_one(
        self, conn: psycopg.Connection, accepted: list[Accepted], rejected: list[Rejected]
    ) -> store.BatchResult:
        inserted = duplicates = 0
        for item in accepted:
            try:
                one = store.write_batch(conn, [item], [])
                inserted += one.inserted
                duplicates += one.duplicates
            except psycopg.OperationalError:
                raise
            except psycopg.Error as exc:
                rejected.append(Rejected("store_error", str(exc)[:500], "", item.raw))
        store.write_batch(conn, [], rejected)
        return store.BatchResult(inserted, duplicates, len(rejected))

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.keys = None


def _client(settings: Settings) -> aiomqtt.Client:
    """A persistent-session client on MQTT 3.1.1.

    Ingest needs nothing of MQTT 5 (shared subscriptions work on 3.1.1 with
    Mosquitto and EMQX alike), and paho builds an MQTT 5 properties object
    for every message received, about a fifth of a worker's CPU at full
    load. The session is kept (clean session off) until the worker comes
    back; a worker retired for good leaves the group first (see _leave).
    """
    b = settings.broker
    client = aiomqtt.Client(
        hostname=b.host,
        port=b.port,
        username=b.username or None,
        password=b.password or None,
        identifier=b.client_id,
        protocol=aiomqtt.ProtocolVersion.V311,
        clean_session=False,
        tls_params=aiomqtt.TLSParameters(ca_certs=b.ca_file or None) if b.tls else None,
    )
    # aiomqtt 2.x has no public switch for application acknowledgements yet
    # (empicano/aiomqtt#345); paho underneath has had them since 2.0.
    client._client.manual_ack_set(True)
    return client


async def run(settings: Settings, stats: IngestStats, stop: asyncio.Event) -> None:
    """Consume until ``stop`` is set, reconnecting to broker and database as needed."""
    writer = Writer(settings, stats)
    delay = 1.0
    try:
        while not stop.is_set():
            try:
                await _consume(settings, writer, stats, stop)
                delay = 1.0
            except (aiomqtt.MqttError, psycopg.OperationalError) as exc:
                stats.connected = False
                log.warning("ingest interrupted (%s); retrying in %.0f s", exc, delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                delay = min(delay * 2, 30.0)
    finally:
        stats.connected = False
        writer.close()


async def _pump(client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
    """Move messages from the client into our queue; ends with MqttError on disconnect."""
    async for message in client.messages:
        queue.put_nowait(message)


async def _next_batch(
    queue: asyncio.Queue[aiomqtt.Message], first: aiomqtt.Message, size: int, window: float
) -> list[aiomqtt.Message]:
    """Gather up to ``size`` messages arriving within ``window`` seconds of the first."""
    batch = [first]
    deadline = time.monotonic() + window
    while len(batch) < size:
        if not queue.empty():  # a backlog is taken as it is, without a timer per message
            batch.append(queue.get_nowait())
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        try:
            batch.append(await asyncio.wait_for(queue.get(), remaining))
        except TimeoutError:
            break
    return batch


async def _consume(
    settings: Settings, writer: Writer, stats: IngestStats, stop: asyncio.Event
) -> None:
    async with _client(settings) as client:
        await client.subscribe(settings.broker.subscription, qos=1)
        stats.connected = True
        log.info("ingest subscribed to %s", settings.broker.subscription)
        # A fresh queue per connection: messages of a dropped connection are
        # redelivered by the broker, so leftovers are simply forgotten.
        queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        pump = asyncio.create_task(_pump(client, queue))
        stopper = asyncio.create_task(stop.wait())
        try:
            while True:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait(
                    {getter, pump, stopper}, return_when=asyncio.FIRST_COMPLETED
                )
                if getter not in done:
                    getter.cancel()
                    if pump in done:
                        pump.result()  # re-raises the disconnect
                    await _leave(client, settings, writer, stats, queue)
                    return
                batch = await _next_batch(
                    queue, getter.result(), settings.ingest.batch_size,
                    settings.ingest.batch_ms / 1000,
                )  # fmt: skip
                await _store_and_ack(client, writer, stats, batch)
        finally:
            pump.cancel()
            stopper.cancel()


async def _store_and_ack(
    client: aiomqtt.Client, writer: Writer, stats: IngestStats, batch: list[aiomqtt.Message]
) -> None:
    started = time.monotonic()
    payloads = [(str(m.topic), _payload_bytes(m.payload)) for m in batch]
    await asyncio.to_thread(writer.write, payloads)
    stats.batches += 1
    stats.batch_seconds_total += time.monotonic() - started
    for m in batch:
        if m.qos > 0:
            client._client.ack(m.mid, m.qos)


async def _leave(
    client: aiomqtt.Client,
    settings: Settings,
    writer: Writer,
    stats: IngestStats,
    queue: asyncio.Queue[aiomqtt.Message],
) -> None:
    """Leave the shared group without stranding a record.

    A persistent session that stays subscribed while its worker is gone keeps
    receiving its share of the records, and nobody would ever ack them. So on
    a clean stop we unsubscribe first; everything the broker sent before its
    UNSUBACK is then already with us, and is stored and acked before we go.
    """
    await client.unsubscribe(settings.broker.subscription)
    while len(client.messages) > 0:
        await asyncio.sleep(0.01)
    leftovers = []
    while not queue.empty():
        leftovers.append(queue.get_nowait())
    if leftovers:
        await _store_and_ack(client, writer, stats, leftovers)
    log.info("ingest left the shared subscription (%d last records stored)", len(leftovers))


def _payload_bytes(payload: object) -> bytes:
    if isinstance(payload, bytes | bytearray):
        return bytes(payload)
    if isinstance(payload, str):
        return payload.encode()
    return b"" if payload is None else str(payload).encode()
