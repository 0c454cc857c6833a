"""The aggregator's own Ed25519 key, which signs evidence manifests.

Probes sign records; the aggregator signs the manifest that binds a bundle's
files together (the probes' registered keys, the standard applied, the
verdict, the map and the report). The key is created on first use in a data
directory and never leaves it; its public half is printed by ``giamsat
evidence key`` so the regulator can publish it (``--trust-file`` writes the
trust file, :mod:`giamsat.aggregator.evidence.trust`), against which anyone
checks the key a bundle carries (``giamsat evidence verify --trust``).
``--rotate`` retires the key and makes a new one.

The directory is a parameter; without one it is ``$GIAMSAT_DATA`` or, failing
that, ``./.state/aggregator`` (the same git-ignored tree the demo uses).
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.contract.record import public_key_b64

KEY_FILE = "aggregator_ed25519.pem"
DATA_ENV = "GIAMSAT_DATA"
DEFAULT_DIR = Path(".state") / "aggregator"


def default_key_dir() -> Path:
    """``$GIAMSAT_DATA`` when set, else ``./.state/aggregator``."""
    value = os.environ.get(DATA_ENV)
    return Path(value) if value else DEFAULT_DIR


def _load(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def load_or_create(directory: Path | None = None) -> Ed25519PrivateKey:
    """The aggregator key in ``directory``, created (mode 0600) when there is none yet.

    Two processes starting at once cannot end up with two keys: the file is
    created with O_EXCL, and the loser of that race loads the winner's key.
    """
    path = Path(directory or default_key_dir()) / KEY_FILE
    if path.exists():
        return _load(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _load(path)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def retire(directory: Path | None = None) -> Path | None:
    """Move the key in ``directory`` aside (``retired/<fingerprint>.pem``) so a new one is made.

    Returns where it went, or None when there was no key. The retired key signs
    nothing more; it is kept so that its public half can always be listed.
    """
    path = Path(directory or default_key_dir()) / KEY_FILE
    if not path.exists():
        return None
    public = public_key_b64(_load(path))
    target = path.parent / "retired" / (fingerprint(public).replace(":", "") + ".pem")
    target.parent.mkdir(parents=True, exist_ok=True)
    path.rename(target)
    return target


def fingerprint(public_key: str) -> str:
    """SHA-256 of the raw 32-byte public key (given in base64), as 16 groups of 4 hex digits.

    Short enough to read out over the telephone or print in a gazette, long
    enough (256 bits) that nobody can make a key with the same fingerprint.
    """
    digest = hashlib.sha256(base64.b64decode(public_key, validate=True)).hexdigest()
    return ":".join(digest[i : i + 4] for i in range(0, len(digest), 4))


__all__ = ["default_key_dir", "fingerprint", "load_or_create", "public_key_b64", "retire"]
