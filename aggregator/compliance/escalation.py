"""Escalation of a failing KPI: a pure state machine over dated verdicts.

The regulator's practice: a first written notice to the operator's head
office, a second one if the KPI still fails after a grace period, then a
recommendation to sanction if it still fails after a second grace period; a
case closes when later monitoring shows compliance (or by decision, from any
state). One case per (operator, area, standard, KPI).

Functions here take a case and return a new one with a history entry; they
never mutate, never read a clock and refuse anything the process does not
allow with :class:`EscalationError`, so a stored history is always a legal one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, timedelta
from enum import StrEnum
from typing import Any

from giamsat.aggregator.compliance.sampling import EVIDENCE
from giamsat.aggregator.compliance.verdicts import KpiVerdict, Verdict


class CaseState(StrEnum):
    OPEN = "open"
    NOTICE_1 = "notice_1"
    NOTICE_2 = "notice_2"
    SANCTION_RECOMMENDED = "sanction_recommended"
    CLOSED = "closed"


NEXT_STATE: dict[CaseState, CaseState] = {
    CaseState.OPEN: CaseState.NOTICE_1,
    CaseState.NOTICE_1: CaseState.NOTICE_2,
    CaseState.NOTICE_2: CaseState.SANCTION_RECOMMENDED,
}


class EscalationError(Exception):
    """A transition the escalation process does not allow; the message says why."""


NOTICES = (CaseState.NOTICE_1, CaseState.NOTICE_2, CaseState.SANCTION_RECOMMENDED)


@dataclass(frozen=True)
class Policy:
    """Grace periods (days), whether notices need evidence-grade sampling, the days
    an operator has to answer each notice (its response window), and how old
    measurements may be, on the day of a decision, to open or advance a case."""

    grace_1_days: int = 30
    grace_2_days: int = 30
    notices_need_evidence: bool = True
    response_window_days: int = 15
    evidence_max_age_days: int = 365

    def grace_after(self, state: CaseState) -> int:
        """Days that must pass in ``state`` before the case may escalate further."""
        if state is CaseState.NOTICE_1:
            return self.grace_1_days
        if state is CaseState.NOTICE_2:
            return self.grace_2_days
        return 0


DEFAULT_POLICY = Policy()


@dataclass(frozen=True)
class HistoryEntry:
    on: date
    from_state: CaseState | None
    to_state: CaseState
    verdict: KpiVerdict | None
    note: str


@dataclass(frozen=True)
class Case:
    operator: str
    area: str
    standard_id: str
    kpi_id: str
    state: CaseState
    opened_on: date
    history: tuple[HistoryEntry, ...]

    @property
    def id(self) -> str:
        """Stable reference quoted in notices."""
        return f"{self.standard_id}/{self.kpi_id}/{self.operator}/{self.area}/{self.opened_on}"

    @property
    def updated_on(self) -> date:
        return self.history[-1].on

    @property
    def latest_verdict(self) -> KpiVerdict | None:
        for entry in reversed(self.history):
            if entry.verdict is not None:
                return entry.verdict
        return None

    def entered(self, state: CaseState) -> date | None:
        """When the case last entered ``state``, or None if it never did."""
        for entry in reversed(self.history):
            if entry.to_state is state:
                return entry.on
        return None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Case:
        """Inverse of :func:`giamsat.aggregator.compliance.render.to_jsonable` for a case."""
        history = tuple(
            HistoryEntry(
                on=date.fromisoformat(entry["on"]),
                from_state=None if entry["from_state"] is None else CaseState(entry["from_state"]),
                to_state=CaseState(entry["to_state"]),
                verdict=None
                if entry["verdict"] is None
                else KpiVerdict.from_dict(entry["verdict"]),
                note=entry["note"],
            )
            for entry in data["history"]
        )
        return cls(
            operator=data["operator"],
            area=data["area"],
            standard_id=data["standard_id"],
            kpi_id=data["kpi_id"],
            state=CaseState(data["state"]),
            opened_on=date.fromisoformat(data["opened_on"]),
            history=history,
        )


def _check_age(verdict: KpiVerdict, on: date, policy: Policy) -> None:
    """Measurements older than the policy allows do not count for a decision on ``on``."""
    oldest = on - timedelta(days=policy.evidence_max_age_days)
    if verdict.period_start < oldest:
        raise EscalationError(
            f"the verdict covers {verdict.period_start}..{verdict.period_end}; on {on},"
            f" measurements from before {oldest} ({policy.evidence_max_age_days} days) do not"
            " count for a case"
        )


def open_case(verdict: KpiVerdict, on: date, policy: Policy = DEFAULT_POLICY) -> Case:
    """A FAIL opens a case (early-warning grade is enough to open, not to notify)."""
    if verdict.verdict is not Verdict.FAIL:
        raise EscalationError(f"only a FAIL opens a case, not {verdict.verdict.value}")
    _check_age(verdict, on, policy)
    if on < verdict.period_end:
        raise EscalationError(
            f"a case cannot open on {on}, before its period ends ({verdict.period_end})"
        )
    entry = HistoryEntry(on, None, CaseState.OPEN, verdict, "opened on a FAIL verdict")
    return Case(
        operator=verdict.operator,
        area=verdict.area,
        standard_id=verdict.standard_id,
        kpi_id=verdict.kpi_id,
        state=CaseState.OPEN,
        opened_on=on,
        history=(entry,),
    )


def response_window(case: Case, policy: Policy = DEFAULT_POLICY) -> tuple[date, date] | None:
    """First and last day the operator may answer the case's latest notice (None: no notice)."""
    if case.state not in NOTICES:
        return None
    issued = case.entered(case.state)
    assert issued is not None
    return issued, issued + timedelta(days=policy.response_window_days)


