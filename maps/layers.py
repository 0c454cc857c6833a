"""folium elements that hand pre-encoded data to the runtime in ``static/giamsat/map.js``.

folium's own ``GeoJson`` computes styles per feature in Python and embeds a
style table keyed by feature id, and its marker classes emit several lines of
JavaScript per marker; both are too slow and too large for tens of thousands
of hexagons. These elements embed one compact JSON payload each and let the
browser build the Leaflet layers.

They also bypass a trap in branca: ``MacroElement.render`` wraps its rendered
script in ``Element(...)``, which compiles it as a Jinja template *again*, so
an operator or village named ``{{ 7*7 }}`` would be evaluated (and megabytes
of payload would be lexed for nothing). Every element here renders its
script verbatim through :class:`RawHtml`, including the layer control, whose
folium version embeds the layer names. Their ``render`` returns ``""``: like
branca's own ``MacroElement``, they add to the figure's script and put nothing
in place (branca discards what a macro element's ``render`` returns).
"""

from __future__ import annotations

import json
from typing import Any

from branca.element import Element, Figure, MacroElement
from folium.map import Layer


def script_json(value: Any) -> str:
    """JSON that is safe inside an inline ``<script>``: no ``<`` can close it."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")


class RawHtml(Element):
    """Markup inserted verbatim, never interpreted as a template."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "RawHtml"
        self.html = html

    def render(self, **kwargs: Any) -> str:
        return self.html


def figure_of(element: Element) -> Figure:
    """The figure (the HTML page) an element belongs to; a folium map's root is one."""
    figure = element.get_root()
    assert isinstance(figure, Figure), f"{element.get_name()} is not in a Figure"
    return figure


def _parent_of(element: Element) -> Element:
    parent = element._parent
    assert parent is not None, f"{element.get_name()} is not added to a map"
    return parent


def _add_script(element: Element, code: str) -> None:
    figure_of(element).script.add_child(RawHtml(code), name=element.get_name())


class Runtime(MacroElement):
    """Configures the runtime (labels, class styles) before any layer is built."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__()
        self._name = "GiamsatRuntime"
        self.config = script_json(config)

    def render(self, **kwargs: Any) -> str:
        _add_script(self, f"giamsat.configure({self.config});")
        return ""


class _DataLayer(Layer):
    """A layer listed in the layer control, built in the browser by the runtime call ``js``."""

    def __init__(self, name: str, js: str, *, overlay: bool, show: bool) -> None:
        super().__init__(name=name, overlay=overlay, control=True, show=show)
        self.js = js

    def render(self, **kwargs: Any) -> str:
        name = self.get_name()
        add = f"{name}.addTo({_parent_of(self).get_name()});" if self.show else ""
        _add_script(self, f"var {name} = {self.js};{add}")
        return ""


class HexLayer(_DataLayer):
    """All hexagons of one operator and technology, drawn as one ``L.geoJSON`` layer."""

    def __init__(self, name: str, payload: dict[str, Any], *, show: bool) -> None:
        js = f"giamsat.hexLayer({script_json(payload)})"
        super().__init__(name, js, overlay=False, show=show)
        self._name = "HexLayer"
        self.feature_count = len(payload["h"])


class MarkerLayer(_DataLayer):
    """Clustered probe or village markers (``kind`` is ``probe`` or ``village``)."""

    def __init__(self, name: str, kind: str, rows: list[list[Any]], *, show: bool) -> None:
        js = f"giamsat.markerLayer({script_json(rows)}, {script_json(kind)})"
        super().__init__(name, js, overlay=True, show=show)
        self._name = "MarkerLayer"
        self.kind = kind
        self.marker_count = len(rows)


class Legend(MacroElement):
    """The bilingual legend as a Leaflet control (so it is part of the map and its screenshots)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.html = script_json(html)

    def render(self, **kwargs: Any) -> str:
        _add_script(self, f"giamsat.legend({self.html}).addTo({_parent_of(self).get_name()});")
        return ""


class LayerControl(MacroElement):
    """Leaflet's layer switcher over the map's layers: radio for base, checkbox for overlays.

    Add it last, after every layer. Leaflet inserts the names as HTML, so
    callers pass names already escaped. The runtime's ``giamsat.controlAdded``
    hands the map and the control to what a page registered with
    ``giamsat.onControl`` (the web map adds its gaps overlay that way).
    """

    def __init__(self, position: str = "topright", collapsed: bool = False) -> None:
        super().__init__()
        self._name = "LayerControl"
        self.options = {"position": position, "collapsed": collapsed}

    def render(self, **kwargs: Any) -> str:
        base: list[str] = []
        overlays: list[str] = []
        parent = _parent_of(self)
        for item in parent._children.values():
            if isinstance(item, Layer) and item.control:
                entry = f"{script_json(item.layer_name)}: {item.get_name()}"
                (overlays if item.overlay else base).append(entry)
        # The runtime is told of the control, so a page can add overlays of its own to it.
        _add_script(
            self,
            f"giamsat.controlAdded({parent.get_name()}, "
            f"L.control.layers({{{', '.join(base)}}}, {{{', '.join(overlays)}}}, "
            f"{script_json(self.options)}).addTo({parent.get_name()}));",
        )
        return ""
