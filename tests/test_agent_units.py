"""Probe-side pieces that need no services: config errors, spool, data budget."""

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from giamsat.agent import identity, settings
from giamsat.agent.budget import DataBudget
from giamsat.agent.spool import Spool
from giamsat.contract import record
from giamsat.contract.config import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def test_missing_required_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "[probe]\n")
    with pytest.raises(ConfigError) as err:
        settings.load(path)
    assert str(path) in str(err.value) and "probe.id" in str(err.value)


def test_wrong_type_and_unknown_key_are_reported(tmp_path):
    with pytest.raises(ConfigError, match=r"broker\.port: must be an integer"):
        settings.load(write(tmp_path, '[probe]\nid = "p1"\n[broker]\nport = "1883"\n'))
    with pytest.raises(ConfigError, match=r"schedule\.intervall_s: unknown key"):
        settings.load(write(tmp_path, '[probe]\nid = "p1"\n[schedule]\nintervall_s = 5\n'))
    with pytest.raises(ConfigError, match=r"probe\.id: must be"):
        settings.load(write(tmp_path, '[probe]\nid = "bad id/with slash"\n'))
    with pytest.raises(ConfigError, match="not valid TOML"):
        settings.load(write(tmp_path, "[probe\n"))


def test_plugin_keys_are_checked_after_the_plugin_reads_them(tmp_path):
    from giamsat.agent import location, signal

    cfg = settings.load(
        write(
            tmp_path,
            '[probe]\nid = "p1"\n[signal]\nsource = "sim"\nrsrp = -90\n'
            '[location]\nsource = "static"\nlat = 22.0\nlon = 105.0\n',
        )
    )
    signal.create(cfg.signal.str("source"), cfg.signal)
    location.create(cfg.location.str("source"), cfg.location)
    with pytest.raises(ConfigError, match=r"signal\.rsrp: unknown key"):
        cfg.signal.finish()
    with pytest.raises(ConfigError, match="unknown signal source"):
        signal.create("nokia3310", cfg.signal)


def test_example_agent_config_loads(tmp_path):
    root = Path(__file__).resolve().parent.parent
    cfg = settings.load(root / "config" / "agent.example.toml")
    assert cfg.probe_id == "bk-pacnam-01"
    assert cfg.schedule.interval_s == 900


def test_identity_created_once_with_private_mode(tmp_path):
    key = identity.load_or_create(tmp_path)
    path = tmp_path / identity.KEY_FILE
    assert os.stat(path).st_mode & 0o777 == 0o600
    again = identity.load_or_create(tmp_path)
    assert record.public_key_b64(again) == record.public_key_b64(key)


def test_spool_keeps_order_and_refuses_when_full(tmp_path):
    spool = Spool(tmp_path / "s.sqlite3", max_bytes=250)
    assert spool.put("a", b"x" * 100)
    assert spool.put("b", b"y" * 100)
    assert spool.put("a", b"x" * 10)  # same id again: kept once
    assert not spool.put("c", b"z" * 100)
    status = spool.status()
    assert (status.queued, status.bytes, status.refused_full) == (2, 200, 1)
    rows = spool.pending(10)
    assert [r[1] for r in rows] == ["a", "b"]
    spool.delete([rows[0][0]])
    spool.close()
    reopened = Spool(tmp_path / "s.sqlite3", max_bytes=250)
    assert [r[1] for r in reopened.pending(10)] == ["b"]
    assert reopened.status().last_publish is not None
    assert reopened.status().refused_full == 1


def test_budget_survives_restart_and_resets_each_month(tmp_path):
    path = tmp_path / "budget.json"
    budget = DataBudget(path, monthly_bytes=1000)
    budget.spend(700)
    restarted = DataBudget(path, monthly_bytes=1000)
    assert restarted.used == 700
    assert not restarted.allows(400)
    assert restarted.allows(300)
    next_month = datetime(2100, 1, 1, tzinfo=UTC)
    assert restarted.remaining(now=next_month) == 1000
    assert restarted.allows(1000, now=next_month)


