"""The probe's main loop: measure on a jittered schedule, deliver, sleep; stop on SIGTERM.

Sleeping is an Event wait, never a poll, so an idle probe uses no CPU and a
SIGTERM from systemd or termux-services ends the wait at once. Delivery that
fails is retried with exponential backoff and jitter inside the wait, so a
fleet coming back after a broker outage does not reconnect in lockstep.
"""

from __future__ import annotations

import logging
import random
import signal
import threading
import time

from giamsat.agent.probe import Probe
from giamsat.agent.publisher import drain

log = logging.getLogger("agent.run")


def cycle(probe: Probe) -> None:
    signed = probe.measure()
    probe.spool_record(signed)
    log.info(
        "record %s: service=%s dl=%s errors=%s",
        signed["id"],
        (signed.get("net") or {}).get("service"),
        (signed.get("dl") or {}).get("mbps"),
        ",".join(signed.get("errors", [])) or "-",
    )


def run(probe: Probe, stop: threading.Event, max_cycles: int | None = None) -> None:
    schedule = probe.settings.schedule
    rng = random.Random()
    cycles = 0
    while not stop.is_set():
        started = time.monotonic()
        try:
            cycle(probe)
        except Exception:  # a broken source must not end months of unattended work
            log.exception("measurement cycle failed; trying again next cycle")
        cycles += 1
        next_at = started + schedule.interval_s + rng.uniform(0, schedule.jitter_s)
        _deliver_until(probe, next_at, stop, rng)
        if max_cycles is not None and cycles >= max_cycles:
            break
        stop.wait(max(0.0, next_at - time.monotonic()))


def _deliver_until(probe: Probe, until: float, stop: threading.Event, rng: random.Random) -> None:
    """Drain the spool; on failure retry with backoff and jitter until the next cycle."""
    backoff = 5.0
    while not stop.is_set():
        budget = max(5.0, until - time.monotonic())
        result = drain(probe.spool, probe.id, probe.settings.broker, deadline_s=min(60.0, budget))
        if result.error is None or result.remaining == 0:
            return
        wait = min(backoff, max(0.0, until - time.monotonic())) * rng.uniform(0.5, 1.0)
        if wait <= 0.05:
            return
        log.info("delivery failed (%s); retrying in %.0f s", result.error, wait)
        stop.wait(wait)
        backoff = min(backoff * 2, 300.0)


def install_stop_handlers(stop: threading.Event) -> None:
    def handler(signum: int, frame: object) -> None:
        log.info("signal %d: finishing the current step and stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)
