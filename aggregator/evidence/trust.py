"""Which aggregator keys a verifier trusts, and from when to when.

A bundle names the key that signed it, so a stranger who re-signs a doctored
bundle with a key of his own gets a bundle that is intact. What makes it
evidence is that the regulator vouches for the key: it publishes a trust
file, a list of its aggregator keys with the days each may sign, and the
verifier accepts a bundle only when its signer is in that list for the day
the bundle was built. Keys can therefore rotate: the old key keeps its
bundles, the new one signs from the day it is listed. The trust comes only
from outside the bundle: ``--key`` (one key, no dates) or ``--trust FILE``.

The file is TOML::

    format = "giamsat-trust/1"
    issuer = "Cục Viễn thông"          # optional, shown by the verifier

    [[keys]]
    public_key = "base64 of the 32-byte Ed25519 public key"
    valid_from = 2026-01-01           # optional: first day it may sign
    valid_to = 2026-12-31             # optional: last day it may sign
    label = "aggregator, Hà Nội"      # optional

Days are Vietnamese calendar days (UTC+7). Reading needs only the standard
library, so the offline verifier stays small; writing (``giamsat evidence
key --trust-file``) uses tomli-w.
"""

from __future__ import annotations

import base64
import tomllib
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from giamsat.aggregator.evidence.keys import fingerprint
from giamsat.aggregator.evidence.manifest import normalise_key
from giamsat.contract.timezone import VIETNAM_TZ

FORMAT = "giamsat-trust/1"


class TrustFileError(ValueError):
    """A trust file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True)
class TrustedKey:
    """One key the regulator vouches for, on the days ``valid_from``..``valid_to``."""

    fingerprint: str
    valid_from: date | None = None
    valid_to: date | None = None
    label: str = ""

    def covers(self, day: date) -> bool:
        after = self.valid_from is None or day >= self.valid_from
        return after and (self.valid_to is None or day <= self.valid_to)

    def validity(self) -> str:
        return f"{self.valid_from or '…'}..{self.valid_to or '…'}"


@dataclass(frozen=True)
class Trust:
    """The keys a verification trusts, and where that trust came from (for messages)."""

    keys: tuple[TrustedKey, ...]
    source: str
    issuer: str = ""

    @classmethod
    def of_key(cls, text: str) -> Trust:
        """The one key given on the command line (fingerprint or base64), on any day."""
        return cls((TrustedKey(normalise_key(text)),), "--key")

    def __add__(self, other: Trust) -> Trust:
        issuer = " + ".join(i for i in (self.issuer, other.issuer) if i)
        return Trust(self.keys + other.keys, f"{self.source} and {other.source}", issuer)

    def problem(self, signer: str, built: datetime | None) -> str | None:
        """Why a bundle signed by ``signer`` when it was ``built`` is not trusted; None if it is.

        ``built`` is the manifest's own creation time: the signer's claim, which a
        key that signs at all is trusted to make.
        """
        mine = [k for k in self.keys if k.fingerprint == signer]
        if not mine:
            return f"signed by key {signer}, which {self.source} does not list"
        if built is None:
            return f"signed by key {signer}, but the manifest gives no time it was built"
        day = built.astimezone(VIETNAM_TZ).date()
        if any(k.covers(day) for k in mine):
            return None
        spans = ", ".join(k.validity() for k in mine)
        return f"signed by key {signer} on {day}, outside its validity in {self.source} ({spans})"


def _day(value: Any, where: str, name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    raise TrustFileError(f"{where}: {name} must be a date such as 2026-01-01, not {value!r}")


def _entry(raw: Any, where: str) -> TrustedKey:
    if not isinstance(raw, dict):
        raise TrustFileError(f"{where}: must be a table with public_key")
    unknown = set(raw) - {"public_key", "valid_from", "valid_to", "label"}
    if unknown:
        raise TrustFileError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    public = raw.get("public_key")
    if not isinstance(public, str):
        raise TrustFileError(f"{where}: public_key (the base64 Ed25519 public key) is missing")
    try:
        if len(base64.b64decode(public, validate=True)) != 32:
            raise ValueError("not 32 bytes")
    except ValueError as exc:
        raise TrustFileError(f"{where}: public_key is not a base64 Ed25519 key ({exc})") from exc
    label = raw.get("label", "")
    if not isinstance(label, str):
        raise TrustFileError(f"{where}: label must be text")
    key = TrustedKey(
        fingerprint(public),
        _day(raw.get("valid_from"), where, "valid_from"),
        _day(raw.get("valid_to"), where, "valid_to"),
        label,
    )
    if key.valid_from and key.valid_to and key.valid_to < key.valid_from:
        raise TrustFileError(f"{where}: valid_to {key.valid_to} is before valid_from")
    return key


def load(path: Path) -> Trust:
    """The trust file at ``path``; :class:`TrustFileError` names what is wrong with it."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise TrustFileError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise TrustFileError(f"{path}: not a TOML file ({exc})") from exc
    if document.get("format") != FORMAT:
        raise TrustFileError(f"{path}: format must be {FORMAT!r}, not {document.get('format')!r}")
    entries = document.get("keys")
    if not isinstance(entries, list) or not entries:
        raise TrustFileError(f"{path}: lists no [[keys]]")
    issuer = document.get("issuer", "")
    if not isinstance(issuer, str):
        raise TrustFileError(f"{path}: issuer must be text")
    keys = tuple(_entry(raw, f"{path}: keys[{i}]") for i, raw in enumerate(entries))
    return Trust(keys, f"the trust file {path.name}", issuer)


def add_key(
    path: Path,
    public_key: str,
    *,
    valid_from: date | None = None,
    valid_to: date | None = None,
    label: str = "",
    issuer: str | None = None,
) -> None:
    """Write ``public_key`` into the trust file at ``path`` (created if absent).

    An entry for the same key is replaced; other keys are kept, so a rotation
    is two calls: the old key with its last day, then the new key.
    """
    import tomli_w

    document: dict[str, Any] = {"format": FORMAT, "keys": []}
    if path.exists():
        load(path)  # refuse to extend a file that does not read
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    if issuer is not None:
        document["issuer"] = issuer
    entry: dict[str, Any] = {"public_key": public_key}
    if valid_from is not None:
        entry["valid_from"] = valid_from
    if valid_to is not None:
        entry["valid_to"] = valid_to
    if label:
        entry["label"] = label
    mine = fingerprint(public_key)
    document["keys"] = [k for k in document["keys"] if fingerprint(k["public_key"]) != mine]
    document["keys"].append(entry)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
