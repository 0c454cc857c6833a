"""Private Mosquitto and PostgreSQL+TimescaleDB instances for tests and the demo.

Each instance lives in its own directory on a free loopback port, so a test
can stop, kill and restart it without touching the machine's own services.
The production layout (TimescaleDB image, Mosquitto or EMQX) is described in
README.md; this module is only for running giamsat on one machine.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PROJECT_ROOT = Path(__file__).resolve().parent.parent


class ServiceError(RuntimeError):
    """A private service could not be started; the message says what to do."""


# Where a cluster goes when the postgres user cannot reach the directory asked for.
RELOCATED = Path("/var/tmp/giamsat-postgres")


def _reachable_by_postgres(directory: Path) -> bool:
    """Whether every existing ancestor of ``directory`` lets other users through."""
    for parent in [directory.resolve(), *directory.resolve().parents]:
        if (
            parent.exists()
            and parent.stat().st_uid != _postgres_uid()
            and not (parent.stat().st_mode & 0o001)
        ):
            return False
    return True


def _postgres_uid() -> int:
    try:
        return pwd.getpwnam("postgres").pw_uid
    except KeyError:  # not installed yet: start() says so
        return 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, timeout: float, host: str = "127.0.0.1") -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


@dataclass
class Mosquitto:
    """A Mosquitto 2 broker with persistence, so QoS 1 sessions survive a restart.

    ``host`` is the one address it listens on: loopback by default, or an
    address inside a test network (198.18.0.0/15) so a probe in another
    network namespace can reach it.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    host: str = "127.0.0.1"
    password_file: Path | None = None
    acl_file: Path | None = None
    message_size_limit: int | None = None  # bytes; ingest's [ingest] max_payload_bytes
    process: subprocess.Popen[bytes] | None = None

    @property
    def conf_path(self) -> Path:
        return self.directory / "mosquitto.conf"

    def write_config(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        lines = [
            f"listener {self.port} {self.host}",
            "persistence true",
            f"persistence_location {self.directory}/",
            "autosave_interval 1",
            "max_queued_messages 1000000",
            "max_inflight_messages 5000",
            "log_dest stderr",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")
        if self.password_file:
            lines += ["allow_anonymous false", f"password_file {self.password_file}"]
        else:
            lines.append("allow_anonymous true")
        if self.acl_file:
            lines.append(f"acl_file {self.acl_file}")
        if self.message_size_limit:
            lines.append(f"message_size_limit {self.message_size_limit}")
        self.conf_path.write_text("\n".join(lines) + "\n")

    def start(self, timeout: float = 10.0) -> None:
        if shutil.which("mosquitto") is None:
            raise ServiceError(
                "mosquitto is not installed: run `make deps` (apt-get install mosquitto)"
            )
        self.write_config()
        log = (self.directory / "mosquitto.log").open("ab")
        self.process = subprocess.Popen(
            ["mosquitto", "-c", str(self.conf_path)],
            stdout=log,
            stderr=log,
            start_new_session=True,
        )
        if not wait_for_port(self.port, timeout, self.host):
            self.stop()
            raise ServiceError(
                f"mosquitto did not listen on {self.host}:{self.port}; see {log.name}"
            )

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


@dataclass
class Postgres:
    """A PostgreSQL 15 cluster with TimescaleDB preloaded, owned by the `postgres` user.

    Run as root, the cluster belongs to the postgres user, which must be able to
    reach ``directory``; a clone in a 0700 home directory (Debian's default) is
    out of its reach, so the cluster then lives in a directory of its own under
    /var/tmp, named after ``directory`` so that every later start finds it.
    """

    directory: Path
    port: int = field(default_factory=free_port)
    database: str = "giamsat"
    requested: Path = field(init=False)

    def __post_init__(self) -> None:
        self.requested = self.directory
        if os.geteuid() == 0 and not _reachable_by_postgres(self.directory):
            name = hashlib.sha256(str(self.directory.resolve()).encode()).hexdigest()[:12]
            self.directory = RELOCATED / f"{name}-{self.directory.name}"

    @property
    def data_dir(self) -> Path:
        return self.directory / "data"

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; run its tools as the postgres user.
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        result = subprocess.run(cmd, capture_output=True, text=True)
        if check and result.returncode != 0:
            raise ServiceError(f"{' '.join(args[:2])} failed: {result.stderr.strip()[-2000:]}")
        return result

    def _prepare_directory(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            pg = pwd.getpwnam("postgres")
            os.chown(self.directory, pg.pw_uid, pg.pw_gid)
            if self.directory != self.requested:
                self.requested.mkdir(parents=True, exist_ok=True)
                (self.requested / "WHERE").write_text(
                    f"The postgres user cannot reach this directory; the cluster is in"
                    f" {self.directory}\n"
                )

    def start(self, timeout: float = 30.0) -> None:
        if not (PG_BIN / "initdb").exists():
            raise ServiceError("PostgreSQL 15 is not installed: run `make deps`")
        self._prepare_directory()
        if not (self.data_dir / "PG_VERSION").exists():
            self._run(
                str(PG_BIN / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
            )  # fmt: skip
        running = self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "status", check=False)
        if running.returncode == 0:
            return  # already up (the demo is started twice): nothing to do
        opts = (
            f"-c shared_preload_libraries=timescaledb -c listen_addresses=127.0.0.1 "
            f"-p {self.port} -k {self.directory} -c timescaledb.telemetry_level=off "
            "-c max_connections=200 -c fsync=on"
        )
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-o", opts,
            "-l", str(self.directory / "postgres.log"), "-w", "-t", str(int(timeout)), "start",
        )  # fmt: skip
        exists = self._run(
            str(PG_BIN / "psql"), "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres",
            "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{self.database}'", "postgres",
        )  # fmt: skip
        if exists.stdout.strip() != "1":
            self._run(
                str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
                "-U", "postgres", self.database,
            )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        if (self.data_dir / "postmaster.pid").exists():
            self._run(
                str(PG_BIN / "pg_ctl"), "-D", str(self.data_dir), "-m", mode, "stop", check=False
            )

    def restart(self) -> None:
        self.stop()
        self.start()
