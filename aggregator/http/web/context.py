"""What the pages need from configuration, loaded once when the routes are registered.

Standards, operators and coverage thresholds are the same files the CLI and
the compliance engine read (``[compliance]`` in the aggregator config), so a
page can never judge by other rules than ``giamsat compliance``. A mistake in
them stops the server at start-up with the file and key named, rather than
on the first page view.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from giamsat.aggregator.compliance import (
    CoverageStandard,
    Operator,
    Standard,
    load_coverage,
    load_operators,
    load_standards,
)
from giamsat.aggregator.settings import Settings
from giamsat.contract.config import ConfigError, read_toml
from giamsat.maps.classify import CoverageStandard as MapStandard
from giamsat.maps.classify import SignalThresholds
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
        signal = {
            name: SignalThresholds(covered_dbm=rule.covered_dbm, dead_dbm=rule.dead_dbm)
            for name, rule in self.coverage.rules.items()
        }
        return MapStandard(signal=signal)


def find_coverage(directory: Path) -> Path:
    """The one ``kind = "coverage"`` file among the standards; none or two is an error."""
    found = [p for p in sorted(directory.glob("*.toml")) if read_toml(p).get("kind") == "coverage"]
    if len(found) != 1:
        names = ", ".join(p.name for p in found) or "none"
        raise ConfigError(directory, "kind", f'need exactly one "coverage" file, found {names}')
    return found[0]


def load_context(settings: Settings, tiles: TileSource | None, pseudonym_key: bytes) -> WebContext:
    compliance = settings.compliance
    return WebContext(
        standards=load_standards(compliance.standards_dir),
        operators=load_operators(compliance.operators_file),
        coverage=load_coverage(find_coverage(Path(compliance.standards_dir))),
        tiles=tiles,
        pseudonym_key=pseudonym_key,
    )
