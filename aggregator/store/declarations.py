"""Declared service areas: what each operator says it covers, and at what speeds.

QCVN 81 and QCVN 126 judge an operator *within the service area it declared*;
Annex B of both obliges it to publish that area as a digital map with its
declared speeds. A declaration is one published file (GeoJSON or KML) for one
operator and technology, in force from a date. Each feature of the file is a
zone; a zone may carry its own declared speeds (``vd``, ``vu``, ``vdmin`` in
Mbit/s, as properties or KML ExtendedData), else the speeds given on import
apply. The zones are stored as H3 cells at the rollup resolution (a cell
belongs to a zone when its centre lies inside), with the file's SHA-256, so a
verdict can name exactly the declaration it used.

A new declaration ends the one in force before it: importing one valid from
D closes the previous declaration of that operator and technology on D - 1.

The offline evidence verifier reads declaration files and applies declared
areas without a database: this module imports psycopg only for type checking,
and the geometry and XML libraries only when it reads a file.
"""

from __future__ import annotations

import hashlib
import io
import json
import warnings
import xml.etree.ElementTree
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import h3

from giamsat.aggregator.aggregates.samples import DECLARED_TECHNOLOGY, Sample
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.contract.config import ConfigError
from giamsat.contract.timezone import VIETNAM_TZ

if TYPE_CHECKING:
    import psycopg

TECHNOLOGIES = ("4G", "5G")
SPEEDS = ("vd", "vu", "vdmin")
# Mbit/s; a declaration names at most kbit/s (0.256 for 256 kbit/s).
MAX_SPEED = Decimal(100_000)
SPEED_STEP = Decimal("0.001")


@dataclass(frozen=True)
class Zone:
    """One feature of a declaration: its name, declared speeds and H3 cells."""

    index: int
    name: str
    speeds: dict[str, Decimal]
    cells: frozenset[str] = field(repr=False)


@dataclass(frozen=True)
class Declaration:
    sha256: str
    operator: str
    technology: str
    valid_from: date
    valid_to: date | None
    file_name: str
    zones: int
    cells: int


def parse_speed(where: str, value: object) -> Decimal:
    """A declared speed in Mbit/s, exactly as written (``2.5``, ``0.256``, ``16``).

    A mistake is a ConfigError naming ``where``: not a number, not positive,
    or finer than 1 kbit/s.
    """
    try:
        speed = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(where, str(value), "is not a number") from None
    if not speed.is_finite() or speed <= 0 or speed > MAX_SPEED:
        raise ConfigError(where, str(value), "must be a speed in Mbit/s")
    if speed != speed.quantize(SPEED_STEP):
        raise ConfigError(where, str(value), "is more precise than 1 kbit/s")
    return speed


def _features_geojson(path: Path, text: str) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ConfigError(path, "-", f"not valid GeoJSON ({exc})") from None
    if isinstance(data, dict) and data.get("type") == "Feature":
        data = {"type": "FeatureCollection", "features": [data]}
    features = data.get("features") if isinstance(data, dict) else None
    if not isinstance(features, list):
        raise ConfigError(path, "features", "a FeatureCollection (or one Feature) is required")
    for i, feature in enumerate(features):
        if not isinstance(feature, dict):
            raise ConfigError(path, f"feature {i + 1}", "is not a GeoJSON Feature")
        props = feature.get("properties") or {}
        name = props.get("name") or props.get("ten") or f"feature {i + 1}"
        yield str(name), props, feature.get("geometry")


