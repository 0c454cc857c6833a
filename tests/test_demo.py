"""`make demo` in its shortened CI form runs to the end, and its evidence bundle verifies.

Its operators have published their declared service areas, so verdicts are
judged inside them and the hexagons declared covered but measured dead are listed.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import date

import httpx
import pytest

from demo.declarations import DECLARED_DEAD
from demo.villages import OPERATORS, VILLAGES
from giamsat.aggregator import settings
from giamsat.aggregator.compliance import Period
from giamsat.aggregator.compliance.gaps import coverage_in, find_gaps
from giamsat.aggregator.store import db
from giamsat.aggregator.store.columns import cell_of
from giamsat.aggregator.store.declarations import list_declarations
from tests.support.processes import service_dir

pytestmark = pytest.mark.services  # starts the whole demo


def test_demo_runs_to_the_end_and_its_bundle_verifies():
    state = service_dir("giamsat-demo-")
    env = {**os.environ, "GIAMSAT_STATE": str(state)}
    demo = [sys.executable, "-m", "demo"]
    try:
        run = subprocess.run([*demo, "up", "--ci"], env=env, capture_output=True, text=True,
                             timeout=600)  # fmt: skip
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        lines = run.stdout.strip().splitlines()
        url = lines[-1]
        assert url.startswith("http://127.0.0.1:") and url.endswith("/map")
        assert "VERIFIED: every check passed" in run.stdout
        assert "probes that never had service" in run.stdout
        bundle = state / "demo" / "evidence.zip"
        giamsat = os.path.join(os.path.dirname(sys.executable), "giamsat")
        trusted = [giamsat, "evidence", "verify", str(bundle), "--trust",
                   str(state / "demo" / "trust.toml")]  # fmt: skip
        check = subprocess.run(trusted, capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        assert "trusted by the trust file trust.toml (Cục Viễn thông (demo))" in check.stdout
        # Without the published trust file the bundle is intact, never VERIFIED.
        bare = subprocess.run(trusted[:4], capture_output=True, text=True)
        assert bare.returncode == 3 and "VERIFIED" not in bare.stdout
        token = (state / "demo" / "inspector.token").read_text().strip()
        base = url.removesuffix("/map")
        records = httpx.get(
            f"{base}/api/v1/records", params={"probe": "bk-pacnam-01"},
            headers={"Authorization": f"Bearer {token}"}, timeout=10,
        ).json()  # fmt: skip
        assert records and records[0]["probe"] == "bk-pacnam-01"  # the real agent's record
        assert not any("data_budget_exhausted" in r.get("errors", []) for r in records)
        # The demo probe's data budget lasts a day of its cycles at its byte caps.
        agent = tomllib.loads((state / "demo" / "agent.toml").read_text())
        cycles = 86_400 / agent["schedule"]["interval_s"]
        per_cycle = 2 * agent["throughput"]["max_bytes"]
        assert agent["budget"]["monthly_mb"] * 2**20 >= cycles * per_cycle
        page = httpx.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
        assert page.status_code == 200 and "leaflet" in page.text.lower()
        _check_declarations(state / "demo" / "aggregator.toml", run.stdout)
    finally:
        subprocess.run([*demo, "down"], env=env, capture_output=True, timeout=120)
        shutil.rmtree(state, ignore_errors=True)


def _check_declarations(config, stdout: str) -> None:
    """Every operator's 4G and 5G declarations are stored, judged within and listed."""
    cfg = settings.load(config)
    found = re.search(r"declared service areas \(QCVN 81/126 Annex B\), (\S+)\.\.(\S+),", stdout)
    assert found, stdout[-3000:]
    period = Period(date.fromisoformat(found[1]), date.fromisoformat(found[2]))
    with db.connect(cfg.dsn, autocommit=True) as conn:
        stored = {(d.operator, d.technology): d for d in list_declarations(conn)}
        assert set(stored) == {(op, tech) for op in OPERATORS for tech in ("4G", "5G")}
        for (op, tech), d in stored.items():
            assert d.valid_from < period.start and d.valid_to is None and d.zones >= 1
            # The summary names each declaration by its hash; one line per operator.
            line = next(x for x in stdout.splitlines() if x.startswith(f"demo:   {op} "))
            assert f"{tech} {d.sha256[:12]} ({d.zones} zone" in line, line
        # The chosen valleys: declared covered, never in service, so listed as gaps.
        coverage = coverage_in(cfg.compliance.standards_dir)
        for operator, probe in DECLARED_DEAD:
            village = next(v for v in VILLAGES if v.probe == probe)
            report = find_gaps(conn, coverage, [operator], "4G", period)
            gap = next((g for g in report.gaps if g.h3 == cell_of(village.lat, village.lon)), None)
            assert gap is not None, (operator, probe, report.gaps)
            assert gap.declaration == stored[(operator, "4G")].sha256
            assert gap.zone == "Nông thôn / rural" and gap.n_no_service == gap.n >= 10
            line = next(x for x in stdout.splitlines() if x.startswith(f"demo:   {operator} "))
            listed = re.search(r"declared covered, measured dead: (\d+) hexagons?", line)
            assert listed and int(listed[1]) >= 1, line
    # A verdict names the declaration it was judged within: VinaPhone in Thái Nguyên,
    # where Pác Ngòi lies inside its 4G area and outside its 5G area (no 5G there).
    giamsat = os.path.join(os.path.dirname(sys.executable), "giamsat")
    scopes = {}
    for standard, tech in (("QCVN-81:2019/BTTTT", "4G"), ("QCVN-126:2021/BTTTT", "5G")):
        result = subprocess.run(
            [giamsat, "compliance", "--standard", standard, "--operator", "VinaPhone",
             "--area", "gso-19", "--from", str(period.start), "--to", str(period.end),
             "--format", "json", "-c", str(config)], capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        verdict = json.loads(result.stdout)
        assert verdict["scope"]["declarations"] == [stored[("VinaPhone", tech)].sha256]
        assert all(k["scope"] == verdict["scope"] for k in verdict["kpis"])
        scopes[tech] = verdict
    availability = {
        tech: next(k for k in v["kpis"] if k["kpi_id"] == "radio_availability")
        for tech, v in scopes.items()
    }
    assert availability["4G"]["samples"] > 0
    assert scopes["5G"]["scope"]["outside"] > 0 and availability["5G"]["samples"] == 0


def test_the_database_starts_from_a_clone_in_a_0700_home_directory(tmp_path):
    """Debian's home directories are 0700: the postgres user cannot reach a clone there."""
    import psycopg

    from demo.services import Postgres

    home = tmp_path / "home" / "ana"
    home.mkdir(parents=True)
    home.chmod(0o700)
    wanted = home / "giamsat" / ".state" / "demo" / "postgres"
    pg = Postgres(wanted)
    try:
        pg.start()
        with psycopg.connect(pg.dsn) as conn:
            assert conn.execute("SELECT extname FROM pg_extension").fetchall() is not None
        if os.geteuid() == 0:  # PostgreSQL runs as the postgres user: moved out of reach
            assert home not in pg.data_dir.parents
            assert str(pg.directory) in (wanted / "WHERE").read_text()
            # Started again from the same place, it finds the same cluster.
            assert Postgres(wanted, port=pg.port).data_dir == pg.data_dir
        else:  # PostgreSQL runs as this user, who can reach its own home
            assert pg.data_dir == wanted / "data"
    finally:
        pg.stop(mode="immediate")
        if pg.directory != wanted:
            shutil.rmtree(pg.directory, ignore_errors=True)
