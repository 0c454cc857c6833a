"""Writing a bundle from records, probes and the configuration applied; no database here.

:func:`assemble` streams the records once: each is checked exactly as the
verifier will check it (:class:`~giamsat.aggregator.evidence.records.RecordChecker`)
and written to ``records.jsonl`` and ``records.csv`` in temporary files, so a
bundle of millions of records never sits in memory twice. A stored record
that fails (a signature that no longer matches, a record outside the case)
stops the build with its line and id: a bundle that would not verify is
worse than none.

The verdict in ``verdict.json`` is computed from exactly the records in the
bundle (``Sample`` -> ``build_rollups`` -> ``within_declared`` -> ``evaluate``),
which is what the verifier recomputes: ``declarations.json`` holds the
operator's declared service areas in force during the period (their cells in
the area) and ``declarations/`` the files they were imported from. It can
differ from ``giamsat compliance`` (which reads the database's rollups) only
in the spacing count at the case's edges, where the rollups also know a
device's previous sample outside the area or period.
"""

from __future__ import annotations

import dataclasses
import os
import statistics
import tempfile
import zipfile
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from giamsat.aggregator.compliance import (
    Assessment,
    Operator,
    Period,
    Sample,
    Standard,
    Verdict,
    build_rollups,
    evaluate,
    to_json,
)
from giamsat.aggregator.compliance.declared import within_declared
from giamsat.aggregator.evidence import layout, manifest, mapping
from giamsat.aggregator.evidence.progress import Progress
from giamsat.aggregator.evidence.protocol import ProtocolTally
from giamsat.aggregator.evidence.readme import readme_text
from giamsat.aggregator.evidence.records import (
    CSV_COLUMNS,
    AreaSpec,
    BundleError,
    CaseSpec,
    Checked,
    ProbeEntry,
    RecordChecker,
    csv_line,
    csv_row,
    jsonl_line,
)
from giamsat.aggregator.evidence.report import ReportFacts, render_report
from giamsat.aggregator.store.declarations import DeclaredArea, apply_vdmin
from giamsat.contract import record as rec
from giamsat.maps.stats import HexStats

MAX_LISTED_PROBLEMS = 10


@dataclass(frozen=True)
class BuildResult:
    """What was built, for the command's summary table and the API's audit entry."""

    path: Path
    sha256: str
    size: int
    records: int
    probes: int
    cells: int
    assessment: Assessment
    verdict: Verdict
    fingerprint: str
    map_picture: str

    def audit_detail(self, area: str) -> dict[str, Any]:
        """What the audit log keeps of a build: the case, its size, verdict and hash."""
        a = self.assessment
        return {
            "standard": a.standard_id, "operator": a.operator, "area": area,
            "from": a.period_start.isoformat(), "to": a.period_end.isoformat(),
            "records": self.records, "verdict": self.verdict.value, "sha256": self.sha256,
        }  # fmt: skip


def _version() -> str:
    try:
        return metadata.version("giamsat")
    except metadata.PackageNotFoundError:
        return "unknown"


class _Collected:
    """What the record pass gathers besides the two files."""

    def __init__(self, kinds: Mapping[str, str]) -> None:
        self.tally = ProtocolTally(kinds)
        self.samples: list[Sample] = []
        self.per_probe: Counter[str] = Counter()
        self.last_seen: dict[str, datetime] = {}
        self.positions: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.first: datetime | None = None
        self.last: datetime | None = None

    def add(self, item: Checked) -> None:
        self.samples.append(item.sample)
        self.tally.add(item.accepted.record, item.accepted.time)
        probe, t = item.columns["probe"], item.accepted.time
        self.per_probe[probe] += 1
        if probe not in self.last_seen or t > self.last_seen[probe]:
            self.last_seen[probe] = t
        self.positions[probe].append((item.columns["lat"], item.columns["lon"]))
        self.first = t if self.first is None or t < self.first else self.first
        self.last = t if self.last is None or t > self.last else self.last


def _write_records(
    records: Iterable[bytes],
    checker: RecordChecker,
    directory: Path,
    progress: Progress,
    expected: int | None,
) -> _Collected:
    collected = _Collected({p.id: p.kind for p in checker.probes.values()})
    problems: list[str] = []  # the first few, to name them; all are counted
    failed = 0
    stage = progress.stage("records", expected)
    with (
        (directory / layout.RECORDS).open("wb") as jsonl,
        (directory / layout.RECORDS_CSV).open("w", encoding="utf-8", newline="") as table,
    ):
        table.write(csv_line(list(CSV_COLUMNS)))
        for line, raw in enumerate(records, start=1):
            item, found = checker.check(line, raw)
            failed += len(found)
            problems += [message for _, message in found][: MAX_LISTED_PROBLEMS - len(problems)]
            if item is not None:
                collected.add(item)
                jsonl.write(jsonl_line(raw))
                table.write(csv_line(csv_row(line, item.accepted, item.columns)))
            stage.advance()
    if failed:
        listed = "\n  ".join(problems)
        more = failed - len(problems)
        raise BundleError(
            f"{failed} problem(s) with stored records, which would not verify;"
            f" no bundle written:\n  {listed}" + (f"\n  ... and {more} more" if more else "")
        )
    stage.done(f"{len(collected.samples):,} records checked")
    return collected


