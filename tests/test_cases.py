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


def viettel_case(config, dsn, first, on, later=None):
    """Areas synced, Viettel's failing 5G (its month from ``first``, and ``later``'s) stored,
    its cases opened on ``on`` over the first month: the id of its dl_mean case."""
    giamsat(str(config), "areas", "sync")
    store_rollups(dsn, month(first, 80.0) + (month(later, 82.0) if later else []))
    giamsat(str(config), "cases", "open", "--standard", STD, "--operator", "Viettel",
            "--area", "gso-19", *span(first), "--on", str(on))  # fmt: skip
    with psycopg.connect(dsn) as conn:
        return conn.execute("SELECT id FROM cases WHERE kpi_id = 'dl_mean'").fetchone()[0]


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
    # Measurements more than a year old open no case (evidence_max_age_days, default 365).
    stale = giamsat(config, "cases", "open", "--standard", STD, "--operator", "Viettel",
                    "--area", "gso-19", *span(first), "--on", "2027-12-01",
                    check=False)  # fmt: skip
    assert stale.returncode == 1 and "do not count for a case" in stale.stderr


def test_cases_api_lists_shows_and_advances_for_inspectors(tmp_path, db_dsn):
    from fastapi.testclient import TestClient

    from giamsat.aggregator import settings
    from giamsat.aggregator.http.app import create_app
    from giamsat.aggregator.store import tokens as auth

    config = write_config(tmp_path, db_dsn)
    case_id = viettel_case(config, db_dsn, date(2026, 10, 1), date(2026, 10, 6))
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        viewer = {"Authorization": "Bearer " + auth.create_token(conn, "v", "viewer")}
        inspector = {"Authorization": "Bearer " + auth.create_token(conn, "i", "inspector")}
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


