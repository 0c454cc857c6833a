"""Leaflet, Leaflet.markercluster and our map runtime, served so maps work with no internet.

folium links Leaflet, jQuery and Bootstrap from public CDNs; a page opened in
a village office, on an inspector's laptop or from an evidence bundle years
later cannot count on reaching them. The files in ``maps/static/`` are the
unmodified ``dist`` files of the npm packages ``leaflet@1.9.4`` and
``leaflet.markercluster@1.5.3`` (with their licences) and are either
inlined into the page (the default: one self-contained file, about 210 kB of
overhead) or linked under a base URL that the aggregator serves
(``STATIC_DIR`` mounted at e.g. ``/static/``). ``static/giamsat/`` holds our own
runtime (decoding hexagon layers, tooltips, legend) and styles.

Inlining Leaflet's CSS rewrites its ``url(images/...)`` references to data URIs
so the layer-control icon still shows when the page is opened as a file.
"""

from __future__ import annotations

import base64
import html
import re
from functools import cache
from pathlib import Path

STATIC_DIR = Path(__file__).parent / "static"

_SCRIPTS = (
    "leaflet/leaflet.js",
    "leaflet.markercluster/leaflet.markercluster.js",
    "giamsat/map.js",
)
_STYLES = ("leaflet/leaflet.css", "leaflet.markercluster/MarkerCluster.css", "giamsat/map.css")
_CSS_URL = re.compile(r"url\((images/[A-Za-z0-9_.-]+\.png)\)")


def _inline_css(relative: str) -> str:
    path = STATIC_DIR / relative

    def data_uri(match: re.Match[str]) -> str:
        png = (path.parent / match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(png).decode()})"

    return _CSS_URL.sub(data_uri, path.read_text(encoding="utf-8"))


def _script_safe(code: str) -> str:
    # A literal "</script" inside inline code would end the element early.
    return code.replace("</script", "<\\/script")


@cache
def _inline_head() -> str:
    styles = "".join(f"<style>\n{_inline_css(rel)}\n</style>\n" for rel in _STYLES)
    scripts = "".join(
        f"<script>\n{_script_safe((STATIC_DIR / rel).read_text(encoding='utf-8'))}\n</script>\n"
        for rel in _SCRIPTS
    )
    return styles + scripts


def head_html(base_url: str | None = None) -> str:
    """The ``<head>`` markup that loads Leaflet and markercluster.

    ``base_url=None`` inlines everything; otherwise files are linked as
    ``{base_url}/leaflet/leaflet.js`` etc., with ``STATIC_DIR`` served there.
    """
    if base_url is None:
        return _inline_head()
    base = html.escape(base_url.rstrip("/"), quote=True)
    links = "".join(f'<link rel="stylesheet" href="{base}/{rel}"/>\n' for rel in _STYLES)
    return links + "".join(f'<script src="{base}/{rel}"></script>\n' for rel in _SCRIPTS)