def _probe_sites(probes: Sequence[ProbeEntry], collected: _Collected) -> list[mapping.ProbeSite]:
    sites = []
    for p in probes:
        if p.lat is not None and p.lon is not None:
            sites.append(mapping.ProbeSite(p.id, p.village, p.lat, p.lon))
        elif collected.positions[p.id]:
            lats, lons = zip(*collected.positions[p.id], strict=True)
            sites.append(
                mapping.ProbeSite(p.id, p.village, statistics.median(lats), statistics.median(lons))
            )
    return sites


def _map(
    d: Path,
    stats: Sequence[HexStats],
    sites: Sequence[mapping.ProbeSite],
    collected: _Collected,
    picture: bool,
    title: str,
) -> tuple[Path | None, str]:
    """Write map.html, and map.png when Chromium can take it; the PNG and how it went."""
    html = mapping.map_html(stats, mapping.probe_markers(sites, collected.last_seen), title)
    (d / layout.MAP).write_text(html, encoding="utf-8")
    png = d / layout.MAP_PNG
    why = mapping.map_png(html, png) if picture else "not requested"
    if why is None:
        return png, "chromium"
    png.unlink(missing_ok=True)
    return None, f"drawn in the PDF ({why})"


def declaration_file_name(area: DeclaredArea) -> str:
    """Where a declaration's file lies in a bundle, named by its SHA-256."""
    suffix = Path(area.file_name).suffix.lower()
    return f"{layout.DECLARATION_FILES}{area.sha256}{suffix if suffix == '.kml' else '.geojson'}"


def _write_declarations(
    d: Path, declared: Sequence[DeclaredArea], technology: str, operator: str
) -> list[str]:
    """declarations.json and the declaration files; returns the files' names in the bundle."""
    files = []
    entries = []
    for area in declared:
        name = None
        if area.content is not None:
            name = declaration_file_name(area)
            (d / name).parent.mkdir(exist_ok=True)
            (d / name).write_bytes(area.content)
            files.append(name)
        zones = [
            {
                "zone": zone.index,
                "name": zone.name,
                "speeds": {k: str(v) for k, v in sorted(zone.speeds.items())},
                "cells": sorted(zone.cells),
            }
            for zone in area.zones
        ]
        entries.append(
            {
                "sha256": area.sha256,
                "file_name": area.file_name,
                "file": name,
                "valid_from": area.valid_from.isoformat(),
                "valid_to": None if area.valid_to is None else area.valid_to.isoformat(),
                "zones": zones,
            }
        )
    document = {"operator": operator, "technology": technology, "declarations": entries}
    (d / layout.DECLARATIONS).write_text(manifest.to_text(document), encoding="utf-8")
    return files


