"""Quality standards as data: one TOML file per standard, checked when loaded.

A standard names its KPIs, how each is computed (``metric``), the comparator,
the limit and the sampling rules that make measurements evidence. Everything
an inspector might dispute is in the file, cited, and validated here so that a
mistake in it stops the aggregator at start-up with the file and key named
(:class:`giamsat.contract.config.ConfigError`) rather than producing wrong verdicts.

Metrics (every one is a ratio of sums over samples, which is what makes
rollups and clusters work):

``mean``                   mean of ``field`` over samples that measured it
``share_at_least``         % of samples with ``field >= threshold``
``access_failure_ratio``   % of access attempts that failed
``radio_availability``     % of samples with RSRP (SS-RSRP for NR) ``>= threshold``;
                           a no-service sample, and a sample of the standard's
                           technology whose level was not read, count as below it
``dropped_transfer_ratio`` % of started data transfers (download or upload)
                           that did not complete (QCVN §2.1.4)

Three things the regulations leave open are data here too:

* **Sampling per KPI.** ``[sampling]`` holds the standard's rules; a KPI may
  carry its own ``[kpi.sampling]``, whose keys replace the standard's
  (``per_env`` as a whole) and which may add an ``hours`` rule: how the
  samples of some environments must be spread over the local hours of the
  day (:class:`HourSpread`).
* **What is not confirmed.** A KPI whose definition, threshold or limit has
  not been read from the official text says so: ``unconfirmed = "why"`` (or
  a table ``unconfirmed = { threshold = "why", limit = "why" }``). Every
  verdict of it carries the note, and reports, pages and notices show it.
* **Versions.** The KPIs at the top level are the text as issued (named by
  ``version``, in force from ``effective_from`` when given). Each
  ``[[amendment]]`` makes a new version, in force from its own
  ``effective_from``: ``[[amendment.kpi]]`` tables replace the keys they name
  in the KPI of that id (or add a KPI with a new id), ``remove_kpis`` drops
  KPIs, and its ``id`` names the version. A verdict is
  judged by the version in force for its whole period and names it
  (:meth:`Standard.for_period`); a period that two versions share is refused
  (:class:`VersionSpanError`), because either version would judge some of
  its days by limits not in force on them.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from datetime import date, timedelta
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

METRICS: tuple[str, ...] = (
    "mean",
    "share_at_least",
    "access_failure_ratio",
    "radio_availability",
    "dropped_transfer_ratio",
)
SHARE_METRICS: tuple[str, ...] = (
    "share_at_least",
    "access_failure_ratio",
    "radio_availability",
    "dropped_transfer_ratio",
)
# The parts of a KPI an ``unconfirmed`` table may name.
UNCONFIRMED_PARTS: tuple[str, ...] = ("definition", "threshold", "limit", "sampling")
HOURS_PER_DAY = 24
# The name of the text as issued when the file does not give one.
AS_ISSUED = "as issued"
COMPARATORS: tuple[str, ...] = (">=", "<=")
# Operators declare speeds (Vd, Vu); operators.py checks them against these fields' edges.
DECLARABLE_FIELDS: tuple[str, ...] = ("dl_mbps", "ul_mbps")
_DECLARED = re.compile(r"^declared:([a-z][a-z0-9_]*)$")
# Thresholds an operator declares per service area, counted exactly (see Kpi).
DECLARED_THRESHOLDS = ("vdmin",)


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


class VersionSpanError(ValueError):
    """A period that no single version of a standard covers."""


@dataclass(frozen=True)
class HourSpread:
    """How the samples of ``envs`` must be spread over the local (UTC+7) hours of the day.

    QCVN 81 wants its radio-availability samples taken "at different hours of
    the day" without saying how different. giamsat reads it as two checks on
    the samples of the named environments (all of them when ``envs`` is
    empty), counted per hour of the local day: no hour holds more than
    ``max_share_pct`` % of them, and at least ``min_hours`` hours hold some. A
    fleet that measures only in office hours, or mostly at night, fails it.
    """

    envs: tuple[str, ...] = ()
    max_share_pct: float | None = None
    min_hours: int | None = None


@dataclass(frozen=True)
class SamplingRules:
    """Rules for measurements to count as evidence: the standard's, or one KPI's own."""

    min_samples: int
    per_env: dict[str, int]
    min_spacing_s: float
    hours: HourSpread | None = None


@dataclass(frozen=True)
class Kpi:
    """One quality indicator. ``limit`` is None when it comes from the operator (``declared``).

    ``sampling`` is the KPI's own sampling rules (the standard's keys it does
    not replace included), None when the standard's apply. ``unconfirmed``
    says what of it has not been confirmed from the official text, and why;
    None when all of it has.
    """

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
    sampling: SamplingRules | None = None
    unconfirmed: str | None = None
    # A share's threshold the operator declares per service area ("vdmin": QCVN 81
    # §2.1.5), counted exactly per sample (Rollup.dl_vdmin_met) instead of ``threshold``.
    declared_threshold: str | None = None

    @property
    def is_share(self) -> bool:
        return self.metric in SHARE_METRICS


@dataclass(frozen=True)
class EarlyWarning:
    """Lower minimums below which the engine says nothing (INSUFFICIENT_DATA)."""

    min_samples: int
    min_probe_days: int


@dataclass(frozen=True)
class Version:
    """The KPIs of a standard as they stand from ``effective_from`` until the next version.

    ``id`` is the file's ``version`` for the text as issued, an amendment's
    ``id`` after it. ``effective_from`` is None for the text as issued when
    the file does not say when it came into force (then it applies to any
    period before the first amendment).
    """

    id: str
    effective_from: date | None
    kpis: tuple[Kpi, ...]
    citation_vi: str | None = None
    citation_en: str | None = None


@dataclass(frozen=True)
class Standard:
    """A quality standard; ``kpis`` and ``version`` are those of one version.

    As loaded, that is the text as issued; :meth:`for_period` gives the
    standard as in force for a period, which is what every verdict uses.
    """

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
    version: str = AS_ISSUED
    effective_from: date | None = None
    versions: tuple[Version, ...] = ()

    def kpi(self, kpi_id: str) -> Kpi:
        for kpi in self.kpis:
            if kpi.id == kpi_id:
                return kpi
        raise KeyError(f"{self.id} has no KPI {kpi_id!r}")

    def rules_for(self, kpi: Kpi) -> SamplingRules:
        """The sampling rules ``kpi``'s samples are graded by: its own, else the standard's."""
        return kpi.sampling or self.sampling

    def version_in_force(self, start: date, end: date) -> Version:
        """The one version in force on every day from ``start`` to ``end``.

        Raises :class:`VersionSpanError` when the period begins before the
        standard came into force or an amendment takes effect inside it:
        judging some of its days by limits not in force on them would be a
        finding the operator could rightly dispute. Split the period at the
        amendment's date instead.
        """
        versions = self.versions or (Version(self.version, self.effective_from, self.kpis),)
        first = versions[0].effective_from
        if first is not None and start < first:
            raise VersionSpanError(
                f"{self.code}: the period {start}..{end} begins before the standard came into"
                f" force on {first} ({self.path})"
            )
        current = versions[0]
        for version in versions[1:]:
            assert version.effective_from is not None  # only the first may lack a date
            if version.effective_from <= start:
                current = version
            elif version.effective_from <= end:
                before = version.effective_from - timedelta(days=1)
                raise VersionSpanError(
                    f"{self.code}: the period {start}..{end} spans two versions: {current.id!r}"
                    f" until {before}, then {version.id!r} from {version.effective_from};"
                    f" judge {start}..{before} and {version.effective_from}..{end} separately"
                    f" ({self.path})"
                )
        return current

    def for_period(self, start: date, end: date) -> Standard:
        """This standard with the KPIs of the version in force from ``start`` to ``end``.

        When that is the version this standard already holds, it is returned as
        it is, so a standard whose KPIs were replaced (``dataclasses.replace``,
        as tests and tools narrow one down) keeps them.
        """
        version = self.version_in_force(start, end)
        if version.id == self.version:
            return self
        return replace(
            self, kpis=version.kpis, version=version.id, effective_from=version.effective_from
        )


def _names(section: Section, key: str) -> tuple[str, str]:
    names = section.section(key)
    vi, en = names.str("vi"), names.str("en")
    names.finish()
    return vi, en


def _unconfirmed(section: Section) -> str | None:
    """The KPI's ``unconfirmed`` note: a string, a table of notes per part, or false."""
    value = section.data.get("unconfirmed")
    if value is None or value is False:
        section.bool("unconfirmed", False)
        return None
    if value is True:
        raise section.error("unconfirmed", "give the reason (a note), or false when confirmed")
    if isinstance(value, str):
        note = section.str("unconfirmed").strip()
        if not note:
            raise section.error("unconfirmed", "give the reason (or false when confirmed)")
        return str(note)
    if isinstance(value, dict):
        parts = section.section("unconfirmed")
        notes = []
        for part in UNCONFIRMED_PARTS:
            if part in parts.data:
                note = parts.str(part).strip()
                if not note:
                    raise parts.error(part, "give the reason")
                notes.append(f"{part}: {note}")
        parts.finish()
        if not notes:
            raise section.error(
                "unconfirmed", f"name at least one of {', '.join(UNCONFIRMED_PARTS)}"
            )
        return "; ".join(notes)
    raise section.error("unconfirmed", "must be a note (string), a table of notes, or false")


