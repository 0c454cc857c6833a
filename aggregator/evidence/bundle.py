"""Building a bundle from the database: choose the case's records and hand them to assemble.

The records are those of the operator (the ``op`` column: the serving
network, or the SIM's operator for a no-service record) with a location, in
the area's H3 cells, with a time on a day of the period in Vietnam time;
every technology is included, since the spacing rule counts a device's
samples whatever network they were on. They are read with a server-side
cursor, in (time, id) order, inside one REPEATABLE READ transaction, so the
counts, the probes and the records all come from one snapshot while ingest
keeps writing.

Areas: ``all`` (no area filter), an area id from ``config/areas``, or an H3
cell; a cell coarser than the rollup resolution stands for its children.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

import h3
import psycopg
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.compliance import Operator, Period, Standard, load_operators, load_standards
from giamsat.aggregator.compliance.declared import zone_operator
from giamsat.aggregator.evidence.assemble import BuildResult, assemble
from giamsat.aggregator.evidence.progress import Progress
from giamsat.aggregator.evidence.records import AreaSpec, BundleError, ProbeEntry
from giamsat.aggregator.settings import ComplianceSettings
from giamsat.aggregator.store import areas
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.aggregator.store.declarations import declared_areas, zone_area
from giamsat.contract.config import ConfigError
from giamsat.contract.timezone import VIETNAM_TZ

ALL = "all"
FETCH_ROWS = 5_000


class UnknownArea(BundleError):
    """The area is neither ``all``, a stored area id, nor a usable H3 cell."""


def case_config(
    compliance: ComplianceSettings, standard_id: str, operator_name: str
) -> tuple[Standard, Operator]:
    """The standard and operator by name; a wrong name is a BundleError listing the options."""
    standards = load_standards(compliance.standards_dir)
    operators = load_operators(compliance.operators_file)
    if standard_id not in standards:
        raise BundleError(f"unknown standard {standard_id!r}; one of {', '.join(standards)}")
    if operator_name not in operators:
        raise BundleError(f"unknown operator {operator_name!r}; one of {', '.join(operators)}")
    return standards[standard_id], operators[operator_name]


def period_bounds(period: Period) -> tuple[datetime, datetime]:
    """UTC instants of the period's first local midnight and the one after its last day."""
    start = datetime.combine(period.start, time(0), VIETNAM_TZ).astimezone(UTC)
    end = datetime.combine(period.end + timedelta(days=1), time(0), VIETNAM_TZ).astimezone(UTC)
    return start, end


def resolve_area(conn: psycopg.Connection, area: str) -> AreaSpec:
    if area == ALL:
        return AreaSpec(ALL, "Toàn bộ / all areas", None, None)
    try:
        zone = zone_area(conn, area)
    except ConfigError as exc:
        raise UnknownArea(f"{exc.key}: {exc.reason}") from None
    if zone is not None:
        return AreaSpec(zone.id, zone.name, "service_area", frozenset(zone.zone.cells))
    if areas.is_cell(area):
        resolution = h3.get_resolution(area)
        if resolution > H3_RESOLUTION:
            raise UnknownArea(
                f"H3 cell {area} has resolution {resolution}; records are placed at"
                f" resolution {H3_RESOLUTION} or coarser"
            )
        cells = frozenset(h3.cell_to_children(area, H3_RESOLUTION))
        return AreaSpec(area, f"H3 {area}", "cell", cells)
    row = conn.execute("SELECT id, name, level FROM areas WHERE id = %s", (area,)).fetchone()
    if row is None:
        raise UnknownArea(
            f"unknown area {area!r}: use an area id (giamsat areas sync lists them), an H3 cell,"
            " or all"
        )
    return AreaSpec(row[0], row[1], row[2], frozenset(areas.cells_of(conn, area)))


def _filter(area: AreaSpec) -> str:
    cells = "" if area.cells is None else " AND h3 = ANY(%(cells)s)"
    return (
        "FROM records WHERE op = %(op)s AND t >= %(start)s AND t < %(end)s AND h3 IS NOT NULL"
        + cells
    )


def _probes(conn: psycopg.Connection, ids: list[str]) -> list[ProbeEntry]:
    rows = conn.execute(
        "SELECT id, pubkey, kind, village, lat, lon, registered_at, revoked_at FROM probes"
        " WHERE id = ANY(%s) ORDER BY id",
        (ids,),
    ).fetchall()
    return [
        ProbeEntry(
            id=r[0],
            pubkey=r[1],
            kind=r[2],
            village=r[3],
            lat=r[4],
            lon=r[5],
            registered_at=r[6].astimezone(UTC).isoformat(),
            revoked_at=None if r[7] is None else r[7].astimezone(UTC).isoformat(),
            records=0,
        )
        for r in rows
    ]


def _raw_records(
    conn: psycopg.Connection, area: AreaSpec, params: dict[str, Any]
) -> Iterator[bytes]:
    with conn.cursor(name="giamsat_evidence") as cur:
        cur.itersize = FETCH_ROWS
        cur.execute(f"SELECT raw {_filter(area)} ORDER BY t, id", params)
        for (raw,) in cur:
            yield raw.encode("utf-8")


def build_from_database(
    conn: psycopg.Connection,
    *,
    standard: Standard,
    operator: Operator,
    operators_file: Path,
    area: str,
    period: Period,
    out: Path,
    key: Ed25519PrivateKey,
    progress: Progress | None = None,
    map_picture: bool = True,
) -> BuildResult:
    """Select the case's records and probes and write the bundle to ``out``."""
    progress = progress or Progress(None)
    spec = resolve_area(conn, area)
    start, end = period_bounds(period)
    params: dict[str, Any] = {"op": operator.name, "start": start, "end": end}
    if spec.cells is not None:
        params["cells"] = sorted(spec.cells)
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        stage = progress.stage("select")
        counts = conn.execute(f"SELECT probe, count(*) {_filter(spec)} GROUP BY probe", params)
        per_probe: dict[str, int] = dict(counts.fetchall())
        probes = _probes(conn, sorted(per_probe))
        missing = sorted(set(per_probe) - {p.id for p in probes})
        if missing:
            raise BundleError(f"records of unregistered probe(s) {', '.join(missing)} are stored")
        total = sum(per_probe.values())
        declared = declared_areas(
            conn, operator.name, standard.technology, period.start, period.end, spec.cells
        )
        operator = zone_operator(operator, standard, spec.id, declared)
        stage.done(f"{total:,} records of {len(probes)} probes in {spec.id}")
        return assemble(
            out,
            standard=standard,
            operator=operator,
            standard_bytes=Path(standard.path).read_bytes(),
            operators_bytes=Path(operators_file).read_bytes(),
            area=spec,
            period=period,
            probes=probes,
            records=_raw_records(conn, spec, params),
            key=key,
            map_picture=map_picture,
            expected_records=total,
            progress=progress,
            declared=declared,
        )
