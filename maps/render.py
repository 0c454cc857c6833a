"""Coverage and dead-zone map as a self-contained folium/Leaflet HTML page.

One base layer (radio button) per operator and technology, so exactly one
operator's coverage is on screen at a time and overlapping hexagons of two
operators never hide each other; probes and villages are clustered overlays.

Colours: covered green, weak amber, dead red; *not measured* and *too little
data* are grey, hatched and outlined with a dashed line — never a solid fill,
so they cannot be mistaken for dead (red) or covered (green). The two grey
kinds differ only in the hatch (single vs cross), because both mean "we cannot
say" and the department acts on them the same way: send a probe.

Hexagon geometry is sent as integer 1e-5 degree (about 1 m) coordinates, the
first vertex absolute and the others as deltas, decoded in the browser by
``static/giamsat/map.js``; a 50,000-hexagon map stays well under 10 MB.
"""

from __future__ import annotations

import html
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import folium
import h3
from folium.map import FitBounds

from giamsat.contract.timezone import VIETNAM_TZ
from giamsat.maps import labels
from giamsat.maps.assets import head_html
from giamsat.maps.classify import CoverageClass, CoverageStandard, SignalThresholds, classify
from giamsat.maps.hexes import COARSEST_RESOLUTION, fit_resolution
from giamsat.maps.layers import (
    HexLayer,
    LayerControl,
    Legend,
    MarkerLayer,
    RawHtml,
    Runtime,
    figure_of,
)
from giamsat.maps.stats import HexStats, Probe, Village

DEFAULT_MAX_HEXES = 20_000
QUANTUM = 100_000  # coordinates sent as integers of 1e-5 degree
VIETNAM_CENTRE = (16.0, 106.0)
MAX_ZOOM = 18  # marker clustering needs a maximum zoom even when there is no tile layer

CLASS_ORDER: tuple[CoverageClass, ...] = tuple(CoverageClass)

_HATCH = "url(#giamsat-hatch)"
_CROSS_HATCH = "url(#giamsat-hatch-cross)"
_GREY = "#5f5f5f"

CLASS_STYLES: dict[CoverageClass, dict[str, Any]] = {
    CoverageClass.COVERED: {"color": "#1b7a2f", "fillColor": "#2ca02c", "fillOpacity": 0.55},
    CoverageClass.WEAK: {"color": "#a86400", "fillColor": "#ffb000", "fillOpacity": 0.6},
    CoverageClass.DEAD: {"color": "#8b0000", "fillColor": "#d62728", "fillOpacity": 0.7},
    CoverageClass.INSUFFICIENT: {
        "color": _GREY,
        "dashArray": "4 3",
        "fillColor": _CROSS_HATCH,
        "fillOpacity": 1,
    },
    CoverageClass.UNMEASURED: {
        "color": _GREY,
        "dashArray": "4 3",
        "fillColor": _HATCH,
        "fillOpacity": 1,
    },
}

# Hatch patterns referenced by the grey classes; any inline SVG in the page can use them.
PATTERN_SVG = f"""<svg width="0" height="0" style="position:absolute" aria-hidden="true"><defs>
<pattern id="giamsat-hatch" width="7" height="7" patternUnits="userSpaceOnUse"
 patternTransform="rotate(45)"><rect width="7" height="7" fill="#bdbdbd" fill-opacity="0.35"/>
<line x1="0" y1="0" x2="0" y2="7" stroke="{_GREY}" stroke-width="1.6"/></pattern>
<pattern id="giamsat-hatch-cross" width="7" height="7" patternUnits="userSpaceOnUse"
 patternTransform="rotate(45)"><rect width="7" height="7" fill="#bdbdbd" fill-opacity="0.35"/>
<line x1="0" y1="0" x2="0" y2="7" stroke="{_GREY}" stroke-width="1.4"/>
<line x1="0" y1="0" x2="7" y2="0" stroke="{_GREY}" stroke-width="1.4"/></pattern>
</defs></svg>"""


@dataclass(frozen=True, slots=True)
class TileSource:
    """A base map; optional, since there may be no tile server reachable at all."""

    url: str
    attribution: str
    max_zoom: int = 19


