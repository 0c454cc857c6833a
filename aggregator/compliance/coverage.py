"""Coverage thresholds: when a place counts as covered, weak or dead, per technology.

Unlike the QCVN files these are not pass/fail limits but the classes the
dead-zone maps draw. They live in ``config/standards/coverage.toml`` (``kind =
"coverage"``) so the regulator can change them, and they are read off the RSRP
histogram of rollups, so each threshold must be one of its edges.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from giamsat.aggregator.aggregates.histogram import RSRP_EDGES_DBM, count_at_least, count_below
from giamsat.aggregator.aggregates.rollup import Rollup
from giamsat.aggregator.aggregates.samples import NO_TECH
from giamsat.aggregator.compliance.standards import require_edge
from giamsat.contract.config import Section, read_toml
from giamsat.contract.schema import TECHNOLOGIES

COVERED, WEAK, DEAD = "covered", "weak", "dead"


@dataclass(frozen=True)
class CoverageRule:
    """Covered at ``rsrp >= covered_dbm``; dead with no service or ``rsrp < dead_dbm``."""

    technology: str
    record_techs: tuple[str, ...]
    covered_dbm: float
    dead_dbm: float
    source: str

    def classify(self, service: bool, rsrp_dbm: float | None) -> str | None:
        """Class of one sample; None when it has service but no RSRP (nothing to say)."""
        if not service:
            return DEAD
        if rsrp_dbm is None:
            return None
        if rsrp_dbm >= self.covered_dbm:
            return COVERED
        return DEAD if rsrp_dbm < self.dead_dbm else WEAK


@dataclass(frozen=True)
class CoverageCounts:
    covered: int
    weak: int
    dead: int

    @property
    def total(self) -> int:
        return self.covered + self.weak + self.dead


@dataclass(frozen=True)
class CoverageStandard:
    id: str
    title_vi: str
    title_en: str
    rules: dict[str, CoverageRule]
    path: str


def load_coverage(path: Path | str) -> CoverageStandard:
    doc = Section(read_toml(path), path)
    doc.choice("kind", ("coverage",))
    coverage_id = doc.str("id")
    title = doc.section("title")
    title_vi, title_en = title.str("vi"), title.str("en")
    title.finish()
    rules: dict[str, CoverageRule] = {}
    for index, raw in enumerate(doc.list("technology")):
        if not isinstance(raw, dict):
            raise doc.error(f"technology[{index}]", "must be a table")
        entry = Section(raw, path, f"technology[{index}]")
        name = entry.str("name")
        if name in rules:
            raise entry.error("name", f"duplicate technology {name!r}")
        techs = entry.list("record_techs")
        unknown = [t for t in techs if t not in TECHNOLOGIES]
        if not techs or unknown:
            raise entry.error("record_techs", f"must list record technologies from {TECHNOLOGIES}")
        covered = entry.float("covered_dbm")
        dead = entry.float("dead_dbm")
        require_edge(entry, "covered_dbm", "rsrp_dbm", covered)
        require_edge(entry, "dead_dbm", "rsrp_dbm", dead)
        if dead > covered:
            raise entry.error("dead_dbm", f"{dead} dBm is above covered_dbm {covered} dBm")
        source = entry.str("source")
        entry.finish()
        rules[name] = CoverageRule(name, tuple(techs), covered, dead, source)
    doc.finish()
    if not rules:
        raise doc.error("technology", "no technologies defined")
    return CoverageStandard(coverage_id, title_vi, title_en, rules, str(path))


def coverage_counts(rule: CoverageRule, rows: Iterable[Rollup]) -> CoverageCounts:
    """Covered / weak / dead sample counts of ``rows`` for one technology layer.

    No-service samples without a technology count as dead on every layer: the
    probe could not reach any network, which is the dead zone the maps show.
    """
    covered = weak = dead = 0
    for row in rows:
        if row.tech == NO_TECH:
            dead += row.no_service
            continue
        if row.tech not in rule.record_techs:
            continue
        hist = row.rsrp_dbm.hist
        good = count_at_least(hist, RSRP_EDGES_DBM, rule.covered_dbm)
        bad = count_below(hist, RSRP_EDGES_DBM, rule.dead_dbm)
        covered += good
        dead += bad + row.no_service
        weak += row.rsrp_dbm.n - good - bad
    return CoverageCounts(covered, weak, dead)