def _features_kml(path: Path, data: bytes) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    import defusedxml
    import defusedxml.ElementTree

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # fastkml warns when lxml is missing
        from fastkml import kml

    # lxml recovers from broken XML, so a truncated file would lose its last
    # zones silently: check it is well-formed (and free of entity tricks) first.
    try:
        defusedxml.ElementTree.fromstring(data)
    except (defusedxml.DefusedXmlException, xml.etree.ElementTree.ParseError) as exc:
        raise ConfigError(path, "-", f"not valid KML ({exc})") from None
    try:
        # Bytes, not text: an XML declaration naming its encoding is only valid on bytes.
        document = kml.KML.parse(io.BytesIO(data))
    except Exception as exc:  # fastkml raises a variety of parser errors
        raise ConfigError(path, "-", f"not valid KML ({exc})") from None

    def placemarks(node: Any) -> Iterator[Any]:
        for child in getattr(node, "features", None) or []:
            if hasattr(child, "geometry"):
                yield child
            yield from placemarks(child)

    for i, mark in enumerate(placemarks(document)):
        props: dict[str, Any] = {}
        if mark.extended_data is not None:
            for element in mark.extended_data.elements:
                if getattr(element, "name", None) is not None:
                    props[element.name] = element.value
        geometry = mark.geometry.__geo_interface__ if mark.geometry is not None else None
        yield str(mark.name or f"placemark {i + 1}"), props, geometry


def read_zones(
    path: Path, data: bytes, defaults: Mapping[str, Decimal] | None = None
) -> list[Zone]:
    """The zones of a declaration file (GeoJSON or KML), each with its speeds and cells.

    Every mistake names the file and the feature: an unreadable file, a
    geometry that is not a valid polygon, a speed that is not a number, a zone
    with no cell, a cell claimed by two zones.
    """
    import shapely.geometry
    import shapely.validation

    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(path, "-", "is not UTF-8 text") from None
    is_kml = path.suffix.lower() == ".kml" or text.lstrip().startswith("<")
    features = _features_kml(path, data) if is_kml else _features_geojson(path, text)
    zones: list[Zone] = []
    owner: dict[str, str] = {}
    for index, (name, props, geometry) in enumerate(features):
        where = f"feature {index + 1} ({name})"
        if not isinstance(geometry, dict) or geometry.get("type") not in (
            "Polygon",
            "MultiPolygon",
        ):
            kind = geometry.get("type") if isinstance(geometry, dict) else geometry
            raise ConfigError(path, where, f"a zone must be a Polygon or MultiPolygon, not {kind}")
        try:
            shape = shapely.geometry.shape(geometry)
        except Exception as exc:  # shapely reports malformed coordinates in several ways
            raise ConfigError(path, where, f"unreadable geometry ({exc})") from None
        if not shape.is_valid:
            reason = shapely.validation.explain_validity(shape)
            raise ConfigError(path, where, f"invalid polygon: {reason}")
        speeds = dict(defaults or {})
        for key in SPEEDS:
            if props.get(key) not in (None, ""):
                speeds[key] = parse_speed(f"{path}: {where}: {key}", props[key])
        cells = frozenset(h3.geo_to_cells(shape.__geo_interface__, H3_RESOLUTION))
        if not cells:
            raise ConfigError(path, where, "covers no H3 cell centre (a zone under 0.7 km²?)")
        for cell in cells:
            if cell in owner:
                raise ConfigError(path, where, f"overlaps {owner[cell]} (cell {cell})")
            owner[cell] = where
        zones.append(Zone(index, name, speeds, cells))
    if not zones:
        raise ConfigError(path, "features", "the file holds no zone")
    return zones