@dataclass(frozen=True, slots=True)
class LayerSummary:
    op: str
    tech: str
    name: str
    counts: dict[CoverageClass, int]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class RenderedMap:
    """The folium map plus what the caller may want to tell the user about it."""

    map: folium.Map
    resolution: int
    layers: tuple[LayerSummary, ...]

    def html(self) -> str:
        return self.map.get_root().render()

    def save(self, path: Path | str) -> None:
        Path(path).write_text(self.html(), encoding="utf-8")


def format_period(start: datetime, end: datetime) -> str:
    """Dates of a period in Vietnam time, e.g. ``2026-11-01 – 2026-11-30``."""
    first = start.astimezone(VIETNAM_TZ).date().isoformat()
    last = end.astimezone(VIETNAM_TZ).date().isoformat()
    return first if first == last else f"{first} – {last}"


def format_time(when: datetime) -> str:
    return when.astimezone(VIETNAM_TZ).strftime("%Y-%m-%d %H:%M") + " (UTC+7)"


def _encoded_ring(cell: str) -> list[int]:
    """Vertices as integer 1e-5 degrees [lng, lat]: the first absolute, the rest as deltas."""
    flat: list[int] = []
    px = py = 0
    for lat, lng in h3.cell_to_boundary(cell):
        x, y = round(lng * QUANTUM), round(lat * QUANTUM)
        flat += (x - px, y - py)
        px, py = x, y
    return flat


def _tenths(value: float | None, scale: int) -> int | None:
    return None if value is None else round(value * scale)


def encode_layer(
    title: str,
    stats: Sequence[HexStats],
    standard: CoverageStandard,
    rings: dict[str, list[int]],
) -> tuple[dict[str, Any], Counter[CoverageClass]]:
    """The column-wise payload ``giamsat.hexLayer`` decodes, and the class counts.

    ``rings`` caches encoded geometry across layers (operators share cells).
    """
    class_index = {c: i for i, c in enumerate(CLASS_ORDER)}
    periods: dict[tuple[datetime, datetime], int] = {}
    counts: Counter[CoverageClass] = Counter()
    columns: dict[str, list[Any]] = {k: [] for k in ("h", "c", "n", "x", "dy", "r", "d", "p", "g")}
    for s in stats:
        cls = classify(s, standard)
        counts[cls] += 1
        ring = rings.get(s.h3)
        if ring is None:
            ring = rings[s.h3] = _encoded_ring(s.h3)
        columns["h"].append(s.h3)
        columns["c"].append(class_index[cls])
        columns["n"].append(s.n)
        columns["x"].append(s.n_no_service)
        columns["dy"].append(s.days)
        columns["r"].append(_tenths(s.rsrp_median_dbm, 10))
        columns["d"].append(_tenths(s.dl_median_mbps, 100))
        columns["p"].append(periods.setdefault((s.period_from, s.period_to), len(periods)))
        columns["g"].append(ring)
    payload: dict[str, Any] = {"title": title, "q": QUANTUM, **columns}
    payload["periods"] = [format_period(a, b) for a, b in periods]
    return payload, counts


def _swatch(cls: CoverageClass) -> str:
    style = CLASS_STYLES[cls]
    dash = f' stroke-dasharray="{style["dashArray"]}"' if "dashArray" in style else ""
    return (
        f'<svg width="22" height="16"><rect x="1" y="1" width="20" height="14" '
        f'fill="{style["fillColor"]}" fill-opacity="{style["fillOpacity"]}" '
        f'stroke="{style["color"]}" stroke-width="1.5"{dash}/></svg>'
    )


def _marker_swatch(css: str) -> str:
    style = "display:inline-block;width:14px;height:14px"
    return f'<span class="giamsat-marker {css}" style="{style}"></span>'