def _hours(section: Section) -> HourSpread:
    """A KPI's ``[kpi.sampling.hours]`` rule."""
    envs = section.list("envs", [])
    for env in envs:
        if env not in ENVIRONMENTS:
            raise section.error("envs", f"unknown environment {env!r} ({', '.join(ENVIRONMENTS)})")
    max_share = section.float("max_share_pct", None, min=100.0 / HOURS_PER_DAY, max=100.0)
    min_hours = section.int("min_hours", None, min=1, max=HOURS_PER_DAY)
    if max_share is None and min_hours is None:
        raise section.error("max_share_pct", "an hours rule needs max_share_pct or min_hours")
    section.finish()
    return HourSpread(tuple(envs), max_share, min_hours)


def _rules(section: Section, base: SamplingRules | None) -> SamplingRules:
    """A sampling table; keys it omits are ``base``'s (the standard's, for a KPI's own)."""
    if base is None:
        min_samples = section.int("min_samples", min=1)
        spacing = section.float("min_spacing_s", min=0.0)
    else:
        min_samples = section.int("min_samples", base.min_samples, min=1)
        spacing = section.float("min_spacing_s", base.min_spacing_s, min=0.0)
    if not is_edge(GAP_EDGES_S, spacing):
        raise section.error(
            "min_spacing_s", f"{spacing} is not an edge of the sample-gap histogram {GAP_EDGES_S}"
        )
    if "per_env" in section.data or base is None:
        per_env_section = section.section("per_env")
        per_env = {
            env: per_env_section.int(env, min=0)
            for env in ENVIRONMENTS
            if env in per_env_section.data
        }
        per_env_section.finish()
    else:
        per_env = dict(base.per_env)
    hours = None
    if "hours" in section.data:
        if base is None:
            raise section.error("hours", "an hours rule belongs to a KPI ([kpi.sampling.hours])")
        hours = _hours(section.section("hours"))
    section.finish()
    return SamplingRules(min_samples, per_env, spacing, hours)


