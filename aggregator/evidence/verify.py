"""Offline verification of an evidence bundle: from the ZIP alone, no database, no network.

Checks, in order, each reported in the summary table and each failure named
on its own line (every check runs even after another failed, so a tampered
bundle shows *what* was changed, not just that something was):

``ZIP``                the file is a readable ZIP; no member appears twice
``manifest signature`` ``manifest.sig`` is the Ed25519 signature of the exact
                       bytes of ``manifest.json`` by the key it names; with
                       ``--key``, that key is the expected one
``file hashes``        every listed file is present with its SHA-256 and size;
                       no unlisted file rides along
``documents``          probes.json, area.json, standard.toml, operators.toml,
                       declarations.json and verdict.json parse, and all name
                       the manifest's case; each declaration file in the
                       bundle has the SHA-256 the declaration is known by and
                       gives the cells listed for it
``record signatures``  each line of records.jsonl passes ingest's validation
                       with the key its probe has in probes.json ("record N
                       (id ...): probe X not in probes.json", "...: signature
                       invalid ..."); no duplicates; counts match
``records in case``    each record's operator, local day and H3 cell are the case's
``records.csv``        the spreadsheet is records.jsonl, row for row
``protocol``           protocol.json (how, when, where the samples were taken,
                       what was excluded) is what the records, probes.json
                       and the recomputed verdict give (format 3 on)
``verdict``            the compliance engine run on the records inside the
                       declared service areas (same
                       confidence, resamples and seed) gives verdict.json
                       exactly: counts, verdicts, grades, and values and
                       intervals to the last bit (the engine's figures do not
                       depend on the machine, and JSON keeps every bit)

Then, apart from those checks, whether the key that signed the bundle is
one the verifier was told to trust (``--key``, or ``--trust`` and the trust
file the regulator publishes, :mod:`giamsat.aggregator.evidence.trust`) for
the day the bundle was built. Nothing inside the bundle can say so: a
stranger can re-sign a doctored bundle so that every check passes. Exit
status 0 (VERIFIED) needs both; 3 says the bundle is intact but not signed by
a trusted key; 1 that a check failed; 2 that the bundle or the trust given
could not be used.

This module imports neither psycopg nor the map or PDF code: a third party
needs only ``agent``, ``giamsat.aggregator.compliance``, ``giamsat.aggregator.ingest.validate``,
this package's record and manifest modules, and cryptography, numpy and h3.
Run it as ``giamsat evidence verify bundle.zip`` or, without the full
command, ``python -m giamsat.aggregator.evidence.verify bundle.zip``.
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import hashlib
import io
import json
import sys
import tempfile
import zipfile
import zlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import numpy as np

from giamsat.aggregator.compliance import (
    Assessment,
    Operator,
    Period,
    Sample,
    Standard,
    build_rollups,
    evaluate,
    load_operators,
    load_standard,
)
from giamsat.aggregator.compliance.declared import within_declared, zone_operator
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.evidence import layout, manifest
from giamsat.aggregator.evidence.keys import fingerprint
from giamsat.aggregator.evidence.progress import Progress, table
from giamsat.aggregator.evidence.protocol import ProtocolTally
from giamsat.aggregator.evidence.records import (
    CSV_COLUMNS,
    GENUINE,
    IN_CASE,
    AreaSpec,
    CaseSpec,
    ProbeEntry,
    RecordChecker,
    csv_row,
)
from giamsat.aggregator.evidence.trust import Trust
from giamsat.aggregator.evidence.trust import load as load_trust_file
from giamsat.aggregator.store.declarations import (
    DeclaredArea,
    Zone,
    apply_vdmin,
    parse_speed,
    read_zones,
)
from giamsat.contract import record as rec
from giamsat.contract.config import ConfigError

CHECKS: tuple[str, ...] = (
    "ZIP", "manifest signature", "file hashes", "documents", GENUINE, IN_CASE, "records.csv",
    "verdict", "protocol",
)  # fmt: skip
T = TypeVar("T")
MAX_SHOWN = 20  # problems printed per check: one forged key can fail thousands of records


@dataclass
class Verification:
    """The outcome: per check, a detail when it passed or its problems when it failed."""

    details: dict[str, str] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    fingerprint: str | None = None
    untrusted: str | None = "no trusted key was given"

    @property
    def verified(self) -> bool:
        """Intact, and signed by a trusted key on a day it was trusted."""
        return self.ok and self.untrusted is None

    def fail(self, check: str, message: str) -> None:
        self.problems.setdefault(check, []).append(message)

    def note(self, check: str, detail: str) -> None:
        self.details[check] = detail

    @property
    def ok(self) -> bool:
        """Intact: every check passed (whoever signed it)."""
        return not self.problems and all(check in self.details for check in CHECKS)

    def all_problems(self) -> list[str]:
        return [message for check in CHECKS for message in self.problems.get(check, [])]

    def rows(self) -> list[tuple[str, str, str]]:
        out = []
        for check in CHECKS:
            found = self.problems.get(check)
            if found:
                out.append((check, "FAILED", f"{len(found)} problem(s)"))
            elif check in self.details:
                out.append((check, "ok", self.details[check]))
            else:
                out.append((check, "not checked", "needs a file that failed above"))
        return out


@dataclass
class _Bundle:
    """What has been read so far; None where a file was missing or unreadable."""

    zf: zipfile.ZipFile
    content: dict[str, Any] | None = None
    case: CaseSpec | None = None
    probes: dict[str, ProbeEntry] | None = None
    standard: Standard | None = None
    operator: Operator | None = None
    verdict: dict[str, Any] | None = None
    declared: list[DeclaredArea] | None = None
    tally: ProtocolTally | None = None
    recomputed: Assessment | None = None

    @property
    def first_format(self) -> bool:
        """A bundle from before declared service areas: every record was judged."""
        return self.content is not None and self.content.get("format") == layout.FORMATS[0]

    @property
    def has_protocol(self) -> bool:
        """Bundles since format 3 state their measurement protocol."""
        return self.content is not None and self.content.get("format") not in layout.FORMATS[:2]


def _read(b: _Bundle, result: Verification, check: str, name: str) -> bytes | None:
    try:
        return b.zf.read(name)
    except KeyError:
        result.fail(check, f"{name}: missing from the bundle")
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        result.fail(check, f"{name}: unreadable in the ZIP ({exc})")
    return None


def _built(content: dict[str, Any]) -> datetime | None:
    try:
        return datetime.fromisoformat(str(content["created"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return None


def _manifest(b: _Bundle, result: Verification, trust: Trust | None) -> None:
    check = "manifest signature"
    body = _read(b, result, check, layout.MANIFEST)
    signature = _read(b, result, check, layout.SIGNATURE)
    if body is None:
        return
    try:
        content = json.loads(body)
        signer = content["signer"]["public_key"]
        if content.get("format") not in layout.FORMATS:
            result.fail(
                check,
                f"manifest.json: format {content.get('format')!r} is not one of"
                f" {', '.join(layout.FORMATS)}",
            )
    except (ValueError, KeyError, TypeError) as exc:
        result.fail(check, f"manifest.json: not a giamsat manifest ({type(exc).__name__}: {exc})")
        return
    b.content = content
    try:
        result.fingerprint = fingerprint(signer)
    except (TypeError, ValueError):
        result.fail(check, "manifest.json: signer.public_key is not a base64 key")
        return
    if signature is not None:
        problem = manifest.signature_problem(body, signature, signer)
        if problem:
            result.fail(check, problem)
    if trust is not None:
        result.untrusted = trust.problem(result.fingerprint, _built(content))
    result.note(check, f"Ed25519 by {result.fingerprint}")


def _hashes(b: _Bundle, result: Verification, progress: Progress) -> None:
    check = "file hashes"
    assert b.content is not None
    files = b.content.get("files")
    if not isinstance(files, dict):
        result.fail(check, "manifest.json: has no files list")
        return
    names = b.zf.namelist()
    for name in names:
        if name not in files and name not in (layout.MANIFEST, layout.SIGNATURE):
            result.fail(check, f"{name}: in the ZIP but not in the manifest")
    for name in layout.REQUIRED:
        if name in (layout.DECLARATIONS, layout.GAPS) and b.first_format:
            continue
        if name == layout.PROTOCOL and not b.has_protocol:
            continue
        if name not in files:
            result.fail(check, f"{name}: missing from the manifest (every bundle has it)")
    stage = progress.stage("file hashes", len(files))
    for name, entry in sorted(files.items()):
        stage.advance()
        if name not in names:
            result.fail(check, f"{name}: listed in the manifest but missing from the ZIP")
            continue
        try:
            with b.zf.open(name) as handle:
                sha, size = manifest.digest_stream(handle)
        except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
            result.fail(check, f"{name}: unreadable in the ZIP ({exc})")
            continue
        if sha != entry.get("sha256"):
            result.fail(
                check,
                f"{name}: SHA-256 {sha} does not match the manifest's {entry.get('sha256')}",
            )
        elif size != entry.get("bytes"):
            result.fail(check, f"{name}: {size} bytes, the manifest says {entry.get('bytes')}")
    stage.done(f"{len(files)} files")
    result.note(check, f"{len(files)} files, SHA-256")


def _toml(b: _Bundle, result: Verification, name: str, loader: Any) -> Any:
    """Load a TOML file of the bundle with the engine's own (validating) loader."""
    data = _read(b, result, "documents", name)
    if data is None:
        return None
    with tempfile.TemporaryDirectory(prefix="giamsat-verify-") as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        try:
            return loader(path)
        except ConfigError as exc:
            result.fail("documents", f"{name}: {exc.key}: {exc.reason}")
        except ValueError as exc:  # tomllib reads bytes: text that is not UTF-8 ends up here
            result.fail("documents", f"{name}: not readable TOML ({exc})")
    return None


