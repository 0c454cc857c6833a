"""Fault drills with the real probe: `giamsat-agent run` measuring every second.

The agent's records are not known in advance, so "exactly that set" means:
every record id the agent produced (its log line ``record <id>: ...`` for each
cycle, plus whatever its spool held at a kill) is stored exactly once, nothing
else from that probe is stored, and the spool ends empty. Each drill breaks
the path between probe and database while the agent keeps measuring:

1. the broker is stopped for 60 s;
4. the agent is killed with SIGKILL while its spool holds records, then restarted;
5. the link between the agent's network namespace and the broker is cut for 20 s.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from demo.services import Mosquitto, free_port
from tests.support.processes import (
    BIN,
    Aggregator,
    run_cli,
    service_dir,
    wait_until,
    write_agent_config,
    write_aggregator_config,
)

RECORD_LINE = re.compile(
    r"\brecord ([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}): "
)


class Agent:
    """One probe: its config, its spool, and `giamsat-agent run` as a child process.

    ``netns`` runs it inside a network namespace (``ip netns exec`` execs the
    agent itself, so the process we hold is the agent and a signal reaches it).
    """

    def __init__(self, tmp_path: Path, probe_id: str, broker: Mosquitto, aggregator: Aggregator,
                 netns: str | None = None) -> None:  # fmt: skip
        self.probe_id = probe_id
        self.netns = netns
        self.log = tmp_path / f"agent-{probe_id}.log"
        self.config = write_agent_config(
            tmp_path / f"agent-{probe_id}.toml", probe_id, broker, aggregator.url,
            schedule="interval_s = 1\njitter_s = 0",
            latency=f'target = "{broker.host}"\ncount = 2\ninterval_s = 0.01\ntimeout_s = 0.2',
            throughput=f'method = "giamsat-http"\nurl = "{aggregator.url}"\nenabled = false',
        )  # fmt: skip
        text = self.config.read_text()
        self.config.write_text(text.replace('host = "127.0.0.1"', f'host = "{broker.host}"', 1))
        self.spool_path = self.config.parent / f"data-{probe_id}" / "spool.sqlite3"
        self.process: subprocess.Popen[bytes] | None = None
        # Ids seen in the spool at a kill: spooled but perhaps never logged.
        self.spooled_at_kill: set[str] = set()
        ident = json.loads(
            run_cli("giamsat-agent", "identity", "--json", "--config", str(self.config)).stdout
        )
        run_cli("giamsat", "probes", "add", probe_id, "--pubkey", ident["pubkey"],
                "--no-broker-account", "--config", str(aggregator.config))  # fmt: skip

    def command(self, *args: str) -> list[str]:
        cmd = [str(BIN / "giamsat-agent"), *args, "--config", str(self.config)]
        return ["ip", "netns", "exec", self.netns, *cmd] if self.netns else cmd

    def start(self) -> None:
        out = self.log.open("ab")
        self.process = subprocess.Popen(
            self.command("run"), stdout=out, stderr=out,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        if sig == signal.SIGKILL:
            self.process.kill()
            self.process.wait()
            self.spooled_at_kill |= set(self.spool_ids())
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise AssertionError("the agent did not stop within 30 s of SIGTERM") from None

    def flush(self) -> None:
        """One more cycle and a full drain, as the next start after a stop would do."""
        result = subprocess.run(self.command("run", "--cycles", "1"), capture_output=True,
                                text=True, timeout=60)  # fmt: skip
        with self.log.open("a") as out:
            out.write(result.stderr)
        assert result.returncode == 0, result.stderr

    def spool_ids(self) -> list[str]:
        """What the spool holds right now (SQLite WAL: a reader never blocks the agent)."""
        with sqlite3.connect(self.spool_path, timeout=30) as conn:
            return [row[0] for row in conn.execute("SELECT id FROM outbox ORDER BY seq")]

    def logged_ids(self) -> list[str]:
        return RECORD_LINE.findall(self.log.read_text(errors="replace"))

    def produced(self) -> set[str]:
        return set(self.logged_ids()) | self.spooled_at_kill

    def status(self) -> dict[str, object]:
        cmd = [str(BIN / "giamsat-agent"), "status", "--json", "--config", str(self.config)]
        return json.loads(subprocess.run(cmd, capture_output=True, text=True, check=True).stdout)

    def tail(self) -> str:
        return self.log.read_text(errors="replace")[-3000:]


def stored_ids(dsn: str, probe_id: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("SELECT id::text FROM records WHERE probe = %s", (probe_id,))
        return [r[0] for r in rows]


def wait_for_records(agent: Agent, dsn: str, at_least: int) -> None:
    assert wait_until(lambda: len(stored_ids(dsn, agent.probe_id)) >= at_least, timeout=30), (
        f"the agent's first records never arrived:\n{agent.tail()}"
    )


def assert_exactly_once(agent: Agent, dsn: str, timeout: float = 60) -> None:
    """Stop the agent, drain what it left, then: every produced id stored once, no other."""
    wait_until(lambda: agent.produced() <= set(stored_ids(dsn, agent.probe_id)), timeout=timeout)
    agent.stop()
    agent.flush()
    produced = agent.produced()
    wait_until(lambda: produced <= set(stored_ids(dsn, agent.probe_id)), timeout=30)
    stored = stored_ids(dsn, agent.probe_id)
    assert len(stored) == len(set(stored)), "a record was stored twice"
    lost, extra = produced - set(stored), set(stored) - produced
    assert not lost and not extra, (
        f"{len(lost)} lost, {len(extra)} stored but never produced, of {len(produced)}\n"
        f"{agent.tail()}"
    )
    assert agent.spool_ids() == [] and agent.status()["spool_queued"] == 0


@pytest.fixture
def cleanup() -> Iterator[list[Agent]]:
    """Agents started by a drill; killed at the end whatever happened."""
    agents: list[Agent] = []
    yield agents
    for agent in agents:
        if agent.process and agent.process.poll() is None:
            agent.process.kill()
            agent.process.wait()


def test_broker_down_60s_while_the_agent_keeps_measuring(
    aggregator, broker, db_dsn, tmp_path, cleanup
):
    agent = Agent(tmp_path, "drill-outage", broker, aggregator)
    cleanup.append(agent)
    agent.start()
    wait_for_records(agent, db_dsn, 3)

    broker.stop()
    time.sleep(60)
    queued = len(agent.spool_ids())
    assert queued >= 40, f"only {queued} records spooled in 60 s at 1 s interval:\n{agent.tail()}"
    assert agent.process is not None and agent.process.poll() is None, agent.tail()

    broker.start()
    # The aggregator's reconnect backoff reaches 30 s during a minute-long outage.
    assert_exactly_once(agent, db_dsn, timeout=90)
    assert len(agent.produced()) >= 60


def test_agent_killed_with_records_in_its_spool(aggregator, broker, db_dsn, tmp_path, cleanup):
    agent = Agent(tmp_path, "drill-kill", broker, aggregator)
    cleanup.append(agent)
    agent.start()
    wait_for_records(agent, db_dsn, 2)

    broker.stop()
    assert wait_until(lambda: len(agent.spool_ids()) >= 5, timeout=30), agent.tail()
    agent.stop(signal.SIGKILL)
    assert len(agent.spooled_at_kill) >= 5

    broker.start()
    agent.start()
    assert_exactly_once(agent, db_dsn)


def test_records_stay_spooled_while_no_ingest_worker_is_subscribed(
    aggregator, broker, db_dsn, tmp_path
):
    """The broker acks a record nobody is subscribed to, and drops it (PUBACK reason 0x10).

    That is the state after the only worker stopped cleanly (it leaves the
    shared group) or after Mosquitto 2.0 restarted (it forgets shared
    subscriptions): the probe must keep such a record, not delete it.
    """
    agent = Agent(tmp_path, "drill-nosub", broker, aggregator)
    aggregator.stop()
    once = subprocess.run(agent.command("once", "--json"), capture_output=True, text=True)
    assert once.returncode == 3 and "no ingest worker is subscribed" in once.stderr, once.stderr
    first = json.loads(once.stdout)["id"]
    assert agent.spool_ids() == [first]

    aggregator.start()
    again = subprocess.run(agent.command("once", "--json"), capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    expected = {first, json.loads(again.stdout)["id"]}
    assert wait_until(lambda: set(stored_ids(db_dsn, agent.probe_id)) == expected, timeout=20)
    assert sorted(stored_ids(db_dsn, agent.probe_id)) == sorted(expected)
    assert agent.spool_ids() == []


@dataclass(frozen=True)
class Link:
    """A veth pair between the root namespace (broker side) and the agent's namespace."""

    netns: str
    agent_dev: str
    broker_addr: str
    agent_addr: str

    def set(self, state: str) -> None:
        subprocess.run(["ip", "-n", self.netns, "link", "set", self.agent_dev, state], check=True)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@pytest.fixture