def _kpi(section: Section, standard_rules: SamplingRules) -> Kpi:
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
    declared_threshold: str | None = None
    if metric == "share_at_least" and isinstance(section.data.get("threshold"), str):
        match = _DECLARED.match(section.str("threshold"))
        if match is None or match.group(1) not in DECLARED_THRESHOLDS or field != "dl_mbps":
            raise section.error("threshold", 'a declared threshold is "declared:vdmin", of dl_mbps')
        declared_threshold = match.group(1)
    elif metric in ("share_at_least", "radio_availability"):
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
    sampling = None
    if "sampling" in section.data:
        sampling = _rules(section.section("sampling"), standard_rules)
    unconfirmed = _unconfirmed(section)
    section.finish()
    return Kpi(
        kpi_id, name_vi, name_en, metric, comparator, unit, field, threshold, limit, declared,
        sampling, unconfirmed, declared_threshold,
    )  # fmt: skip


def _sampling(doc: Section) -> tuple[SamplingRules, EarlyWarning]:
    rules = _rules(doc.section("sampling"), None)
    early = doc.section("early_warning")
    early_min = early.int("min_samples", min=1)
    if early_min > rules.min_samples:
        raise early.error(
            "min_samples", f"{early_min} exceeds the evidence minimum sampling.min_samples"
        )
    min_probe_days = early.int("min_probe_days", min=2)
    early.finish()
    return rules, EarlyWarning(early_min, min_probe_days)


