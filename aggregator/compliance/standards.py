"""Quality standards as data: one TOML file per standard, checked when loaded.

A standard names its KPIs, how each is computed (``metric``), the comparator,
the limit and the sampling rules that make measurements evidence. Everything
an inspector might dispute is in the file, cited, and validated here so that a
mistake in it stops the aggregator at start-up with the file and key named
(:class:`giamsat.contract.config.ConfigError`) rather than producing wrong verdicts.

Metrics (every one is a ratio of sums over samples, which is what makes
rollups and clusters work):

``mean``                 mean of ``field`` over samples that measured it
``share_at_least``       % of samples with ``field >= threshold``
``access_failure_ratio`` % of access attempts that failed
``radio_availability``   % of samples with RSRP ``>= threshold``; a no-service
                         sample counts as below it
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from giamsat.aggregator.aggregates.histogram import (
    FIELD_EDGES,
    FIELD_UNITS,
    FIELDS,
    GAP_EDGES_S,
    is_edge,
)
from giamsat.contract.config import ConfigError, Section, read_toml
from giamsat.contract.schema import ENVIRONMENTS, TECHNOLOGIES

METRICS: tuple[str, ...] = ("mean", "share_at_least", "access_failure_ratio", "radio_availability")
SHARE_METRICS: tuple[str, ...] = ("share_at_least", "access_failure_ratio", "radio_availability")
COMPARATORS: tuple[str, ...] = (">=", "<=")
# Operators declare speeds (Vd, Vu); operators.py checks them against these fields' edges.
DECLARABLE_FIELDS: tuple[str, ...] = ("dl_mbps", "ul_mbps")
_DECLARED = re.compile(r"^declared:([a-z][a-z0-9_]*)$")


def require_edge(section: Section, key: str, field: str, value: float) -> None:
    """Reject a limit or threshold that the ``field`` histogram cannot count exactly."""
    edges = FIELD_EDGES[field]
    if not is_edge(edges, value):
        below = max((e for e in edges if e < value), default=None)
        above = min((e for e in edges if e > value), default=None)
        raise section.error(
            key,
            f"{value} is not an edge of the {field} histogram (nearest edges: {below}, {above});"
            " shares and limits must fall on edges to be counted exactly from rollups",
        )


@dataclass(frozen=True)
class Kpi:
    """One quality indicator. ``limit`` is None when it comes from the operator (``declared``)."""

    id: str
    name_vi: str
    name_en: str
    metric: str
    comparator: str
    unit: str
    field: str | None = None
    threshold: float | None = None
    limit: float | None = None
    declared: str | None = None

    @property
    def is_share(self) -> bool:
        return self.metric in SHARE_METRICS


@dataclass(frozen=True)
class SamplingRules:
    """The standard's own rules for measurements to count as evidence."""

    min_samples: int
    per_env: dict[str, int]
    min_spacing_s: float


@dataclass(frozen=True)
class EarlyWarning:
    """Lower minimums below which the engine says nothing (INSUFFICIENT_DATA)."""

    min_samples: int
    min_probe_days: int


