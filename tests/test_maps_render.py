"""The HTML map: layers, offline assets, encoding, labels, escaping (no browser here)."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import h3
import pytest

from giamsat.maps.assets import STATIC_DIR, head_html
from giamsat.maps.classify import CoverageClass, CoverageStandard
from giamsat.maps.layers import HexLayer, MarkerLayer
from giamsat.maps.render import QUANTUM, encode_layer, render_map
from giamsat.maps.stats import HexStats, Probe, ProbeStatus, Village

CENTRE = h3.latlng_to_cell(22.61, 105.87, 8)
T0 = datetime(2026, 11, 1, tzinfo=UTC)
T1 = datetime(2026, 11, 30, 12, tzinfo=UTC)


def stat(cell: str, op: str, tech: str = "LTE", *, rsrp: float | None = -100.0) -> HexStats:
    return HexStats(cell, op, tech, 30, 0, 5, rsrp, 12.5, T0, T1)


def layers_of(rendered_map: object) -> list[HexLayer]:
    return [c for c in rendered_map.map._children.values() if isinstance(c, HexLayer)]


def test_one_geojson_layer_per_operator_and_technology() -> None:
    cells = list(h3.grid_disk(CENTRE, 4))  # 61 cells
    stats = [stat(c, "Viettel") for c in cells]
    stats += [stat(c, "VNPT") for c in cells[:25]]
    stats += [stat(c, "Viettel", "NR-NSA", rsrp=-125.0) for c in cells[:7]]
    rendered = render_map(stats, show=("Viettel", "LTE"))
    layers = layers_of(rendered)
    counts = {layer.layer_name: layer.feature_count for layer in layers}
    assert counts == {"VNPT · LTE": 25, "Viettel · LTE": 61, "Viettel · NR-NSA": 7}
    assert [layer.show for layer in layers] == [False, True, False]
    assert all(not layer.overlay for layer in layers)  # radio buttons: one operator at a time
    summary = {s.name: s for s in rendered.layers}
    assert summary["Viettel · NR-NSA"].counts[CoverageClass.DEAD] == 7
    assert summary["Viettel · LTE"].total == 61
    html = rendered.html()
    assert html.count("giamsat.hexLayer(") == 3
    assert "L.control.layers(" in html


def test_offline_by_default_no_external_scripts_or_styles() -> None:
    html = render_map([stat(CENTRE, "Viettel")]).html()
    assert not re.search(r"<script[^>]+src=", html)
    assert not re.search(r"<link[^>]+href=", html)
    assert "cdn.jsdelivr" not in html and "code.jquery" not in html
    assert "L.markerClusterGroup=" in html  # markercluster is inlined
    assert "url(images/" not in html  # CSS images became data URIs
    assert "giamsat.configure(" in html


def test_assets_can_be_served_instead_of_inlined() -> None:
    head = head_html("/static/")
    sources = re.findall(r'(?:src|href)="([^"]+)"', head)
    assert sources, head
    for source in sources:
        assert source.startswith("/static/")
        assert (STATIC_DIR / source.removeprefix("/static/")).is_file()
    html = render_map([stat(CENTRE, "Viettel")], asset_base_url="/static").html()
    assert '<script src="/static/leaflet/leaflet.js"></script>' in html
    assert len(html) < 60_000  # nothing inlined


def test_encoded_rings_decode_to_the_cell_boundary() -> None:
    cells = [*h3.grid_disk(CENTRE, 2), h3.get_pentagons(8)[3]]
    payload, counts = encode_layer("x", [stat(c, "Viettel") for c in cells], CoverageStandard(), {})
    assert counts[CoverageClass.COVERED] == len(cells)
    assert payload["q"] == QUANTUM
    for cell, flat in zip(payload["h"], payload["g"], strict=True):
        x, y = flat[0], flat[1]
        decoded = [(x / QUANTUM, y / QUANTUM)]
        for k in range(2, len(flat), 2):
            x += flat[k]
            y += flat[k + 1]
            decoded.append((x / QUANTUM, y / QUANTUM))
        expected = [(lng, lat) for lat, lng in h3.cell_to_boundary(cell)]
        assert len(decoded) == len(expected)
        for (lng, lat), (elng, elat) in zip(decoded, expected, strict=True):
            assert abs(lng - elng) <= 0.6 / QUANTUM
            assert abs(lat - elat) <= 0.6 / QUANTUM


def test_payload_values_and_period() -> None:
    payload, _ = encode_layer("x", [stat(CENTRE, "Viettel", rsrp=-118.26)], CoverageStandard(), {})
    assert payload["r"] == [-1183]  # tenths of a dB
    assert payload["d"] == [1250]  # hundredths of a Mbit/s
    assert payload["periods"] == ["2026-11-01 – 2026-11-30"]  # dates in Vietnam time
    assert payload["n"] == [30] and payload["x"] == [0] and payload["dy"] == [5]


def test_legend_and_labels_are_bilingual_with_diacritics() -> None:
    html = render_map([stat(CENTRE, "Viettel")], [], [Village("Pác Nặm", 22.61, 105.87)]).html()
    for text in ("Vùng lõm sóng", "Có sóng", "Sóng yếu", "Chưa đo", "Dead zone", "Covered"):
        assert text in html
    assert "RSRP ≥ -109 dBm" in html
    assert "Độ phân giải H3 / H3 resolution: 8" in html
    assert "Pác Nặm" in html


def test_large_views_are_coarsened_and_say_so() -> None:
    cells = list(h3.grid_disk(CENTRE, 10))  # 331 cells
    rendered = render_map([stat(c, "Viettel") for c in cells], max_hexes=100)
    assert rendered.resolution == 7
    (layer,) = layers_of(rendered)
    assert layer.feature_count <= 100
    assert "Độ phân giải H3 / H3 resolution: 7" in rendered.html()


def test_markers_are_clustered_layers() -> None:
    probes = [
        Probe("bk-01", 22.61, 105.87, "Pác Nặm", T1, ProbeStatus.OK),
        Probe("bk-02", 22.63, 105.90, "Nà Phai", None, ProbeStatus.SILENT),
    ]
    villages = [Village("Pác Nặm", 22.61, 105.87)]
    rendered = render_map([stat(CENTRE, "Viettel")], probes, villages)
    markers = {
        c.kind: c.marker_count
        for c in rendered.map._children.values()
        if isinstance(c, MarkerLayer)
    }
    assert markers == {"probe": 2, "village": 1}
    html = rendered.html()
    assert "2026-11-30 19:00 (UTC+7)" in html  # last seen shown in Vietnam time
    assert '"silent"' in html


def test_names_cannot_inject_markup() -> None:
    evil = "<script>alert(1)</script>"
    rendered = render_map(
        [stat(CENTRE, evil)],
        [Probe(evil, 22.6, 105.8, evil, None, ProbeStatus.OK)],
        [Village(evil, 22.6, 105.8)],
    )
    assert "<script>alert" not in rendered.html()


def test_names_are_not_evaluated_as_templates() -> None:
    # branca re-compiles rendered scripts as Jinja templates; names must pass through as text.
    name = "{{ 7*7 }}{# x #}{% if 1 %}"
    html = render_map(
        [stat(CENTRE, name)], [Probe(name, 22.6, 105.8, name, None, ProbeStatus.OK)]
    ).html()
    # layer payload title, layer control, probe id and probe village
    assert html.count(name) == 4


def test_unknown_visible_layer_is_an_error() -> None:
    with pytest.raises(ValueError, match="MobiFone"):
        render_map([stat(CENTRE, "Viettel")], show=("MobiFone", "LTE"))


def test_empty_map_still_renders() -> None:
    rendered = render_map([])
    assert rendered.layers == ()
    assert "giamsat.legend(" in rendered.html()
