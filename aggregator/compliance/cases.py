"""Escalation cases in the database: open on FAIL, advance with new verdicts, keep notices.

The state machine is pure (:mod:`giamsat.aggregator.compliance.escalation`); this
module stores each case with its whole dated history as JSON and writes the
notice documents (Vietnamese and English) each escalation produces, citing
the SHA-256 of the evidence bundle the inspector built.

:func:`advance_case` is the one case workflow: the command line and the API
both call it, so a case advances by the same rules whoever advances it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import psycopg

from giamsat.aggregator.compliance import (
    Assessment,
    Case,
    Operator,
    Standard,
    Verdict,
    render_notice,
)
from giamsat.aggregator.compliance.assess import assess
from giamsat.aggregator.compliance.clusters import Period
from giamsat.aggregator.compliance.escalation import (
    DEFAULT_POLICY,
    CaseState,
    Policy,
    close_case,
    open_case,
    response_window,
    transition,
)
from giamsat.aggregator.compliance.operators import load_operators
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.compliance.standards import load_standards
from giamsat.aggregator.settings import ComplianceSettings, Issuer
from giamsat.aggregator.store import areas
from giamsat.contract.timezone import VIETNAM_TZ_NAME


class CaseNotFound(LookupError):
    """No case has this id."""

    def __init__(self, case_id: int) -> None:
        super().__init__(f"no case {case_id}")
        self.case_id = case_id


@dataclass(frozen=True)
class StoredCase:
    id: int
    case: Case


def _save(conn: psycopg.Connection, case: Case, case_id: int | None = None) -> int:
    data = json.dumps(to_jsonable(case), ensure_ascii=False)
    if case_id is None:
        row = conn.execute(
            "INSERT INTO cases (ref, operator, area, standard_id, kpi_id, state, opened_on,"
            " updated_on, data) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (case.id, case.operator, case.area, case.standard_id, case.kpi_id, case.state.value,
             case.opened_on, case.updated_on, data),
        ).fetchone()  # fmt: skip
        assert row is not None
        return int(row[0])
    conn.execute(
        "UPDATE cases SET state = %s, updated_on = %s, data = %s WHERE id = %s",
        (case.state.value, case.updated_on, data, case_id),
    )
    return case_id


def get(conn: psycopg.Connection, case_id: int) -> StoredCase | None:
    row = conn.execute("SELECT id, data FROM cases WHERE id = %s", (case_id,)).fetchone()
    return StoredCase(row[0], Case.from_dict(row[1])) if row else None


def list_cases(
    conn: psycopg.Connection, state: str | None = None, operator: str | None = None
) -> list[StoredCase]:
    """Cases by id; only those in ``state``, or of ``operator``, when given."""
    query = "SELECT id, data FROM cases WHERE true"
    params: list[object] = []
    if state:
        query += " AND state = %s"
        params.append(state)
    if operator:
        query += " AND operator = %s"
        params.append(operator)
    rows = conn.execute(query + " ORDER BY id", params).fetchall()
    return [StoredCase(r[0], Case.from_dict(r[1])) for r in rows]


def open_failing(
    conn: psycopg.Connection, assessment: Assessment, on: date, policy: Policy = DEFAULT_POLICY
) -> list[StoredCase]:
    """Open a case for every FAIL that has no case yet; returns the new ones.

    Raises :class:`~giamsat.aggregator.compliance.escalation.EscalationError`,
    opening none, when the measurements are too old to count (``policy``).
    """
    opened = []
    with conn.transaction():
        for verdict in assessment.kpis:
            if verdict.verdict is not Verdict.FAIL:
                continue
            exists = conn.execute(
                "SELECT 1 FROM cases WHERE operator = %s AND area = %s AND standard_id = %s"
                " AND kpi_id = %s AND state <> 'closed'",
                (verdict.operator, verdict.area, verdict.standard_id, verdict.kpi_id),
            ).fetchone()
            if exists:
                continue
            case = open_case(verdict, on, policy)
            opened.append(StoredCase(_save(conn, case), case))
    return opened


def bundle_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def advance(
    conn: psycopg.Connection,
    stored: StoredCase,
    assessment: Assessment,
    on: date,
    *,
    operator: Operator,
    standard: Standard,
    bundle_sha256: str | None,
    policy: Policy,
    issuer: Issuer,
) -> StoredCase:
    """Apply the case's KPI verdict from ``assessment``; write notices when it escalates."""
    verdict = assessment.kpi(stored.case.kpi_id)
    new = transition(stored.case, verdict, on, policy)
    with conn.transaction():
        if new.state in (CaseState.NOTICE_1, CaseState.NOTICE_2, CaseState.SANCTION_RECOMMENDED):
            if bundle_sha256 is None:
                raise ValueError(
                    f"{new.state.value} cites an evidence bundle: build one with "
                    "`giamsat evidence build` and pass it with --bundle"
                )
            for language in ("vi", "en"):
                text = render_notice(
                    new,
                    operator,
                    standard,
                    bundle_sha256,
                    on,
                    language=language,
                    policy=policy,
                    issuer=issuer,
                )
                conn.execute(
                    "INSERT INTO notices (case_id, state, language, issued_on, bundle_sha256,"
                    " text) VALUES (%s, %s, %s, %s, %s, %s)",
                    (stored.id, new.state.value, language, on, bundle_sha256, text),
                )
        _save(conn, new, stored.id)
    return StoredCase(stored.id, new)


