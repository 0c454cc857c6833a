"""Escalation through the CLI on a real database: every transition, with dates."""

import itertools
from datetime import date, timedelta

import psycopg

from demo.services import free_port
from tests.support.processes import run_cli
from tests.support.rollups import store_rollups
from tests.support.truth import Truth, generate

STD = "QCVN-126:2021/BTTTT"


def write_config(tmp_path, dsn):
    path = tmp_path / "aggregator.toml"
    path.write_text(f'[database]\ndsn = "{dsn}"\n[api]\nport = {free_port()}\n')
    return str(path)


def month(start, dl):
    """Five days of evidence-grade 5G samples in Thái Nguyên (at Bắc Kạn town) from ``start``."""
    return generate(
        Truth(
            dl_mbps=dl,
            start=start,
            lat=22.15,
            lon=105.83,
            probes=12,
            days=5,
            seed=start.toordinal(),
        )
    )


def giamsat(config, *args, check=True):
    return run_cli("giamsat", *args, "--config", config, check=check)


def span(start):
    return ["--from", str(start), "--to", str(start + timedelta(days=4))]


def test_case_walks_from_fail_to_sanction_and_closes_on_pass(tmp_path, db_dsn):
    config = write_config(tmp_path, db_dsn)
    giamsat(config, "areas", "sync")
    bundle = tmp_path / "bundle.zip"
    bundle.write_bytes(b"evidence bundle stand-in for the digest")
    first, second, third, fourth = (date(2026, 10, 1) + timedelta(days=d) for d in (0, 10, 40, 80))
    store_rollups(
        db_dsn, month(first, 80.0) + month(second, 82.0) + month(third, 81.0) + month(fourth, 140.0)
    )

    table = giamsat(config, "compliance", "--standard", STD, "--operator", "Viettel",
                    "--area", "gso-19", *span(first)).stdout  # fmt: skip
    assert "FAIL" in table and "dl_mean" in table
    opened = giamsat(config, "cases", "open", "--standard", STD, "--operator", "Viettel",
                     "--area", "gso-19", *span(first), "--on", "2026-10-06").stdout  # fmt: skip
    assert "case(s) opened" in opened
    with psycopg.connect(db_dsn) as conn:
        case_id = conn.execute("SELECT id FROM cases WHERE kpi_id = 'dl_mean'").fetchone()[0]
    cid = str(case_id)

    # Notices cite an evidence bundle: without one the escalation is refused.
    refused = giamsat(
        config, "cases", "advance", cid, *span(first), "--on", "2026-10-06", check=False
    )
    assert refused.returncode == 1 and "--bundle" in refused.stderr
    giamsat(
        config, "cases", "advance", cid, *span(first), "--on", "2026-10-06", "--bundle", str(bundle)
    )
    # Too early: the grace period after the first notice runs 30 days.
    early = giamsat(config, "cases", "advance", cid, *span(second), "--on", "2026-10-20",
                    "--bundle", str(bundle), check=False)  # fmt: skip
    assert early.returncode == 1 and "premature" in early.stderr
    giamsat(
        config,
        "cases",
        "advance",
        cid,
        *span(second),
        "--on",
        "2026-11-06",
        "--bundle",
        str(bundle),
    )
    giamsat(
        config, "cases", "advance", cid, *span(third), "--on", "2026-12-06", "--bundle", str(bundle)
    )
    closed = giamsat(config, "cases", "advance", cid, *span(fourth), "--on", "2027-01-05").stdout
    assert "closed" in closed

    shown = giamsat(config, "cases", "show", cid, "--notices").stdout
    states = ["open", "notice_1", "notice_2", "sanction_recommended", "closed"]
    for a, b in itertools.pairwise(states):
        assert f"{a:>20} -> {b}" in shown, shown
    for day in ("2026-10-06", "2026-11-06", "2026-12-06", "2027-01-05"):
        assert day in shown
    assert "Thông báo" in shown and "không đạt" in shown
    import hashlib

    assert hashlib.sha256(bundle.read_bytes()).hexdigest() in shown
    with psycopg.connect(db_dsn) as conn:
        notices = conn.execute("SELECT state, language FROM notices ORDER BY id").fetchall()
    assert notices == [(s, lang) for s in states[1:4] for lang in ("vi", "en")]
    assert "no cases" not in giamsat(config, "cases", "list").stdout
    # An unknown case is a usage mistake: one line, exit 2, like a wrong option.
    unknown = giamsat(config, "cases", "advance", "999999", *span(fourth), check=False)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "giamsat: error: case: 999999: no such case"


def test_cases_api_lists_shows_and_advances_for_inspectors(tmp_path, db_dsn):
    from fastapi.testclient import TestClient

    from giamsat.aggregator import settings
    from giamsat.aggregator.http.app import create_app
    from giamsat.aggregator.store import tokens as auth

    config = write_config(tmp_path, db_dsn)
    giamsat(config, "areas", "sync")
    first = date(2026, 10, 1)
    store_rollups(db_dsn, month(first, 80.0))
    giamsat(config, "cases", "open", "--standard", STD, "--operator", "Viettel",
            "--area", "gso-19", *span(first), "--on", "2026-10-06")  # fmt: skip
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        viewer = {"Authorization": "Bearer " + auth.create_token(conn, "v", "viewer")}
        inspector = {"Authorization": "Bearer " + auth.create_token(conn, "i", "inspector")}
        case_id = conn.execute("SELECT id FROM cases WHERE kpi_id = 'dl_mean'").fetchone()[0]
    cfg = settings.load(config)
    body = {"period_from": "2026-10-01", "period_to": "2026-10-05", "on": "2026-10-06",
            "bundle_sha256": "ab" * 32}  # fmt: skip
    with TestClient(create_app(cfg)) as client:
        listed = client.get("/api/v1/cases", headers=viewer).json()
        assert any(c["id"] == case_id and c["state"] == "open" for c in listed)
        url = f"/api/v1/cases/{case_id}/advance"
        assert client.post(url, json=body, headers=viewer).status_code == 403
        advanced = client.post(url, json=body, headers=inspector)
        assert advanced.status_code == 200, advanced.text
        assert advanced.json()["state"] == "notice_1"
        again = client.post(url, json=body, headers=inspector)
        assert again.status_code == 409 and "premature" in again.json()["detail"]
        shown = client.get(f"/api/v1/cases/{case_id}", headers=viewer).json()
        assert [n["language"] for n in shown["notices"]] == ["vi", "en"]
        assert "ab" * 32 in shown["notices"][0]["text"]
        assert client.get("/api/v1/cases/999999", headers=viewer).status_code == 404