def _json(b: _Bundle, result: Verification, name: str) -> Any:
    data = _read(b, result, "documents", name)
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError as exc:
        result.fail("documents", f"{name}: not valid JSON ({exc})")
    return None


def _probe(data: dict[str, Any], result: Verification) -> ProbeEntry:
    """One probes.json entry; an unusable key or revocation time is named, not fatal."""
    entry = ProbeEntry.from_dict(data)
    try:
        rec.public_key_from_b64(str(entry.pubkey))
    except ValueError:
        result.fail("documents", f"probes.json: probe {entry.id}: pubkey is not an Ed25519 key")
    try:
        entry.revoked_time()
    except (TypeError, ValueError):
        result.fail("documents", f"probes.json: probe {entry.id}: revoked_at is not a time")
        entry = dataclasses.replace(entry, revoked_at=None)
    return entry


def _documents(b: _Bundle, result: Verification) -> None:
    check = "documents"
    assert b.content is not None
    try:
        spec = b.content["case"]
        case_area = spec["area"]
        period = Period(
            date.fromisoformat(spec["period"]["from"]), date.fromisoformat(spec["period"]["to"])
        )
    except (KeyError, TypeError, ValueError) as exc:
        result.fail(check, f"manifest.json: the case is incomplete ({type(exc).__name__}: {exc})")
        return
    probes = _json(b, result, layout.PROBES)
    try:
        b.probes = {p["id"]: _probe(p, result) for p in probes["probes"]}
    except (KeyError, TypeError):
        if probes is not None:
            result.fail(check, "probes.json: not a list of probes")
    area_doc = _json(b, result, layout.AREA)
    area: AreaSpec | None = None
    try:
        area = AreaSpec.from_dict(area_doc)
    except (KeyError, TypeError):
        if area_doc is not None:
            result.fail(check, "area.json: not an area")
    if area is not None and (area.id, area.name) != (case_area.get("id"), case_area.get("name")):
        result.fail(check, f"area.json: area {area.id} ({area.name}) is not the case's {case_area}")
    if area is not None:
        b.case = CaseSpec(str(spec.get("standard")), str(spec.get("operator")), area, period)

    standard = _toml(b, result, layout.STANDARD, load_standard)
    if standard is not None and standard.id != spec.get("standard"):
        result.fail(check, f"standard.toml: is {standard.id}, the case is {spec.get('standard')}")
    else:
        b.standard = standard
    operators = _toml(b, result, layout.OPERATORS, load_operators)
    if operators is not None:
        b.operator = operators.get(spec.get("operator"))
        if b.operator is None:
            result.fail(check, f"operators.toml: has no operator {spec.get('operator')!r}")

    if b.first_format:
        b.declared = []
    elif area is not None and b.standard is not None:
        b.declared = _declarations(b, result, area, str(spec.get("operator")), b.standard)
        if b.declared is not None and b.operator is not None:
            # A declared zone judged as an area: its own Vd and Vu (QCVN 81 §2.1.5).
            b.operator = zone_operator(b.operator, b.standard, area.id, b.declared)

    verdict = _json(b, result, layout.VERDICT)
    if isinstance(verdict, dict):
        stated = (
            verdict.get("standard_id"), verdict.get("operator"), verdict.get("area"),
            verdict.get("period_start"), verdict.get("period_end"),
        )  # fmt: skip
        expected = (
            spec.get("standard"), spec.get("operator"), case_area.get("name"),
            period.start.isoformat(), period.end.isoformat(),
        )  # fmt: skip
        if stated != expected:
            result.fail(check, f"verdict.json: is about {stated}, the case is {expected}")
        else:
            b.verdict = verdict
    elif verdict is not None:
        result.fail(check, "verdict.json: not an assessment")
    ready = b.standard and b.operator and b.verdict and b.declared is not None
    if b.case and b.probes is not None and ready:
        result.note(
            check,
            f"{spec.get('standard')}, {spec.get('operator')}, {area.name if area else '-'},"
            f" {period.start}..{period.end}",
        )


