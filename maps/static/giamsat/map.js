/* giamsat coverage map runtime (used by maps/render.py; no dependencies beyond Leaflet
 * and Leaflet.markercluster).
 *
 * Hexagon layers arrive column-wise with integer-quantised, delta-encoded rings
 * (about a third of the size of plain GeoJSON, which keeps a 50,000-hexagon map
 * under 10 MB); they are decoded here into one GeoJSON FeatureCollection per
 * operator and technology and drawn as ONE L.geoJSON layer each. */
window.giamsat = (function () {
  "use strict";
  var cfg = null;

  function esc(value) {
    return String(value).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }

  function row(label, value) {
    return "<tr><th>" + esc(label) + "</th><td>" + esc(value) + "</td></tr>";
  }

  function configure(config) {
    cfg = config;
  }

  function hexTooltip(title, p) {
    var na = cfg.text.not_available;
    var share = p.n ? ((100 * p.n_no_service) / p.n).toFixed(1) + " % (" + p.n_no_service + "/" + p.n + ")" : na;
    return (
      '<div class="giamsat-tip"><b>' + esc(title) + "</b> · <code>" + esc(p.h3) + "</code><table>" +
      row(cfg.text.class, cfg.classLabels[p.cls]) +
      row(cfg.text.samples, p.n) +
      row(cfg.text.median_rsrp, p.rsrp_median_dbm === null ? na : p.rsrp_median_dbm.toFixed(1) + " dBm") +
      row(cfg.text.median_download, p.dl_median_mbps === null ? na : p.dl_median_mbps.toFixed(2) + " Mbit/s") +
      row(cfg.text.no_service_share, share) +
      row(cfg.text.days, p.days) +
      row(cfg.text.period, p.period) +
      "</table></div>"
    );
  }

  function hexLayer(d) {
    var count = d.h.length;
    var features = new Array(count);
    for (var i = 0; i < count; i++) {
      var g = d.g[i];
      var x = g[0];
      var y = g[1];
      var ring = [[x / d.q, y / d.q]];
      for (var k = 2; k < g.length; k += 2) {
        x += g[k];
        y += g[k + 1];
        ring.push([x / d.q, y / d.q]);
      }
      ring.push(ring[0]);
      features[i] = {
        type: "Feature",
        geometry: { type: "Polygon", coordinates: [ring] },
        properties: {
          h3: d.h[i],
          cls: cfg.classes[d.c[i]],
          n: d.n[i],
          n_no_service: d.x[i],
          days: d.dy[i],
          rsrp_median_dbm: d.r[i] === null ? null : d.r[i] / 10,
          dl_median_mbps: d.d[i] === null ? null : d.d[i] / 100,
          period: d.periods[d.p[i]],
        },
      };
    }
    var layer = L.geoJSON(
      { type: "FeatureCollection", features: features },
      {
        style: function (f) {
          return cfg.styles[f.properties.cls];
        },
      }
    );
    layer.bindTooltip(
      function (sub) {
        return hexTooltip(d.title, sub.feature.properties);
      },
      { sticky: true }
    );
    return layer;
  }

  /* A cluster of probes that hides a silent one says so (ringed), or nobody would notice. */
  function clusterIcon(kind) {
    return function (cluster) {
      var silent = cluster.getAllChildMarkers().some(function (m) {
        return m.options.status === "silent";
      });
      return L.divIcon({
        html: "<span>" + cluster.getChildCount() + "</span>",
        className: "giamsat-cluster giamsat-cluster-" + kind + (silent ? " giamsat-cluster-silent" : ""),
        iconSize: [30, 30],
      });
    };
  }

  function probeTooltip(r) {
    return (
      '<div class="giamsat-tip"><b>' + esc(r[2]) + "</b><table>" +
      row(cfg.text.village, r[3]) +
      row(cfg.text.status, cfg.statusLabels[r[5]]) +
      row(cfg.text.last_seen, r[4] === null ? cfg.text.never_seen : r[4]) +
      "</table></div>"
    );
  }

  /* rows: probes [lat, lon, id, village, last seen text or null, status];
   * villages [lat, lon, name]. */
  function markerLayer(rows, kind) {
    var cluster = L.markerClusterGroup({
      showCoverageOnHover: false,
      maxClusterRadius: 40,
      iconCreateFunction: clusterIcon(kind),
    });
    var markers = rows.map(function (r) {
      var css = "giamsat-marker giamsat-" + kind + (kind === "probe" ? " giamsat-probe-" + r[5] : "");
      var marker = L.marker([r[0], r[1]], {
        icon: L.divIcon({ className: css, iconSize: [14, 14] }),
        zIndexOffset: kind === "probe" ? 1000 : 0, // a probe sits in its village: keep it on top
        status: kind === "probe" ? r[5] : null,
      });
      marker.bindTooltip(kind === "probe" ? probeTooltip(r) : '<div class="giamsat-tip"><b>' + esc(r[2]) + "</b></div>");
      return marker;
    });
    cluster.addLayers(markers);
    return cluster;
  }

  function legend(html) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var div = L.DomUtil.create("div", "giamsat-legend leaflet-control");
      div.innerHTML = html;
      L.DomEvent.disableClickPropagation(div);
      L.DomEvent.disableScrollPropagation(div);
      return div;
    };
    return control;
  }

  return { configure: configure, hexLayer: hexLayer, markerLayer: markerLayer, legend: legend };
})();
