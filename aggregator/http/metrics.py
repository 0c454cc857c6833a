"""Prometheus text exposition of the ingest counters (no client library needed)."""

from __future__ import annotations

from giamsat.aggregator.ingest.consumer import IngestStats


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def render_metrics(stats: IngestStats, *, with_probes: bool = False) -> str:
    """The counters; each probe's last-seen time only ``with_probes`` (it names the probe)."""
    lines = [
        "# HELP giamsat_records_ingested_total Records stored (first arrival only).",
        "# TYPE giamsat_records_ingested_total counter",
        f"giamsat_records_ingested_total {stats.ingested}",
        "# HELP giamsat_records_duplicate_total Redelivered records dropped by id.",
        "# TYPE giamsat_records_duplicate_total counter",
        f"giamsat_records_duplicate_total {stats.duplicates}",
        "# HELP giamsat_records_deadlettered_total Records refused, by reason.",
        "# TYPE giamsat_records_deadlettered_total counter",
    ]
    for reason, n in sorted(stats.deadlettered.items()):
        lines.append(f'giamsat_records_deadlettered_total{{reason="{_label(reason)}"}} {n}')
    lines += [
        "# HELP giamsat_ingest_batches_total Batches committed.",
        "# TYPE giamsat_ingest_batches_total counter",
        f"giamsat_ingest_batches_total {stats.batches}",
        "# HELP giamsat_ingest_batch_seconds_total Time spent validating and storing batches.",
        "# TYPE giamsat_ingest_batch_seconds_total counter",
        f"giamsat_ingest_batch_seconds_total {stats.batch_seconds_total:.6f}",
        "# HELP giamsat_broker_connected 1 while ingest holds a broker session.",
        "# TYPE giamsat_broker_connected gauge",
        f"giamsat_broker_connected {1 if stats.connected else 0}",
        "# HELP giamsat_probes_seen Probes this worker stored a record from since it started.",
        "# TYPE giamsat_probes_seen gauge",
        f"giamsat_probes_seen {len(stats.last_seen)}",
    ]
    if with_probes:
        lines += [
            "# HELP giamsat_probe_last_seen_seconds Unix time of each probe's last stored record.",
            "# TYPE giamsat_probe_last_seen_seconds gauge",
        ]
        for probe, when in sorted(stats.last_seen.items()):
            lines.append(f'giamsat_probe_last_seen_seconds{{probe="{_label(probe)}"}} {when:.3f}')
    return "\n".join(lines) + "\n"
