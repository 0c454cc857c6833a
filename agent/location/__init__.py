"""Location sources: where the probe is when it measures.

Same plug-in shape as signal sources: one module per source, each with a
class exposing ``name`` and ``read()`` returning the record's ``loc`` section
(``lat``, ``lon``, ``acc_m``, ``src``, and ``env``: ``indoor``,
``outdoor_fixed`` or ``outdoor_mobile``, which the standards' sampling rules
count), or None when no fix could be had.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from giamsat.contract.config import Section


class LocationSource(Protocol):
    name: str

    def read(self) -> dict[str, Any] | None: ...


SOURCES: dict[str, str] = {
    "static": "giamsat.agent.location.static:StaticLocation",
    "termux": "giamsat.agent.location.termux:TermuxLocation",
    "gpsd": "giamsat.agent.location.gpsd:GpsdLocation",
}


def create(name: str, options: Section) -> LocationSource:
    """Instantiate the configured location source."""
    if name not in SOURCES:
        raise options.error("source", f"unknown location source {name!r} ({', '.join(SOURCES)})")
    module_name, class_name = SOURCES[name].split(":")
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(options)
