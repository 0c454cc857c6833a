"""Declared covered, measured dead: the hexagons an operator must fix (xoá lõm sóng).

A gap is an H3 cell (rollup resolution) inside the service area an operator
declared for a technology (QCVN 81/126 Annex B) whose measurements classify
it as dead — or, when asked, weak — by exactly the coverage map's rules.
Only the samples of days on which a declaration holding the cell was in
force count: a hexagon measured dead before the operator declared it is not
a gap, and a hexagon the operator stopped declaring is not either.

The samples, days and medians of a hexagon are those of the map
(:func:`giamsat.aggregator.store.hexes.hex_aggregates`, narrowed to the
declared area and its days), and the class is :func:`giamsat.maps.classify.classify`
with the thresholds of ``config/standards/coverage.toml``: the map and the
list cannot disagree. The CLI (``giamsat coverage gaps``), the API
(``/api/v1/coverage/gaps``), the map's layer and the evidence bundle all
call :func:`find_gaps` and render with the functions below.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import h3
import psycopg

from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.coverage import CoverageStandard, load_coverage
from giamsat.aggregator.store import declarations as declared_areas
from giamsat.aggregator.store import hexes
from giamsat.aggregator.store.daily import day_bounds
from giamsat.aggregator.store.declarations import InForce
from giamsat.contract.config import ConfigError, read_toml
from giamsat.contract.timezone import VIETNAM_TZ
from giamsat.maps.classify import CoverageClass, SignalThresholds, classify
from giamsat.maps.classify import CoverageStandard as MapStandard
from giamsat.maps.stats import HexStats

# Declared technology -> the coverage technology (coverage.toml) its map is drawn for.
TECHNOLOGY_FAMILY = {"4G": "LTE", "5G": "NR"}
TITLE_VI = "Khai báo phủ sóng, đo được lõm sóng"
TITLE_EN = "Declared covered, measured dead"
FORMATS = ("table", "json", "csv", "geojson")
_RANK = {CoverageClass.DEAD: 0, CoverageClass.WEAK: 1}


class GapQueryError(ValueError):
    """A question that cannot be answered: unknown technology or area."""

    def __init__(self, parameter: str, value: str, message: str) -> None:
        super().__init__(f"{parameter}: {value}: {message}")
        self.parameter, self.value, self.message = parameter, value, message


@dataclass(frozen=True)
class Gap:
    """One hexagon declared covered and measured dead (or weak)."""

    h3: str
    lat: float
    lon: float
    operator: str
    technology: str
    coverage_class: CoverageClass
    n: int
    n_no_service: int
    days: int
    rsrp_median_dbm: float | None
    dl_median_mbps: float | None
    probes: int
    first_day: date
    last_day: date
    province_id: str | None
    province_name: str | None
    declaration: str
    zone: str

    @property
    def no_service_share(self) -> float:
        return self.n_no_service / self.n

    def sort_key(self) -> tuple[Any, ...]:
        """Worst first: dead before weak, then most samples without service, then lowest
        median level (none measured counts lowest), then most samples; cell and operator last."""
        rsrp = -math.inf if self.rsrp_median_dbm is None else self.rsrp_median_dbm
        share = self.n_no_service / self.n
        return (_RANK[self.coverage_class], -share, rsrp, -self.n, self.h3, self.operator)


@dataclass(frozen=True)
class OperatorSummary:
    """What one operator declared in the period and what its declared hexagons measured."""

    operator: str
    declarations: tuple[InForce, ...]
    declared_hexagons: int
    classes: dict[CoverageClass, int] = field(default_factory=dict)

    @property
    def measured_hexagons(self) -> int:
        return sum(self.classes.values())


@dataclass(frozen=True)
class GapReport:
    """The gaps of some operators for one technology, period and (optional) area."""

    operators: tuple[str, ...]
    technology: str
    family: str
    period: Period
    area: str | None
    area_name: str | None
    weak: bool
    standard: MapStandard
    summaries: tuple[OperatorSummary, ...]
    gaps: tuple[Gap, ...]

    @property
    def undeclared(self) -> tuple[str, ...]:
        """Operators that declared no service area for the technology in the period."""
        return tuple(s.operator for s in self.summaries if not s.declarations)

    @property
    def classes(self) -> tuple[CoverageClass, ...]:
        """The classes that make a gap in this report."""
        return (CoverageClass.DEAD, CoverageClass.WEAK) if self.weak else (CoverageClass.DEAD,)

    def notes(self) -> list[str]:
        """Plain sentences for what an empty list would hide."""
        span = f"{self.period.start}..{self.period.end}"
        where = f" in {self.area_name or self.area}" if self.area else ""
        found = []
        for s in self.summaries:
            if not s.declarations:
                found.append(
                    f"{s.operator} declared no service area for {self.technology} in {span}"
                )
            elif s.declared_hexagons == 0:
                found.append(
                    f"{s.operator}'s declared service area for {self.technology} has no hexagon"
                    f"{where}"
                )
            elif s.measured_hexagons == 0:
                found.append(
                    f"no measurement inside {s.operator}'s declared service area for "
                    f"{self.technology}{where} in {span}"
                )
        return found


def coverage_in(standards_dir: Path | str) -> CoverageStandard:
    """The coverage thresholds among the standards: the one ``kind = "coverage"`` file.

    The map pages load the same file (``http/web/context.py``); none or two is an error.
    """
    directory = Path(standards_dir)
    found = [p for p in sorted(directory.glob("*.toml")) if read_toml(p).get("kind") == "coverage"]
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ConfigError(directory, "kind", f'need exactly one "coverage" file, found {names}')
    return load_coverage(found[0])


def map_standard(coverage: CoverageStandard) -> MapStandard:
    """The map's classification rules with the configured RSRP thresholds (as ``/map`` uses)."""
    signal = {
        name: SignalThresholds(covered_dbm=rule.covered_dbm, dead_dbm=rule.dead_dbm)
        for name, rule in coverage.rules.items()
    }
    return MapStandard(signal=signal)