def test_the_operator_answers_its_own_notices_and_sees_no_other_company_s_case(tmp_path, db_dsn):
    """A 45-day response window, longer than the 30-day grace: the window alone holds the case.

    Answers are received now, so the case's dates run relative to today.
    """
    import hashlib
    from datetime import datetime

    from fastapi.testclient import TestClient

    from giamsat.aggregator import settings
    from giamsat.aggregator.compliance import cases
    from giamsat.aggregator.compliance.escalation import Policy
    from giamsat.aggregator.http.app import create_app
    from giamsat.aggregator.store import tokens as auth
    from giamsat.contract.timezone import VIETNAM_TZ

    today = datetime.now(VIETNAM_TZ).date()
    first, second = today - timedelta(days=30), today - timedelta(days=20)
    noticed, window_end = first + timedelta(days=5), first + timedelta(days=50)
    config = tmp_path / "aggregator.toml"
    config.write_text(f'[database]\ndsn = "{db_dsn}"\n[api]\nport = {free_port()}\n'
                      "[compliance]\nresponse_window_days = 45\n")  # fmt: skip
    case_id = viettel_case(config, db_dsn, first, noticed, later=second)
    no_company = giamsat(str(config), "tokens", "add", "x", "--role", "operator", check=False)
    assert no_company.returncode == 2 and "names its company (--operator)" in no_company.stderr
    with psycopg.connect(db_dsn, autocommit=True) as conn:

        def bearer(name: str, role: str, operator: str | None = None) -> dict[str, str]:
            return {"Authorization": "Bearer " + auth.create_token(conn, name, role, operator)}

        viettel = bearer("viettel-noc", "operator", "Viettel")
        mobifone = bearer("mobifone-noc", "operator", "MobiFone")
        viewer, inspector = bearer("v", "viewer"), bearer("i", "inspector")
    log = b"time,lat,lon,dl_mbps\n2026-10-02T08:00:00+07:00,21.59,105.84,112.5\n"
    answer = {"text": "Our drive test measured 112.5 Mbit/s there; see the log."}
    upload = {"files": ("drive-test.csv", log, "text/csv")}
    url = f"/api/v1/cases/{case_id}"
    with TestClient(create_app(settings.load(str(config)))) as client:
        # Each company sees its own cases, and nothing of another's: not even that they exist.
        mine = client.get("/api/v1/cases", headers=viettel).json()
        assert case_id in [c["id"] for c in mine] and {c["operator"] for c in mine} == {"Viettel"}
        assert client.get("/api/v1/cases", headers=mobifone).json() == []
        assert client.get(url, headers=mobifone).status_code == 404
        assert client.get("/api/v1/records", headers=viettel).status_code == 403
        # Nothing to answer before a notice.
        early = client.post(f"{url}/responses", data=answer, headers=viettel)
        assert early.status_code == 409 and "no notice to answer" in early.json()["detail"]
        step = {"period_from": str(first), "period_to": str(first + timedelta(days=4)),
                "on": str(noticed), "bundle_sha256": "ab" * 32}  # fmt: skip
        assert client.post(f"{url}/advance", json=step, headers=viettel).status_code == 403
        assert client.post(f"{url}/advance", json=step, headers=inspector).status_code == 200
        shown = client.get(url, headers=viettel).json()
        assert shown["response_window"] == {"from": str(noticed), "to": str(window_end)}
        assert shown["next_due"] == str(window_end + timedelta(days=1))
        english = next(n["text"] for n in shown["notices"] if n["language"] == "en")
        assert "Viettel may answer this notice, with documents such as its own" in english

        refused = client.post(f"{url}/responses", data=answer, files=upload, headers=mobifone)
        assert refused.status_code == 404
        assert client.post(f"{url}/responses", data=answer, headers=viewer).status_code == 403
        sent = client.post(f"{url}/responses", data=answer, files=upload, headers=viettel)
        assert sent.status_code == 201, sent.text
        got = sent.json()
        assert (got["who"], got["role"]) == ("viettel-noc (Viettel)", "operator")
        assert (got["notice_state"], got["notice_on"], got["late"]) == (
            "notice_1",
            str(noticed),
            False,
        )
        assert got["text"] == answer["text"]
        assert got["files"] == [{"name": "drive-test.csv", "bytes": len(log),
                                 "sha256": hashlib.sha256(log).hexdigest()}]  # fmt: skip
        file_url = f"{url}/responses/{got['id']}/files/drive-test.csv"
        assert client.get(file_url, headers=viettel).content == log
        assert client.get(file_url, headers=inspector).content == log
        assert client.get(file_url, headers=mobifone).status_code == 404
        assert client.get(file_url, headers=viewer).status_code == 403
        assert client.get(url, headers=viewer).json()["responses"] == [got]

        # An answer received on paper, recorded through the command line.
        paper = tmp_path / "letter.pdf"
        paper.write_bytes(b"%PDF-1.4 the operator's letter")
        giamsat(str(config), "cases", "respond", str(case_id), "--text", "Letter received",
                "--file", str(paper))  # fmt: skip

        # An answer after its window is kept, and marked late for the inspector to weigh.
        with psycopg.connect(db_dsn, autocommit=True) as conn:
            stored = cases.get(conn, case_id)
            assert stored is not None
            short = Policy(response_window_days=3)
            late = cases.respond(conn, stored, short, who="x", role="inspector", text="late")
        assert late.late and (late.notice_state, late.notice_on) == ("notice_1", noticed)

        # The grace period is over before the window: the window holds the case until it closes.
        later = {"period_from": str(second), "period_to": str(second + timedelta(days=4)),
                 "bundle_sha256": "cd" * 32}  # fmt: skip
        held = client.post(f"{url}/advance", json={**later, "on": str(today)}, headers=inspector)
        assert held.status_code == 409
        assert (
            f"notice_2 is premature on {today}: the operator's response window after notice_1"
            f" of {noticed} is open until {window_end}"
        ) in held.json()["detail"]
        after = str(window_end + timedelta(days=1))
        moved = client.post(f"{url}/advance", json={**later, "on": after}, headers=inspector)
        assert moved.status_code == 200 and moved.json()["state"] == "notice_2"

    shown_cli = giamsat(str(config), "cases", "show", str(case_id)).stdout
    assert f"the operator may answer the notice_2 of {after} until" in shown_cli
    assert f"to the notice_1 of {noticed}: received" in shown_cli
    assert "from viettel-noc (Viettel) (operator)" in shown_cli
    assert f"file letter.pdf  {len(paper.read_bytes())} bytes  SHA-256" in shown_cli
    digest = hashlib.sha256(log).hexdigest()
    assert f"file drive-test.csv  {len(log)} bytes  SHA-256 {digest}" in shown_cli
    with psycopg.connect(db_dsn, autocommit=True) as conn:
        steps = conn.execute(
            "SELECT who, action, detail FROM audit_log WHERE action LIKE 'cases.%' ORDER BY id"
        ).fetchall()
    actions = [(who.split(":")[0], action) for who, action, _ in steps]
    assert actions == [("cli", "cases.open")] * len(mine) + [("i", "cases.advance"),
                       ("viettel-noc", "cases.respond"), ("viettel-noc", "cases.response_file"),
                       ("i", "cases.response_file"), ("cli", "cases.respond"),
                       ("i", "cases.advance")]  # fmt: skip
    respond = next(d for _, action, d in steps if action == "cases.respond")
    assert respond["files"] == [{"name": "drive-test.csv", "sha256": digest}]