def legend_html(
    standard: CoverageStandard,
    techs: Sequence[str],
    resolution: int,
    period: str | None,
    with_probes: bool,
) -> str:
    """Legend markup: classes, the thresholds applied, minimum evidence, resolution."""
    esc = html.escape
    items = [
        f'<li data-class="{cls.value}">{_swatch(cls)}'
        f"<span>{esc(str(labels.CLASS_LABELS[cls]))}</span></li>"
        for cls in CLASS_ORDER
    ]
    if with_probes:
        items += [
            f"<li>{_marker_swatch('giamsat-probe-' + status.value)}"
            f"<span>{esc(str(labels.PROBES))}: {esc(str(label))}</span></li>"
            for status, label in labels.PROBE_STATUS_LABELS.items()
        ]
    dead = labels.CLASS_LABELS[CoverageClass.DEAD]
    covered = labels.CLASS_LABELS[CoverageClass.COVERED]
    groups: dict[SignalThresholds, list[str]] = defaultdict(list)
    for tech in techs:
        groups[standard.thresholds(tech)].append(tech)
    lines = [
        f"{labels.THRESHOLDS} {esc(', '.join(names))}: RSRP ≥ {limits.covered_dbm:g} dBm "
        f"{covered.vi.lower()} / {covered.en.lower()}; &lt; {limits.dead_dbm:g} dBm "
        f"{dead.vi.lower()} / {dead.en.lower()}"
        for limits, names in groups.items()
    ]
    lines.append(
        f"{labels.NO_SERVICE_SHARE} ≥ {standard.dead_no_service_share:.0%} → "
        f"{dead.vi.lower()} / {dead.en.lower()}"
    )
    lines.append(
        f"{labels.MIN_EVIDENCE}: {standard.min_samples} {labels.SAMPLES_UNIT}, "
        f"{standard.min_days} {labels.DAYS_UNIT}"
    )
    lines.append(f"{labels.RESOLUTION}: {resolution}")
    if period:
        lines.append(f"{labels.PERIOD}: {esc(period)}")
    paragraphs = "".join(f"<p>{line}</p>" for line in lines)
    return f"<h4>{esc(str(labels.TITLE))}</h4><ul>{''.join(items)}</ul>{paragraphs}"


def _runtime_config() -> dict[str, Any]:
    text = {
        "class": labels.CLASS,
        "samples": labels.SAMPLES,
        "median_rsrp": labels.MEDIAN_RSRP,
        "median_download": labels.MEDIAN_DOWNLOAD,
        "no_service_share": labels.NO_SERVICE_SHARE,
        "days": labels.DAYS,
        "period": labels.PERIOD,
        "not_available": labels.NOT_AVAILABLE,
        "village": labels.VILLAGE,
        "status": labels.STATUS,
        "last_seen": labels.LAST_SEEN,
        "never_seen": labels.NEVER_SEEN,
    }
    styles = {
        cls.value: {**style, "weight": 1, "className": f"giamsat-hex giamsat-hex-{cls.value}"}
        for cls, style in CLASS_STYLES.items()
    }
    return {
        "classes": [cls.value for cls in CLASS_ORDER],
        "classLabels": {cls.value: str(label) for cls, label in labels.CLASS_LABELS.items()},
        "statusLabels": {s.value: str(label) for s, label in labels.PROBE_STATUS_LABELS.items()},
        "styles": styles,
        "text": {key: str(label) for key, label in text.items()},
    }


def layer_name(op: str, tech: str) -> str:
    """The layer's label in the layer control (Leaflet inserts it as HTML, hence escaped)."""
    return html.escape(f"{op} · {tech}")


def _bounds(
    rings: dict[str, list[int]], probes: Sequence[Probe], villages: Sequence[Village]
) -> list[list[float]] | None:
    """South-west and north-east corners of everything drawn.

    Each hexagon counts by its first vertex, which is within one edge length of
    the cell: plenty for framing the view, and free since the rings are encoded anyway.
    """
    points = [(ring[1] / QUANTUM, ring[0] / QUANTUM) for ring in rings.values()]
    points += [(p.lat, p.lon) for p in probes] + [(v.lat, v.lon) for v in villages]
    if not points:
        return None
    lats, lons = zip(*points, strict=True)
    return [[min(lats), min(lons)], [max(lats), max(lons)]]