def import_declaration(
    conn: psycopg.Connection,
    path: Path,
    *,
    operator: str,
    technology: str,
    valid_from: date,
    valid_to: date | None = None,
    speeds: Mapping[str, Decimal] | None = None,
) -> tuple[Declaration, list[Declaration]]:
    """Store a declaration file; returns it and the declarations it ended.

    The same file imported twice is refused (its SHA-256 is its identity), as
    is one that would start before or on the day a stored declaration of the
    same operator and technology starts.
    """
    if technology not in TECHNOLOGIES:
        raise ConfigError("--technology", technology, f"must be one of {', '.join(TECHNOLOGIES)}")
    if valid_to is not None and valid_to < valid_from:
        raise ConfigError("--valid-to", valid_to.isoformat(), "is before --valid-from")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ConfigError(path, "-", f"cannot be read ({exc.strerror or exc})") from None
    sha256 = hashlib.sha256(data).hexdigest()
    zones = read_zones(path, data, speeds)
    with conn.transaction(), conn.cursor() as cur:
        if cur.execute("SELECT 1 FROM declarations WHERE sha256 = %s", (sha256,)).fetchone():
            raise ConfigError(path, "-", f"already imported (SHA-256 {sha256})")
        later = cur.execute(
            "SELECT file_name, valid_from FROM declarations WHERE operator = %s"
            " AND technology = %s AND valid_from >= %s ORDER BY valid_from LIMIT 1",
            (operator, technology, valid_from),
        ).fetchone()
        if later is not None:
            raise ConfigError(
                "--valid-from",
                valid_from.isoformat(),
                f"{operator} {technology} already has {later[0]} in force from {later[1]}",
            )
        ended = cur.execute(
            "UPDATE declarations SET valid_to = %s WHERE operator = %s AND technology = %s"
            " AND (valid_to IS NULL OR valid_to >= %s) RETURNING sha256",
            (valid_from - timedelta(days=1), operator, technology, valid_from),
        ).fetchall()
        cur.execute(
            "INSERT INTO declarations (sha256, operator, technology, valid_from, valid_to,"
            " file_name, content) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (sha256, operator, technology, valid_from, valid_to, path.name, data),
        )
        for zone in zones:
            cur.execute(
                "INSERT INTO declaration_zones (declaration, zone, name, vd_mbps, vu_mbps,"
                " vdmin_mbps) VALUES (%s, %s, %s, %s, %s, %s)",
                (sha256, zone.index, zone.name, *(zone.speeds.get(k) for k in SPEEDS)),
            )
        with cur.copy("COPY declaration_cells (declaration, zone, h3) FROM STDIN") as copy:
            for zone in zones:
                for cell in sorted(zone.cells):
                    copy.write_row((sha256, zone.index, cell))
    stored = get(conn, sha256)
    assert stored is not None
    return stored, [d for (s,) in ended if (d := get(conn, s)) is not None]


_SELECT = (
    "SELECT d.sha256, d.operator, d.technology, d.valid_from, d.valid_to, d.file_name,"
    " (SELECT count(*) FROM declaration_zones z WHERE z.declaration = d.sha256),"
    " (SELECT count(*) FROM declaration_cells c WHERE c.declaration = d.sha256)"
    " FROM declarations d"
)


def get(conn: psycopg.Connection, sha256: str) -> Declaration | None:
    row = conn.execute(_SELECT + " WHERE d.sha256 = %s", (sha256,)).fetchone()
    return Declaration(*row) if row else None


def list_declarations(conn: psycopg.Connection, operator: str | None = None) -> list[Declaration]:
    """Every stored declaration, by operator, technology and start."""
    where, params = ("", ()) if operator is None else (" WHERE d.operator = %s", (operator,))
    rows = conn.execute(
        _SELECT + where + " ORDER BY d.operator, d.technology, d.valid_from", params
    ).fetchall()
    return [Declaration(*row) for row in rows]


def in_force(
    conn: psycopg.Connection, operator: str, technology: str, day: date
) -> Declaration | None:
    """The declaration of ``operator`` for ``technology`` in force on ``day``, if any."""
    row = conn.execute(
        _SELECT + " WHERE d.operator = %s AND d.technology = %s AND d.valid_from <= %s"
        " AND (d.valid_to IS NULL OR d.valid_to >= %s) ORDER BY d.valid_from DESC LIMIT 1",
        (operator, technology, day, day),
    ).fetchone()
    return Declaration(*row) if row else None


@dataclass(frozen=True)
class InForce:
    """When one declaration was in force (``valid_to`` None: still in force)."""

    sha256: str
    operator: str
    valid_from: date
    valid_to: date | None
    file_name: str


def declarations_between(
    conn: psycopg.Connection, operators: list[str], technology: str, first: date, last: date
) -> dict[str, list[InForce]]:
    """Per operator, its declarations for ``technology`` in force on some day of first..last."""
    rows = conn.execute(
        "SELECT sha256, operator, valid_from, valid_to, file_name FROM declarations"
        " WHERE technology = %s AND operator = ANY(%s) AND valid_from <= %s"
        " AND (valid_to IS NULL OR valid_to >= %s) ORDER BY operator, valid_from",
        (technology, operators, last, first),
    ).fetchall()
    found: dict[str, list[InForce]] = {}
    for row in rows:
        found.setdefault(row[1], []).append(InForce(*row))
    return found