def _declarations(
    b: _Bundle, result: Verification, area: AreaSpec, operator: str, standard: Standard
) -> list[DeclaredArea] | None:
    """The declared service areas of declarations.json, each checked against its file."""
    check = "documents"
    doc = _json(b, result, layout.DECLARATIONS)
    if doc is None:
        return None
    found = []
    try:
        if (doc["operator"], doc["technology"]) != (operator, standard.technology):
            result.fail(
                check,
                f"declarations.json: is about {doc['operator']} {doc['technology']},"
                f" the case is {operator} {standard.technology}",
            )
            return None
        for entry in doc["declarations"]:
            zones = tuple(
                Zone(
                    int(z["zone"]),
                    str(z["name"]),
                    {
                        str(k): parse_speed(f"zone {z['zone']}: {k}", v)
                        for k, v in z["speeds"].items()
                    },
                    frozenset(str(c) for c in z["cells"]),
                )
                for z in entry["zones"]
            )
            content = None
            if entry["file"] is not None:
                content = _read(b, result, check, entry["file"])
                if content is None:
                    return None
            declared = DeclaredArea(
                str(entry["sha256"]), operator, standard.technology,
                date.fromisoformat(entry["valid_from"]),
                None if entry["valid_to"] is None else date.fromisoformat(entry["valid_to"]),
                str(entry["file_name"]), content, zones,
            )  # fmt: skip
            if content is not None and not _file_gives_cells(declared, area, result):
                return None
            found.append(declared)
    except (KeyError, TypeError, ValueError, AttributeError, ConfigError) as exc:
        result.fail(check, f"declarations.json: not a list of declarations ({exc})")
        return None
    return found