def _zip(files: Sequence[tuple[str, Path]], out: Path, created: datetime) -> None:
    """Members in a fixed order with the build time as their date; manifest files last."""
    stamp = created.timetuple()[:6]
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, path in files:
            info = zipfile.ZipInfo(name, date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            info.file_size = path.stat().st_size
            with path.open("rb") as src, zf.open(info, "w") as dst:
                while chunk := src.read(manifest.CHUNK):
                    dst.write(chunk)


def assemble(
    out: Path,
    *,
    standard: Standard,
    operator: Operator,
    standard_bytes: bytes,
    operators_bytes: bytes,
    area: AreaSpec,
    period: Period,
    probes: Sequence[ProbeEntry],
    records: Iterable[bytes],
    key: Ed25519PrivateKey,
    created: datetime | None = None,
    map_picture: bool = True,
    expected_records: int | None = None,
    progress: Progress | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
    declared: Sequence[DeclaredArea] = (),
) -> BuildResult:
    """Write the bundle to ``out`` (atomically) and return what it holds.

    ``declared`` are the operator's declarations for the standard's technology
    in force during the period, with their cells in the area
    (:func:`~giamsat.aggregator.store.declarations.declared_areas`).

    ``probes`` may list more probes than the records use (the whole registry);
    ``probes.json`` keeps those with records, with their record counts.
    ``map_picture=False`` skips Chromium and draws the hexagons in the PDF.
    """
    progress = progress or Progress(None)
    created = (created or datetime.now(UTC)).astimezone(UTC)
    created_text = rec.utc_timestamp(created)
    case = CaseSpec(standard.id, operator.name, area, period)
    registry = {p.id: p for p in probes}
    checker = RecordChecker(registry, case, rec.parse_timestamp(created_text))
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix="giamsat-evidence-") as tmp:
        d = Path(tmp)
        collected = _write_records(records, checker, d, progress, expected_records)

        stage = progress.stage("verdict")
        samples = apply_vdmin(collected.samples, declared)
        rollups, scope = within_declared(
            build_rollups(samples), declared, standard, operator.name, period
        )
        assessment = evaluate(
            standard, operator, rollups, area=area.name, period=period,
            confidence=confidence, resamples=resamples, seed=seed, scope=scope,
        )  # fmt: skip
        overall = manifest.overall_verdict(k.verdict for k in assessment.kpis)
        (d / layout.VERDICT).write_text(to_json(assessment) + "\n", encoding="utf-8")
        protocol = collected.tally.document(assessment)
        (d / layout.PROTOCOL).write_text(manifest.to_text(protocol), encoding="utf-8")
        stage.done(f"{overall.value} ({len(assessment.kpis)} KPIs)")

        used = [
            dataclasses.replace(p, records=collected.per_probe[p.id])
            for p in sorted(registry.values(), key=lambda p: p.id)
            if collected.per_probe[p.id]
        ]
        probes_doc = {"probes": [dataclasses.asdict(p) for p in used]}
        (d / layout.PROBES).write_text(manifest.to_text(probes_doc), encoding="utf-8")
        (d / layout.AREA).write_text(manifest.to_text(area.to_dict()), encoding="utf-8")
        declaration_files = _write_declarations(d, declared, standard.technology, operator.name)
        (d / layout.STANDARD).write_bytes(standard_bytes)
        (d / layout.OPERATORS).write_bytes(operators_bytes)

        stage = progress.stage("map")
        gaps = mapping.declared_gaps(collected.samples, declared, standard)
        gaps_doc = {"gaps": [g.to_dict() for g in gaps]}
        (d / layout.GAPS).write_text(manifest.to_text(gaps_doc), encoding="utf-8")
        stats = mapping.hex_stats(collected.samples, standard)
        title = f"giamsat — {operator.name} · {standard.code} · {area.name}"
        sites = _probe_sites(used, collected)
        png, picture = _map(d, stats, sites, collected, map_picture, title)
        stage.done(f"{len(stats)} hexagons, {len(gaps)} declared covered and measured dead;"
                   f" picture {picture}")  # fmt: skip

        stage = progress.stage("report")
        records_sha, _ = manifest.digest_file(d / layout.RECORDS)
        signer = manifest.signer_of(key)
        facts = ReportFacts(
            assessment=assessment,
            standard=standard,
            operator=operator,
            area=area,
            probes=used,
            records=len(collected.samples),
            first_record=collected.first,
            last_record=collected.last,
            cells_measured=len({s.h3 for s in collected.samples}),
            records_sha256=records_sha,
            signer_fingerprint=signer["fingerprint"],
            created=created,
            map_png=png,
            hexes=mapping.classified(stats),
            declared=declared,
            gaps=gaps,
            protocol=protocol,
        )
        (d / layout.REPORT).write_bytes(render_report(facts))
        stage.done(f"{(d / layout.REPORT).stat().st_size:,} bytes")

        stage = progress.stage("manifest")
        names = [name for name, _, _ in layout.FILES if name in layout.REQUIRED or png is not None]
        names += declaration_files
        (d / layout.README).write_text(
            readme_text(
                case,
                records=len(collected.samples),
                created=created_text,
                fingerprint=signer["fingerprint"],
                files=names,
                bundle_name=out.name,
            ),
            encoding="utf-8",
        )
        files: dict[str, dict[str, Any]] = {}
        for name in names:
            sha, size = manifest.digest_file(d / name)
            files[name] = {"sha256": sha, "bytes": size}
        content = {
            "format": layout.FORMAT,
            "created": created_text,
            "case": {
                "standard": standard.id,
                "operator": operator.name,
                "area": {"id": area.id, "name": area.name},
                "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
            },
            "records": len(collected.samples),
            "probes": len(used),
            "verdict": overall.value,
            "engine": {
                "confidence": confidence,
                "resamples": resamples,
                "seed": seed,
                "giamsat": _version(),
                "numpy": np.__version__,
            },
            "files": files,
            "signer": signer,
        }
        body = manifest.encode(content)
        (d / layout.MANIFEST).write_bytes(body)
        (d / layout.SIGNATURE).write_bytes(manifest.sign(body, key))
        members = [(name, d / name) for name in [*names, layout.MANIFEST, layout.SIGNATURE]]
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_name(out.name + ".part")
        try:
            _zip(members, partial, created)
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
        stage.done(f"{len(members)} files signed")

    with out.open("rb") as handle:
        sha, size = manifest.digest_stream(handle)
    return BuildResult(
        path=out,
        sha256=sha,
        size=size,
        records=len(collected.samples),
        probes=len(used),
        cells=facts.cells_measured,
        assessment=assessment,
        verdict=overall,
        fingerprint=signer["fingerprint"],
        map_picture=picture,
    )
