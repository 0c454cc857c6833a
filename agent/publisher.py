"""Publishing the spool to the broker with QoS 1, deleting only what was acknowledged.

A probe on a metered SIM measures every few minutes, so it connects, drains
its spool and disconnects instead of holding a session open and paying for
keep-alives. Records are sent in spool order with a bounded in-flight window.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from giamsat.agent.spool import Spool
from giamsat.contract.record import topic_for

log = logging.getLogger("agent.publish")
# PUBACK reason 0x10: the broker took the record and dropped it, since nobody
# was subscribed (an ingest worker stopped cleanly, or Mosquitto 2.0 restarted:
# it does not persist shared subscriptions). Not a failure in MQTT's eyes, but
# the record reached no one, so it stays in the spool for the next attempt.
NO_MATCHING_SUBSCRIBERS = 0x10


@dataclass(frozen=True)
class BrokerConfig:
    host: str = "127.0.0.1"
    port: int = 1883
    username: str = ""
    password: str = ""
    tls: bool = False
    ca_file: str = ""
    topic_prefix: str = "giamsat/v1"
    connect_timeout_s: float = 15.0
    inflight: int = 20


@dataclass(frozen=True)
class DrainResult:
    sent: int
    acked: int
    remaining: int
    error: str | None = None


class _Acks:
    """PUBACKs arrive on paho's network thread; the spool is touched only by ours."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.ok: list[int] = []
        self.refused: dict[int, str] = {}
        self.event = threading.Event()

    def on_publish(self, client, userdata, mid, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        with self.lock:
            if isinstance(reason_code, ReasonCode) and reason_code.is_failure:
                self.refused[mid] = str(reason_code)
            elif (
                isinstance(reason_code, ReasonCode) and reason_code.value == NO_MATCHING_SUBSCRIBERS
            ):
                self.refused[mid] = "no ingest worker is subscribed, the broker dropped it"
            else:
                self.ok.append(mid)
        self.event.set()

    def take(self) -> tuple[list[int], dict[int, str]]:
        with self.lock:
            ok, refused = self.ok, self.refused
            self.ok, self.refused = [], {}
            self.event.clear()
        return ok, refused


def drain(spool: Spool, probe_id: str, cfg: BrokerConfig, deadline_s: float = 60.0) -> DrainResult:
    """Connect, publish everything queued, wait for PUBACKs, disconnect."""
    if len(spool) == 0:
        return DrainResult(0, 0, 0)
    acks = _Acks()
    connected = threading.Event()
    connect_error: list[str] = []

    def on_connect(client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]
        if reason_code.is_failure:
            connect_error.append(f"broker refused the connection: {reason_code}")
        connected.set()

    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=f"probe-{probe_id}",
        protocol=mqtt.MQTTv5,
    )
    client.on_connect = on_connect
    client.on_publish = acks.on_publish
    client.max_inflight_messages_set(cfg.inflight)
    if cfg.username:
        client.username_pw_set(cfg.username, cfg.password or None)
    if cfg.tls:
        client.tls_set(ca_certs=cfg.ca_file or None, cert_reqs=ssl.CERT_REQUIRED)
    topic = topic_for(probe_id, cfg.topic_prefix)
    sent = acked = 0
    error: str | None = None
    try:
        client.connect(cfg.host, cfg.port, keepalive=60)
    except (OSError, ValueError) as exc:
        return DrainResult(0, 0, len(spool), f"cannot reach broker {cfg.host}:{cfg.port}: {exc}")
    client.loop_start()
    try:
        if not connected.wait(cfg.connect_timeout_s) or connect_error:
            error = connect_error[0] if connect_error else "no CONNACK from broker"
            return DrainResult(0, 0, len(spool), error)
        end = time.monotonic() + deadline_s
        in_flight: dict[int, int] = {}  # mid -> spool seq
        last_seq = 0
        while time.monotonic() < end:
            # After a refusal, send nothing new; only collect the acks still due.
            if len(in_flight) < cfg.inflight and error is None:
                batch = spool.pending(cfg.inflight - len(in_flight), after_seq=last_seq)
                for seq, _record_id, payload in batch:
                    info = client.publish(topic, payload, qos=1)
                    if info.rc != mqtt.MQTT_ERR_SUCCESS:
                        error = f"publish failed: {mqtt.error_string(info.rc)}"
                        break
                    in_flight[info.mid] = seq
                    last_seq = seq
                    sent += 1
            if not in_flight:
                break
            acks.event.wait(0.5)
            ok, refused = acks.take()
            done = [in_flight.pop(mid) for mid in ok if mid in in_flight]
            spool.delete(done)
            acked += len(done)
            for mid, why in refused.items():
                in_flight.pop(mid, None)
                error = f"broker refused a record: {why}"
            if not client.is_connected():
                error = error or "connection lost while publishing"
                break
        else:
            error = error or f"not all records acknowledged within {deadline_s:.0f} s"
    finally:
        client.disconnect()
        client.loop_stop()
    if error:
        log.warning("%s; %d record(s) stay in the spool", error, len(spool))
    return DrainResult(sent, acked, len(spool), error)