def _file_gives_cells(declared: DeclaredArea, area: AreaSpec, result: Verification) -> bool:
    """The declaration's file hashes to its SHA-256 and gives the zones listed for it.

    Each listed zone must hold exactly the file's cells of that zone in the
    area, under the file's name for it, with the speeds the file declares
    (a speed the file does not give was declared on import and is as stated).
    """
    check = "documents"
    assert declared.content is not None
    name = declared.file_name
    if hashlib.sha256(declared.content).hexdigest() != declared.sha256:
        result.fail(check, f"declarations.json: {name} does not hash to {declared.sha256}")
        return False
    try:
        zones = read_zones(Path(name), declared.content)
    except ConfigError as exc:
        result.fail(check, f"declarations.json: {exc}")
        return False
    listed = {z.index: z for z in declared.zones}
    problems = []
    for zone in zones:
        cells = zone.cells if area.cells is None else zone.cells & area.cells
        mine = listed.pop(zone.index, None)
        if mine is None:
            if cells:
                problems.append(f"zone {zone.index} ({zone.name}) is missing")
            continue
        if mine.cells != cells:
            differ = len(mine.cells ^ cells)
            problems.append(f"zone {zone.index}: {differ} cell(s) differ from those of its file")
        if mine.name != zone.name:
            problems.append(f"zone {zone.index}: named {mine.name!r}, the file says {zone.name!r}")
        for key, speed in zone.speeds.items():
            if mine.speeds.get(key) != speed:
                problems.append(
                    f"zone {zone.index}: {key} {mine.speeds.get(key)}, the file says {speed}"
                )
    problems += [f"zone {i} is not in the file" for i in sorted(listed)]
    for problem in problems:
        result.fail(check, f"declarations.json: {declared.sha256[:12]} ({name}): {problem}")
    return not problems


