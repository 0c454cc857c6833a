"""The values ingest and the store pass each other.

Records that passed the check and refusals with their reason go into the
store; the probe registry answers with a probe's key. Defined here, in the
store and free of any database driver, so that the store never imports the
stage that writes into it and the offline evidence verifier can use them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey


@dataclass(frozen=True)
class Accepted:
    record: dict[str, Any]
    raw: bytes
    time: datetime


@dataclass(frozen=True)
class Rejected:
    reason: str
    detail: str
    topic: str
    raw: bytes


@dataclass(frozen=True)
class ProbeKey:
    public_key: Ed25519PublicKey
    revoked: bool = False
    raw: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The 32 key bytes, as libsodium takes them on the fast path.
        object.__setattr__(self, "raw", self.public_key.public_bytes_raw())