def policy_of(settings: ComplianceSettings) -> Policy:
    """The escalation policy the configuration sets (grace periods, evidence rule)."""
    return Policy(
        settings.grace_1_days,
        settings.grace_2_days,
        settings.notices_need_evidence,
        settings.response_window_days,
        settings.evidence_max_age_days,
    )


def advance_case(
    conn: psycopg.Connection,
    settings: ComplianceSettings,
    case_id: int,
    period: Period,
    on: date,
    *,
    bundle_sha256: str | None,
    issuer: Issuer,
) -> StoredCase:
    """Judge a case's operator and area again over ``period`` and apply that verdict.

    Raises :class:`CaseNotFound`; an escalation the rules refuse raises
    :class:`~giamsat.aggregator.compliance.escalation.EscalationError`; a
    notice without its evidence bundle, or a case whose standard or operator
    is no longer configured, raises ``ValueError``.
    """
    stored = get(conn, case_id)
    if stored is None:
        raise CaseNotFound(case_id)
    case = stored.case
    standards = load_standards(settings.standards_dir)
    operators = load_operators(settings.operators_file)
    if case.standard_id not in standards:
        raise ValueError(f"its standard {case.standard_id} is not in {settings.standards_dir}")
    if case.operator not in operators:
        raise ValueError(f"its operator {case.operator} is not in {settings.operators_file}")
    standard, operator = standards[case.standard_id], operators[case.operator]
    # A case names its area as verdicts do (by name); older cases may hold the id.
    row = conn.execute(
        "SELECT id FROM areas WHERE name = %s OR id = %s", (case.area, case.area)
    ).fetchone()
    area = row[0] if row else areas.resolve(conn, case.area)
    result = assess(conn, standard, operator, area, period, area_name=case.area)
    return advance(
        conn,
        stored,
        result,
        on,
        operator=operator,
        standard=standard,
        bundle_sha256=bundle_sha256,
        policy=policy_of(settings),
        issuer=issuer,
    )


def close(conn: psycopg.Connection, stored: StoredCase, on: date, reason: str) -> StoredCase:
    new = close_case(stored.case, on, reason)
    _save(conn, new, stored.id)
    return StoredCase(stored.id, new)


# --- the operator's answer -------------------------------------------------------------

MAX_RESPONSE_FILE_BYTES = 20 * 1024 * 1024  # a day of an operator's drive-test logs, zipped


class ResponseRefused(ValueError):
    """An answer the case cannot take now; the message says why."""


@dataclass(frozen=True)
class ResponseFile:
    name: str
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Response:
    """An operator's answer to a notice: who sent it and when, its text and files."""

    id: int
    case_id: int
    notice_state: str
    notice_on: date
    received_at: datetime
    who: str
    role: str
    text: str
    late: bool
    files: tuple[ResponseFile, ...]


