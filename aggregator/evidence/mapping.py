"""The bundle's map, drawn from the bundle's own records.

Per H3 cell, the samples the standard judges (its record technologies, plus
no-service samples, which belong to every layer because the probe found no
network at all) become one :class:`giamsat.maps.stats.HexStats` per technology family
(``NR``, ``LTE``), classified by :mod:`giamsat.maps.classify`'s coverage thresholds.
The HTML is :func:`giamsat.maps.render.render_map` with Leaflet inlined, so it opens
offline. For the PDF a PNG is taken with headless Chromium
(:mod:`giamsat.maps.snapshot`); when Chromium is missing or fails, the report draws
the classified hexagons itself, so a bundle never fails for want of a browser.
"""

from __future__ import annotations

import math
import statistics
import subprocess
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import h3

from giamsat.aggregator.aggregates.samples import NO_TECH, Sample
from giamsat.aggregator.compliance.clusters import local_day
from giamsat.aggregator.compliance.standards import Standard
from giamsat.aggregator.store.declarations import DeclaredArea
from giamsat.maps.classify import CoverageClass, CoverageStandard, classify
from giamsat.maps.render import render_map
from giamsat.maps.snapshot import png_snapshot
from giamsat.maps.stats import HexStats, Probe, ProbeStatus

PNG_SIZE = (1200, 800)
# When two families share a cell the drawing shows the more alarming class.
_DRAWING_ORDER: list[CoverageClass] = [
    CoverageClass.UNMEASURED,
    CoverageClass.INSUFFICIENT,
    CoverageClass.COVERED,
    CoverageClass.WEAK,
    CoverageClass.DEAD,
]


def family(tech: str) -> str:
    """``NR-NSA`` -> ``NR``: the coverage thresholds are per technology family."""
    return tech.split("-", 1)[0]


def hex_stats(samples: Iterable[Sample], standard: Standard) -> list[HexStats]:
    """Per (cell, family) aggregates of the samples ``standard`` judges."""
    families = list(dict.fromkeys(family(t) for t in standard.record_techs))
    groups: dict[tuple[str, str], list[Sample]] = defaultdict(list)
    for s in samples:
        if s.tech == NO_TECH:
            for name in families:
                groups[(s.h3, name)].append(s)
        elif s.tech in standard.record_techs:
            groups[(s.h3, family(s.tech))].append(s)
    stats = []
    for (cell, name), group in sorted(groups.items()):
        served = [s for s in group if s.service]
        rsrp = [s.rsrp_dbm for s in served if s.rsrp_dbm is not None]
        dl = [s.dl_mbps for s in served if s.dl_mbps is not None]
        stats.append(
            HexStats(
                h3=cell,
                op=group[0].op,
                tech=name,
                n=len(group),
                n_no_service=len(group) - len(served),
                days=len({local_day(s.t) for s in group}),
                rsrp_median_dbm=statistics.median(rsrp) if rsrp else None,
                dl_median_mbps=statistics.median(dl) if dl else None,
                period_from=min(s.t for s in group),
                period_to=max(s.t for s in group),
            )
        )
    return stats


@dataclass(frozen=True)
class ProbeSite:
    """Where a probe is drawn: its registered position, else the median of its records'."""

    id: str
    village: str | None
    lat: float
    lon: float


def probe_markers(sites: Sequence[ProbeSite], last_seen: Mapping[str, datetime]) -> list[Probe]:
    """Map markers; every probe of a bundle reported, so none is drawn as silent."""
    return [
        Probe(s.id, s.lat, s.lon, s.village or "", last_seen.get(s.id), ProbeStatus.OK)
        for s in sites
    ]


def classified(
    stats: Iterable[HexStats], standard: CoverageStandard | None = None
) -> list[tuple[str, CoverageClass]]:
    """Each cell's class, for the PDF's own drawing; the worst class wins across families."""
    standard = standard or CoverageStandard()
    order = _DRAWING_ORDER
    worst: dict[str, CoverageClass] = {}
    for s in stats:
        cls = classify(s, standard)
        if s.h3 not in worst or order.index(cls) > order.index(worst[s.h3]):
            worst[s.h3] = cls
    return sorted(worst.items())


@dataclass(frozen=True)
class DeclaredGap:
    """A hexagon inside the declared service area that the bundle's records class dead."""

    stats: HexStats
    declaration: str
    zone: str

    def to_dict(self) -> dict[str, object]:
        s = self.stats
        lat, lon = h3.cell_to_latlng(s.h3)
        return {
            "h3": s.h3, "lat": round(lat, 6), "lon": round(lon, 6), "technology": s.tech,
            "declaration": self.declaration, "zone": self.zone, "class": CoverageClass.DEAD.value,
            "samples": s.n, "no_service": s.n_no_service, "days": s.days,
            "rsrp_median_dbm": s.rsrp_median_dbm, "dl_median_mbps": s.dl_median_mbps,
        }  # fmt: skip


def declared_gaps(
    samples: Iterable[Sample],
    declared: Sequence[DeclaredArea],
    standard: Standard,
    coverage: CoverageStandard | None = None,
) -> list[DeclaredGap]:
    """Declared covered, measured dead: the bundle's own list, worst first.

    Only samples of a day on which a declaration holding their cell was in
    force count, by the map's rules; each gap names the latest such
    declaration and its zone.
    """
    coverage = coverage or CoverageStandard()
    inside: list[Sample] = []
    where: dict[str, tuple[str, str]] = {}
    for sample in samples:
        day = local_day(sample.t)
        for area in declared:
            zone = area.cells.get(sample.h3) if area.in_force(day) else None
            if zone is not None:
                inside.append(sample)
                where[sample.h3] = (area.sha256, zone.name)
                break
    gaps = [
        DeclaredGap(s, *where[s.h3])
        for s in hex_stats(inside, standard)
        if classify(s, coverage) is CoverageClass.DEAD
    ]
    return sorted(
        gaps,
        key=lambda g: (
            -g.stats.n_no_service / g.stats.n,
            math.inf if g.stats.rsrp_median_dbm is None else g.stats.rsrp_median_dbm,
            -g.stats.n,
            g.stats.h3,
            g.stats.tech,
        ),
    )


def map_html(stats: Sequence[HexStats], probes: Sequence[Probe], title: str) -> str:
    return render_map(stats, probes, title=title).html()


def map_png(html: str, png: Path) -> str | None:
    """Screenshot the map into ``png``; the reason when it could not be taken, else None."""
    with tempfile.TemporaryDirectory(prefix="giamsat-evidence-map-") as tmp:
        page = Path(tmp) / "map.html"
        page.write_text(html, encoding="utf-8")
        try:
            png_snapshot(page, png, width=PNG_SIZE[0], height=PNG_SIZE[1])
        except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
            return f"{type(exc).__name__}: {exc}"
    return None