def _csv_rows(b: _Bundle, result: Verification) -> Iterator[list[str]] | None:
    try:
        handle = b.zf.open(layout.RECORDS_CSV)
    except KeyError:
        result.fail("records.csv", "records.csv: missing from the bundle")
        return None
    return csv.reader(io.TextIOWrapper(handle, encoding="utf-8", newline=""))


def _records(b: _Bundle, result: Verification, progress: Progress) -> list[Sample] | None:
    """Check every record; the samples of those that passed, or None if none could be read."""
    assert b.content is not None and b.case is not None and b.probes is not None
    try:
        now = rec.parse_timestamp(str(b.content.get("created")))
    except ValueError:
        result.fail(GENUINE, "manifest.json: created is not a time")
        return None
    checker = RecordChecker(b.probes, b.case, now)
    b.tally = ProtocolTally({p.id: p.kind for p in b.probes.values()})
    samples: list[Sample] = []
    per_probe: Counter[str] = Counter()
    rows = _csv_rows(b, result)
    csv_ok = rows is not None
    if rows is not None and next(rows, None) != list(CSV_COLUMNS):
        result.fail("records.csv", f"records.csv: the header is not {','.join(CSV_COLUMNS)}")
        csv_ok = False
    expected = b.content.get("records")
    stage = progress.stage("records", expected if isinstance(expected, int) else None)
    lines = csv_differ = first_differ = 0
    try:
        with b.zf.open(layout.RECORDS) as handle:
            for lines, raw in enumerate(handle, start=1):
                row = next(rows, None) if rows is not None else None
                item, found = checker.check(lines, raw.rstrip(b"\n"))
                for check, message in found:
                    result.fail(check, message)
                if item is not None:
                    samples.append(item.sample)
                    b.tally.add(item.accepted.record, item.accepted.time)
                    per_probe[item.sample.probe] += 1
                    if csv_ok and row != csv_row(lines, item.accepted, item.columns):
                        csv_differ += 1
                        first_differ = first_differ or lines
                stage.advance()
    except KeyError:
        result.fail(GENUINE, "records.jsonl: missing from the bundle")
        return None
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError) as exc:
        result.fail(GENUINE, f"records.jsonl: unreadable in the ZIP ({exc})")
        return None
    if csv_differ:
        result.fail(
            "records.csv",
            f"records.csv: row {first_differ} is not record {first_differ} of records.jsonl"
            f" ({csv_differ} rows differ)",
        )
    if csv_ok and rows is not None and next(rows, None) is not None:
        result.fail(
            "records.csv", f"records.csv: has more rows than records.jsonl has records ({lines})"
        )
    stage.done(f"{lines:,} records")
    if lines != expected:
        result.fail(GENUINE, f"records.jsonl: holds {lines} records, the manifest says {expected}")
    for probe, entry in sorted(b.probes.items()):
        if per_probe[probe] != entry.records:
            result.fail(
                GENUINE,
                f"probes.json: probe {probe} has {entry.records} records listed,"
                f" {per_probe[probe]} valid ones in records.jsonl",
            )
    result.note(GENUINE, f"{lines:,} records, {len(per_probe)} probes, Ed25519")
    result.note(IN_CASE, f"operator, local day and H3 cell of {lines:,} records")
    if csv_ok:
        result.note("records.csv", f"{lines:,} rows match records.jsonl")
    return samples


