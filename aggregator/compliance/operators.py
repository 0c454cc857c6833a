"""The operators being checked: identity, where notices go, and what they declared.

QCVN 81 judges mean throughput against the speeds each operator itself
declared (Vd, Vu), so those figures are configuration, per operator and
technology, and a standard refers to them as ``limit = "declared:vd"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from giamsat.aggregator.compliance.standards import Kpi, Standard
from giamsat.aggregator.store.declarations import parse_speed
from giamsat.contract.config import ConfigError, Section, read_toml


@dataclass(frozen=True)
class Operator:
    name: str
    legal_name_vi: str
    legal_name_en: str
    mcc: int
    mnc: int
    head_office: str
    declared: dict[str, dict[str, float]]
    path: str

    def limit_for(self, standard: Standard, kpi: Kpi) -> float:
        """The KPI's limit for this operator: the standard's own, or the operator's declaration."""
        if kpi.declared is None:
            if kpi.limit is None:
                raise ValueError(f"{standard.id} KPI {kpi.id} has no limit")
            return kpi.limit
        key = f"operator.{self.name}.declared.{standard.technology}.{kpi.declared}"
        value = self.declared.get(standard.technology, {}).get(kpi.declared)
        if value is None:
            raise ConfigError(self.path, key, f"is required by {standard.id} KPI {kpi.id}")
        return value


def load_operators(path: Path | str) -> dict[str, Operator]:
    """Parse ``operators.toml``.

    Declared speeds are kept exactly as written, to 1 kbit/s (16, 2.5, 0.256):
    a mean is compared with the figure itself, so no value is refused for
    how the rollups bin throughput.
    """
    doc = Section(read_toml(path), path)
    entries = doc.list("operator")
    doc.finish()
    operators: dict[str, Operator] = {}
    networks: dict[tuple[int, int], str] = {}
    for index, raw in enumerate(entries):
        if not isinstance(raw, dict):
            raise doc.error(f"operator[{index}]", "must be a table")
        entry = Section(raw, path, f"operator[{index}]")
        name = entry.str("name")
        if name in operators:
            raise entry.error("name", f"duplicate operator {name!r}")
        mcc = entry.int("mcc", min=1, max=999)
        mnc = entry.int("mnc", min=0, max=999)
        if (mcc, mnc) in networks:
            raise entry.error("mnc", f"{mcc}-{mnc:02d} already belongs to {networks[mcc, mnc]}")
        networks[mcc, mnc] = name
        legal = entry.section("legal_name")
        legal_vi, legal_en = legal.str("vi"), legal.str("en")
        legal.finish()
        head_office = entry.str("head_office")
        declared_section = entry.section("declared")
        declared: dict[str, dict[str, float]] = {}
        for technology in list(declared_section.data):
            figures = declared_section.section(technology)
            declared[technology] = {}
            for figure in list(figures.data):
                figures.float(figure, min=0.0)  # a number, not a string
                try:
                    exact = parse_speed(figure, figures.data[figure])
                except ConfigError as exc:
                    raise figures.error(figure, exc.reason) from None
                declared[technology][figure] = float(exact)
            figures.finish()
        declared_section.finish()
        entry.finish()
        operators[name] = Operator(
            name, legal_vi, legal_en, mcc, mnc, head_office, declared, str(path)
        )
    if not operators:
        raise doc.error("operator", "no operators defined")
    return operators