@dataclass(frozen=True)
class DeclaredArea:
    """A declaration as a verdict applies it: when in force, and its zones.

    ``zones`` may hold only some cells of each zone (those of an area, or of
    an ingest batch). ``content`` is the file as imported (None for
    declarations stored before files were kept).
    """

    sha256: str
    operator: str
    technology: str
    valid_from: date
    valid_to: date | None
    file_name: str
    content: bytes | None = field(repr=False)
    zones: tuple[Zone, ...] = field(repr=False)

    def in_force(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    @cached_property
    def cells(self) -> dict[str, Zone]:
        """Each cell of the declaration, with its zone."""
        return {cell: zone for zone in self.zones for cell in zone.cells}


def _as_written(value: Any) -> Decimal:
    """A stored speed (numeric(9, 3): 2.500) as declared (2.5; 16, not 16.000 or 1.6E+1)."""
    speed = Decimal(value)
    return speed.quantize(Decimal(1)) if speed == speed.to_integral() else speed.normalize()


def _zones(rows: Iterable[tuple[int, str, Any, Any, Any, str]]) -> tuple[Zone, ...]:
    """Zones from (zone, name, vd, vu, vdmin, h3) rows."""
    cells: dict[int, set[str]] = {}
    heads: dict[int, tuple[str, dict[str, Decimal]]] = {}
    for index, name, *speeds, cell in rows:
        declared = {k: _as_written(v) for k, v in zip(SPEEDS, speeds, strict=True) if v is not None}
        heads.setdefault(index, (name, declared))
        cells.setdefault(index, set()).add(cell)
    return tuple(Zone(i, heads[i][0], heads[i][1], frozenset(cells[i])) for i in sorted(heads))


_ZONE_ROWS = (
    "SELECT z.zone, z.name, z.vd_mbps, z.vu_mbps, z.vdmin_mbps, c.h3"
    " FROM declaration_cells c JOIN declaration_zones z"
    " ON z.declaration = c.declaration AND z.zone = c.zone"
)


def declared_areas(
    conn: psycopg.Connection,
    operator: str,
    technology: str,
    first: date,
    last: date,
    cells: frozenset[str] | None = None,
) -> list[DeclaredArea]:
    """The operator's declarations in force on some day of first..last, oldest first.

    With ``cells``, each declaration keeps only those of its cells (an area).
    """
    found = []
    wanted = None if cells is None else sorted(cells)
    for d in declarations_between(conn, [operator], technology, first, last).get(operator, []):
        head = conn.execute(
            "SELECT technology, file_name, content FROM declarations WHERE sha256 = %s",
            (d.sha256,),
        ).fetchone()
        assert head is not None
        rows = conn.execute(
            _ZONE_ROWS + " WHERE c.declaration = %s"
            " AND (%s::text[] IS NULL OR c.h3 = ANY(%s::text[]))",
            (d.sha256, wanted, wanted),
        ).fetchall()
        content = None if head[2] is None else bytes(head[2])
        area = DeclaredArea(
            d.sha256, operator, head[0], d.valid_from, d.valid_to, head[1], content, _zones(rows)
        )
        found.append(area)
    return found


def apply_vdmin(samples: Iterable[Sample], declared: Iterable[DeclaredArea]) -> list[Sample]:
    """``samples`` with the Vdmin declared for each one's place, technology and day.

    A sample's Vdmin is that of the zone holding its cell, in the declaration
    of its operator and technology in force on its local day; None where
    there is none, or the zone declares no Vdmin.
    """
    by_key: dict[tuple[str, str], list[DeclaredArea]] = {}
    for area in declared:
        by_key.setdefault((area.operator, area.technology), []).append(area)
    found = []
    for sample in samples:
        vdmin = None
        technology = DECLARED_TECHNOLOGY.get(sample.tech)
        if technology is not None and sample.dl_mbps is not None:
            day = sample.t.astimezone(VIETNAM_TZ).date()
            for area in by_key.get((sample.op, technology), []):
                zone = area.cells.get(sample.h3) if area.in_force(day) else None
                if zone is not None and "vdmin" in zone.speeds:
                    vdmin = float(zone.speeds["vdmin"])
        found.append(sample if vdmin is None else replace(sample, dl_vdmin_mbps=vdmin))
    return found


def with_vdmin(cur: psycopg.Cursor, samples: list[Sample]) -> list[Sample]:
    """``samples`` (an ingest batch) with their declared Vdmin: one query, for their cells only."""
    cells = sorted({s.h3 for s in samples if s.dl_mbps is not None})
    if not cells:
        return samples
    rows = cur.execute(
        "SELECT d.sha256, d.operator, d.technology, d.valid_from, d.valid_to,"
        " z.zone, z.name, z.vd_mbps, z.vu_mbps, z.vdmin_mbps, c.h3"
        " FROM declaration_cells c JOIN declarations d ON d.sha256 = c.declaration"
        " JOIN declaration_zones z ON z.declaration = c.declaration AND z.zone = c.zone"
        " WHERE c.h3 = ANY(%s) AND z.vdmin_mbps IS NOT NULL",
        (cells,),
    ).fetchall()
    if not rows:
        return samples
    heads: dict[tuple[str, str, str, date, date | None], list[Any]] = {}
    for sha256, operator, technology, valid_from, valid_to, *zone in rows:
        heads.setdefault((sha256, operator, technology, valid_from, valid_to), []).append(zone)
    declared = [
        DeclaredArea(*head, file_name="", content=None, zones=_zones(zones))
        for head, zones in heads.items()
    ]
    return apply_vdmin(samples, declared)


# The declared technology of a record technology, in SQL (DECLARED_TECHNOLOGY).
_TECHNOLOGY_SQL = (
    "CASE r.tech "
    + " ".join(f"WHEN '{t}' THEN '{g}'" for t, g in DECLARED_TECHNOLOGY.items())
    + " END"
)


def recount(
    conn: psycopg.Connection,
    *,
    operator: str | None = None,
    technology: str | None = None,
    since: date | None = None,
) -> int:
    """Bring the hourly rollups' Vdmin counts up to date with the declarations; rows changed.

    Run after a new declaration (``giamsat coverage recount``; ``coverage
    import`` runs it): every stored record of the operator and technology from
    ``since`` (its local day) is counted again against the Vdmin of the
    declaration in force on its day, exactly as ingest counts a new record.
    Changed rows are marked updated, so compliance reads them at once and the
    next daily refresh folds them in. A record's download is read as its
    probe signed it (the raw JSON, as ingest and evidence read it), or from
    its stored column once the raw payload has been pruned.
    """
    where = ["r.h3 IS NOT NULL"]
    params: dict[str, Any] = {}
    if operator is not None:
        where.append("coalesce(r.op, 'unknown') = %(op)s")
        params["op"] = operator
    if technology is not None:
        where.append(f"{_TECHNOLOGY_SQL} = %(technology)s")
        params["technology"] = technology
    if since is not None:
        where.append("r.t >= %(since)s::timestamp AT TIME ZONE 'Asia/Ho_Chi_Minh'")
        params["since"] = since
    hour = "date_trunc('hour', r.t)"
    key = f"{hour} AS hour, r.h3, coalesce(r.op, 'unknown') AS op, coalesce(r.tech, 'none') AS tech"
    day = "(k.hour AT TIME ZONE 'Asia/Ho_Chi_Minh')::date"
    counted = "r.service IS NOT FALSE AND r.dl_mbps IS NOT NULL AND vd.vdmin IS NOT NULL"
    # The stored download is a float4: it decides unless it lies within a millionth of
    # Vdmin, where its rounding could; there the download is read as the probe signed it.
    met = (
        "CASE WHEN abs(r.dl_mbps::float8 - vd.vdmin) > 1e-6 * vd.vdmin"
        " THEN r.dl_mbps::float8 >= vd.vdmin"
        " ELSE coalesce((r.raw::jsonb #>> '{dl,mbps}')::float8, r.dl_mbps::float8) >= vd.vdmin END"
    )
    filters = " AND ".join(where)
    sql = f"""
WITH keys AS (
    SELECT DISTINCT {key} FROM records r WHERE {filters}
),
vd AS (
    -- Vdmin is one figure per (hour, cell, operator, technology): a local day is whole hours.
    SELECT k.hour, k.h3, k.op, k.tech, z.vdmin_mbps::float8 AS vdmin
    FROM keys k
    JOIN declarations d ON d.operator = k.op
     AND d.technology = {_TECHNOLOGY_SQL.replace("r.tech", "k.tech")}
     AND {day} >= d.valid_from AND {day} <= coalesce(d.valid_to, 'infinity'::date)
    JOIN declaration_cells c ON c.declaration = d.sha256 AND c.h3 = k.h3
    JOIN declaration_zones z ON z.declaration = c.declaration AND z.zone = c.zone
    WHERE z.vdmin_mbps IS NOT NULL
),
v AS (
    SELECT {hour} AS hour, r.h3, coalesce(r.op, 'unknown') AS op,
           coalesce(r.tech, 'none') AS tech, r.probe, coalesce(r.env, 'unknown') AS env,
           count(*) FILTER (WHERE {counted})::int AS n,
           count(*) FILTER (WHERE {counted} AND {met})::int AS met
    FROM records r
    LEFT JOIN vd ON vd.hour = {hour} AND vd.h3 = r.h3 AND vd.op = coalesce(r.op, 'unknown')
     AND vd.tech = coalesce(r.tech, 'none')
    WHERE {filters}
    GROUP BY 1, 2, 3, 4, 5, 6
)
UPDATE rollups u SET dl_vdmin_n = v.n, dl_vdmin_met = v.met, updated_at = now()
FROM v
WHERE u.hour = v.hour AND u.h3 = v.h3 AND u.op = v.op AND u.tech = v.tech
  AND u.probe = v.probe AND u.env = v.env
  AND (u.dl_vdmin_n, u.dl_vdmin_met) IS DISTINCT FROM (v.n, v.met)
"""
    with conn.transaction():
        return conn.execute(sql, params).rowcount


# A declared zone judged on its own, as an area: "zone:<first 12 of SHA-256>:<zone>".
ZONE_PREFIX = "zone:"


def zone_id(sha256: str, zone: int) -> str:
    """The area id of one zone of a declaration (for ``--area`` and the national table)."""
    return f"{ZONE_PREFIX}{sha256[:12]}:{zone}"


def parse_zone_id(area: str) -> tuple[str, int] | None:
    """(SHA-256 prefix, zone) of a zone area id; None for any other area id."""
    if not area.startswith(ZONE_PREFIX):
        return None
    prefix, _, zone = area.removeprefix(ZONE_PREFIX).partition(":")
    if len(prefix) < 8 or not all(c in "0123456789abcdef" for c in prefix) or not zone.isdigit():
        raise ConfigError("--area", area, "a zone is zone:<SHA-256, 8+ hex digits>:<number>")
    return prefix, int(zone)


@dataclass(frozen=True)
class ZoneArea:
    """One zone of a declaration, judged as an area with its own declared speeds."""

    id: str
    name: str
    sha256: str
    operator: str
    technology: str
    zone: Zone


def zone_area(conn: psycopg.Connection, area: str) -> ZoneArea | None:
    """The zone an area id names; None when it is not a zone id; ConfigError when none is stored."""
    parsed = parse_zone_id(area)
    if parsed is None:
        return None
    prefix, index = parsed
    heads = conn.execute(
        "SELECT sha256, operator, technology FROM declarations WHERE sha256 LIKE %s",
        (prefix + "%",),
    ).fetchall()
    if len(heads) != 1:
        found = "no declaration" if not heads else f"{len(heads)} declarations"
        raise ConfigError("--area", area, f"{found} with SHA-256 starting {prefix}")
    sha256, operator, technology = heads[0]
    rows = conn.execute(_ZONE_ROWS + " WHERE c.declaration = %s AND c.zone = %s", (sha256, index))
    zones = _zones(rows.fetchall())
    if not zones:
        raise ConfigError("--area", area, f"declaration {sha256[:12]} has no zone {index}")
    name = f"{operator} {technology}: {zones[0].name}"
    return ZoneArea(zone_id(sha256, index), name, sha256, operator, technology, zones[0])
