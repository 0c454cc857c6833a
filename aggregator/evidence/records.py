"""One record of a bundle: is it genuine, does it belong to the case, and what does it count?

Building and verifying a bundle run every record through the same
:class:`RecordChecker`, so a bundle the aggregator builds is exactly what
its verifier accepts, and the verdict is computed from the same
:class:`~giamsat.aggregator.aggregates.samples.Sample` values on both sides.

A record is genuine when ingest would accept it now
(:func:`giamsat.aggregator.ingest.validate.check`:
schema, physical ranges, and an Ed25519 signature by the key the probe is
registered with in ``probes.json``) and it was not made after its probe was
revoked. It belongs to the case when its operator (``net.op``, or the SIM's
operator ``net.sim_op`` for a no-service record, as ingest attributes it), its
local (UTC+7) day and its H3 cell match the case. Each failure is one line
naming the record by its line number in ``records.jsonl`` and its id.

Nothing here imports psycopg: the column mapping is
:func:`giamsat.aggregator.store.columns.columns_of`, the same function ingest stores with.
``records.csv`` shows an NR-NSA record's NR leg (``nr_*``) beside its LTE
anchor, since the NR leg is what its 5G verdict counts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance.clusters import Period, local_day
from giamsat.aggregator.ingest.validate import check
from giamsat.aggregator.store.columns import columns_of
from giamsat.aggregator.store.values import Accepted, ProbeKey
from giamsat.contract import record as rec

# A revoked probe's records were refused from the moment of revocation, but a
# probe's clock may run ahead of the server's by up to ingest's allowed skew.
REVOCATION_GRACE = timedelta(minutes=5)
# A record that ingest accepted is evidence whatever the size limit was then.
NO_SIZE_LIMIT = 1 << 62

CSV_COLUMNS: tuple[str, ...] = (
    "line", "id", "probe", "t", "lat", "lon", "h3", "env", "service", "mcc", "mnc", "tech",
    "op", "rsrp_dbm", "rsrq_db", "sinr_db", "nr_rsrp_dbm", "nr_rsrq_db", "nr_sinr_db",
    "rtt_ms", "jitter_ms", "loss_pct", "dl_mbps", "ul_mbps", "access_ok", "access_s", "errors",
    "sig_ed25519",
)  # fmt: skip


class BundleError(Exception):
    """A bundle cannot be built; the message says which record or setting is at fault."""


@dataclass(frozen=True)
class ProbeEntry:
    """One probe as registered with the aggregator: an entry of ``probes.json``."""

    id: str
    pubkey: str
    kind: str
    village: str | None
    lat: float | None
    lon: float | None
    registered_at: str
    revoked_at: str | None
    records: int

    def revoked_time(self) -> datetime | None:
        return None if self.revoked_at is None else rec.parse_timestamp(self.revoked_at)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ProbeEntry:
        fields: dict[str, Any] = {name: data.get(name) for name in cls.__dataclass_fields__}
        return cls(**fields)


@dataclass(frozen=True)
class AreaSpec:
    """The case's area: an administrative area or one H3 cell, or everywhere (``cells`` None)."""

    id: str
    name: str
    level: str | None
    cells: frozenset[str] | None

    def to_dict(self) -> dict[str, Any]:
        cells = None if self.cells is None else sorted(self.cells)
        return {"id": self.id, "name": self.name, "level": self.level, "cells": cells}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AreaSpec:
        cells = data.get("cells")
        return cls(
            str(data["id"]),
            str(data["name"]),
            data.get("level"),
            None if cells is None else frozenset(str(c) for c in cells),
        )


@dataclass(frozen=True)
class CaseSpec:
    """What the bundle is about: one operator, standard, area and period."""

    standard_id: str
    operator: str
    area: AreaSpec
    period: Period


def record_columns(accepted: Accepted) -> dict[str, Any]:
    """A record's stored columns, exactly as ingest stores them, minus the raw bytes."""
    return {k: v for k, v in columns_of(accepted).items() if k != "raw"}


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return rec.utc_timestamp(value)
    return str(value)


def csv_row(line: int, accepted: Accepted, columns: Mapping[str, Any]) -> list[str]:
    """One row of ``records.csv``: the record's columns, its errors and its signature.

    The time is the record's own ``t`` text, so the spreadsheet shows what was signed.
    """
    values = {**columns, "line": line, "t": accepted.record["t"]}
    values["errors"] = "; ".join(accepted.record.get("errors") or [])
    values["sig_ed25519"] = accepted.record.get(rec.SIG_KEY)
    return [_csv_value(values[c]) for c in CSV_COLUMNS]