@dataclass(frozen=True)
class Standard:
    id: str
    code: str
    title_vi: str
    title_en: str
    citation_vi: str
    citation_en: str
    url: str | None
    technology: str
    record_techs: tuple[str, ...]
    kpis: tuple[Kpi, ...]
    sampling: SamplingRules
    early_warning: EarlyWarning
    path: str

    def kpi(self, kpi_id: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(f"{self.id} has no KPI {kpi_id!r}")


def _names(section: Section, key: str) -> tuple[str, str]:
    names = section.section(key)
    vi, en = names.str("vi"), names.str("en")
    names.finish()
    return vi, en


def _kpi(section: Section) -> Kpi:
    kpi_id = section.str("id")
    if not re.fullmatch(r"[a-z][a-z0-9_]*", kpi_id):
        raise section.error("id", f"must be lower_snake_case, not {kpi_id!r}")
    name_vi, name_en = _names(section, "name")
    metric = section.choice("metric", METRICS)
    comparator = section.choice("comparator", COMPARATORS)
    unit = section.str("unit")
    field: str | None = None
    threshold: float | None = None

    if metric in ("mean", "share_at_least"):
        field = section.choice("field", FIELDS)
    elif "field" in section.data:
        raise section.error("field", f"not used by metric {metric}")
    if metric in ("share_at_least", "radio_availability"):
        threshold = section.float("threshold")
        require_edge(section, "threshold", field or "rsrp_dbm", threshold)
    elif "threshold" in section.data:
        raise section.error("threshold", f"not used by metric {metric}")

    limit: float | None = None
    declared: str | None = None
    if isinstance(section.data.get("limit"), str):
        match = _DECLARED.match(section.str("limit"))
        if match is None:
            raise section.error("limit", 'must be a number or "declared:<name>"')
        if metric != "mean" or field not in DECLARABLE_FIELDS:
            raise section.error(
                "limit", "only a mean download or upload speed can take a declared value"
            )
        declared = match.group(1)
    elif metric in SHARE_METRICS:
        limit = section.float("limit", min=0.0, max=100.0)
    else:
        limit = section.float("limit")

    if metric in SHARE_METRICS and unit != "%":
        raise section.error("unit", f'must be "%" for metric {metric}, not {unit!r}')
    if field is not None and metric == "mean":
        if unit != FIELD_UNITS[field]:
            raise section.error("unit", f"must be {FIELD_UNITS[field]!r} for {field}, not {unit!r}")
        if limit is not None:
            require_edge(section, "limit", field, limit)
    section.finish()
    return Kpi(
        kpi_id, name_vi, name_en, metric, comparator, unit, field, threshold, limit, declared
    )


def _sampling(doc: Section) -> tuple[SamplingRules, EarlyWarning]:
    sampling = doc.section("sampling")
    min_samples = sampling.int("min_samples", min=1)
    spacing = sampling.float("min_spacing_s", min=0.0)
    if not is_edge(GAP_EDGES_S, spacing):
        raise sampling.error(
            "min_spacing_s", f"{spacing} is not an edge of the sample-gap histogram {GAP_EDGES_S}"
        )
    per_env_section = sampling.section("per_env")
    per_env = {
        env: per_env_section.int(env, min=0) for env in ENVIRONMENTS if env in per_env_section.data
    }
    per_env_section.finish()
    sampling.finish()

    early = doc.section("early_warning")
    early_min = early.int("min_samples", min=1)
    if early_min > min_samples:
        raise early.error(
            "min_samples", f"{early_min} exceeds the evidence minimum sampling.min_samples"
        )
    min_probe_days = early.int("min_probe_days", min=2)
    early.finish()
    rules = SamplingRules(min_samples, per_env, spacing)
    return rules, EarlyWarning(early_min, min_probe_days)


def load_standard(path: Path | str) -> Standard:
    """Parse and validate one quality standard file."""
    doc = Section(read_toml(path), path)
    doc.choice("kind", ("quality",))
    standard_id = doc.str("id")
    code = doc.str("code")
    title_vi, title_en = _names(doc, "title")
    source = doc.section("source")
    citation_vi, citation_en = _names(source, "citation")
    url = source.str("url", None)
    source.finish()
    technology = doc.str("technology")
    record_techs = doc.list("record_techs")
    if not record_techs:
        raise doc.error("record_techs", "must name at least one record technology")
    for tech in record_techs:
        if tech not in TECHNOLOGIES:
            raise doc.error(
                "record_techs", f"unknown technology {tech!r} ({', '.join(TECHNOLOGIES)})"
            )
    rules, early = _sampling(doc)

    raw_kpis = doc.list("kpi")
    if not raw_kpis:
        raise doc.error("kpi", "a standard needs at least one KPI")
    kpis: list[Kpi] = []
    for index, raw in enumerate(raw_kpis):
        if not isinstance(raw, dict):
            raise doc.error(f"kpi[{index}]", "must be a table")
        kpi = _kpi(Section(raw, path, f"kpi[{index}]"))
        if any(k.id == kpi.id for k in kpis):
            raise doc.error(f"kpi[{index}].id", f"duplicate KPI id {kpi.id!r}")
        kpis.append(kpi)
    doc.finish()
    return Standard(
        id=standard_id,
        code=code,
        title_vi=title_vi,
        title_en=title_en,
        citation_vi=citation_vi,
        citation_en=citation_en,
        url=url,
        technology=technology,
        record_techs=tuple(record_techs),
        kpis=tuple(kpis),
        sampling=rules,
        early_warning=early,
        path=str(path),
    )


def load_standards(directory: Path | str) -> dict[str, Standard]:
    """Every quality standard in ``directory``, by id.

    The coverage thresholds (``kind = "coverage"``) live alongside and are
    skipped; any other file must be a valid quality standard, so a standard
    with a mistyped ``kind`` fails loudly instead of vanishing.
    """
    standards: dict[str, Standard] = {}
    for path in sorted(Path(directory).glob("*.toml")):
        data: dict[str, Any] = read_toml(path)
        if data.get("kind") == "coverage":
            continue
        standard = load_standard(path)
        if standard.id in standards:
            raise ConfigError(
                path, "id", f"{standard.id!r} is also defined in {standards[standard.id].path}"
            )
        standards[standard.id] = standard
    return standards
