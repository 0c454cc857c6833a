"""One probe: its identity, its configured sources, and one measurement cycle.

A cycle always yields a record. Losing service or failing to reach the
network is what a dead-zone probe exists to report, so those outcomes are
written into the record (``net.service``, ``access.ok``, ``errors``) rather
than raised.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from giamsat.agent import identity, isolate, latency, location, signal, throughput
from giamsat.agent.budget import DataBudget
from giamsat.agent.settings import AgentSettings
from giamsat.agent.spool import Spool
from giamsat.agent.throughput import Direction, TransferResult
from giamsat.contract import record

log = logging.getLogger("giamsat.agent")
# What a method without its own byte cap (speedtest-cli) may use, for the budget check.
UNCAPPED_TEST_BYTES = 150_000_000


class Probe:
    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.key = identity.load_or_create(settings.data_dir)
        self.signal = signal.create(settings.signal.str("source", "sim"), settings.signal)
        self.location = location.create(
            settings.location.str("source", "static"), settings.location
        )
        self.throughput = throughput.create(
            settings.throughput.str("method", "giamsat-http"), settings.throughput
        )
        self.throughput_enabled = settings.throughput.bool("enabled", True)
        max_s = float(
            getattr(self.throughput, "max_s", 0) or getattr(self.throughput, "length_s", 10)
        )
        # Latency, two transfers with their pre-tests, connection timeouts: generous.
        self.network_timeout_s = 120.0 + 4 * max_s
        # Latency is measured to the speed server unless another target is configured.
        server = urlsplit(
            settings.throughput.str("url", "") or settings.throughput.str("server", "")
        )
        self.latency = latency.create(
            settings.latency,
            server.hostname,
            server.port or (443 if server.scheme == "https" else 80),
        )
        settings.finish()
        self.budget = DataBudget(settings.data_dir / "budget.json", settings.monthly_budget_bytes)
        self.spool = Spool(settings.data_dir / "spool.sqlite3", settings.spool_max_bytes)

    @property
    def id(self) -> str:
        return self.settings.probe_id

    def close(self) -> None:
        self.spool.close()

    def measure(self) -> dict[str, Any]:
        """Run one cycle and return the signed record (not yet spooled)."""
        errors: list[str] = []
        loc = self.location.read()
        if loc is None:
            errors.append("no_location_fix")
        reading = self.signal.read()
        errors += reading.errors
        if self.settings.sim_operator:
            # Whose SIM saw this: what a no-service record is attributed to.
            reading.net.setdefault("sim_op", self.settings.sim_operator)
        lat = dl = ul = access = None
        if reading.net.get("service") is False:
            errors.append("no_service")
        else:
            try:
                tests = isolate.in_child(self._network_tests, self.network_timeout_s)
            except isolate.ChildFailed as exc:
                log.error("network tests failed: %s", exc)
                tests = {"errors": ["measurement_failed"]}
            errors += tests.get("errors", [])
            lat, dl, ul, access = (tests.get(k) for k in ("lat", "dl", "ul", "access"))
            self.budget.spend(tests.get("bytes", 0))
        unsigned = record.build(
            self.id,
            loc=loc,
            net=reading.net,
            sig=reading.sig,
            lat=lat,
            dl=dl,
            ul=ul,
            access=access,
            errors=sorted(set(errors)),
            extra={"health": self.health()},
        )
        return record.sign(unsigned, self.key)

    def health(self) -> dict[str, Any]:
        """How the probe itself is doing, so the fleet page can flag backlogs and budgets."""
        status = self.spool.status()
        return {
            "spool_queued": status.queued,
            "spool_refused": status.refused_full,
            "budget_used_mb": round(self.budget.used / 2**20, 1),
            "budget_mb": round(self.budget.monthly_bytes / 2**20, 1),
        }

    def _network_tests(self) -> dict[str, Any]:
        """Latency, then download and upload: what runs in the child process.

        The child hands back JSON, so the results come back as the record's
        sections (``lat``, ``dl``, ``ul``, ``access``), with the ``bytes``
        the transfers cost and the ``errors`` they met. Every transfer tried
        leaves a section with its ``outcome``; the cycle's access sample is the
        download's, and the upload runs only after a download without fault.
        """
        errors: list[str] = []
        lat = self.latency.measure()
        if lat.error is not None:
            errors.append("latency_failed")
            log.warning("latency test failed: %s", lat.error)
        dl = ul = None
        if self.throughput_enabled:
            if self.budget.allows(getattr(self.throughput, "max_bytes", UNCAPPED_TEST_BYTES)):
                dl = self._transfer("dl", errors)
                if dl.error is None:
                    ul = self._transfer("ul", errors)
            else:
                errors.append("data_budget_exhausted")
        return {
            "lat": lat.section(),
            "dl": dl.section() if dl else None,
            "ul": ul.section() if ul else None,
            "access": dl.access.section() if dl else None,
            "bytes": sum(t.bytes or 0 for t in (dl, ul) if t is not None),
            "errors": errors,
        }

    def _transfer(self, direction: Direction, errors: list[str]) -> TransferResult:
        result = self.throughput.measure(direction)
        if result.error is not None:
            errors.append(f"{direction}_failed")
            log.warning("%s test failed: %s", direction, result.error)
        return result

    def spool_record(self, signed: dict[str, Any]) -> bool:
        return self.spool.put(signed["id"], record.encode(signed))