def csv_line(row: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    return buffer.getvalue()


def jsonl_line(raw: bytes) -> bytes:
    """The line ``records.jsonl`` holds for a stored payload: the payload itself.

    JSON allows line breaks between tokens; a payload sent with them (giamsat's
    agent never does) is written without that whitespace so that it fits on one
    line. Its signature is unaffected: probes sign the canonical form.
    """
    if b"\n" in raw or b"\r" in raw:
        raw = json.dumps(json.loads(raw), separators=(",", ":"), ensure_ascii=False).encode()
    return raw + b"\n"


@dataclass(frozen=True)
class Checked:
    """A record that passed, with what it contributes to the verdict and the CSV."""

    accepted: Accepted
    columns: dict[str, Any]
    sample: Sample


# The two kinds of record problem, named as the verifier's checks are.
GENUINE = "record signatures"
IN_CASE = "records in case"
Problem = tuple[str, str]  # (GENUINE or IN_CASE, message)


class RecordChecker:
    """Checks records one by one against ``probes.json`` and the case (module docstring).

    ``now`` is when the bundle was built: a record from after that is as
    impossible as one from the future at ingest. Duplicate ids are refused,
    since ingest stores each id once.
    """

    def __init__(self, probes: Mapping[str, ProbeEntry], case: CaseSpec, now: datetime) -> None:
        self.probes = probes
        self.case = case
        self.now = now
        self._keys: dict[str, ProbeKey | None] = {}
        self._seen: dict[str, int] = {}

    def _key(self, probe: str) -> ProbeKey | None:
        if probe not in self._keys:
            entry = self.probes.get(probe)
            try:
                key = None if entry is None else ProbeKey(rec.public_key_from_b64(entry.pubkey))
            except ValueError:
                key = None
            self._keys[probe] = key
        return self._keys[probe]

    def check(self, line: int, raw: bytes) -> tuple[Checked | None, list[Problem]]:
        """The record on ``line`` of ``records.jsonl``, and every problem with it."""
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        probe = parsed.get("probe") if isinstance(parsed, dict) else None
        if not isinstance(probe, str) or not rec.PROBE_ID_PATTERN.match(probe):
            probe = "-"
        record_id = parsed.get("id") if isinstance(parsed, dict) else None
        where = f"record {line}" + (f" (id {record_id})" if isinstance(record_id, str) else "")
        result = check(rec.topic_for(probe), raw, self._key, self.now, max_bytes=NO_SIZE_LIMIT)
        if not isinstance(result, Accepted):
            return None, [(GENUINE, self._rejection(where, probe, result.reason, result.detail))]
        problems: list[Problem] = []
        first = self._seen.setdefault(result.record["id"], line)
        if first != line:
            problems.append((GENUINE, f"{where}: duplicate of record {first}"))
        revoked = self.probes[probe].revoked_time()
        if revoked is not None and result.time > revoked + REVOCATION_GRACE:
            problems.append(
                (GENUINE, f"{where}: made after probe {probe} was revoked ({revoked.isoformat()})")
            )
        columns = record_columns(result)
        case = self.case
        if columns["op"] != case.operator:
            problems.append(
                (IN_CASE, f"{where}: operator {columns['op']!r} is not {case.operator!r}")
            )
        day, period = local_day(result.time), case.period
        if not period.includes(day):
            problems.append(
                (IN_CASE, f"{where}: local day {day} is outside {period.start}..{period.end}")
            )
        cell = columns["h3"]
        if cell is None:
            problems.append((IN_CASE, f"{where}: has no location"))
        elif case.area.cells is not None and cell not in case.area.cells:
            problems.append((IN_CASE, f"{where}: H3 cell {cell} is not in area {case.area.id}"))
        if problems or cell is None:
            return None, problems
        return Checked(result, columns, Sample.from_dict(columns)), []

    def _rejection(self, where: str, probe: str, reason: str, detail: str) -> str:
        if reason == "unknown_probe":
            if probe in self.probes:
                return f"{where}: probe {probe}'s public key in probes.json is unusable"
            return f"{where}: probe {probe} not in probes.json"
        if reason == "bad_signature":
            return f"{where}: signature invalid (not made by probe {probe}'s registered key)"
        return f"{where}: {reason}: {detail}"
