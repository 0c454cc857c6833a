"""The compliance engine: standards as data, statistics, verdicts and escalation.

Pure functions of data in, results out; no database calls. The storage layer
keeps hourly :class:`~giamsat.aggregator.aggregates.rollup.Rollup` rows; this package
turns them into verdicts per (standard, operator, area, period), grades the
sampling as evidence or early warning, and walks failing KPIs through the
notice / sanction process.

Typical use::

    standards = load_standards("config/standards")
    operators = load_operators("config/operators.toml")
    assessment = evaluate(standards["QCVN-126:2021/BTTTT"], operators["Viettel"], rows,
                          area="Tuyên Quang", period=Period(date(2026, 10, 1), date(2026, 10, 31)))
    print(render_table(assessment))
"""

from giamsat.aggregator.aggregates.rollup import COLUMNS, Rollup, build_rollups
from giamsat.aggregator.aggregates.samples import Sample
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.coverage import CoverageStandard, coverage_counts, load_coverage
from giamsat.aggregator.compliance.escalation import (
    Case,
    CaseState,
    EscalationError,
    Policy,
    close_case,
    next_due,
    open_case,
    transition,
)
from giamsat.aggregator.compliance.notices import render_notice
from giamsat.aggregator.compliance.operators import Operator, load_operators
from giamsat.aggregator.compliance.render import render_table, to_csv, to_json
from giamsat.aggregator.compliance.standards import Standard, load_standard, load_standards
from giamsat.aggregator.compliance.verdicts import Assessment, KpiVerdict, Scope, Verdict, evaluate

__all__ = [
    "COLUMNS",
    "Assessment",
    "Case",
    "CaseState",
    "CoverageStandard",
    "EscalationError",
    "KpiVerdict",
    "Operator",
    "Period",
    "Policy",
    "Rollup",
    "Sample",
    "Scope",
    "Standard",
    "Verdict",
    "build_rollups",
    "close_case",
    "coverage_counts",
    "evaluate",
    "load_coverage",
    "load_operators",
    "load_standard",
    "load_standards",
    "next_due",
    "open_case",
    "render_notice",
    "render_table",
    "to_csv",
    "to_json",
    "transition",
]