def render_map(
    stats: Sequence[HexStats],
    probes: Sequence[Probe] = (),
    villages: Sequence[Village] = (),
    *,
    standard: CoverageStandard | None = None,
    max_hexes: int | None = DEFAULT_MAX_HEXES,
    coarsest_resolution: int = COARSEST_RESOLUTION,
    asset_base_url: str | None = None,
    tiles: TileSource | None = None,
    show: tuple[str, str] | None = None,
    title: str | None = None,
) -> RenderedMap:
    """Build the coverage map.

    ``max_hexes`` caps the hexagons in the page (all layers together); above it
    the stats are coarsened (res 8 -> 7 -> 6, see :mod:`giamsat.maps.hexes`).
    ``asset_base_url=None`` inlines Leaflet so the file works offline on its
    own; a URL links ``giamsat.maps.assets.STATIC_DIR`` served there instead.
    ``show`` names the (operator, technology) layer on screen first (default:
    the first in alphabetical order).
    """
    standard = standard or CoverageStandard()
    resolution, shown_stats = fit_resolution(stats, max_hexes, coarsest_resolution)
    by_layer: dict[tuple[str, str], list[HexStats]] = defaultdict(list)
    for s in shown_stats:
        by_layer[(s.op, s.tech)].append(s)
    keys = sorted(by_layer)
    if show is not None and show not in by_layer:
        raise ValueError(f"no layer for operator/technology {show!r}")
    visible = show if show is not None else (keys[0] if keys else None)

    rings: dict[str, list[int]] = {}
    layers: list[HexLayer] = []
    summaries = []
    for op, tech in keys:
        name = layer_name(op, tech)
        payload, counts = encode_layer(f"{op} · {tech}", by_layer[(op, tech)], standard, rings)
        layers.append(HexLayer(name, payload, show=(op, tech) == visible))
        summaries.append(LayerSummary(op, tech, name, {c: counts.get(c, 0) for c in CLASS_ORDER}))

    fmap = folium.Map(location=VIETNAM_CENTRE, zoom_start=6, tiles=None, control_scale=True)
    fmap.options["maxZoom"] = MAX_ZOOM  # folium passes max_zoom only to its tile layer
    fmap.default_js = []
    fmap.default_css = []
    figure = figure_of(fmap)
    figure.title = title or f"giamsat — {labels.TITLE}"
    figure.header.add_child(RawHtml(head_html(asset_base_url)), name="giamsat_assets")
    figure.html.add_child(RawHtml(PATTERN_SVG), name="giamsat_patterns")
    fmap.add_child(Runtime(_runtime_config()), name="giamsat_runtime")
    bounds = _bounds(rings, probes, villages)
    if bounds is not None:
        # Set the view before any layer exists, so marker clusters are built at the final
        # zoom instead of re-clustering (with animation) right after the page opens.
        fit = FitBounds(bounds)
        fit.options["animate"] = False
        fmap.add_child(fit)
    if tiles is not None:
        folium.TileLayer(
            tiles=tiles.url,
            attr=tiles.attribution,
            max_zoom=tiles.max_zoom,
            name="Bản đồ nền / Base map",
            overlay=True,
            control=True,
        ).add_to(fmap)
    for layer in layers:
        fmap.add_child(layer)

    if villages:
        rows = [[v.lat, v.lon, v.name] for v in villages]
        fmap.add_child(MarkerLayer(str(labels.VILLAGES), "village", rows, show=True))
    if probes:
        rows = [
            [
                p.lat,
                p.lon,
                p.id,
                p.village,
                None if p.last_seen is None else format_time(p.last_seen),
                p.status.value,
            ]
            for p in probes
        ]
        fmap.add_child(MarkerLayer(str(labels.PROBES), "probe", rows, show=True))

    period = (
        format_period(min(s.period_from for s in stats), max(s.period_to for s in stats))
        if stats
        else None
    )
    techs = sorted({tech for _, tech in keys})
    fmap.add_child(Legend(legend_html(standard, techs, resolution, period, bool(probes))))
    fmap.add_child(LayerControl(position="topright", collapsed=False))
    return RenderedMap(fmap, resolution, tuple(summaries))