def next_due(case: Case, policy: Policy = DEFAULT_POLICY) -> date | None:
    """Earliest date the case may escalate, or None when it cannot escalate any further.

    After the grace period of its state and, after a notice, the day after the
    operator's response window closes: the operator answers before the next step.
    """
    if case.state not in NEXT_STATE:
        return None
    entered = case.entered(case.state) or case.opened_on
    due = entered + timedelta(days=policy.grace_after(case.state))
    window = response_window(case, policy)
    return due if window is None else max(due, window[1] + timedelta(days=1))


def _check_common(case: Case, verdict: KpiVerdict, on: date) -> None:
    if case.state is CaseState.CLOSED:
        raise EscalationError(f"case {case.id} is closed")
    identity = (verdict.operator, verdict.area, verdict.standard_id, verdict.kpi_id)
    if identity != (case.operator, case.area, case.standard_id, case.kpi_id):
        raise EscalationError(f"verdict {identity} does not belong to case {case.id}")
    if on < case.updated_on:
        raise EscalationError(f"{on} is before the case's last change on {case.updated_on}")
    if on < verdict.period_end:
        raise EscalationError(f"{on} is before the verdict's period ends ({verdict.period_end})")


def _escalate(case: Case, verdict: KpiVerdict, on: date, policy: Policy) -> Case:
    target = NEXT_STATE.get(case.state)
    if target is None:
        raise EscalationError(f"case {case.id} is at {case.state.value}: it can only be closed now")
    if policy.notices_need_evidence and verdict.grade != EVIDENCE:
        raise EscalationError(
            f"an early-warning FAIL cannot escalate to {target.value}: unmet "
            + "; ".join(verdict.unmet)
        )
    _check_age(verdict, on, policy)
    due = next_due(case, policy)
    window = response_window(case, policy)
    if window is not None and on <= window[1]:
        raise EscalationError(
            f"{target.value} is premature on {on}: the operator's response window after"
            f" {case.state.value} of {window[0]} is open until {window[1]}"
        )
    if due is not None and on < due:
        raise EscalationError(
            f"{target.value} is premature on {on}: the grace period after "
            f"{case.state.value} runs until {due}"
        )
    if case.state is not CaseState.OPEN:
        entered = case.entered(case.state)
        if entered is not None and verdict.period_start < entered:
            raise EscalationError(
                f"the verdict covers {verdict.period_start}..{verdict.period_end}, which starts "
                f"before {case.state.value} on {entered}; only monitoring after the notice "
                "can show the operator is still failing"
            )
    entry = HistoryEntry(on, case.state, target, verdict, f"still failing: {target.value}")
    return replace(case, state=target, history=(*case.history, entry))


def transition(case: Case, verdict: KpiVerdict, on: date, policy: Policy = DEFAULT_POLICY) -> Case:
    """Apply a new verdict dated ``on``: FAIL escalates, PASS closes, anything else is refused."""
    _check_common(case, verdict, on)
    if verdict.verdict is Verdict.FAIL:
        return _escalate(case, verdict, on, policy)
    if verdict.verdict is Verdict.PASS:
        opening = case.history[0].verdict
        if opening is not None and verdict.period_end <= opening.period_end:
            raise EscalationError(
                f"a PASS for a period ending {verdict.period_end} is not later monitoring than "
                f"the FAIL that opened the case (period ending {opening.period_end})"
            )
        entry = HistoryEntry(on, case.state, CaseState.CLOSED, verdict, "compliance shown")
        return replace(case, state=CaseState.CLOSED, history=(*case.history, entry))
    raise EscalationError(
        f"a {verdict.verdict.value} verdict neither escalates nor closes case {case.id}"
    )


def close_case(case: Case, on: date, reason: str) -> Case:
    """Close by decision (e.g. withdrawn, superseded), from any open state."""
    if case.state is CaseState.CLOSED:
        raise EscalationError(f"case {case.id} is already closed")
    if on < case.updated_on:
        raise EscalationError(f"{on} is before the case's last change on {case.updated_on}")
    if not reason.strip():
        raise EscalationError("closing a case by decision needs a reason")
    entry = HistoryEntry(on, case.state, CaseState.CLOSED, None, reason.strip())
    return replace(case, state=CaseState.CLOSED, history=(*case.history, entry))
