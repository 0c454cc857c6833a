"""Benchmark: a coverage map of 50,000 hexagons — generation, size, Chromium render time.

Run: ``.venv/bin/python bench/map.py`` (needs Debian ``chromium`` and
``chromium-driver``). Absolute times depend on the machine, so each figure is
also given as a ratio against a reference measured in the same run:
generation against ``json.dumps`` of the same hexagons as plain GeoJSON, and
render time against a 5,000-hexagon map. Targets: the page renders every
hexagon of the visible layer, HTML <= 10 MB, generation < 3 s. Exits 1 if a
target is missed.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import h3
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.remote.webdriver import WebDriver

from giamsat.maps.hexes import cell_polygon
from giamsat.maps.render import RenderedMap, render_map
from giamsat.maps.snapshot import CHROMIUM_FLAGS, find_chromium
from giamsat.maps.stats import HexStats

HEXAGONS = 50_000
REFERENCE_HEXAGONS = 5_000
LAYERS = (("Viettel", "LTE", 0.5), ("VNPT", "LTE", 0.3), ("Viettel", "NR-NSA", 0.2))
VISIBLE = ("Viettel", "LTE")  # the largest layer is the one on screen
MAX_HTML_BYTES = 10 * 1024 * 1024
MAX_GENERATION_S = 3.0
T0 = datetime(2026, 11, 1, tzinfo=UTC)
T1 = datetime(2026, 11, 30, tzinfo=UTC)


def synthetic_stats(total: int, seed: int = 1) -> list[HexStats]:
    """Contiguous patches of res-8 cells around places in northern Vietnam, like a fleet's."""
    rng = random.Random(seed)
    cells: list[str] = []
    seen: set[str] = set()
    while len(cells) < total:
        centre = h3.latlng_to_cell(rng.uniform(20.5, 23.0), rng.uniform(103.5, 106.8), 8)
        for cell in h3.grid_disk(centre, rng.randint(6, 14)):
            if cell not in seen and len(cells) < total:
                seen.add(cell)
                cells.append(cell)
    stats = []
    start = 0
    for op, tech, share in LAYERS:
        count = round(total * share)
        for cell in cells[start : start + count]:
            n = rng.choice((0, 4, 12, 40, 120))
            lost = int(n * rng.random() ** 3)
            rsrp = None if n == lost else round(rng.uniform(-128, -80), 1)
            dl = None if rsrp is None else round(rng.uniform(0.2, 150), 2)
            stats.append(
                HexStats(cell, op, tech, n, lost, rng.randint(1, 20) if n else 0, rsrp, dl, T0, T1)
            )
        start += count
    return stats


def plain_geojson_dumps(stats: list[HexStats]) -> tuple[float, int]:
    """Reference: seconds and bytes to build and json.dumps the same hexagons as GeoJSON."""
    started = time.perf_counter()
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": cell_polygon(s.h3),
                "properties": {
                    "h3": s.h3,
                    "op": s.op,
                    "tech": s.tech,
                    "n": s.n,
                    "n_no_service": s.n_no_service,
                    "days": s.days,
                    "rsrp_median_dbm": s.rsrp_median_dbm,
                    "dl_median_mbps": s.dl_median_mbps,
                },
            }
            for s in stats
        ],
    }
    text = json.dumps(doc)
    return time.perf_counter() - started, len(text.encode())


@dataclass
class Measured:
    label: str
    generation_s: float
    html_bytes: int
    resolution: int
    visible_expected: int
    visible_drawn: int
    render_s: float


def chromium(profile: Path) -> WebDriver:
    options = webdriver.ChromeOptions()
    options.binary_location = find_chromium()
    for flag in CHROMIUM_FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(
        service=Service(executable_path=find_chromium("chromedriver")), options=options
    )
    driver.set_window_size(1280, 800)
    driver.set_page_load_timeout(600)
    driver.set_script_timeout(600)
    return driver