def as_hex_stats(row: hexes.HexAggregate) -> HexStats:
    """A stored per-hexagon aggregate as the map classifies and draws it."""
    return HexStats(
        h3=row.h3,
        op=row.op,
        tech=row.family,
        n=row.n,
        n_no_service=row.no_service,
        days=row.days,
        rsrp_median_dbm=row.rsrp_median_dbm,
        dl_median_mbps=row.dl_median_mbps,
        period_from=row.first,
        period_to=row.last,
    )


def area_name(conn: psycopg.Connection, area: str) -> str | None:
    row = conn.execute("SELECT name FROM areas WHERE id = %s", (area,)).fetchone()
    return None if row is None else str(row[0])


def find_gaps(
    conn: psycopg.Connection,
    coverage: CoverageStandard,
    operators: Sequence[str],
    technology: str,
    period: Period,
    *,
    area: str | None = None,
    weak: bool = False,
) -> GapReport:
    """The hexagons ``operators`` declared covered for ``technology`` and that measured dead.

    ``technology`` is a declared technology (``4G``, ``5G``); ``period`` local
    days (UTC+7); ``area`` a stored area id (``gso-19``) or None for every
    area; ``weak`` adds hexagons measured weak. Operators are taken as given
    (callers check them against ``operators.toml``). Raises
    :class:`GapQueryError` for an unknown technology or area.
    """
    family = TECHNOLOGY_FAMILY.get(technology)
    if family is None:
        raise GapQueryError(
            "technology", technology, f"must be one of {', '.join(TECHNOLOGY_FAMILY)}"
        )
    if family not in coverage.rules:
        raise GapQueryError("technology", technology, f"{coverage.path} has no {family} entry")
    if area in ("", hexes.ALL):
        area = None
    name = None
    if area is not None:
        name = area_name(conn, area)
        if name is None:
            raise GapQueryError(
                "area", area, "no such area (ids such as gso-19; `giamsat areas sync` loads them)"
            )
    standard = map_standard(coverage)
    families = {n: rule.record_techs for n, rule in coverage.rules.items()}
    start, end = day_bounds(period.start)[0], day_bounds(period.end)[1]
    wanted = (CoverageClass.DEAD, CoverageClass.WEAK) if weak else (CoverageClass.DEAD,)

    summaries = []
    found: list[tuple[hexes.HexAggregate, CoverageClass]] = []
    ops = list(dict.fromkeys(operators))
    in_force = declared_areas.declarations_between(conn, ops, technology, period.start, period.end)
    declared = {op: tuple(in_force.get(op, [])) for op in ops}
    # One pass over the rollups for every operator that declared something.
    measured = [op for op in ops if declared[op]]
    every: list[hexes.HexAggregate] = []
    if measured:
        only = measured[0] if len(measured) == 1 else None
        every = hexes.hex_aggregates(
            conn, families, start, end, op=only, family=family, area=area,
            with_probes=True, declared=technology, by_day=True,
        )  # fmt: skip
    cell_counts = hexes.declared_cell_counts(
        conn, {op: [d.sha256 for d in declared[op]] for op in measured}, area
    )
    for op in ops:
        mine = declared[op]
        if not mine:
            summaries.append(OperatorSummary(op, mine, 0))
            continue
        counts: Counter[CoverageClass] = Counter()
        for row in (r for r in every if r.op == op):
            cls = classify(as_hex_stats(row), standard)
            counts[cls] += 1
            if cls in wanted:
                found.append((row, cls))
        declared_cells = cell_counts[op]
        classes: dict[CoverageClass, int] = {
            c: counts[c] for c in CoverageClass if c is not CoverageClass.UNMEASURED
        }
        summaries.append(OperatorSummary(op, mine, declared_cells, classes))

    cells = sorted({row.h3 for row, _ in found})
    provinces = hexes.provinces_of(conn, cells)
    zones = hexes.zone_names(conn, sorted({row.declaration or "" for row, _ in found}))
    gaps = []
    for row, cls in found:
        assert row.declaration is not None and row.zone is not None
        lat, lon = h3.cell_to_latlng(row.h3)
        province = provinces.get(row.h3)
        gaps.append(
            Gap(
                h3=row.h3,
                lat=round(lat, 6),
                lon=round(lon, 6),
                operator=row.op,
                technology=technology,
                coverage_class=cls,
                n=row.n,
                n_no_service=row.no_service,
                days=row.days,
                rsrp_median_dbm=row.rsrp_median_dbm,
                dl_median_mbps=row.dl_median_mbps,
                probes=len(row.probes),
                first_day=row.first.astimezone(VIETNAM_TZ).date(),
                last_day=row.last.astimezone(VIETNAM_TZ).date(),
                province_id=province[0] if province else None,
                province_name=province[1] if province else None,
                declaration=row.declaration,
                zone=zones.get((row.declaration, row.zone), str(row.zone)),
            )
        )
    gaps.sort(key=Gap.sort_key)
    return GapReport(
        operators=tuple(dict.fromkeys(operators)),
        technology=technology,
        family=family,
        period=period,
        area=area,
        area_name=name,
        weak=weak,
        standard=standard,
        summaries=tuple(summaries),
        gaps=tuple(gaps),
    )


