"""What the pages need from configuration, loaded once when the routes are registered.

Standards, operators and coverage thresholds are the same files the CLI and
the compliance engine read (``[compliance]`` in the aggregator config), so a
page can never judge by other rules than ``giamsat compliance``. A mistake in
them stops the server at start-up with the file and key named, rather than
on the first page view.
"""

from __future__ import annotations

from dataclasses import dataclass

from giamsat.aggregator.compliance import (
    CoverageStandard,
    Operator,
    Standard,
    gaps,
    load_operators,
    load_standards,
)
from giamsat.aggregator.settings import Settings
from giamsat.maps.classify import CoverageStandard as MapStandard
from giamsat.maps.render import TileSource


@dataclass(frozen=True)
class WebContext:
    standards: dict[str, Standard]
    operators: dict[str, Operator]
    coverage: CoverageStandard
    tiles: TileSource | None
    pseudonym_key: bytes

    @property
    def families(self) -> dict[str, tuple[str, ...]]:
        """Coverage technology (``LTE``, ``NR``) -> the record technologies it covers."""
        return {name: rule.record_techs for name, rule in self.coverage.rules.items()}

    @property
    def tech_family(self) -> dict[str, str]:
        """Record technology -> its coverage technology."""
        return {tech: name for name, techs in self.families.items() for tech in techs}

    def map_standard(self) -> MapStandard:
        """The maps package's classification rules with the configured RSRP thresholds."""
        return gaps.map_standard(self.coverage)


def load_context(settings: Settings, tiles: TileSource | None, pseudonym_key: bytes) -> WebContext:
    compliance = settings.compliance
    return WebContext(
        standards=load_standards(compliance.standards_dir),
        operators=load_operators(compliance.operators_file),
        coverage=gaps.coverage_in(compliance.standards_dir),
        tiles=tiles,
        pseudonym_key=pseudonym_key,
    )
