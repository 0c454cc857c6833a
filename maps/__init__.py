"""Coverage and dead-zone maps: pure functions from aggregates to HTML, GeoJSON and CSV.

- :mod:`giamsat.maps.stats` — the inputs (``HexStats``, ``Probe``, ``Village``)
- :mod:`giamsat.maps.classify` — coverage classes against a ``CoverageStandard``
- :mod:`giamsat.maps.hexes` — H3 geometry in GeoJSON order, coarsening
- :mod:`giamsat.maps.render` — the folium/Leaflet HTML map (works offline)
- :mod:`giamsat.maps.export` — dead-zone list as GeoJSON and CSV
- :mod:`giamsat.maps.opendata` — monthly per-hexagon open data
- :mod:`giamsat.maps.snapshot` — PNG of a map with headless Chromium
"""
