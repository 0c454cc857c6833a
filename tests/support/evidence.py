"""Evidence bundles from signed records, for the tests of building and verifying them.

No database: records are signed here, as probes sign them, and assembled as the
aggregator assembles stored payloads.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import h3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance import Period, Sample, load_operators, load_standards
from giamsat.aggregator.evidence import layout, manifest
from giamsat.aggregator.evidence.assemble import BuildResult, assemble
from giamsat.aggregator.evidence.records import AreaSpec, ProbeEntry
from giamsat.aggregator.settings import PROJECT_CONFIG
from giamsat.contract import record
from giamsat.contract.record import public_key_b64
from tests.support.truth import Truth, generate

STANDARDS = load_standards(PROJECT_CONFIG / "standards")
OPERATORS = load_operators(PROJECT_CONFIG / "operators.toml")
QCVN126 = STANDARDS["QCVN-126:2021/BTTTT"]
PERIOD = Period(date(2026, 10, 1), date(2026, 10, 31))
EVERYWHERE = AreaSpec("all", "Toàn bộ / all areas", None, None)


def signed_record(sample: Sample, key: Ed25519PrivateKey) -> dict:
    """The record a probe would have sent for ``sample`` (at its cell's centre)."""
    lat, lon = h3.cell_to_latlng(sample.h3)
    served = sample.service
    return record.sign(
        record.build(
            sample.probe,
            loc={"lat": lat, "lon": lon, "acc_m": 8, "src": "gps", "env": sample.env},
            net={
                "service": served,
                "mcc": 452,
                "mnc": 4,
                "tech": sample.tech if sample.tech != NO_TECH else None,
                "op": sample.op if served else None,
                "sim_op": sample.op,
            },
            sig=None if sample.rsrp_dbm is None else {"rsrp_dbm": sample.rsrp_dbm},
            lat=None if sample.rtt_ms is None else {"rtt_ms_p50": sample.rtt_ms, "n": 10},
            dl=_transfer(sample.dl_mbps, sample.dl_outcome),
            ul=_transfer(sample.ul_mbps, sample.ul_outcome),
            access=None
            if sample.access_ok is None
            else {"ok": sample.access_ok, "dur_s": sample.access_s},
            when=sample.t,
        ),
        key,
    )


def _transfer(mbps: float | None, outcome: str | None) -> dict | None:
    """A record's dl/ul section: the rate if measured, the outcome if the sample has one."""
    if mbps is None and outcome is None:
        return None
    section: dict = {"streams": 4}
    if mbps is not None:
        section["mbps"] = mbps
    if outcome is not None:
        section["outcome"] = outcome
    return section


@dataclass
class Fleet:
    """Signed records of several probes and the registry entries that vouch for them."""

    records: list[dict]
    keys: dict[str, Ed25519PrivateKey]

    def entries(self, village: str = "Pác Nặm") -> list[ProbeEntry]:
        return [
            ProbeEntry(
                probe,
                public_key_b64(key),
                "fixed",
                village,
                None,
                None,
                "2026-09-01T00:00:00+00:00",
                None,
                0,
            )
            for probe, key in self.keys.items()
        ]

    def payloads(self) -> list[bytes]:
        return [record.encode(r) for r in self.records]


def fleet(truth: Truth) -> Fleet:
    keys_: dict[str, Ed25519PrivateKey] = {}
    records = []
    for sample in generate(truth):
        key = keys_.setdefault(sample.probe, Ed25519PrivateKey.generate())
        records.append(signed_record(sample, key))
    return Fleet(records, keys_)


# 6 probes x 5 days x 20 samples: enough for a verdict (early-warning grade), quick to sign.
SLOW_NETWORK = Truth(operator="Viettel", dl_mbps=85.0, probes=6, days=5, per_probe_day=20, seed=3)


def build(
    out: Path,
    data: Fleet,
    key: Ed25519PrivateKey,
    *,
    area: AreaSpec = EVERYWHERE,
    created: datetime | None = None,
) -> BuildResult:
    return assemble(
        out,
        standard=QCVN126,
        operator=OPERATORS["Viettel"],
        standard_bytes=Path(QCVN126.path).read_bytes(),
        operators_bytes=(PROJECT_CONFIG / "operators.toml").read_bytes(),
        area=area,
        period=PERIOD,
        probes=data.entries(),
        records=data.payloads(),
        key=key,
        map_picture=False,
        created=created,
    )


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {name: zf.read(name) for name in zf.namelist()}


def rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    """Replace the bundle by one whose members ``change`` edited in place."""
    files = members(path)
    change(files)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in files.items():
            zf.writestr(name, content)


def resign(files: dict[str, bytes], key: Ed25519PrivateKey) -> None:
    """What a forger with a key of its own does: fresh hashes, a new signature."""
    content = json.loads(files[layout.MANIFEST])
    for name in content["files"]:
        content["files"][name] = {
            "sha256": hashlib.sha256(files[name]).hexdigest(),
            "bytes": len(files[name]),
        }
    content["signer"] = manifest.signer_of(key)
    files[layout.MANIFEST] = manifest.encode(content)
    files[layout.SIGNATURE] = manifest.sign(files[layout.MANIFEST], key)


def report_text(pdf: bytes, directory: Path) -> str:
    """The text of a bundle's report.pdf (pdftotext), whitespace runs as single spaces."""
    path = directory / "report.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    ).stdout.decode("utf-8")
    return " ".join(text.split())