def _same(stated: Any, recomputed: Any) -> bool:
    """Equal, floats to the last bit; a JSON true or false is no number.

    No tolerance: the engine gives the same bits for the same records on any
    machine and thread count (``math.fsum``, exact bootstrap totals, sums on a
    binary grid), and JSON writes each float with the digits that read back
    as exactly that float.
    """
    if isinstance(stated, bool) != isinstance(recomputed, bool):
        return False
    return bool(stated == recomputed)


def _verdict(b: _Bundle, result: Verification, samples: list[Sample], progress: Progress) -> None:
    check = "verdict"
    assert b.standard and b.operator and b.verdict and b.case and b.content
    stage = progress.stage("verdict")
    assert b.declared is not None
    stated = b.verdict
    try:
        rollups, scope = within_declared(
            build_rollups(apply_vdmin(samples, b.declared)), b.declared, b.standard,
            b.operator.name, b.case.period,
        )  # fmt: skip
        recomputed = evaluate(
            b.standard, b.operator, rollups, area=b.case.area.name,
            period=b.case.period, confidence=float(stated["confidence"]),
            resamples=int(stated["resamples"]), seed=int(stated["seed"]),
            scope=None if b.first_format else scope,
        )  # fmt: skip
    except (KeyError, TypeError, ValueError) as exc:
        result.fail(check, f"verdict.json: cannot be recomputed ({type(exc).__name__}: {exc})")
        return
    b.recomputed = recomputed
    fresh = to_jsonable(recomputed)
    if b.first_format:
        # Format 1 did not state what was added since (versions, scope): compare the rest.
        fresh = {k: v for k, v in fresh.items() if k in stated}
        fresh["kpis"] = [
            {k: v for k, v in kpi.items() if k in old}
            for kpi, old in zip(fresh["kpis"], _stated_kpis(stated, fresh["kpis"]), strict=True)
        ]
    for name, value in fresh.items():
        if name != "kpis" and not _same(stated.get(name), value):
            result.fail(
                check, f"verdict.json: {name} is {stated.get(name)!r}, the records give {value!r}"
            )
    stated_kpis = {k.get("kpi_id"): k for k in stated.get("kpis") or [] if isinstance(k, dict)}
    fresh_kpis = {k["kpi_id"]: k for k in fresh["kpis"]}
    # key=str: a tampered verdict.json may give a KPI no id, or a number for one.
    for kpi_id in sorted(set(stated_kpis) ^ set(fresh_kpis), key=str):
        where = "verdict.json" if kpi_id in stated_kpis else "the standard"
        result.fail(check, f"verdict.json: KPI {kpi_id} is only in {where}")
    for kpi_id, kpi in fresh_kpis.items():
        old = stated_kpis.get(kpi_id)
        if old is None:
            continue
        differ = [
            f"{kpi_id}.{name} is {old.get(name)!r}, the records give {value!r}"
            for name, value in kpi.items()
            if not _same(old.get(name), value)
        ]
        if differ:
            result.fail(check, "verdict.json: " + "; ".join(differ))
    overall = manifest.overall_verdict(k.verdict for k in recomputed.kpis)
    if b.content.get("verdict") != overall.value:
        result.fail(
            check,
            f"manifest.json: verdict {b.content.get('verdict')!r},"
            f" the records give {overall.value}",
        )
    built_with = (b.content.get("engine") or {}).get("numpy")
    if check in result.problems and built_with and built_with != np.__version__:
        result.notes.append(
            f"the bundle was built with numpy {built_with} and is verified with"
            f" {np.__version__}; bootstrap intervals may differ between numpy versions"
        )
    stage.done(overall.value)
    result.note(check, f"{overall.value}: {len(fresh_kpis)} KPIs recomputed from the records")


