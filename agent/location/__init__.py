"""Location sources: where the probe is when it measures.

Same plug-in shape as signal sources: one module per source, whose class,
built from the ``[location]`` config section and registered with
``@plugins.register("location", NAME)``, has a ``read()`` returning the
record's ``loc`` section (``lat``, ``lon``, ``acc_m``, ``src``, and ``env``:
``indoor``, ``outdoor_fixed`` or ``outdoor_mobile``, which the standards'
sampling rules count), or None when no fix could be had.
"""

from __future__ import annotations

from typing import Any, Protocol

from giamsat.agent import plugins
from giamsat.contract.config import Section


class LocationSource(Protocol):
    def read(self) -> dict[str, Any] | None: ...


def create(name: str, options: Section) -> LocationSource:
    """Instantiate the configured location source."""
    return plugins.create("location", name, options, "source")