def render_time(driver: WebDriver, page: Path) -> tuple[float, int]:
    """Seconds from navigation start to the first frame painted after load, and paths drawn."""
    driver.get(page.as_uri())
    painted_ms = driver.execute_async_script(
        "var done = arguments[arguments.length - 1];"
        "requestAnimationFrame(function () { requestAnimationFrame(function () {"
        " done(performance.now()); }); });"
    )
    drawn = driver.execute_script("return document.querySelectorAll('path.giamsat-hex').length")
    driver.get("about:blank")
    return painted_ms / 1000, int(drawn)


def measure(
    label: str, stats: list[HexStats], max_hexes: int | None, driver: WebDriver, workdir: Path
) -> Measured:
    started = time.perf_counter()
    rendered: RenderedMap = render_map(stats, max_hexes=max_hexes, show=VISIBLE)
    html = rendered.html()
    generation = time.perf_counter() - started
    page = workdir / f"{label.replace(' ', '_')}.html"
    page.write_text(html, encoding="utf-8")
    visible = next(s for s in rendered.layers if (s.op, s.tech) == VISIBLE)
    seconds, drawn = render_time(driver, page)
    return Measured(
        label, generation, len(html.encode()), rendered.resolution, visible.total, drawn, seconds
    )


def main() -> int:
    stats = synthetic_stats(HEXAGONS)
    reference_stats = synthetic_stats(REFERENCE_HEXAGONS, seed=2)
    dumps_s, dumps_bytes = plain_geojson_dumps(stats)
    with tempfile.TemporaryDirectory(prefix="giamsat-bench-map-") as tmp:
        workdir = Path(tmp)
        driver = chromium(workdir / "profile")
        try:
            reference = measure("5k reference", reference_stats, None, driver, workdir)
            full = measure("50k res 8", stats, None, driver, workdir)
            auto = measure("50k auto", stats, 20_000, driver, workdir)
        finally:
            driver.quit()

    print(f"input: {len(stats)} hexagons in {len(LAYERS)} operator/technology layers")
    print(
        f"reference: build + json.dumps the same {len(stats)} hexagons as plain GeoJSON: "
        f"{dumps_s:.2f} s, {dumps_bytes / 1e6:.1f} MB"
    )
    print(
        f"reference {REFERENCE_HEXAGONS}-hexagon map: render {reference.render_s:.2f} s, "
        f"{reference.visible_drawn} paths drawn"
    )
    header = (
        f"{'case':<10} {'res':>3} {'generate s':>10} {'x dumps':>8} {'HTML MB':>8} "
        f"{'x GeoJSON':>9} {'paths':>12} {'render s':>9} {'x 5k map':>9}"
    )
    print(header)
    failures = []
    for m in (full, auto):
        print(
            f"{m.label:<10} {m.resolution:>3} {m.generation_s:>10.2f} "
            f"{m.generation_s / dumps_s:>8.2f} {m.html_bytes / 1e6:>8.2f} "
            f"{m.html_bytes / dumps_bytes:>9.2f} {m.visible_drawn:>5}/{m.visible_expected:<6} "
            f"{m.render_s:>9.2f} {m.render_s / reference.render_s:>9.2f}"
        )
        if m.visible_drawn != m.visible_expected:
            failures.append(f"{m.label}: drew {m.visible_drawn} of {m.visible_expected} hexagons")
        if m.html_bytes > MAX_HTML_BYTES:
            failures.append(f"{m.label}: HTML {m.html_bytes / 1e6:.1f} MB > 10 MB")
        if m.generation_s > MAX_GENERATION_S:
            failures.append(f"{m.label}: generation {m.generation_s:.2f} s > {MAX_GENERATION_S} s")
    for failure in failures:
        print(f"TARGET MISSED: {failure}")
    if not failures:
        print("targets met: renders, HTML <= 10 MB, generation < 3 s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
