"""The manifest: every file's SHA-256, what the bundle is about, signed by the aggregator.

Canonical bytes: ``manifest.json`` is written once as UTF-8 JSON with sorted
keys, two-space indentation and a final newline, and the signature in
``manifest.sig`` (base64 of the 64-byte Ed25519 signature, then a newline)
is over exactly those bytes. A verifier checks the signature over the bytes
it finds and only then parses them, so there is no re-serialisation and no
question of which JSON form was signed.

Manifest fields: ``format``; ``created`` (UTC, when the bundle was built);
``case`` (standard, operator, area id and name, period); ``records`` and
``probes`` (counts); ``verdict`` (the overall verdict, see
:func:`overall_verdict`); ``engine`` (the confidence level, bootstrap
resamples and seed, and the giamsat and numpy versions that computed it);
``files`` (name -> ``{"sha256", "bytes"}``); ``signer`` (algorithm, the
aggregator's public key in base64 and its fingerprint).
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.compliance.verdicts import Verdict
from giamsat.aggregator.evidence.keys import fingerprint, public_key_b64
from giamsat.contract import record as rec

CHUNK = 1 << 20
# Worst first: one KPI that fails makes the case fail; one without data keeps it open.
_SEVERITY = (Verdict.FAIL, Verdict.AT_RISK, Verdict.INSUFFICIENT_DATA, Verdict.PASS)


def overall_verdict(verdicts: Iterable[Verdict]) -> Verdict:
    """The case's verdict: the worst of its KPIs' (FAIL, AT_RISK, INSUFFICIENT_DATA, PASS)."""
    found = set(verdicts)
    return next((v for v in _SEVERITY if v in found), Verdict.INSUFFICIENT_DATA)


def digest_stream(stream: IO[bytes]) -> tuple[str, int]:
    """SHA-256 (hex) and size of everything left in ``stream``, read in 1 MiB chunks."""
    sha, size = hashlib.sha256(), 0
    while chunk := stream.read(CHUNK):
        sha.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), size


def digest_file(path: Path) -> tuple[str, int]:
    with path.open("rb") as handle:
        return digest_stream(handle)


def to_text(document: Any) -> str:
    """The other JSON files of a bundle: readable, Vietnamese kept as UTF-8."""
    return json.dumps(document, ensure_ascii=False, indent=2) + "\n"


def encode(content: dict[str, Any]) -> bytes:
    """The manifest's canonical bytes (module docstring)."""
    return (json.dumps(content, sort_keys=True, indent=2, ensure_ascii=False) + "\n").encode()


def signer_of(key: Ed25519PrivateKey) -> dict[str, str]:
    public = public_key_b64(key)
    return {"alg": "Ed25519", "public_key": public, "fingerprint": fingerprint(public)}


def sign(manifest: bytes, key: Ed25519PrivateKey) -> bytes:
    return base64.b64encode(key.sign(manifest)) + b"\n"


def signature_problem(manifest: bytes, signature: bytes, public_key: str) -> str | None:
    """Why ``signature`` is not the signature of ``manifest`` by ``public_key``; None if it is."""
    try:
        key = rec.public_key_from_b64(public_key)
    except ValueError as exc:
        return f"the signer's public key in manifest.json is unusable ({exc})"
    try:
        raw = base64.b64decode(signature.strip(), validate=True)
    except ValueError:
        return "manifest.sig is not base64"
    try:
        key.verify(raw, manifest)
    except InvalidSignature:
        return (
            "manifest.sig is not a valid signature of manifest.json by the aggregator key"
            f" {fingerprint(public_key)}"
        )
    return None


def normalise_key(text: str) -> str:
    """A key given on the command line, as a fingerprint: base64 keys are converted."""
    cleaned = text.strip().lower().replace(":", "").replace(" ", "")
    if len(cleaned) == 64 and all(c in "0123456789abcdef" for c in cleaned):
        return ":".join(cleaned[i : i + 4] for i in range(0, 64, 4))
    return fingerprint(text.strip())