# ---------------------------------------------------------------- rendering


CSV_COLUMNS = (
    "h3", "lat", "lon", "operator", "technology", "class", "samples", "no_service",
    "no_service_share", "days", "rsrp_median_dbm", "dl_median_mbps", "probes",
    "province_id", "province_name", "declaration_sha256", "zone", "first_day", "last_day",
)  # fmt: skip


def gap_json(gap: Gap) -> dict[str, Any]:
    """One gap as plain JSON values (the CSV columns, typed)."""
    return {
        "h3": gap.h3,
        "lat": gap.lat,
        "lon": gap.lon,
        "operator": gap.operator,
        "technology": gap.technology,
        "class": gap.coverage_class.value,
        "samples": gap.n,
        "no_service": gap.n_no_service,
        "no_service_share": round(gap.no_service_share, 4),
        "days": gap.days,
        "rsrp_median_dbm": gap.rsrp_median_dbm,
        "dl_median_mbps": gap.dl_median_mbps,
        "probes": gap.probes,
        "province_id": gap.province_id,
        "province_name": gap.province_name,
        "declaration_sha256": gap.declaration,
        "zone": gap.zone,
        "first_day": gap.first_day.isoformat(),
        "last_day": gap.last_day.isoformat(),
    }


def _query_json(report: GapReport) -> dict[str, Any]:
    s = report.standard
    limits = s.signal[report.family]
    return {
        "finding": {"vi": TITLE_VI, "en": TITLE_EN},
        "operators": list(report.operators),
        "technology": report.technology,
        "coverage_technology": report.family,
        "period": {"from": report.period.start.isoformat(), "to": report.period.end.isoformat()},
        "area": None if report.area is None else {"id": report.area, "name": report.area_name},
        "classes": [c.value for c in report.classes],
        "rules": {
            "covered_dbm": limits.covered_dbm,
            "dead_dbm": limits.dead_dbm,
            "dead_no_service_share": s.dead_no_service_share,
            "covered_max_no_service_share": s.covered_max_no_service_share,
            "min_samples": s.min_samples,
            "min_days": s.min_days,
        },
        "summary": [
            {
                "operator": m.operator,
                "declarations": [
                    {
                        "sha256": d.sha256,
                        "file_name": d.file_name,
                        "valid_from": d.valid_from.isoformat(),
                        "valid_to": None if d.valid_to is None else d.valid_to.isoformat(),
                    }
                    for d in m.declarations
                ],
                "declared_hexagons": m.declared_hexagons,
                "measured_hexagons": m.measured_hexagons,
                "classes": {c.value: n for c, n in m.classes.items()},
                "gaps": sum(1 for g in report.gaps if g.operator == m.operator),
            }
            for m in report.summaries
        ],
        "undeclared": list(report.undeclared),
        "notes": report.notes(),
    }


