"""Agent configuration (TOML): which probe, which broker, which sources, how often.

Plug-in sections (``[signal]``, ``[location]``, ``[latency]``,
``[throughput]``) are handed to the plug-in that the section's
``source``/``method`` key names; each plug-in reads its own keys with
defaults, and any key left unread is reported as unknown with file and key.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from giamsat.agent.publisher import BrokerConfig
from giamsat.contract.config import ConfigError, Section, read_toml
from giamsat.contract.record import PROBE_ID_PATTERN

DEFAULT_DATA_DIR = "~/.local/share/giamsat-agent"


@dataclass(frozen=True)
class Schedule:
    interval_s: float = 900.0
    jitter_s: float = 60.0


@dataclass(frozen=True)
class AgentSettings:
    path: str
    probe_id: str
    data_dir: Path
    sim_operator: str
    broker: BrokerConfig
    schedule: Schedule
    monthly_budget_bytes: int
    spool_max_bytes: int
    signal: Section
    location: Section
    latency: Section
    throughput: Section
    root: Section

    def finish(self) -> None:
        """Report unknown keys once every plug-in has read its section."""
        for section in (self.signal, self.location, self.latency, self.throughput, self.root):
            section.finish()


def load(path: Path | str) -> AgentSettings:
    data = read_toml(path)
    root = Section(data, path)
    probe = root.section("probe")
    probe_id = probe.str("id")
    if not PROBE_ID_PATTERN.match(probe_id):
        raise probe.error("id", "must be 1-64 characters from A-Z a-z 0-9 . _ -")
    data_dir = Path(os.path.expanduser(probe.str("data_dir", DEFAULT_DATA_DIR)))
    if not data_dir.is_absolute():
        # Relative to the config file, so an example config works from any directory.
        data_dir = (Path(path).resolve().parent / data_dir).resolve()
    sim_operator = probe.str("sim_operator", "")
    probe.finish()

    b = root.section("broker")
    password = b.str("password", "")
    password_file = b.str("password_file", "")
    if password_file:
        try:
            password = Path(password_file).read_text().strip()
        except OSError as exc:
            raise b.error("password_file", f"cannot be read: {exc.strerror}") from None
    broker = BrokerConfig(
        host=b.str("host", "127.0.0.1"),
        port=b.int("port", 1883, min=1, max=65535),
        username=b.str("username", ""),
        password=password,
        tls=b.bool("tls", False),
        ca_file=b.str("ca_file", ""),
        topic_prefix=b.str("topic_prefix", "giamsat/v1"),
        connect_timeout_s=b.float("connect_timeout_s", 15.0, min=1.0),
    )
    b.finish()

    s = root.section("schedule")
    schedule = Schedule(
        interval_s=s.float("interval_s", 900.0, min=1.0),
        jitter_s=s.float("jitter_s", 60.0, min=0.0),
    )
    s.finish()

    budget = root.section("budget")
    monthly = int(budget.float("monthly_mb", 2048.0, min=0.0) * 1024 * 1024)
    budget.finish()
    spool = root.section("spool")
    spool_max = int(spool.float("max_mb", 50.0, min=0.1) * 1024 * 1024)
    spool.finish()

    return AgentSettings(
        path=str(path),
        probe_id=probe_id,
        data_dir=data_dir,
        sim_operator=sim_operator,
        broker=broker,
        schedule=schedule,
        monthly_budget_bytes=monthly,
        spool_max_bytes=spool_max,
        signal=root.section("signal"),
        location=root.section("location"),
        latency=root.section("latency"),
        throughput=root.section("throughput"),
        root=root,
    )


__all__ = ["AgentSettings", "ConfigError", "Schedule", "load"]
