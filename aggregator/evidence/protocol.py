"""How, when and under what conditions the samples were taken: a bundle's ``protocol.json``.

An operator contests a notice on procedure before it contests the numbers:
were the samples taken outdoors or indoors, by fixed probes or moving
phones, placed by GPS or by hand, spread over the days and the hours or
bunched in one afternoon, and which samples did not count. This is that
account, per bundle. It is a function of the signed records, the registry
entries of their probes and the verdict alone, so the verifier computes it
again from the bundle and refuses a ``protocol.json`` that differs.

Days and hours are Vietnamese local time (UTC+7). Device, modem, firmware
and agent versions are listed where records carry them (a ``dev`` section);
records that do not are counted as such rather than guessed at.
"""

from __future__ import annotations

import statistics
from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from giamsat.aggregator.compliance import Assessment
from giamsat.contract.timezone import VIETNAM_TZ

# What a record's ``dev`` section may say about the equipment that took it.
DEVICE_FIELDS = ("agent", "device", "modem", "firmware")


class ProtocolTally:
    """Gathers the protocol record by record, as the bundle is written or verified."""

    def __init__(self, kinds: Mapping[str, str]) -> None:
        self.kinds = kinds  # probe id -> its kind in probes.json
        self.records = 0
        self.first: datetime | None = None
        self.last: datetime | None = None
        self.environments: Counter[str] = Counter()
        self.probe_kinds: Counter[str] = Counter()
        self.sources: dict[str, list[float]] = {}
        self.unplaced_accuracy: Counter[str] = Counter()
        self.days: Counter[str] = Counter()
        self.hours = [0] * 24
        self.devices: dict[str, Counter[str]] = {f: Counter() for f in DEVICE_FIELDS}
        self.without_device = 0

    def add(self, record: Mapping[str, Any], when: datetime) -> None:
        """One record that belongs to the bundle, made at ``when``."""
        self.records += 1
        self.first = when if self.first is None or when < self.first else self.first
        self.last = when if self.last is None or when > self.last else self.last
        loc = record.get("loc") or {}
        self.environments[str(loc.get("env") or "unknown")] += 1
        self.probe_kinds[self.kinds.get(str(record.get("probe")), "unknown")] += 1
        source = str(loc.get("src") or "unknown")
        accuracy = loc.get("acc_m")
        if isinstance(accuracy, int | float) and not isinstance(accuracy, bool):
            self.sources.setdefault(source, []).append(float(accuracy))
        else:
            self.sources.setdefault(source, [])
            self.unplaced_accuracy[source] += 1
        local = when.astimezone(VIETNAM_TZ)
        self.days[local.date().isoformat()] += 1
        self.hours[local.hour] += 1
        dev = record.get("dev")
        if isinstance(dev, dict) and any(dev.get(f) for f in DEVICE_FIELDS):
            for f in DEVICE_FIELDS:
                if dev.get(f):
                    self.devices[f][str(dev[f])] += 1
        else:
            self.without_device += 1

    def document(self, assessment: Assessment) -> dict[str, Any]:
        """``protocol.json``: the tally, and what the verdict excluded and judged by."""
        covered = sum(1 for n in self.hours if n)
        busiest = max(range(24), key=lambda h: self.hours[h])
        scope = assessment.scope
        return {
            "records": self.records,
            "first": self.first.isoformat() if self.first else None,
            "last": self.last.isoformat() if self.last else None,
            "environments": dict(sorted(self.environments.items())),
            "probe_kinds": dict(sorted(self.probe_kinds.items())),
            "location_sources": {
                source: {
                    "records": len(values) + self.unplaced_accuracy[source],
                    "accuracy_m_median": statistics.median(values) if values else None,
                    "accuracy_m_max": max(values) if values else None,
                    "without_accuracy": self.unplaced_accuracy[source],
                }
                for source, values in sorted(self.sources.items())
            },
            "equipment": {
                **{f: dict(sorted(c.items())) for f, c in self.devices.items()},
                "records_without": self.without_device,
            },
            "days": [{"day": d, "records": n} for d, n in sorted(self.days.items())],
            "hours": list(self.hours),
            "hours_with_samples": covered,
            "busiest_hour": busiest if self.records else None,
            "busiest_hour_share_pct": round(100.0 * self.hours[busiest] / self.records, 2)
            if self.records
            else None,
            "excluded": {
                "outside_declared_area": scope.outside if scope else 0,
                "closer_than_spacing": {
                    k.kpi_id: k.close_samples for k in assessment.kpis if k.close_samples
                },
                "location_accuracy": {"gate_m": None, "excluded": 0},
            },
            "standard": {"id": assessment.standard_id, "version": assessment.version},
            "declarations": list(scope.declarations) if scope else [],
        }
