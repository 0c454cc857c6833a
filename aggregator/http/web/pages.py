"""The pages people use: coverage map, compliance table, trends, probe fleet, login.

Every page needs the viewer role, through the login cookie or a Bearer
header (:mod:`giamsat.aggregator.http.web.session`). Pages are rendered on the server with
Jinja2 (autoescaped) and need nothing from the internet: the map's Leaflet
comes from ``/static`` and the trend charts are inline SVG. ``/api/v1/compliance``
gives the compliance table's verdicts as JSON, as ``giamsat compliance
--format json`` gives one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode

import h3
import psycopg
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from giamsat.aggregator.compliance import Assessment, Period, Standard, Verdict, cases
from giamsat.aggregator.compliance.assess import period_bounds
from giamsat.aggregator.compliance.escalation import (
    NEXT_STATE,
    Case,
    Policy,
    next_due,
    response_window,
)
from giamsat.aggregator.compliance.national import national_table
from giamsat.aggregator.compliance.render import to_jsonable
from giamsat.aggregator.compliance.standards import VersionSpanError
from giamsat.aggregator.http.auth import (
    PageViewer,
    Viewer,
    clear_login_cookie,
    safe_next,
    same_origin,
    set_login_cookie,
)
from giamsat.aggregator.http.text import IsoDate
from giamsat.aggregator.http.web import labels as L
from giamsat.aggregator.http.web import queries
from giamsat.aggregator.http.web.charts import colours, line_chart
from giamsat.aggregator.http.web.context import WebContext
from giamsat.aggregator.http.web.kpis import MonthlyKpi, monthly_kpis
from giamsat.aggregator.http.web.periods import MONTH, day_period, month_period, month_span
from giamsat.aggregator.store import areas as areas_mod
from giamsat.aggregator.store import bundles, tokens
from giamsat.aggregator.store.columns import H3_RESOLUTION
from giamsat.aggregator.store.tokens import Caller
from giamsat.maps import labels as map_labels
from giamsat.maps.classify import CoverageClass
from giamsat.maps.layers import RawHtml, figure_of
from giamsat.maps.render import format_time, render_map
from giamsat.maps.stats import Probe, ProbeStatus

TEMPLATES = Path(__file__).parent / "templates"
SILENT_AFTER = timedelta(hours=6)  # 24 missed cycles at the agent's default 15 minutes

_env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
_NAV = (
    ("map", "/map", L.NAV_MAP),
    ("compliance", "/compliance", L.NAV_COMPLIANCE),
    ("trends", "/trends", L.NAV_TRENDS),
    ("probes", "/probes", L.NAV_PROBES),
    ("cases", "/cases", L.NAV_CASES),
    ("opendata", "/api/v1/opendata", L.NAV_OPENDATA),
)
_VERDICT_LABELS = {k: str(v) for k, v in L.VERDICTS.items()}
_GRADE_LABELS = {k: str(v) for k, v in L.GRADES.items()}
# The worst verdict among a standard's KPIs sums up a table cell.
_SEVERITY = (Verdict.FAIL, Verdict.AT_RISK, Verdict.INSUFFICIENT_DATA, Verdict.PASS)

DateFrom = Annotated[IsoDate | None, Query(alias="from")]
DateTo = Annotated[IsoDate | None, Query(alias="to")]
Text = Annotated[str | None, Query(max_length=100)]

router = APIRouter()


def _ctx(request: Request) -> WebContext:
    ctx: WebContext = request.app.state.web
    return ctx


def _chrome(caller: Caller, page: str) -> dict[str, Any]:
    return {"L": L, "caller": caller, "page": page, "nav": _NAV}


def _page(template: str, caller: Caller, page: str, **context: Any) -> HTMLResponse:
    html = _env.get_template(template).render(**_chrome(caller, page), **context)
    return HTMLResponse(html)


def _blank(value: str | None) -> str | None:
    return None if value in (None, "", "all") else value


def _period(start: date | None, end: date | None, latest: date | None) -> Period:
    try:
        return day_period(start, end, latest)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None


def _check_area(conn: psycopg.Connection, area: str | None) -> str | None:
    """``None`` for all areas; 404 for an area id that is neither stored nor an H3 cell."""
    if area is None or areas_mod.is_cell(area):
        return area
    if queries.area_name(conn, area) is None:
        raise HTTPException(404, f"no area {area!r}; areas are loaded with `giamsat areas sync`")
    return area


def _check_family(ctx: WebContext, tech: str | None) -> str | None:
    if tech is not None and tech not in ctx.families:
        raise HTTPException(422, f"technology must be one of {', '.join(ctx.families)}")
    return tech


# ---------------------------------------------------------------- login


@router.get("/", include_in_schema=False)
def home() -> RedirectResponse:
    return RedirectResponse("/map", status_code=303)


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(
    next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
    reason: Annotated[str | None, Query(max_length=20)] = None,
) -> HTMLResponse:
    error = str(L.BAD_TOKEN) if reason == "revoked" else None
    html = _env.get_template("login.html").render(L=L, error=error, next=safe_next(next_url))
    return HTMLResponse(html)


@router.post("/login", include_in_schema=False, response_model=None)
def login(
    request: Request,
    token: Annotated[str, Form(max_length=200)],
    next_url: Annotated[str, Form(alias="next", max_length=2000)] = "/map",
) -> HTMLResponse | RedirectResponse:
    """Check the token once, then keep it in an HttpOnly, SameSite=Strict cookie."""
    if not same_origin(request):
        raise HTTPException(403, "login form posted from another site")
    with request.app.state.pool.connection() as conn:
        caller = tokens.caller_for(conn, token.strip())
    if caller is None:
        html = _env.get_template("login.html").render(
            L=L, error=str(L.BAD_TOKEN), next=safe_next(next_url)
        )
        return HTMLResponse(html, status_code=401)
    response = RedirectResponse(safe_next(next_url), status_code=303)
    set_login_cookie(request, response, token.strip())
    return response


@router.post("/logout", include_in_schema=False)
def logout(request: Request) -> RedirectResponse:
    if not same_origin(request):
        raise HTTPException(403, "logout form posted from another site")
    response = RedirectResponse("/login", status_code=303)
    clear_login_cookie(response)
    return response


# ---------------------------------------------------------------- map


def _map_probes(fleet: list[queries.ProbeHealth], cells: set[str] | None) -> list[Probe]:
    """Active probes as map markers: never-seen and silent ones drawn as silent."""
    now = datetime.now(UTC)
    markers = []
    for p in fleet:
        state = p.state(now, SILENT_AFTER)
        position = p.position()
        if state == "revoked" or position is None:
            continue
        if cells is not None and h3.latlng_to_cell(*position, H3_RESOLUTION) not in cells:
            continue
        status = ProbeStatus.OK if state == "ok" else ProbeStatus.SILENT
        markers.append(Probe(p.id, position[0], position[1], p.village or "", p.last_seen, status))
    return markers


@router.get("/map", response_class=HTMLResponse)
def map_page(
    request: Request,
    caller: PageViewer,
    op: Text = None,
    tech: Text = None,
    area: Text = None,
    start: DateFrom = None,
    end: DateTo = None,
) -> HTMLResponse:
    """Coverage and dead zones per operator and technology (one layer each)."""
    ctx = _ctx(request)
    op, tech, area = _blank(op), _check_family(ctx, _blank(tech)), _blank(area)
    with request.app.state.pool.connection() as conn:
        area = _check_area(conn, area)
        period = _period(start, end, queries.latest_day(conn))
        first, after = period_bounds(period)
        rows = queries.hex_stats(conn, ctx.families, first, after, op=op, family=tech, area=area)
        fleet = queries.probe_health(conn)
        provinces = queries.provinces(conn)
        cells = set(areas_mod.cells_of(conn, area)) if area is not None else None
    rendered = render_map(
        [r.stats for r in rows],
        _map_probes(fleet, cells),
        standard=ctx.map_standard(),
        asset_base_url="/static",
        tiles=ctx.tiles,
        title=f"giamsat — {map_labels.TITLE}",
    )
    operators = list(ctx.operators) + sorted({r.stats.op for r in rows} - set(ctx.operators))
    layers = [
        {
            "name": f"{s.op} · {s.tech}",
            "hexagons": s.total,
            "dead": s.counts[CoverageClass.DEAD],
        }
        for s in rendered.layers
    ]
    header = _env.get_template("map_header.html").render(
        **_chrome(caller, "map"),
        operators=operators,
        families=list(ctx.families),
        provinces=provinces,
        op=op,
        tech=tech,
        area=area or "all",
        period=period,
        layers=layers,
        dead_label=map_labels.CLASS_LABELS[CoverageClass.DEAD],
    )
    figure = figure_of(rendered.map)
    figure.header.add_child(RawHtml(_MAP_HEAD), name="giamsat_web_head")
    figure.html.add_child(RawHtml(header), name="giamsat_web_header", index=0)
    return HTMLResponse(rendered.html())


# The map page stacks header, filters and map; the map takes what is left of the window.
_MAP_HEAD = """<link rel="stylesheet" href="/web-static/web.css"/>
<style>
html, body { height: 100%; }
body { display: flex; flex-direction: column; }
.folium-map { flex: 1 1 auto; height: auto !important; min-height: 320px; }
</style>
"""


# ---------------------------------------------------------------- compliance


@dataclass(frozen=True)
class Cell:
    """One operator's verdict in one area; ``unconfirmed`` lists the KPIs behind that
    verdict whose threshold or limit is not confirmed from the official text."""

    operator: str
    verdict: str
    failed: int
    total: int
    evidence: bool
    url: str
    unconfirmed: tuple[str, ...] = ()


@dataclass(frozen=True)
class GridRow:
    area_id: str
    area_name: str
    cells: list[Cell]


@dataclass(frozen=True)
class Grid:
    standard: Standard
    operators: list[str]
    rows: list[GridRow]


def overall(assessment: Assessment) -> Verdict:
    """The worst of the KPI verdicts; PASS only when every KPI passes."""
    found = {k.verdict for k in assessment.kpis}
    return next(v for v in _SEVERITY if v in found)


def _areas(conn: psycopg.Connection) -> list[tuple[str, str]]:
    return [("all", str(L.ALL_AREAS)), *queries.provinces(conn)]


def _query(**params: Any) -> str:
    return urlencode({k: v for k, v in params.items() if v is not None})


def _assessments(
    conn: psycopg.Connection,
    ctx: WebContext,
    period: Period,
    standard: str | None = None,
    operator: str | None = None,
    area: str | None = None,
) -> list[tuple[str, Assessment]]:
    """(area id, assessment) for every standard × area × operator the filters leave."""
    if standard is not None and standard not in ctx.standards:
        raise HTTPException(404, f"no standard {standard!r}; one of {', '.join(ctx.standards)}")
    if operator is not None and operator not in ctx.operators:
        raise HTTPException(404, f"no operator {operator!r}; one of {', '.join(ctx.operators)}")
    if area is None:
        area_list = _areas(conn)
    elif area == "all":
        area_list = [("all", str(L.ALL_AREAS))]
    else:
        _check_area(conn, area)
        area_list = [(area, queries.area_name(conn, area) or area)]
    standards = [s for i, s in ctx.standards.items() if standard in (None, i)]
    operators = [o for n, o in ctx.operators.items() if operator in (None, n)]
    try:
        return national_table(conn, standards, operators, period, areas=area_list)
    except VersionSpanError as exc:  # the period spans an amendment: split it
        raise HTTPException(422, str(exc)) from None


@router.get("/compliance", response_class=HTMLResponse)
def compliance_page(
    request: Request, caller: PageViewer, start: DateFrom = None, end: DateTo = None
) -> HTMLResponse:
    """Verdicts per operator × province for every standard, each linking to its KPIs."""
    ctx = _ctx(request)
    with request.app.state.pool.connection() as conn:
        period = _period(start, end, queries.latest_day(conn))
        found = _assessments(conn, ctx, period)
    span = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    grids = []
    for std_id, std in ctx.standards.items():
        rows: dict[str, GridRow] = {}
        for area_id, a in found:
            if a.standard_id != std_id:
                continue
            row = rows.setdefault(area_id, GridRow(area_id, a.area, []))
            worst = overall(a)
            row.cells.append(
                Cell(
                    operator=a.operator,
                    verdict=worst.value,
                    failed=sum(k.verdict is Verdict.FAIL for k in a.kpis),
                    total=len(a.kpis),
                    evidence=any(
                        k.verdict is Verdict.FAIL and k.grade == "evidence" for k in a.kpis
                    ),
                    url="/compliance/detail?"
                    + _query(standard=std_id, operator=a.operator, area=area_id, **span),
                    unconfirmed=tuple(
                        k.kpi_id for k in a.kpis if k.unconfirmed and k.verdict is worst
                    ),
                )
            )
        grids.append(Grid(std, list(ctx.operators), list(rows.values())))
    return _page(
        "compliance.html",
        caller,
        "compliance",
        title=str(L.NAV_COMPLIANCE),
        period=period,
        grids=grids,
        verdicts=_VERDICT_LABELS,
        grades=_GRADE_LABELS,
        json_url="/api/v1/compliance?" + _query(**span),
    )


_COMPARATORS = {">=": "≥", "<=": "≤"}


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    return f"{value:.1f}" if unit in ("%", "dBm") else f"{value:.2f}"


@router.get("/compliance/detail", response_class=HTMLResponse)
def compliance_detail(
    request: Request,
    caller: PageViewer,
    standard: Annotated[str, Query(max_length=100)],
    operator: Annotated[str, Query(max_length=100)],
    area: Annotated[str, Query(max_length=100)] = "all",
    start: DateFrom = None,
    end: DateTo = None,
) -> HTMLResponse:
    """Every KPI of one standard, operator, area and period, with its interval and sampling."""
    ctx = _ctx(request)
    with request.app.state.pool.connection() as conn:
        period = _period(start, end, queries.latest_day(conn))
        [(area_id, a)] = _assessments(conn, ctx, period, standard, operator, area)
    rows = [
        {
            "kpi_id": k.kpi_id,
            "name_vi": k.name_vi,
            "name_en": k.name_en,
            "comparator": _COMPARATORS.get(k.comparator, k.comparator),
            "limit_text": f"{k.limit:g} {k.unit}",
            "value_text": f"{_number(k.value, k.unit)} {k.unit}" if k.value is not None else "—",
            "interval_text": (
                "—"
                if k.ci_low is None or k.ci_high is None
                else f"[{_number(k.ci_low, k.unit)}, {_number(k.ci_high, k.unit)}]"
            ),
            "samples": k.samples,
            "probe_days": k.probe_days,
            "verdict": k.verdict.value,
            "grade": k.grade,
            "rules": [*k.unmet, *k.insufficient],
            "unconfirmed": k.unconfirmed,
        }
        for k in a.kpis
    ]
    span = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    return _page(
        "compliance_detail.html",
        caller,
        "compliance",
        title=f"{a.code} — {a.operator} — {a.area}",
        a=a,
        rows=rows,
        scope=None
        if a.scope is None
        else {
            "vi": a.scope.describe_vi(a.operator, a.technology),
            "en": a.scope.describe(a.operator, a.technology),
            "declared": a.scope.declared,
            "declarations": a.scope.declarations,
        },
        verdicts=_VERDICT_LABELS,
        grades=_GRADE_LABELS,
        json_url="/api/v1/compliance?"
        + _query(standard=standard, operator=operator, area=area_id, **span),
        back_url="/compliance?" + _query(**span),
    )


@router.get("/api/v1/compliance")
def compliance_json(
    request: Request,
    caller: Viewer,
    start: DateFrom = None,
    end: DateTo = None,
    standard: Text = None,
    operator: Text = None,
    area: Text = None,
) -> dict[str, Any]:
    """The compliance table as JSON: one assessment per standard × area × operator (viewer).

    Without filters: every standard and operator for all areas together and
    for each province. Each assessment is what ``giamsat compliance --format
    json`` prints, plus ``area_id``.
    """
    ctx = _ctx(request)
    with request.app.state.pool.connection() as conn:
        period = _period(start, end, queries.latest_day(conn))
        found = _assessments(conn, ctx, period, standard, operator, area)
    return {
        "period_start": period.start.isoformat(),
        "period_end": period.end.isoformat(),
        "assessments": [{"area_id": area_id, **to_jsonable(a)} for area_id, a in found],
    }


# ---------------------------------------------------------------- trends

_CHARTS = (
    ("dl_mean", L.TREND_DL, "Mbit/s", "dl_mean_mbps", None),
    ("covered", L.TREND_COVERAGE, "%", "covered_pct", 100.0),
    ("no_service", L.TREND_NO_SERVICE, "%", "no_service_pct", 100.0),
    ("latency_mean", L.TREND_LATENCY, "ms", "rtt_mean_ms", None),
)


def _month(value: str | None) -> str | None:
    value = _blank(value)
    if value is not None and MONTH.match(value) is None:
        raise HTTPException(422, f"months are YYYY-MM, not {value!r}")
    return value


@router.get("/trends", response_class=HTMLResponse)
def trends_page(
    request: Request,
    caller: PageViewer,
    area: Text = None,
    tech: Text = None,
    first: Annotated[str | None, Query(alias="from", max_length=7)] = None,
    last: Annotated[str | None, Query(alias="to", max_length=7)] = None,
) -> HTMLResponse:
    """Monthly KPIs per operator as charts, for all areas or one province."""
    ctx = _ctx(request)
    area, tech = _blank(area), _check_family(ctx, _blank(tech))
    with request.app.state.pool.connection() as conn:
        area = _check_area(conn, area)
        try:
            months = month_span(_month(first), _month(last), queries.latest_day(conn))
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        start, _ = period_bounds(month_period(months[0]))
        _, end = period_bounds(month_period(months[-1]))
        rows = queries.month_rows(conn, start, end, area)
        ops = sorted({r.op for r in rows})
        served = queries.served_families(conn, ops, ctx.families, start, end)
        provinces = queries.provinces(conn)
        name = queries.area_name(conn, area) if area is not None else None
    kpis = monthly_kpis(rows, ctx.coverage, tech, served)
    operators = [o for o in ctx.operators if o in ops] + [o for o in ops if o not in ctx.operators]
    palette = colours(operators)
    by_key: dict[tuple[str, str], MonthlyKpi] = {(k.month, k.op): k for k in kpis}
    charts = []
    for kpi_id, label, unit, attr, top in _CHARTS:
        series = {
            op: [getattr(by_key[(m, op)], attr) if (m, op) in by_key else None for m in months]
            for op in operators
        }
        svg = line_chart(
            kpi_id, str(label), unit, months, series, palette, top=top, empty_text=str(L.NO_DATA)
        )
        charts.append({"kpi": kpi_id, "label": label, "unit": unit, "svg": svg})
    table = [
        {
            "month": k.month,
            "op": k.op,
            "records": k.records,
            "cells": [
                "—" if getattr(k, attr) is None else f"{getattr(k, attr):.1f}"
                for _, _, _, attr, _ in _CHARTS
            ],
        }
        for k in kpis
    ]
    return _page(
        "trends.html",
        caller,
        "trends",
        title=str(L.NAV_TRENDS),
        provinces=provinces,
        families=list(ctx.families),
        area=area or "all",
        area_name=name or (area if area is not None else str(L.ALL_AREAS)),
        tech=tech,
        months=months,
        palette=palette,
        charts=charts,
        table=table,
    )


# ---------------------------------------------------------------- probes

_STATE_ORDER = {"silent": 0, "never": 1, "ok": 2, "revoked": 3}


def _count(health: dict[str, Any] | None, key: str) -> float | None:
    value = (health or {}).get(key)
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _spool_text(health: dict[str, Any] | None) -> str:
    queued = _count(health, "spool_queued")
    if queued is None:
        return "—"
    refused = _count(health, "spool_refused")
    text = f"{queued:g}"
    return text + (f" ({refused:g} {L.SPOOL_REFUSED})" if refused else "")


def _budget_text(health: dict[str, Any] | None) -> str:
    used, cap = _count(health, "budget_used_mb"), _count(health, "budget_mb")
    if used is None:
        return "—"
    if not cap:
        return f"{used:.1f} MiB"
    return f"{used:.1f} / {cap:g} MiB ({100 * used / cap:.0f} %)"


@router.get("/probes", response_class=HTMLResponse)
def probes_page(request: Request, caller: PageViewer) -> HTMLResponse:
    """Fleet health: last seen, spool backlog, data budget; silent probes first and marked."""
    with request.app.state.pool.connection() as conn:
        fleet = queries.probe_health(conn)
    now = datetime.now(UTC)
    rows: list[dict[str, Any]] = [
        {
            "id": p.id,
            "kind": p.kind,
            "village": p.village,
            "state": p.state(now, SILENT_AFTER),
            "last_seen": format_time(p.last_seen) if p.last_seen else "—",
            "received": format_time(p.received) if p.received else "—",
            "spool": _spool_text(p.health),
            "budget": _budget_text(p.health),
        }
        for p in fleet
    ]
    rows.sort(key=lambda r: (_STATE_ORDER[r["state"]], r["id"]))
    return _page(
        "probes.html",
        caller,
        "probes",
        title=str(L.NAV_PROBES),
        rows=rows,
        total=sum(r["state"] != "revoked" for r in rows),
        silent=sum(r["state"] in ("silent", "never") for r in rows),
        silent_hours=int(SILENT_AFTER.total_seconds() // 3600),
        kinds={k: str(v) for k, v in L.KINDS.items()},
        states={k: str(v) for k, v in L.PROBE_STATES.items()},
    )


# --- cases -------------------------------------------------------------------------------


def _next_step(case: Case, policy: Policy) -> dict[str, Any] | None:
    """What may happen next to a case, and from which day (None when only closing is left)."""
    target = NEXT_STATE.get(case.state)
    due = next_due(case, policy)
    if target is None or due is None:
        return None
    return {"label": str(L.CASE_STATES[target.value]), "state": target.value, "from": due}


@router.get("/cases", response_class=HTMLResponse)
def cases_page(request: Request, caller: PageViewer) -> HTMLResponse:
    """Every case: its step, the next step and from when, the operator's answer window."""
    policy = cases.policy_of(request.app.state.settings.compliance)
    with request.app.state.pool.connection() as conn:
        found = cases.list_cases(conn)
        answered = dict(
            conn.execute("SELECT case_id, count(*) FROM case_responses GROUP BY case_id").fetchall()
        )
    rows = []
    for stored in found:
        case = stored.case
        window = response_window(case, policy)
        rows.append(
            {
                "id": stored.id,
                "case": case,
                "state": str(L.CASE_STATES[case.state.value]),
                "next": _next_step(case, policy),
                "window": window,
                "answers": answered.get(stored.id, 0),
            }
        )
    # Open cases first, the next step soonest first; closed ones last, newest first.
    rows.sort(key=lambda r: (r["next"] is None, r["next"]["from"] if r["next"] else date.min,
                             -r["id"]))  # fmt: skip
    return _page("cases.html", caller, "cases", title=str(L.NAV_CASES), rows=rows)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, caller: PageViewer, case_id: int) -> HTMLResponse:
    """One case's timeline: its steps with their verdicts, notices, bundles and answers."""
    policy = cases.policy_of(request.app.state.settings.compliance)
    with request.app.state.pool.connection() as conn:
        stored = cases.get(conn, case_id)
        if stored is None:
            raise HTTPException(404, f"no case {case_id}")
        notices = conn.execute(
            "SELECT state, language, issued_on, bundle_sha256, text FROM notices"
            " WHERE case_id = %s ORDER BY id",
            (case_id,),
        ).fetchall()
        answers = cases.responses_of(conn, case_id)
        kept = bundles.kept(conn, [n[3] for n in notices])
    events: list[dict[str, Any]] = []
    for order, entry in enumerate(stored.case.history):
        v = entry.verdict
        finding = None
        if v is not None and v.value is not None and v.ci_low is not None and v.ci_high is not None:
            finding = {
                "verdict": v.verdict.value,
                "label": _VERDICT_LABELS[v.verdict.value],
                "text": f"{v.value:.2f} {v.unit} [{v.ci_low:.2f}, {v.ci_high:.2f}]",
                "period": f"{v.period_start} – {v.period_end}",
            }
        events.append({"kind": "step", "on": entry.on, "order": (0, order),
                       "label": str(L.CASE_STATES[entry.to_state.value]), "finding": finding,
                       "note": entry.note})  # fmt: skip
    by_state: dict[str, dict[str, Any]] = {}
    for state, language, issued, sha, text in notices:
        notice = by_state.setdefault(state, {"kind": "notice", "on": issued, "order": (1, 0),
                                             "label": str(L.CASE_STATES[state]), "sha": sha,
                                             "kept": sha in kept, "texts": {}})  # fmt: skip
        notice["texts"][language] = text
    events += by_state.values()
    for answer in answers:
        events.append({"kind": "answer", "on": answer.received_at.date(), "order": (2, answer.id),
                       "answer": answer, "received": format_time(answer.received_at)})  # fmt: skip
    events.sort(key=lambda e: (e["on"], e["order"]))
    case = stored.case
    return _page(
        "case_detail.html",
        caller,
        "cases",
        title=f"{L.CASE} {stored.id}: {case.operator}, {case.area}",
        case=case,
        case_id=stored.id,
        state=str(L.CASE_STATES[case.state.value]),
        next=_next_step(case, policy),
        window=response_window(case, policy),
        events=events,
        inspector=caller.may("inspector"),
    )
