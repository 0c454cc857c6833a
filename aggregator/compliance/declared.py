"""Which samples a verdict counts: those inside the operator's declared service area.

QCVN 81 and QCVN 126 judge an operator within the service area it declared
(Annex B). On a day when one of its declarations for the technology is in
force, a sample counts only in that declaration's cells; the others are
counted apart (:attr:`Scope.outside`) and never held against it. On a day
with none in force every sample counts, and the verdict says the operator
declared nothing (:class:`~giamsat.aggregator.compliance.verdicts.Scope`).

This is the pure form, for records in hand (an evidence bundle and its
verifier); :mod:`.national` and :mod:`.assess` apply the same rule in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import date, timedelta
from decimal import Decimal

from giamsat.aggregator.aggregates.rollup import Rollup
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance.clusters import Period, local_day
from giamsat.aggregator.compliance.operators import Operator
from giamsat.aggregator.compliance.standards import Standard
from giamsat.aggregator.compliance.verdicts import Scope
from giamsat.aggregator.store.declarations import DeclaredArea, InForce, parse_zone_id


def scope_of(declared: Sequence[InForce | DeclaredArea], period: Period, outside: int) -> Scope:
    """The :class:`Scope` of a verdict on ``period``, given the operator's declarations in it."""
    covered: set[date] = set()
    for d in declared:
        first = max(d.valid_from, period.start)
        last = period.end if d.valid_to is None else min(d.valid_to, period.end)
        covered.update(first + timedelta(days=i) for i in range((last - first).days + 1))
    days = (period.end - period.start).days + 1
    order = sorted(declared, key=lambda d: d.valid_from)
    return Scope(tuple(d.sha256 for d in order), days - len(covered), outside)


def within_declared(
    rows: Iterable[Rollup],
    declared: Sequence[DeclaredArea],
    standard: Standard,
    operator: str,
    period: Period,
) -> tuple[list[Rollup], Scope]:
    """The rows a verdict on ``operator`` counts, and its scope.

    ``declared`` are the operator's declarations for the standard's
    technology (:func:`~giamsat.aggregator.store.declarations.declared_areas`).
    Rows of other operators, technologies or days are kept: the engine
    ignores them, and they are not the operator's samples outside its area.
    """
    techs = {*standard.record_techs, NO_TECH}
    kept: list[Rollup] = []
    outside = 0
    for row in rows:
        day = local_day(row.hour)
        mine = row.op == operator and row.tech in techs and period.includes(day)
        area = next((d for d in declared if d.in_force(day)), None)
        if not mine or area is None or row.h3 in area.cells:
            kept.append(row)
        else:
            outside += row.records
    return kept, scope_of(declared, period, outside)


def with_zone_speeds(
    operator: Operator, technology: str, speeds: Mapping[str, Decimal]
) -> Operator:
    """``operator`` with the Vd and Vu a declared zone gives for ``technology``.

    QCVN 81 §2.1.5 judges the mean speeds per declared service area, against
    the speeds declared for it; a zone that gives none keeps the operator's.
    """
    own = {k: float(v) for k, v in speeds.items() if k in ("vd", "vu")}
    if not own:
        return operator
    declared = {**operator.declared, technology: {**operator.declared.get(technology, {}), **own}}
    return replace(operator, declared=declared)


def zone_operator(
    operator: Operator, standard: Standard, area: str, declared: Sequence[DeclaredArea]
) -> Operator:
    """The operator as judged in ``area``: with the zone's Vd and Vu when the area is a
    zone (``zone:<sha>:<n>``) of one of its ``declared`` areas for the standard's technology.
    """
    parsed = parse_zone_id(area)
    if parsed is None:
        return operator
    prefix, index = parsed
    for d in declared:
        mine = (d.operator, d.technology) == (operator.name, standard.technology)
        if mine and d.sha256.startswith(prefix):
            for zone in d.zones:
                if zone.index == index:
                    return with_zone_speeds(operator, d.technology, zone.speeds)
    return operator