def _protocol(b: _Bundle, result: Verification) -> None:
    """protocol.json is what the records, their probes and the verdict say, field by field."""
    check = "protocol"
    if not b.has_protocol:
        result.note(check, f"not stated by {b.content.get('format') if b.content else '?'} bundles")
        return
    if b.tally is None or b.recomputed is None:
        return  # the records or the verdict could not be read: named above
    body = _read(b, result, check, layout.PROTOCOL)
    if body is None:
        return
    try:
        stated = json.loads(body)
    except ValueError as exc:
        result.fail(check, f"protocol.json: not JSON ({exc})")
        return
    fresh = b.tally.document(b.recomputed)
    if not isinstance(stated, dict):
        result.fail(check, "protocol.json: not a JSON object")
        return
    for name in sorted(set(stated) | set(fresh)):
        if stated.get(name) != fresh.get(name):
            result.fail(
                check,
                f"protocol.json: {name} is {stated.get(name)!r}, the records give"
                f" {fresh.get(name)!r}",
            )
    days = len(fresh["days"])
    result.note(check, f"{fresh['records']} records over {days} days and"
                       f" {fresh['hours_with_samples']} hours of the day")  # fmt: skip


def _stated_kpis(stated: dict[str, Any], fresh: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """verdict.json's KPI for each recomputed one (all its fields when it states none)."""
    by_id = {k.get("kpi_id"): k for k in stated.get("kpis") or [] if isinstance(k, dict)}
    return [by_id.get(k["kpi_id"], k) for k in fresh]


def _guarded(result: Verification, check: str, step: Callable[[], T]) -> T | None:
    """Run one step; input shaped in a way no giamsat build produces fails it, not the program.

    The steps handle every failure a real bundle can show; this is the net
    under a hand-crafted file (say, a manifest whose ``files`` is a list).
    """
    try:
        return step()
    except Exception as exc:
        result.fail(check, f"malformed bundle ({type(exc).__name__}: {exc})")
    return None


def verify_bundle(
    path: Path | str, *, trust: Trust | None = None, progress: Progress | None = None
) -> Verification:
    """Run every check on the bundle at ``path``, and judge its signer by ``trust``.

    Never raises for a bad bundle. Without ``trust`` the bundle can be intact
    (``ok``) but never ``verified``.
    """
    progress = progress or Progress(None)
    result = Verification()
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        result.fail("ZIP", f"{Path(path).name}: not a readable ZIP file ({exc})")
        return result
    with zf:
        counts = Counter(zf.namelist())
        for name, n in sorted(counts.items()):
            if n > 1:
                result.fail("ZIP", f"{name}: appears {n} times in the ZIP")
        result.note("ZIP", f"{len(counts)} members")
        b = _Bundle(zf)
        _guarded(result, "manifest signature", lambda: _manifest(b, result, trust))
        if b.content is None:
            return result
        _guarded(result, "file hashes", lambda: _hashes(b, result, progress))
        _guarded(result, "documents", lambda: _documents(b, result))
        if b.case is None or b.probes is None:
            return result
        samples = _guarded(result, GENUINE, lambda: _records(b, result, progress))
        if samples is not None and b.standard and b.operator and b.verdict:
            _guarded(result, "verdict", lambda: _verdict(b, result, samples, progress))
        _guarded(result, "protocol", lambda: _protocol(b, result))
    return result


def report(result: Verification, out: TextIO, trust: Trust | None = None) -> None:
    """The summary table, each check's problems (its first ``MAX_SHOWN``), then the trust."""
    out.write(table(("check", "result", "detail"), result.rows()))
    by = f" ({trust.issuer})" if trust is not None and trust.issuer else ""
    if result.verified:
        assert trust is not None
        out.write(
            f"VERIFIED: every check passed; signed by aggregator key {result.fingerprint},"
            f" trusted by {trust.source}{by}\n"
        )
        return
    if result.ok:
        out.write(f"NOT TRUSTED: every check passed, but {result.untrusted}.\n")
        out.write(f"  {UNTRUSTED_ADVICE}\n")
        return
    out.write(f"FAILED: {len(result.all_problems())} problem(s)\n")
    for check in CHECKS:
        found = result.problems.get(check, [])
        for message in found[:MAX_SHOWN]:
            out.write(f"  {message}\n")
        if len(found) > MAX_SHOWN:
            out.write(f"  ... and {len(found) - MAX_SHOWN} more ({check})\n")
    if result.untrusted and result.fingerprint:
        out.write(f"  and the signer is not trusted: {result.untrusted}\n")
    for note in result.notes:
        out.write(f"note: {note}\n")


UNTRUSTED_ADVICE = (
    "Verify with --trust FILE, the trust file the regulator publishes, or --key with the"
    " fingerprint the regulator publishes (never one printed in the bundle itself)."
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="the evidence bundle (.zip)")
    parser.add_argument(
        "--key",
        help="trust this aggregator key: its fingerprint as the regulator publishes it, or"
        " its base64 public key",
    )
    parser.add_argument(
        "--trust",
        metavar="FILE",
        help="trust the keys listed in this trust file (published by the regulator), each on"
        " the days it lists",
    )
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress lines")


def trust_of(args: argparse.Namespace) -> Trust | None:
    """The trust ``--key`` and ``--trust`` give; raises TrustFileError or ValueError."""
    found = []
    if args.key is not None:
        try:
            found.append(Trust.of_key(args.key))
        except ValueError as exc:
            raise ValueError("--key is neither a fingerprint nor a base64 key") from exc
    if args.trust is not None:
        found.append(load_trust_file(Path(args.trust)))
    if not found:
        return None
    return found[0] if len(found) == 1 else found[0] + found[1]


def run(args: argparse.Namespace) -> int:
    """Exit status: 0 verified, 1 a check failed, 2 unusable input, 3 intact but untrusted."""
    path = Path(args.bundle)
    if not path.is_file():
        print(f"giamsat: error: {path}: no such file", file=sys.stderr)
        return 2
    try:
        trusted = trust_of(args)
    except ValueError as exc:  # TrustFileError included
        print(f"giamsat: error: {exc}", file=sys.stderr)
        return 2
    progress = Progress(None if args.quiet else sys.stderr)
    result = verify_bundle(path, trust=trusted, progress=progress)
    report(result, sys.stdout, trusted)
    if result.verified:
        return 0
    return 3 if result.ok else 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m giamsat.aggregator.evidence.verify",
        description="Verify a giamsat evidence bundle offline.",
    )
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
