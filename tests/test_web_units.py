"""Pure parts of the web pages: medians from histograms, charts, pseudonyms, periods, KPIs."""

from __future__ import annotations

import hashlib
import hmac
import re
import stat
from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, THROUGHPUT_EDGES, bin_index
from giamsat.aggregator.aggregates.rollup import Moments
from giamsat.aggregator.compliance.coverage import load_coverage
from giamsat.aggregator.http.auth import safe_next
from giamsat.aggregator.http.web.charts import line_chart, nice_ceiling
from giamsat.aggregator.http.web.kpis import MonthRow, monthly_kpis
from giamsat.aggregator.http.web.opendata import load_or_create_key, pseudonym, published_probes
from giamsat.aggregator.http.web.periods import day_period, month_period, month_span, shift_months
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.aggregator.store.hexes import hist_median

COVERAGE = load_coverage(PROJECT_CONFIG / "standards" / "coverage.toml")


def _hist(values: list[float], edges: tuple[float, ...]) -> list[int]:
    moments = Moments(edges)
    for v in values:
        moments.add(v)
    return moments.hist


def _lower_median(values: list[float]) -> float:
    return sorted(values)[(len(values) + 1) // 2 - 1]


@given(st.lists(st.floats(-139.9, -44.0).map(lambda x: round(x, 1)), min_size=1, max_size=300))
def test_histogram_median_lies_in_the_exact_medians_bin(values: list[float]) -> None:
    estimate = hist_median(_hist(values, RSRP_EDGES_DBM), RSRP_EDGES_DBM)
    exact = _lower_median(values)
    assert estimate is not None
    assert bin_index(RSRP_EDGES_DBM, estimate) == bin_index(RSRP_EDGES_DBM, exact)
    # Therefore it is on the same side of every whole-dBm coverage threshold.
    for threshold in (-120.0, -115.0, -110.0, -109.0):
        assert (estimate < threshold) == (exact < threshold)


def test_histogram_median_interpolates_inside_the_bin_and_handles_open_bins() -> None:
    # Three values in [-96, -95): the middle one's rank sits mid-bin.
    assert hist_median(_hist([-95.9, -95.5, -95.1], RSRP_EDGES_DBM), RSRP_EDGES_DBM) == -95.5
    assert hist_median(_hist([], RSRP_EDGES_DBM), RSRP_EDGES_DBM) is None
    assert hist_median(_hist([-150.0, -151.0], RSRP_EDGES_DBM), RSRP_EDGES_DBM) == -140.0
    assert hist_median(_hist([5000.0], THROUGHPUT_EDGES), THROUGHPUT_EDGES) == 3000.0
    # Download 31.2 is in [30, 35): never reported as exactly 30 or 35.
    median = hist_median(_hist([31.2], THROUGHPUT_EDGES), THROUGHPUT_EDGES)
    assert median is not None and 30.0 < median < 35.0
    with pytest.raises(ValueError, match="bins"):
        hist_median([1, 2], RSRP_EDGES_DBM)


def test_nice_ceiling() -> None:
    assert [nice_ceiling(v) for v in (0, 0.7, 1, 3, 24, 130, 101, 999)] == [
        1.0, 1.0, 1.0, 5.0, 25.0, 200.0, 200.0, 1000.0,
    ]  # fmt: skip


def test_line_chart_breaks_lines_at_missing_months_and_escapes_names() -> None:
    months = ["2026-08", "2026-09", "2026-10", "2026-11"]
    svg = line_chart(
        "dl_mean",
        "Tốc độ / Download",
        "Mbit/s",
        months,
        {"Viettel": [120.0, None, 130.0, 140.0], "<b>Op</b>": [None, None, None, 60.0]},
        {"Viettel": "#1f77b4"},
    )
    paths = re.findall(r'<path class="line" d="([^"]+)"', svg)
    assert len(paths) == 1  # a lone point (the second operator) is a circle, not a line
    assert paths[0].count("M") == 2 and paths[0].count("L") == 1  # gap in September
    assert svg.count('<circle class="point"') == 4
    assert "Viettel 2026-10: 130.0 Mbit/s" in svg
    assert "<b>" not in svg and "&lt;b&gt;Op&lt;/b&gt;" in svg
    # The y axis is rounded up from the largest value (140 -> 200) and starts at zero.
    ticks = re.findall(r'class="tick y"[^>]*>([^<]+)<', svg)
    assert ticks == ["0", "40", "80", "120", "160", "200"]


def test_line_chart_percentages_and_empty() -> None:
    svg = line_chart("covered", "x", "%", ["2026-10"], {"A": [None]}, {}, top=100, empty_text="—")
    assert re.findall(r'class="tick y"[^>]*>([^<]+)<', svg)[-1] == "100"
    assert "<path" not in svg and 'class="empty"' in svg


def test_pseudonyms_are_keyed_and_change_every_month(tmp_path) -> None:
    key_file = tmp_path / "k"
    key = load_or_create_key(key_file)
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert load_or_create_key(key_file) == key
    name = pseudonym(key, "2026-10", "lc-phone-07")
    expected = hmac.new(key, b"2026-10\nlc-phone-07", hashlib.sha256).hexdigest()[:12]
    assert name == f"phone-{expected}"
    assert "lc-phone-07" not in name
    assert pseudonym(key, "2026-10", "lc-phone-07") == name
    assert pseudonym(key, "2026-11", "lc-phone-07") != name
    assert pseudonym(b"another key" * 3, "2026-10", "lc-phone-07") != name
    kinds = {"bk-01": "fixed", "lc-phone-07": "phone"}
    published = published_probes(key, "2026-10", ["bk-01", "lc-phone-07", "unregistered"], kinds)
    assert "bk-01" in published
    assert name in published
    assert not any(p in ("lc-phone-07", "unregistered") for p in published)
    assert len(published) == 3


def test_short_pseudonym_key_is_refused(tmp_path) -> None:
    key_file = tmp_path / "k"
    key_file.write_text("abcd\n")
    with pytest.raises(ValueError, match="32 bytes"):
        load_or_create_key(key_file)


def test_periods_default_to_the_newest_datas_month() -> None:
    assert month_period("2026-02").end == date(2026, 2, 28)
    assert month_period("2028-02").end == date(2028, 2, 29)
    assert shift_months("2026-01", -1) == "2025-12"
    assert shift_months("2026-11", 13) == "2027-12"
    latest = date(2026, 11, 3)
    period = day_period(None, None, latest)
    assert (period.start, period.end) == (date(2026, 11, 1), latest)
    assert day_period(date(2026, 10, 5), None, latest).end == latest
    assert month_span(None, None, latest) == [
        shift_months("2026-11", -i) for i in range(11, -1, -1)
    ]
    assert month_span("2026-09", None, latest) == ["2026-09", "2026-10", "2026-11"]
    with pytest.raises(ValueError):
        month_span("2026-12", "2026-10", latest)


def _row(op: str, tech: str, records: int, lost: int, dl: tuple[int, float] = (0, 0.0),
         rsrp: tuple[float, ...] = ()) -> MonthRow:  # fmt: skip
    return MonthRow("2026-10", op, tech, records, lost, dl[0], dl[1], 0, 0.0, len(rsrp),
                    _hist(list(rsrp), RSRP_EDGES_DBM))  # fmt: skip


def test_monthly_kpis_attribute_no_service_to_the_operators_technologies() -> None:
    rows = [
        _row("Viettel", "LTE", 4, 0, dl=(4, 100.0), rsrp=[-100, -100, -112, -125]),
        _row("Viettel", "NR-SA", 2, 0, dl=(2, 300.0), rsrp=[-90, -90]),
        _row("Viettel", "none", 4, 4),
        _row("Vietnamobile", "none", 5, 5),
    ]
    served = {"Viettel": {"LTE", "NR"}}
    every = {k.op: k for k in monthly_kpis(rows, COVERAGE, None, served)}
    assert every["Viettel"].records == 10
    assert every["Viettel"].no_service_pct == pytest.approx(40.0)
    assert every["Viettel"].dl_mean_mbps == pytest.approx(400.0 / 6)
    # Covered: 2 LTE >= -109 and 2 NR >= -110, out of 6 rated + 4 without service.
    assert every["Viettel"].covered_pct == pytest.approx(40.0)
    lte = {k.op: k for k in monthly_kpis(rows, COVERAGE, "LTE", served)}
    assert lte["Viettel"].records == 8
    assert lte["Viettel"].covered_pct == pytest.approx(100.0 * 2 / 8)
    # An operator that served nothing counts its no-service samples for every technology.
    assert lte["Vietnamobile"].no_service_pct == 100.0
    assert lte["Vietnamobile"].dl_mean_mbps is None
    nr = {k.op: k for k in monthly_kpis(rows, COVERAGE, "NR", {"Viettel": {"LTE"}})}
    assert nr["Viettel"].records == 2  # Viettel served no NR: its no-service is LTE's


@pytest.mark.parametrize(
    ("given_url", "expected"),
    [
        ("/trends?area=gso-19", "/trends?area=gso-19"),
        (None, "/map"),
        ("https://evil.example/x", "/map"),
        ("//evil.example/x", "/map"),
        ("javascript:alert(1)", "/map"),
        ("map", "/map"),
    ],
)
def test_login_returns_only_to_local_pages(given_url: str | None, expected: str) -> None:
    assert safe_next(given_url) == expected
