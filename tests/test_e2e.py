"""One real record end to end: agent -> Mosquitto -> giamsat serve -> TimescaleDB -> API.

Both programs run as separate processes, as they do in the field; the agent
measures latency and throughput against the aggregator's own speed server.
"""

import json

import httpx
import psycopg

from tests.support.processes import make_token, run_cli, wait_until, write_agent_config


def test_agent_record_reaches_the_api_unchanged(aggregator, broker, db_dsn, tmp_path):
    agent_conf = write_agent_config(tmp_path / "agent.toml", "bk-pacnam-01", broker, aggregator.url)
    ident = json.loads(
        run_cli("giamsat-agent", "identity", "--json", "--config", str(agent_conf)).stdout
    )
    assert ident["probe"] == "bk-pacnam-01"
    run_cli("giamsat", "probes", "add", "bk-pacnam-01", "--pubkey", ident["pubkey"],
            "--config", str(aggregator.config))  # fmt: skip

    printed = json.loads(
        run_cli("giamsat-agent", "once", "--json", "--config", str(agent_conf)).stdout
    )
    assert printed["net"]["service"] is True
    assert printed["dl"]["mbps"] > 1 and printed["ul"]["mbps"] > 1, printed
    assert printed["lat"]["n"] == 5 and printed["lat"]["loss_pct"] == 0
    assert printed["access"]["ok"] is True

    inspector = make_token(aggregator.config, "inspector")
    url = f"{aggregator.url}/api/v1/records"

    def stored():
        return httpx.get(url, params={"probe": "bk-pacnam-01"}, headers=inspector).json()

    assert wait_until(lambda: len(stored()) == 1)
    assert stored()[0] == printed  # same values, same signature

    with psycopg.connect(db_dsn) as conn:
        hyper = conn.execute(
            "SELECT hypertable_name FROM timescaledb_information.hypertables"
        ).fetchall()
    assert ("records",) in hyper

    # The spool is empty after delivery; status says so.
    status = json.loads(
        run_cli("giamsat-agent", "status", "--json", "--config", str(agent_conf)).stdout
    )
    assert status["spool_queued"] == 0 and status["last_publish"] is not None
    assert status["budget_used_bytes"] >= printed["dl"]["bytes"] + printed["ul"]["bytes"]

    # The probe's village is an area of its own.
    village = run_cli("giamsat", "compliance", "--standard", "QCVN-126:2021/BTTTT",
                      "--operator", "Viettel", "--area", "probe:bk-pacnam-01",
                      "--from", "2020-01-01", "--to", "2100-12-31",
                      "--format", "json", "--config", str(aggregator.config))  # fmt: skip
    dl_mean = json.loads(village.stdout)["kpis"][0]
    assert dl_mean["samples"] == 1 and dl_mean["verdict"] == "INSUFFICIENT_DATA"