def respond(
    conn: psycopg.Connection,
    stored: StoredCase,
    policy: Policy,
    *,
    who: str,
    role: str,
    text: str,
    files: Sequence[tuple[str, bytes]] = (),
) -> Response:
    """Record an answer to the case's latest notice, received now; files kept with their hashes.

    Refused (:class:`ResponseRefused`) when the case has no notice to answer,
    the text is empty, a file is empty, too large or named twice. An answer
    after the window closed is kept, marked late: it is the inspector's to weigh.
    """
    window = response_window(stored.case, policy)
    if window is None:
        raise ResponseRefused(
            f"case {stored.id} is {stored.case.state.value}: there is no notice to answer"
        )
    if not text.strip():
        raise ResponseRefused("the answer needs a text")
    names = [name for name, _ in files]
    for name, content in files:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ResponseRefused(f"file {name!r}: give a plain file name")
        if names.count(name) > 1:
            raise ResponseRefused(f"file {name}: attached twice")
        if not content:
            raise ResponseRefused(f"file {name}: empty")
        if len(content) > MAX_RESPONSE_FILE_BYTES:
            raise ResponseRefused(
                f"file {name}: {len(content):,} bytes, over the"
                f" {MAX_RESPONSE_FILE_BYTES:,}-byte limit"
            )
    with conn.transaction():
        row = conn.execute(
            "INSERT INTO case_responses (case_id, notice_state, notice_on, who, role, text, late)"
            " VALUES (%s, %s, %s, %s, %s, %s, (now() AT TIME ZONE %s)::date > %s)"
            " RETURNING id",
            (stored.id, stored.case.state.value, window[0], who, role, text, VIETNAM_TZ_NAME,
             window[1]),
        ).fetchone()  # fmt: skip
        assert row is not None
        for name, content in files:
            conn.execute(
                "INSERT INTO case_response_files (response_id, name, sha256, bytes, content)"
                " VALUES (%s, %s, %s, %s, %s)",
                (row[0], name, hashlib.sha256(content).hexdigest(), len(content), content),
            )
    found = [r for r in responses_of(conn, stored.id) if r.id == row[0]]
    return found[0]


def responses_of(conn: psycopg.Connection, case_id: int) -> list[Response]:
    """The case's answers, oldest first, with their files' names, hashes and sizes."""
    rows = conn.execute(
        "SELECT id, notice_state, notice_on, received_at, who, role, text, late"
        " FROM case_responses WHERE case_id = %s ORDER BY id",
        (case_id,),
    ).fetchall()
    files: dict[int, list[ResponseFile]] = {}
    for response_id, name, sha256, size in conn.execute(
        "SELECT f.response_id, f.name, f.sha256, f.bytes FROM case_response_files f"
        " JOIN case_responses r ON r.id = f.response_id WHERE r.case_id = %s"
        " ORDER BY f.response_id, f.name",
        (case_id,),
    ):
        files.setdefault(response_id, []).append(ResponseFile(name, sha256, int(size)))
    found = []
    for r in rows:
        found.append(
            Response(
                id=r[0], case_id=case_id, notice_state=r[1], notice_on=r[2], received_at=r[3],
                who=r[4], role=r[5], text=r[6], late=r[7], files=tuple(files.get(r[0], ())),
            )
        )  # fmt: skip
    return found


def response_file(
    conn: psycopg.Connection, case_id: int, response_id: int, name: str
) -> bytes | None:
    """The bytes of one file of one answer to case ``case_id``; None when there is none."""
    row = conn.execute(
        "SELECT f.content FROM case_response_files f JOIN case_responses r ON r.id = f.response_id"
        " WHERE r.case_id = %s AND f.response_id = %s AND f.name = %s",
        (case_id, response_id, name),
    ).fetchone()
    return None if row is None else bytes(row[0])


def notices_of(conn: psycopg.Connection, case_id: int) -> list[tuple[str, str, date, str]]:
    return conn.execute(
        "SELECT state, language, issued_on, text FROM notices WHERE case_id = %s ORDER BY id",
        (case_id,),
    ).fetchall()
