"""The map as a person sees it: loaded in headless Debian Chromium with no network.

Fails (does not skip) when chromium or chromedriver is missing: a map that was
never seen rendering is not tested. Install with
``apt-get install -y chromium chromium-driver``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import h3
import numpy as np
import pytest
from PIL import Image
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

from giamsat.maps.render import render_map
from giamsat.maps.snapshot import png_snapshot
from giamsat.maps.stats import HexStats, Probe, ProbeStatus, Village
from tests.support.processes import chromium, count_elements

pytestmark = pytest.mark.services  # renders in headless Chromium


T0 = datetime(2026, 11, 1, tzinfo=UTC)
T1 = datetime(2026, 11, 30, tzinfo=UTC)
CENTRE = h3.latlng_to_cell(22.61, 105.87, 8)


def _stat(cell: str, op: str, kind: str) -> HexStats:
    n, lost, days, rsrp = {
        "dead": (40, 30, 6, -122.0),
        "weak": (40, 0, 6, -114.0),
        "insufficient": (4, 4, 1, None),
        "unmeasured": (0, 0, 0, None),
        "covered": (40, 0, 6, -95.0),
    }[kind]
    return HexStats(cell, op, "LTE", n, lost, days, rsrp, 8.0 if rsrp else None, T0, T1)


def _fixture_map() -> tuple[list[HexStats], dict[str, int]]:
    """Viettel: 37 hexagons of every class, the centre dead; VNPT: 19, all covered."""
    ring3 = [c for c in h3.grid_disk(CENTRE, 3) if c != CENTRE]
    kinds = ["dead"] * 4 + ["weak"] * 6 + ["insufficient"] * 4 + ["unmeasured"] * 3
    kinds += ["covered"] * (len(ring3) - len(kinds))
    stats = [_stat(CENTRE, "Viettel", "dead")]
    stats += [_stat(c, "Viettel", k) for c, k in zip(ring3, kinds, strict=True)]
    stats += [_stat(c, "VNPT", "covered") for c in h3.grid_disk(CENTRE, 2)]
    expected = {"dead": 5, "weak": 6, "insufficient": 4, "unmeasured": 3, "covered": 19}
    return stats, expected


PROBES = [
    Probe("bk-pacnam-01", 22.600, 105.850, "Pác Nặm", T1, ProbeStatus.OK),
    Probe("bk-pacnam-02", 22.625, 105.895, "Khuổi Bốc", None, ProbeStatus.SILENT),
]
VILLAGES = [Village("Pác Nặm", 22.600, 105.850), Village("Khuổi Bốc", 22.625, 105.895)]


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[WebDriver]:
    with chromium(tmp_path / "profile", (1280, 800)) as browser:
        yield browser


Pixels = np.ndarray


def _pixels(
    png: Path,
    test: Callable[[Pixels, Pixels, Pixels], Pixels],
    outside: dict[str, float] | None = None,
) -> int:
    """Pixels passing ``test``, optionally ignoring a rectangle (the legend's own swatches)."""
    with Image.open(png) as image:
        rgb = np.asarray(image.convert("RGB"), dtype=np.int16)
    hits = test(rgb[..., 0], rgb[..., 1], rgb[..., 2])
    if outside is not None:
        top, left = int(outside["y"]), int(outside["x"])
        hits[top : top + int(outside["height"]) + 1, left : left + int(outside["width"]) + 1] = (
            False
        )
    return int(hits.sum())


def _reddish(r: Pixels, g: Pixels, b: Pixels) -> Pixels:
    """Dead-zone red as drawn (70 % over the pale background), not the amber of weak."""
    return (r > 190) & (g < 130) & (b < 130)


def _greenish(r: Pixels, g: Pixels, b: Pixels) -> Pixels:
    return (g > r + 40) & (g > b + 40)


def test_map_renders_toggles_and_shows_tooltips_offline(driver: WebDriver, tmp_path: Path) -> None:
    stats, expected = _fixture_map()
    page = tmp_path / "map.html"
    render_map(stats, PROBES, VILLAGES, show=("Viettel", "LTE")).save(page)
    driver.get(page.as_uri())
    WebDriverWait(driver, 30).until(lambda d: count_elements(d, "path.giamsat-hex") > 0)

    assert count_elements(driver, "path.giamsat-hex") == 37
    for kind, number in expected.items():
        if kind != "covered":
            assert count_elements(driver, f"path.giamsat-hex-{kind}") == number, kind
    assert count_elements(driver, "path.giamsat-hex-covered") == 37 - 18
    fills = driver.execute_script(
        "var f = {}; document.querySelectorAll('path.giamsat-hex').forEach(function (p) {"
        " var c = p.getAttribute('class').match(/giamsat-hex-[a-z]+/)[0];"
        " f[c] = p.getAttribute('fill'); }); return f;"
    )
    assert fills["giamsat-hex-unmeasured"] == "url(#giamsat-hatch)"
    assert fills["giamsat-hex-insufficient"] == "url(#giamsat-hatch-cross)"
    assert fills["giamsat-hex-dead"] == "#d62728"
    assert fills["giamsat-hex-covered"] == "#2ca02c"

    legend = driver.find_element(By.CSS_SELECTOR, ".giamsat-legend")
    assert legend.is_displayed()
    for text in ("Vùng lõm sóng / Dead zone", "Có sóng / Covered", "Sóng yếu / Weak signal"):
        assert text in legend.text
    assert "Chưa đo / Not measured" in legend.text

    assert count_elements(driver, ".leaflet-marker-icon.giamsat-probe") == 2
    assert count_elements(driver, ".leaflet-marker-icon.giamsat-probe-silent") == 1

    # Nothing was fetched from a network: every resource is the file itself or inline.
    resources = driver.execute_script(
        "return performance.getEntriesByType('resource').map(function (e) { return e.name; })"
    )
    assert [r for r in resources if not r.startswith(("file:", "data:"))] == []

    # Hover the (uncovered) centre of a dead hexagon: the tooltip carries the evidence.
    dead = driver.execute_script(
        "var paths = document.querySelectorAll('path.giamsat-hex-dead');"
        "for (var i = 0; i < paths.length; i++) { var r = paths[i].getBoundingClientRect();"
        " if (document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === paths[i])"
        " return paths[i]; } return null;"
    )
    assert dead is not None
    ActionChains(driver).move_to_element(dead).perform()
    tooltip = WebDriverWait(driver, 10).until(
        lambda d: d.find_element(By.CSS_SELECTOR, ".leaflet-tooltip")
    )
    assert "Vùng lõm sóng / Dead zone" in tooltip.text
    assert "Số mẫu / Samples 40" in tooltip.text
    assert "-122.0 dBm" in tooltip.text
    assert "75.0 % (30/40)" in tooltip.text
    assert "2026-11-01 – 2026-11-30" in tooltip.text

    legend_box = driver.execute_script(
        "return document.querySelector('.giamsat-legend').getBoundingClientRect().toJSON()"
    )
    shot = tmp_path / "viettel.png"
    driver.save_screenshot(str(shot))
    assert _pixels(shot, _reddish, legend_box) > 500
    assert _pixels(shot, _greenish, legend_box) > 500

    # Switch operator in the layer control: only VNPT's 19 covered hexagons remain.
    labels = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-base label")
    names = [label.text.strip() for label in labels]
    assert names == ["VNPT · LTE", "Viettel · LTE"]
    labels[0].find_element(By.TAG_NAME, "input").click()
    WebDriverWait(driver, 10).until(lambda d: count_elements(d, "path.giamsat-hex") == 19)
    assert count_elements(driver, "path.giamsat-hex-covered") == 19
    assert count_elements(driver, "path.giamsat-hex-dead") == 0
    shot = tmp_path / "vnpt.png"
    driver.save_screenshot(str(shot))
    assert _pixels(shot, _reddish, legend_box) == 0

    # Zoomed out, the two probes merge into one cluster, which shows it hides a silent probe.
    for _ in range(10):
        if count_elements(driver, ".giamsat-cluster-probe") > 0:
            break
        driver.find_element(By.CSS_SELECTOR, ".leaflet-control-zoom-out").click()
        time.sleep(0.4)
    assert count_elements(driver, ".giamsat-cluster-probe.giamsat-cluster-silent") == 1

    # Overlays toggle too: hiding probes removes their markers.
    overlay = driver.find_elements(By.CSS_SELECTOR, ".leaflet-control-layers-overlays label")
    probes_toggle = next(o for o in overlay if "Probes" in o.text)
    probes_toggle.find_element(By.TAG_NAME, "input").click()
    WebDriverWait(driver, 10).until(lambda d: count_elements(d, ".giamsat-cluster-probe") == 0)


def test_png_snapshot_of_a_map(tmp_path: Path) -> None:
    stats, _ = _fixture_map()
    page = tmp_path / "map.html"
    render_map(stats, show=("Viettel", "LTE")).save(page)
    png = tmp_path / "map.png"
    png_snapshot(page, png, width=1000, height=700)
    with Image.open(png) as image:
        assert image.size == (1000, 700)
    assert _pixels(png, _reddish) > 500