def link() -> Iterator[Link]:
    """A private /24 in 198.18.0.0/15; the namespace (and with it the veth pair) always goes."""
    if os.geteuid() != 0:
        pytest.fail(
            "the link-cut drill needs root to create a network namespace and a veth pair "
            "(CI runs the tests as root); run pytest as root"
        )
    tag = uuid.uuid4().hex[:6]
    netns, root_dev, agent_dev = f"gs-drill-{tag}", f"gsb{tag}", f"gsa{tag}"
    subnet = f"198.19.{int(tag[:2], 16) % 200 + 50}"
    try:
        _ip("netns", "add", netns)
        _ip("link", "add", root_dev, "type", "veth", "peer", "name", agent_dev, "netns", netns)
        _ip("addr", "add", f"{subnet}.1/24", "dev", root_dev)
        _ip("link", "set", root_dev, "up")
        _ip("-n", netns, "addr", "add", f"{subnet}.2/24", "dev", agent_dev)
        _ip("-n", netns, "link", "set", agent_dev, "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        yield Link(netns, agent_dev, f"{subnet}.1", f"{subnet}.2")
    finally:
        for pid in _ip("netns", "pids", netns, check=False).stdout.split():
            os.kill(int(pid), signal.SIGKILL)  # only our agent lives there
        _ip("link", "del", root_dev, check=False)
        _ip("netns", "del", netns, check=False)


def test_link_between_agent_and_broker_cut_and_restored(db_dsn, tmp_path, link, cleanup):
    directory = service_dir("giamsat-mqtt-link-")
    broker = Mosquitto(directory, host=link.broker_addr)
    broker.start()
    port = free_port()
    config = write_aggregator_config(tmp_path / "aggregator.toml", db_dsn, broker, port)
    text = config.read_text().replace(
        '[broker]\nhost = "127.0.0.1"', f'[broker]\nhost = "{broker.host}"'
    )
    config.write_text(text)
    aggregator = Aggregator(config, port, tmp_path / "aggregator.log")
    try:
        aggregator.start()
        agent = Agent(tmp_path, "drill-link", broker, aggregator, netns=link.netns)
        cleanup.append(agent)
        agent.start()
        wait_for_records(agent, db_dsn, 2)

        link.set("down")
        time.sleep(20)
        queued = len(agent.spool_ids())
        assert queued >= 10, f"only {queued} records spooled while the link was down"
        # Only the probe's side was cut: the aggregator kept its broker session.
        assert httpx.get(f"{aggregator.url}/healthz").json()["broker"] == "connected"

        link.set("up")
        assert_exactly_once(agent, db_dsn)
    finally:
        aggregator.stop()
        broker.stop()
        shutil.rmtree(directory, ignore_errors=True)