def test_network_tests_run_in_a_child_that_returns_or_fails_cleanly():
    from giamsat.agent import isolate

    parent = os.getpid()
    assert isolate.in_child(lambda: {"pid_differs": os.getpid() != parent}, 10) == {
        "pid_differs": True
    }
    with pytest.raises(isolate.ChildFailed, match="ZeroDivisionError"):
        isolate.in_child(lambda: 1 / 0, 10)
    import time

    started = time.monotonic()
    with pytest.raises(isolate.ChildFailed, match="within 1 s"):
        isolate.in_child(lambda: time.sleep(30), 1)
    assert time.monotonic() - started < 5  # the child was killed, not waited for


def test_json_log_lines_carry_level_logger_and_message(capsys):
    import json
    import logging

    from giamsat.contract import logs

    logs.setup(fmt="json")
    logging.getLogger("giamsat.test").warning("spool full: %d refused", 3)
    line = capsys.readouterr().err.strip().splitlines()[-1]
    entry = json.loads(line)
    assert entry["level"] == "warning" and entry["logger"] == "giamsat.test"
    assert entry["msg"] == "spool full: 3 refused" and entry["t"].endswith("+00:00")
    logs.setup(fmt="text")


def test_a_cycle_writes_typed_results_as_the_records_sections(tmp_path, monkeypatch):
    import json

    from giamsat.agent import isolate
    from giamsat.agent.latency import LatencyResult
    from giamsat.agent.probe import Probe
    from giamsat.agent.throughput import Access, TransferResult

    cfg = settings.load(
        write(
            tmp_path,
            f'[probe]\nid = "p1"\ndata_dir = "{tmp_path / "data"}"\n'
            '[location]\nlat = 22.0\nlon = 105.0\n[signal]\nsource = "sim"\nsd_db = 0\n'
            '[throughput]\nurl = "http://speed.example:8080"\n',
        )
    )
    probe = Probe(cfg)
    # The child's result crosses a pipe as JSON; so it does here.
    monkeypatch.setattr(isolate, "in_child", lambda fn, timeout_s: json.loads(json.dumps(fn())))
    lat = LatencyResult("speed.example", 5, "tcp", rtt_ms_p50=31.2, rtt_ms_mean=33.0, loss_pct=0.0)
    monkeypatch.setattr(probe.latency, "measure", lambda: lat)
    down = TransferResult(
        "giamsat-http", Access(True, 0.042), 12.5, 9_000_000, 4.2, 4, "speed.example", "stable"
    )
    up = TransferResult(
        "giamsat-http", Access(True, 0.05), 3.0, 1_000, 0.5, 4, "speed.example", "error", "reset"
    )
    monkeypatch.setattr(probe.throughput, "measure", lambda d: down if d == "dl" else up)
    signed = probe.measure()
    probe.close()
    assert signed["lat"] == {
        "target": "speed.example",
        "method": "tcp",
        "n": 5,
        "rtt_ms_p50": 31.2,
        "rtt_ms_mean": 33.0,
        "loss_pct": 0.0,
    }
    assert signed["dl"] == {
        "mbps": 12.5,
        "bytes": 9_000_000,
        "dur_s": 4.2,
        "streams": 4,
        "method": "giamsat-http",
        "server": "speed.example",
        "stop": "stable",
        "outcome": "completed",
    }
    # A transfer that started and failed is a dropped transfer: its cost and
    # circumstances are kept, but it has no rate to stand by.
    assert signed["ul"] == {
        "bytes": 1_000,
        "dur_s": 0.5,
        "streams": 4,
        "method": "giamsat-http",
        "server": "speed.example",
        "stop": "error",
        "outcome": "dropped",
    }
    assert signed["access"] == {"ok": True, "dur_s": 0.042}
    assert signed["errors"] == ["ul_failed"]
    assert probe.budget.used == 9_001_000  # what both transfers cost the SIM
    assert record.verify(signed, identity.load_or_create(tmp_path / "data").public_key())
