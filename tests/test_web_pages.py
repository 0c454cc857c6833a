"""The pages and open data over HTTP, against a real TimescaleDB with a known dataset.

What each page must show is computed from the generated samples themselves
(tests/test_web_support.py), never from the queries under test.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import h3
import httpx
import psycopg
import pytest

from demo.services import Postgres
from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, THROUGHPUT_EDGES, bin_index
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.opendata import load_or_create_key, pseudonym
from giamsat.aggregator.store import tokens as auth
from giamsat.contract.timezone import VIETNAM_TZ
from tests.support.processes import run_cli
from tests.support.web import (
    FAMILIES,
    OCTOBER,
    Dataset,
    WebServer,
    bounds,
    fresh_database,
    load_dataset,
    token,
    web_server,
)

QCVN126 = "QCVN-126:2021/BTTTT"
# The dataset's provinces (tests/support/web.py): Thái Nguyên (its probes in the
# former Bắc Kạn town) and Lào Cai, as since 1 July 2025.
THAI_NGUYEN, LAO_CAI = "gso-19", "gso-15"


@dataclass
class Site:
    dsn: str
    data: Dataset
    server: WebServer
    token: str

    def client(self, **kwargs: object) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, timeout=60, **kwargs)  # type: ignore[arg-type]

    def viewer(self) -> httpx.Client:
        return self.client(headers={"Authorization": f"Bearer {self.token}"})


@pytest.fixture(scope="module")
def site(pg_server: Postgres, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with fresh_database(pg_server) as dsn:
        data = load_dataset(dsn)
        with web_server(dsn, tmp_path_factory.mktemp("web")) as server:
            yield Site(dsn, data, server, token(dsn))


class Rows(HTMLParser):
    """The ``<tr>`` of one table (by class) as (attributes, cell texts)."""

    def __init__(self, table_class: str) -> None:
        super().__init__()
        self.table_class = table_class
        self.depth = 0
        self.rows: list[tuple[dict[str, str], list[str]]] = []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "table" and self.table_class in values.get("class", "").split():
            self.depth += 1
        elif self.depth and tag == "tr":
            self.rows.append((values, []))
        elif self.depth and tag in ("td", "th") and self.rows:
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table" and self.depth:
            self.depth -= 1
        elif tag in ("td", "th") and self.cell is not None:
            self.rows[-1][1].append(" ".join("".join(self.cell).split()))
            self.cell = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def table_rows(html: str, table_class: str) -> list[tuple[dict[str, str], list[str]]]:
    parser = Rows(table_class)
    parser.feed(html)
    return parser.rows


def _lower_median(values: list[float]) -> float | None:
    return sorted(values)[(len(values) + 1) // 2 - 1] if values else None


def test_hexagon_aggregates_equal_the_samples(site: Site) -> None:
    start, end = bounds(*OCTOBER)
    expected = site.data.hexes(start, end)
    with psycopg.connect(site.dsn) as conn:
        found = queries.hex_stats(conn, FAMILIES, start, end, with_probes=True)
        lte = queries.hex_stats(conn, FAMILIES, start, end, family="LTE")
        lao_cai = queries.hex_stats(conn, FAMILIES, start, end, area=LAO_CAI)
        mobifone = queries.hex_stats(conn, FAMILIES, start, end, op="MobiFone")
    got = {(r.stats.h3, r.stats.op, r.stats.tech): r for r in found}
    assert set(got) == set(expected)
    # VinaPhone served only LTE: its no-service samples are not NR dead zones.
    assert {(op, tech) for _, op, tech in got} == {
        ("Viettel", "NR"), ("MobiFone", "NR"), ("VinaPhone", "LTE"),
    }  # fmt: skip
    for key, row in got.items():
        want, s = expected[key], row.stats
        assert (s.n, s.n_no_service, s.days) == (want["n"], want["lost"], len(want["days"])), key
        assert set(row.probes) == want["probes"]
        for estimate, exact, edges in (
            (s.rsrp_median_dbm, _lower_median(want["rsrp"]), RSRP_EDGES_DBM),
            (s.dl_median_mbps, _lower_median(want["dl"]), THROUGHPUT_EDGES),
        ):
            if exact is None:
                assert estimate is None
            else:
                assert estimate is not None
                assert bin_index(edges, estimate) == bin_index(edges, exact), key
        assert s.period_from.astimezone(VIETNAM_TZ).date() >= OCTOBER[0]
        assert s.period_to.astimezone(VIETNAM_TZ).date() <= OCTOBER[1]
    assert {r.stats.op for r in lte} == {"VinaPhone"}
    assert {r.stats.h3 for r in lao_cai} == {k[0] for k in expected if k[1] == "VinaPhone"}
    assert len(mobifone) == sum(1 for k in expected if k[1] == "MobiFone")


def test_pages_need_a_login_that_a_person_can_use(site: Site) -> None:
    with site.client() as anonymous:
        page = anonymous.get("/map", params={"op": "Viettel"})
        assert page.status_code == 303
        assert page.headers["location"] == "/login?next=/map%3Fop%3DViettel"
        assert anonymous.get("/api/v1/compliance").status_code == 401
        assert anonymous.get("/api/v1/opendata").status_code == 200  # open data is public
        form = anonymous.get("/login", params={"next": "/probes"})
        assert 'name="next" value="/probes"' in form.text
        assert "Mã truy cập / Access token" in form.text

        wrong = anonymous.post("/login", data={"token": "gs_not-a-token", "next": "/probes"})
        assert wrong.status_code == 401
        assert "Mã truy cập không đúng hoặc đã bị thu hồi" in wrong.text
        assert "giamsat_token" not in wrong.headers.get("set-cookie", "")
        forged = anonymous.post(
            "/login", data={"token": site.token}, headers={"Origin": "https://evil.example"}
        )
        assert forged.status_code == 403

    person = token(site.dsn)
    with site.client() as browser:
        login = browser.post("/login", data={"token": person, "next": "https://evil.example/"})
        assert login.status_code == 303 and login.headers["location"] == "/map"
        cookie = login.headers["set-cookie"]
        for flag in ("giamsat_token=", "HttpOnly", "SameSite=strict", "Path=/", "Max-Age="):
            assert flag in cookie, cookie
        assert "Secure" not in cookie  # served over plain HTTP here
        assert browser.get("/probes").status_code == 200
        assert browser.get("/api/v1/compliance", params={"area": THAI_NGUYEN}).status_code == 200

        with psycopg.connect(site.dsn, autocommit=True) as conn:
            name = auth.caller_for(conn, person).name  # type: ignore[union-attr]
            auth.revoke_token(conn, name)
        revoked = browser.get("/probes")
        assert revoked.status_code == 303
        assert revoked.headers["location"] == "/login?next=/probes&reason=revoked"
        assert 'giamsat_token=""' in revoked.headers["set-cookie"]

    with site.client() as browser:
        browser.post("/login", data={"token": site.token})
        out = browser.post("/logout")
        assert out.status_code == 303 and out.headers["location"] == "/login"
        assert browser.get("/probes").status_code == 303


def test_compliance_json_gives_the_verdicts_the_cli_gives(site: Site, tmp_path: Path) -> None:
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{site.dsn}"\n')
    span = {"from": "2026-10-01", "to": "2026-10-31"}
    cli = run_cli("giamsat", "compliance", "--config", str(config), "--standard", QCVN126,
                  "--operator", "MobiFone", "--area", THAI_NGUYEN, "--from", span["from"],
                  "--to", span["to"], "--format", "json")  # fmt: skip
    with site.viewer() as client:
        one = client.get(
            "/api/v1/compliance",
            params={"standard": QCVN126, "operator": "MobiFone", "area": THAI_NGUYEN, **span},
        ).json()
        grid = client.get("/api/v1/compliance", params=span).json()
        assert client.get("/api/v1/compliance", params={"operator": "Nobody"}).status_code == 404
        # Bắc Kạn's id before 1 July 2025 names no unit any more.
        assert client.get("/api/v1/compliance", params={"area": "VN-53"}).status_code == 404
    [assessment] = one["assessments"]
    assert assessment.pop("area_id") == THAI_NGUYEN
    assert assessment == json.loads(cli.stdout)
    verdicts = {k["kpi_id"]: k["verdict"] for k in assessment["kpis"]}
    assert verdicts["dl_mean"] == "FAIL"  # 50 Mbit/s against >= 100

    assert (grid["period_start"], grid["period_end"]) == ("2026-10-01", "2026-10-31")
    # Two standards x (all areas + the 34 provinces) x 4 operators.
    assert len(grid["assessments"]) == 2 * 35 * 4
    cells = {(a["standard_id"], a["area_id"], a["operator"]): a for a in grid["assessments"]}
    viettel = cells[(QCVN126, THAI_NGUYEN, "Viettel")]
    assert {k["verdict"] for k in viettel["kpis"]} == {"PASS"}
    marked = {k["kpi_id"]: k["unconfirmed"] for k in viettel["kpis"] if k["unconfirmed"]}
    assert set(marked) == {"radio_availability", "dropped_transfer"}
    assert {k["version"] for k in viettel["kpis"]} == {viettel["version"]} != {None}
    lao_cai = cells[(QCVN126, LAO_CAI, "Viettel")]
    assert {k["verdict"] for k in lao_cai["kpis"]} == {"INSUFFICIENT_DATA"}


def test_compliance_page_links_each_verdict_to_its_kpis(site: Site) -> None:
    span = {"from": "2026-10-01", "to": "2026-10-31"}
    with site.viewer() as client:
        html = client.get("/compliance", params=span).text
        rows = table_rows(html, "gs-compliance")
        with psycopg.connect(site.dsn) as conn:
            provinces = [aid for aid, _ in queries.provinces(conn)]
        assert len(provinces) == 34
        assert [r[0].get("data-area") for r in rows if "data-area" in r[0]] == [
            "all", *provinces,
        ] * 2  # fmt: skip
        assert 'data-operator="MobiFone" data-verdict="FAIL"' in html
        # Viettel's worst 5G verdict is its dropped-transfer KPI's, whose limit is unconfirmed.
        assert 'class="gs-unconfirmed" title="' in html and "dropped_transfer" in html
        detail = client.get(
            "/compliance/detail",
            params={"standard": QCVN126, "operator": "MobiFone", "area": THAI_NGUYEN, **span},
        )
    kpis = table_rows(detail.text, "gs-kpis")[1:]
    assert [r[0]["data-kpi"] for r in kpis] == [
        "dl_mean", "ul_mean", "dl_share_30", "latency_mean", "access_failure",
        "radio_availability", "dropped_transfer",
    ]  # fmt: skip
    dl = kpis[0][1]
    assert dl[0] == "Tốc độ tải xuống trung bình Mean download throughput"
    assert dl[1] == "≥ 100 Mbit/s"
    assert dl[6] == "Không đạt / Fail"
    # A verdict resting on an unconfirmed threshold or limit says so beside it.
    assert "chưa xác nhận / unconfirmed" not in dl[6]
    for row in kpis[5:]:
        assert "chưa xác nhận / unconfirmed" in row[1][6], row
    assert '<span class="gs-version">07/2021/TT-BTTTT</span>' in detail.text
    assert "Thái Nguyên" in detail.text


def _mean(values: list[float]) -> str:
    return f"{statistics.fmean(values):.1f}" if values else "—"


def test_trends_table_and_charts_follow_the_samples(site: Site) -> None:
    with site.viewer() as client:
        html = client.get("/trends", params={"from": "2026-10", "to": "2026-11"}).text
        lao_cai = client.get("/trends", params={"from": "2026-10", "area": LAO_CAI}).text
        assert client.get("/trends", params={"from": "2026-13"}).status_code == 422
    got = {(a["data-month"], a["data-op"]): cells for a, cells in table_rows(html, "gs-trends")
           if "data-op" in a}  # fmt: skip
    assert set(got) == {
        ("2026-10", "Viettel"), ("2026-10", "MobiFone"), ("2026-10", "VinaPhone"),
        ("2026-11", "Viettel"),
    }  # fmt: skip
    for (month, op), cells in got.items():
        samples = [
            s for s in site.data.samples
            if s.op == op and s.t.astimezone(VIETNAM_TZ).strftime("%Y-%m") == month
        ]  # fmt: skip
        served = [s for s in samples if s.service]
        assert cells[2] == str(len(samples))
        assert cells[3] == _mean([s.dl_mbps for s in served if s.dl_mbps is not None])
        no_service = 100 * sum(not s.service for s in samples) / len(samples)
        assert cells[5] == f"{no_service:.1f}"
        assert cells[6] == _mean([s.rtt_ms for s in served if s.rtt_ms is not None])
    assert html.count('<svg class="giamsat-chart"') == 4
    # MobiFone measured only in October: one point per chart, no line to November.
    assert html.count('<g class="series" data-op="MobiFone"><circle') == 4
    lao_cai_ops = {a["data-op"] for a, _ in table_rows(lao_cai, "gs-trends") if "data-op" in a}
    assert lao_cai_ops == {"VinaPhone"}


def test_probe_fleet_shows_silence_backlog_and_budget(site: Site) -> None:
    with site.viewer() as client:
        html = client.get("/probes").text
    rows = [(a, cells) for a, cells in table_rows(html, "gs-probes") if "data-probe" in a]
    states = {a["data-probe"]: a["data-state"] for a, _ in rows}
    cells = {a["data-probe"]: c for a, c in rows}
    assert states["bk-pacnam-01"] == "ok"
    assert cells["bk-pacnam-01"][6:] == ["3", "120.5 / 2048 MiB (6 %)"]
    assert states["bk-khuoibooc-02"] == "silent"
    assert cells["bk-khuoibooc-02"][6] == "250 (7 Bị từ chối do đầy / Refused, spool full)"
    assert cells["bk-khuoibooc-02"][7] == "2048.0 / 2048 MiB (100 %)"
    assert states["lc-phone-07"] == "ok"
    assert cells["lc-phone-07"][6:] == ["—", "—"]  # no health section in its record
    assert states["lc-never-09"] == "never"
    # Generated probes have rollups from October but no record: last seen from the rollups.
    truth = [p for p in states if p.startswith("truth-")]
    assert truth and all(states[p] == "silent" for p in truth)
    assert cells[truth[0]][4].startswith("2026-10-")
    # Silent and never-seen probes come first.
    order = [a["data-state"] for a, _ in rows]
    assert order == sorted(order, key=["silent", "never", "ok", "revoked"].index)
    assert f"<strong>{len(truth) + 2} mất liên lạc / silent</strong>" in html


def test_open_data_names_no_phone_and_places_nothing_finer_than_a_hexagon(site: Site) -> None:
    key = load_or_create_key(site.server.key_file)
    phones = {p for p, kind in site.data.kinds.items() if kind == "phone"}
    with site.client() as public:
        index = public.get("/api/v1/opendata").json()
        text = public.get("/api/v1/opendata/2026-10.csv").text
        geo = public.get("/api/v1/opendata/2026-10.geojson")
        november = public.get("/api/v1/opendata/2026-11.csv").text
        assert public.get("/api/v1/opendata/2026-13.csv").status_code == 404
    assert [m["month"] for m in index["months"]] == ["2026-10", "2026-11"]
    assert geo.headers["content-type"].startswith("application/geo+json")
    for body in (text, geo.text, november):
        assert not any(phone in body for phone in phones)

    start, end = bounds(*OCTOBER)
    expected = site.data.hexes(start, end)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(expected)
    for row in rows:
        want = expected[(row["h3"], row["op"], row["tech"])]
        assert int(row["n_samples"]) == want["n"]
        assert int(row["n_no_service"]) == want["lost"]
        lat, lon = h3.cell_to_latlng(row["h3"])
        assert (float(row["centroid_lat"]), float(row["centroid_lon"])) == (
            round(lat, 6), round(lon, 6),
        )  # fmt: skip
        names = {
            p if site.data.kinds[p] == "fixed" else pseudonym(key, "2026-10", p)
            for p in want["probes"]
        }
        assert set(row["probes"].split("; ")) == names
        assert int(row["n_probes"]) == len(names)
    features = geo.json()["features"]
    assert len(features) == len(rows)
    for feature in features:
        props = feature["properties"]
        lat, lon = h3.cell_to_latlng(props["h3"])
        assert feature["geometry"] == {
            "type": "Point",
            "coordinates": [round(lon, 6), round(lat, 6)],
        }
        assert set(feature["properties"]) >= {"probes", "n_probes", "coverage_class", "month"}
    # A phone measuring in both months has unrelated names in the two files.
    both = sorted(p for p in phones if p.startswith("truth-viettel"))[0]
    assert pseudonym(key, "2026-10", both) in text
    assert pseudonym(key, "2026-11", both) in november
    assert pseudonym(key, "2026-10", both) not in november


def test_strong_signal_beyond_the_download_histogram_length(db_dsn: str) -> None:
    """RSRP bins outnumber download bins; a strong cell must not break the map query."""
    from datetime import date, datetime, timedelta

    from tests.support.rollups import store_rollups
    from tests.support.truth import Truth, generate

    samples = generate(Truth(rsrp_dbm=-55.0, rsrp_sd_db=2.0, probes=2, days=3, seed=5))
    store_rollups(db_dsn, samples)
    start = datetime(2026, 10, 1, tzinfo=VIETNAM_TZ)
    with psycopg.connect(db_dsn) as conn:
        rows = queries.hex_stats(
            conn, {"NR": ["NR-SA", "NR-NSA"]}, start, start + timedelta(days=5)
        )
    assert rows and all(r.stats.rsrp_median_dbm > -60 for r in rows)
    assert rows[0].stats.period_from.astimezone(VIETNAM_TZ).date() == date(2026, 10, 1)
