"""Coverage and dead-zone maps: pure functions from aggregates to HTML, GeoJSON and CSV.

- :mod:`maps.stats` — the inputs (``HexStats``, ``Probe``, ``Village``)
- :mod:`maps.classify` — coverage classes against a ``CoverageStandard``
- :mod:`maps.hexes` — H3 geometry in GeoJSON order, coarsening
- :mod:`maps.render` — the folium/Leaflet HTML map (works offline)
- :mod:`maps.export` — dead-zone list as GeoJSON and CSV
- :mod:`maps.opendata` — monthly per-hexagon open data
- :mod:`maps.snapshot` — PNG of a map with headless Chromium
"""
