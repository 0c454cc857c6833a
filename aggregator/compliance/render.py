"""Verdicts as JSON, as a text table for the console, and as CSV for spreadsheets.

Every form carries the version of the standard a verdict was judged by and,
for a KPI whose definition, threshold or limit is not confirmed from the
official text, the standard's note saying so: JSON and CSV in ``version`` and
``unconfirmed``, the table as a mark beside the verdict with the notes below.
Each also says which samples were judged: those inside the operator's declared
service area, by the declarations' SHA-256, with the samples left outside
(``declared``, ``declarations``, ``outside_samples`` in CSV; ``scope`` in JSON).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
from collections.abc import Iterable
from datetime import date, datetime
from enum import Enum
from typing import Any

from giamsat.aggregator.compliance.verdicts import Assessment, KpiVerdict

CSV_COLUMNS: tuple[str, ...] = (
    "standard_id",
    "operator",
    "technology",
    "area",
    "period_start",
    "period_end",
    "kpi_id",
    "name_en",
    "comparator",
    "limit",
    "unit",
    "value",
    "ci_low",
    "ci_high",
    "confidence",
    "method",
    "samples",
    "probe_days",
    "verdict",
    "grade",
    "unmet",
    "insufficient",
    "version",
    "unconfirmed",
    "declared",
    "declarations",
    "outside_samples",
)
# Beside a verdict whose KPI is not confirmed from the official text.
UNCONFIRMED_MARK = "(unconfirmed)"


def to_jsonable(value: Any) -> Any:
    """Dataclasses to dicts, dates to ISO 8601, enums to their values, tuples to lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_jsonable(v) for v in value]
    return value


def to_json(value: Any) -> str:
    """Stable, human-readable JSON (Vietnamese kept as UTF-8, keys in declaration order)."""
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=2)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}" if unit in ("%", "dBm") else f"{value:.2f}"


def _interval(verdict: KpiVerdict) -> str:
    if verdict.ci_low is None or verdict.ci_high is None:
        return "-"
    return f"[{_number(verdict.ci_low, verdict.unit)}, {_number(verdict.ci_high, verdict.unit)}]"


def render_table(assessment: Assessment) -> str:
    """A fixed-width table of one assessment, headed by what was assessed."""
    header = (
        f"{assessment.standard_id} - {assessment.operator} {assessment.technology}"
        f" - {assessment.area} - {assessment.period_start} .. {assessment.period_end}"
    )
    if assessment.version is not None:
        header += f" - version {assessment.version}"
    titles = ("KPI", "limit", "value", f"{assessment.confidence:.0%} CI", "samples",
              "probe-days", "verdict", "grade", "unmet rules")  # fmt: skip
    lines = [
        (
            v.kpi_id,
            f"{v.comparator} {v.limit:g} {v.unit}",
            _number(v.value, v.unit),
            _interval(v),
            str(v.samples),
            str(v.probe_days),
            v.verdict.value + (f" {UNCONFIRMED_MARK}" if v.unconfirmed else ""),
            v.grade,
            "; ".join(v.unmet + v.insufficient) or "-",
        )
        for v in assessment.kpis
    ]
    widths = [max(len(row[i]) for row in [titles, *lines]) for i in range(len(titles))]
    out = [header]
    if assessment.scope is not None:
        out.append(assessment.scope.describe(assessment.operator, assessment.technology))
    for row in [titles, *lines]:
        out.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    out += [
        f"{UNCONFIRMED_MARK} {v.kpi_id}: not confirmed from the official text: {v.unconfirmed}"
        for v in assessment.kpis
        if v.unconfirmed
    ]
    return "\n".join(line.rstrip() for line in out) + "\n"


def to_csv(assessments: Iterable[Assessment]) -> str:
    """One CSV row per KPI verdict; list fields are joined with "; "."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for assessment in assessments:
        for verdict in assessment.kpis:
            data = to_jsonable(verdict)
            row = {name: data.get(name) for name in CSV_COLUMNS}
            row["unmet"] = "; ".join(verdict.unmet)
            row["insufficient"] = "; ".join(verdict.insufficient)
            row["unconfirmed"] = verdict.unconfirmed or ""
            scope = verdict.scope
            row["declared"] = "" if scope is None else scope.declared
            row["declarations"] = "" if scope is None else "; ".join(scope.declarations)
            row["outside_samples"] = "" if scope is None else scope.outside
            writer.writerow(row)
    return buffer.getvalue()