def _kpi_tables(doc: Section, key: str, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    """The tables of the array ``key`` with their names for errors (``kpi[2]``)."""
    found = []
    for index, raw in enumerate(doc.list(key, [])):
        if not isinstance(raw, dict):
            raise doc.error(f"{key}[{index}]", "must be a table")
        found.append((f"{prefix}{key}[{index}]", raw))
    return found


def _kpis(
    tables: list[tuple[str, dict[str, Any]]], path: Path | str, rules: SamplingRules
) -> tuple[Kpi, ...]:
    kpis: list[Kpi] = []
    for name, raw in tables:
        kpi = _kpi(Section(raw, path, name), rules)
        if any(k.id == kpi.id for k in kpis):
            raise ConfigError(path, f"{name}.id", f"duplicate KPI id {kpi.id!r}")
        kpis.append(kpi)
    return tuple(kpis)


def _versions(
    doc: Section,
    path: Path | str,
    base: Version,
    base_tables: list[tuple[str, dict[str, Any]]],
    rules: SamplingRules,
) -> tuple[Version, ...]:
    """The text as issued, then each ``[[amendment]]`` applied on top of the version before it."""
    versions = [base]
    tables = base_tables
    for v_name, raw in _kpi_tables(doc, "amendment", ""):
        section = Section(raw, path, v_name)
        version_id = section.str("id").strip()
        if not version_id:
            raise section.error("id", "must name the version (e.g. the amending circular)")
        if any(v.id == version_id for v in versions):
            raise section.error("id", f"duplicate version {version_id!r}")
        effective: date = section.date("effective_from")
        previous = versions[-1].effective_from
        if previous is not None and effective <= previous:
            raise section.error(
                "effective_from",
                f"{effective} is not after the previous version's {previous}"
                " (list amendments in the order they took effect)",
            )
        citation_vi = citation_en = None
        if "citation" in section.data:
            citation_vi, citation_en = _names(section, "citation")
        removed = section.list("remove_kpis", [])
        ids = [str(t.get("id")) for _, t in tables]
        for kpi_id in removed:
            if kpi_id not in ids:
                raise section.error("remove_kpis", f"no KPI {kpi_id!r} to remove")
        merged = [(n, t) for n, t in tables if t.get("id") not in removed]
        for o_name, override in _kpi_tables(section, "kpi", f"{v_name}."):
            kpi_id = override.get("id")
            at = next((i for i, (_, t) in enumerate(merged) if t.get("id") == kpi_id), None)
            if at is None:
                merged.append((o_name, override))
            else:
                merged[at] = (o_name, {**copy.deepcopy(merged[at][1]), **override})
        section.finish()
        kpis = _kpis(merged, path, rules)
        if not kpis:
            raise section.error("remove_kpis", "a version needs at least one KPI")
        versions.append(Version(version_id, effective, kpis, citation_vi, citation_en))
        tables = merged
    return tuple(versions)


def load_standard(path: Path | str) -> Standard:
    """Parse and validate one quality standard file, with every version it holds."""
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
    version_name = doc.str("version", AS_ISSUED).strip() or AS_ISSUED
    effective_from: date | None = doc.date("effective_from", None)

    tables = _kpi_tables(doc, "kpi", "")
    if not tables:
        raise doc.error("kpi", "a standard needs at least one KPI")
    kpis = _kpis(tables, path, rules)
    base = Version(version_name, effective_from, kpis)
    versions = _versions(doc, path, base, tables, rules)
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
        kpis=kpis,
        sampling=rules,
        early_warning=early,
        path=str(path),
        version=version_name,
        effective_from=effective_from,
        versions=versions,
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