def test_the_cases_page_shows_the_next_step_and_the_timeline(tmp_path, db_dsn):
    """In headless Chromium, as an inspector: the list, then one case's steps, notice, answer."""
    import hashlib
    import zipfile

    import httpx
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from tests.support.processes import chromium
    from tests.support.web import token, web_server

    config = write_config(tmp_path, db_dsn)
    first = date(2026, 10, 1)
    case_id = viettel_case(config, db_dsn, first, date(2026, 10, 6))
    bundle = tmp_path / "viettel-thai-nguyen-2026-10.zip"
    with zipfile.ZipFile(bundle, "w") as zf:
        zf.writestr("manifest.json", "{}")
    sha = hashlib.sha256(bundle.read_bytes()).hexdigest()
    giamsat(config, "cases", "advance", str(case_id), *span(first), "--on", "2026-10-06",
            "--bundle", str(bundle))  # fmt: skip
    letter = tmp_path / "tra-loi.pdf"
    letter.write_bytes(b"%PDF-1.4 the operator's letter")
    giamsat(config, "cases", "respond", str(case_id), "--text", "Trạm BTS đã được nâng cấp.",
            "--file", str(letter))  # fmt: skip
    inspector, viewer = token(db_dsn, "inspector"), token(db_dsn, "viewer")
    with web_server(db_dsn, tmp_path / "web") as server, chromium(tmp_path / "profile") as driver:
        driver.get(f"{server.url}/cases")
        WebDriverWait(driver, 20).until(lambda d: "/login" in d.current_url)
        driver.find_element(By.ID, "token").send_keys(inspector)
        driver.find_element(By.CSS_SELECTOR, "form.gs-login button").click()
        WebDriverWait(driver, 20).until(lambda d: d.current_url == f"{server.url}/cases")
        row = driver.find_element(By.CSS_SELECTOR, f"tr[data-case='{case_id}']")
        assert row.find_element(By.CSS_SELECTOR, ".state").text == (
            "Thông báo lần thứ nhất / First notice"
        )
        # 30 days of grace after the notice of 6 October; the answer window closes on the 21st.
        assert row.find_element(By.CSS_SELECTOR, ".due").text == "2026-11-05"
        assert (
            "Thông báo lần thứ hai / Second notice"
            in row.find_element(By.CSS_SELECTOR, ".next").text
        )
        assert row.find_element(By.CSS_SELECTOR, ".window").text == "2026-10-06 – 2026-10-21"
        assert row.find_element(By.CSS_SELECTOR, ".answers").text == "1"
        driver.save_screenshot(str(tmp_path / "cases.png"))

        row.find_element(By.LINK_TEXT, str(case_id)).click()
        WebDriverWait(driver, 20).until(lambda d: d.current_url.endswith(f"/cases/{case_id}"))
        kinds = [e.get_attribute("data-kind")
                 for e in driver.find_elements(By.CSS_SELECTOR, "ol.gs-timeline > li")]  # fmt: skip
        assert kinds == ["step", "step", "notice", "answer"]
        notice = driver.find_element(By.CSS_SELECTOR, "li.event-notice")
        assert f"SHA-256 {sha}" in notice.text
        link = notice.find_element(By.CSS_SELECTOR, "a.download").get_attribute("href")
        assert link == f"{server.url}/api/v1/evidence/bundles/{sha}"
        answer = driver.find_element(By.CSS_SELECTOR, "li.event-answer")
        assert "Trạm BTS đã được nâng cấp." in answer.text and "tra-loi.pdf" in answer.text
        assert hashlib.sha256(letter.read_bytes()).hexdigest() in answer.text
        driver.save_screenshot(str(tmp_path / "case.png"))

        # The bundle the notice cites, byte for byte; a viewer sees the hash but no download.
        got = httpx.get(link, headers={"Authorization": f"Bearer {inspector}"}, timeout=10)
        assert got.status_code == 200 and got.content == bundle.read_bytes()
        as_viewer = httpx.get(
            f"{server.url}/cases/{case_id}", headers={"Authorization": f"Bearer {viewer}"}
        )
        assert sha in as_viewer.text and 'class="download"' not in as_viewer.text
        refused = httpx.get(link, headers={"Authorization": f"Bearer {viewer}"}, timeout=10)
        assert refused.status_code == 403
