"""`giamsat broker account|config`: the MQTT broker's accounts and its configuration files.

Accounts live in the database; the broker reads them from the ``passwd`` and ``acl``
files written here. :func:`refresh_broker` and :func:`hand_over_password` serve
``giamsat probes`` too, since registering a probe creates its broker account.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from giamsat.aggregator import settings
from giamsat.aggregator.cli.common import command, group, load_settings
from giamsat.aggregator.ingest import broker
from giamsat.aggregator.store import db

if TYPE_CHECKING:
    import psycopg

    from giamsat.aggregator.cli.common import Subparsers


def register(subparsers: Subparsers) -> None:
    """Add ``broker account`` and ``broker config``."""
    sub = group(subparsers, "broker", "MQTT broker accounts and config", dest="broker_command")
    account = command(sub, "account", cmd_account, "create an ingest account for the broker")
    account.add_argument("username")
    account.add_argument("--password-file", help="write the password here instead of printing it")
    conf = command(sub, "config", cmd_config, "write mosquitto.conf, passwd and acl")
    conf.add_argument("--out", required=True, help="directory for the generated files")
    conf.add_argument("--port", type=int, default=1883)
    conf.add_argument("--bind", default="0.0.0.0")
    conf.add_argument("--persistence-dir", default="/var/lib/mosquitto/")
    conf.add_argument("--tls-port", type=int, default=8883)
    conf.add_argument("--tls-cert", help="server certificate (PEM) for a TLS listener")
    conf.add_argument("--tls-key", help="its private key (PEM)")
    conf.add_argument("--tls-ca", help="CA bundle, for client certificates")


def refresh_broker(cfg: settings.Settings, conn: psycopg.Connection) -> None:
    """Rewrite passwd/acl where the broker reads them and ask it to reload."""
    if cfg.broker.config_dir:
        broker.write_files(
            conn, Path(cfg.broker.config_dir), topic_prefix=cfg.broker.topic_prefix,
            message_size_limit=cfg.ingest.max_payload_bytes,
        )  # fmt: skip
        warning = broker.reload(cfg.broker.reload_command)
        if warning:
            print(f"giamsat: warning: {warning}; reload the broker yourself", file=sys.stderr)


def hand_over_password(username: str, password: str, path: str | None) -> None:
    """Give a new account's password once: to a 0600 file, or on stdout when none is named.

    Only its hash is stored, so this is the one chance to read it.
    """
    if path:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password + "\n")
        print(f"broker username {username}; password written to {path} (mode 0600)")
    else:
        print(f"broker username {username}, password {password}")
        print("  (shown once: put it in the probe's [broker] password_file)")


def cmd_account(args: argparse.Namespace) -> int:
    """Create an account for an ingest worker, which reads every probe's topic."""
    cfg = load_settings(args)
    with db.connect(cfg.dsn, autocommit=True) as conn:
        password = broker.add_account(conn, args.username, "ingest")
        refresh_broker(cfg, conn)
    hand_over_password(args.username, password, args.password_file)
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    """Write a complete mosquitto setup; TLS needs both certificate and key (exit 2 if not)."""
    cfg = load_settings(args)
    tls = None
    if args.tls_cert or args.tls_key:
        if not (args.tls_cert and args.tls_key):
            print("giamsat: error: --tls-cert and --tls-key go together", file=sys.stderr)
            return 2
        tls = broker.TlsListener(args.tls_port, args.tls_cert, args.tls_key, args.tls_ca or "")
    with db.connect(cfg.dsn, autocommit=True) as conn:
        files = broker.write_files(
            conn, Path(args.out), port=args.port, bind=args.bind, tls=tls,
            topic_prefix=cfg.broker.topic_prefix, persistence_dir=args.persistence_dir,
            message_size_limit=cfg.ingest.max_payload_bytes,
        )  # fmt: skip
    for name, path in files.items():
        print(f"{name:<7} {path}")
    print(f"start with: mosquitto -c {files['conf']}  (reload accounts with SIGHUP)")
    return 0
