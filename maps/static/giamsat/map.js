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
    layer.giamsatTitle = d.title; // "operator · technology": what an overlay may follow
    return layer;
  }

  /* Pages add overlays of their own once the layer control exists (maps/layers.py). */
  var controlWaiting = [];

  function onControl(fn) {
    controlWaiting.push(fn);
  }

  function controlAdded(map, control) {
    controlWaiting.forEach(function (fn) {
      fn(map, control);
    });
    return control;
  }

  /* The hexagon layer on screen, as [operator, technology] from its title. */
  function baseOnScreen(map) {
    var found = null;
    map.eachLayer(function (l) {
      if (l.giamsatTitle) found = l.giamsatTitle;
    });
    return found;
  }

  function splitTitle(title) {
    var at = title.lastIndexOf(" · ");
    return at < 0 ? null : [title.slice(0, at), title.slice(at + 3)];
  }

  function gapTooltip(o, p) {
    var t = o.text;
    var share = ((100 * p.no_service) / p.samples).toFixed(1) + " % (" + p.no_service + "/" + p.samples + ")";
    return (
      '<div class="giamsat-tip"><b>' + esc(o.name) + "</b> · <code>" + esc(p.h3) + "</code><table>" +
      row(cfg.text.class, cfg.classLabels[p["class"]]) +
      row(t.operator, p.operator + " " + p.technology) +
      row(cfg.text.samples, p.samples) +
      row(cfg.text.no_service_share, share) +
      row(cfg.text.median_rsrp, p.rsrp_median_dbm === null ? cfg.text.not_available : p.rsrp_median_dbm.toFixed(1) + " dBm") +
      row(cfg.text.days, p.days + " (" + p.first_day + " – " + p.last_day + ")") +
      row(t.probes, p.probes) +
      row(t.province, p.province_name === null ? cfg.text.not_available : p.province_name) +
      row(t.zone, p.zone) +
      row(t.declaration, p.declaration_sha256.slice(0, 12)) +
      "</table></div>"
    );
  }

  /* "Declared covered, measured dead": the gap hexagons of the operator and technology on
   * screen, outlined above the coverage layer, fetched from o.url (GeoJSON) when shown and
   * again when another operator or technology is chosen. o: {name, url, params,
   * technologies: coverage technology -> declared one, text: {...}}. */
  function gapLayer(map, o) {
    var pane = map.getPane("giamsat-gaps") || map.createPane("giamsat-gaps");
    pane.style.zIndex = 450; // above the hexagons (overlayPane, 400), below markers and tips
    var group = L.featureGroup();
    var status = null;
    var asked = 0;

    function say(html) {
      var legend = document.querySelector(".giamsat-legend");
      if (!legend) return;
      if (!status) {
        status = L.DomUtil.create("p", "giamsat-gap-status", legend);
      }
      status.innerHTML = '<span class="giamsat-gap-swatch"></span>' + html;
    }

    function load(title) {
      if (!map.hasLayer(group)) return;
      title = title || baseOnScreen(map);
      var key = title && splitTitle(title);
      var tech = key && o.technologies[key[1]];
      group.clearLayers();
      if (!tech) {
        say(esc(o.name) + ": " + esc(o.text.no_technology));
        return;
      }
      var query = new URLSearchParams(o.params);
      query.set("operator", key[0]);
      query.set("technology", tech);
      query.set("format", "geojson");
      var mine = ++asked;
      say(esc(o.name) + ": …");
      fetch(o.url + "?" + query.toString(), { credentials: "same-origin" })
        .then(function (r) {
          if (!r.ok) throw new Error("HTTP " + r.status);
          return r.json();
        })
        .then(function (fc) {
          if (mine !== asked || !map.hasLayer(group)) return;
          var drawn = L.geoJSON(fc, {
            pane: "giamsat-gaps",
            style: function (f) {
              var weak = f.properties["class"] === "weak";
              return {
                color: weak ? "#7a3db8" : "#c2007a",
                weight: 3,
                opacity: 1,
                fill: true,
                fillOpacity: 0,
                dashArray: weak ? "6 4" : null,
                className: "giamsat-gap giamsat-gap-" + f.properties["class"],
              };
            },
          });
          drawn.bindTooltip(
            function (sub) {
              return gapTooltip(o, sub.feature.properties);
            },
            { sticky: true }
          );
          group.addLayer(drawn);
          var undeclared = fc.query && fc.query.undeclared.length;
          say(
            esc(o.name) + ": " +
            (undeclared ? esc(o.text.undeclared + " (" + key[0] + " " + tech + ")") : fc.features.length + " " + esc(o.text.hexagons))
          );
        })
        .catch(function (err) {
          if (mine === asked) say(esc(o.name) + ": " + esc(o.text.failed + " (" + err.message + ")"));
        });
    }

    map.on("baselayerchange", function (e) {
      load(e.layer.giamsatTitle);
    });
    group.on("add", function () {
      load(null);
    });
    group.on("remove", function () {
      asked++;
      group.clearLayers();
      if (status) {
        status.remove();
        status = null;
      }
    });
    return group;
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

  return {
    configure: configure,
    hexLayer: hexLayer,
    markerLayer: markerLayer,
    legend: legend,
    onControl: onControl,
    controlAdded: controlAdded,
    gapLayer: gapLayer,
  };
})();