def to_json(report: GapReport) -> dict[str, Any]:
    """The report as JSON: the question, the rules applied, per-operator summary, the gaps."""
    return {**_query_json(report), "gaps": [gap_json(g) for g in report.gaps]}


def to_geojson(report: GapReport) -> dict[str, Any]:
    """A FeatureCollection of the gap hexagons (polygons), each with the gap as properties.

    The question and summary travel as the foreign member ``query`` (RFC 7946 §6.1).
    """
    features = []
    for gap in report.gaps:
        ring = [[round(lon, 7), round(lat, 7)] for lat, lon in h3.cell_to_boundary(gap.h3)]
        ring.append(ring[0])
        features.append(
            {
                "type": "Feature",
                "id": f"{gap.operator}:{gap.h3}",
                "geometry": {"type": "Polygon", "coordinates": [ring]},
                "properties": gap_json(gap),
            }
        )
    return {"type": "FeatureCollection", "query": _query_json(report), "features": features}


def to_csv(report: GapReport) -> str:
    """One row per gap, columns :data:`CSV_COLUMNS`; empty values for what was not measured."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for gap in report.gaps:
        row = gap_json(gap)
        writer.writerow(["" if row[c] is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def _fmt(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(report: GapReport) -> str:
    """The report for a terminal: what was asked, what was declared and measured, the gaps."""
    classes = " + ".join(c.value for c in report.classes)
    where = f", {report.area_name} ({report.area})" if report.area else ", all areas"
    lines = [
        f"{TITLE_VI} / {TITLE_EN}",
        f"{', '.join(report.operators)} {report.technology} ({report.family}), "
        f"{report.period.start}..{report.period.end}{where}: {classes}",
    ]
    for m in report.summaries:
        for d in m.declarations:
            until = d.valid_to.isoformat() if d.valid_to else "-"
            lines.append(
                f"  {m.operator}: declaration {d.sha256[:12]} ({d.file_name}),"
                f" {d.valid_from}..{until}"
            )
        if m.declarations:
            counts = ", ".join(f"{n} {c.value}" for c, n in m.classes.items() if n)
            lines.append(
                f"  {m.operator}: {m.declared_hexagons} declared hexagons, "
                f"{m.measured_hexagons} measured" + (f" ({counts})" if counts else "")
            )
    lines += [f"  {note}" for note in report.notes()]
    if report.gaps:
        header = (
            f"{'h3':<16} {'operator':<12} {'class':<5} {'samples':>7} {'no svc':>7} {'days':>4}"
            f" {'RSRP':>7} {'probes':>6}  {'province':<22} zone"
        )
        lines += ["", header]
        for g in report.gaps:
            lines.append(
                f"{g.h3:<16} {g.operator:<12} {g.coverage_class.value:<5} {g.n:>7}"
                f" {100 * g.no_service_share:>6.1f}% {g.days:>4} {_fmt(g.rsrp_median_dbm, 1):>7}"
                f" {g.probes:>6}  {(g.province_name or '-'):<22} {g.zone}"
            )
    lines.append(f"{len(report.gaps)} gap(s)")
    return "\n".join(lines) + "\n"
