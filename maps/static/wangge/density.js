/*
 * Wangge case-density map: decodes the compact unit geometries written by maps/density.py,
 * builds the choropleth, boundary and open-case layers, the title and the legend, and keeps
 * every map's layers in window.wangge.maps for other scripts (and tests).
 *
 * The page's state, for scripts and tests (wangge.track, used by every map page): the map's
 * container gets data-ready="true" once every layer on the map is drawn, and the registry's
 * entry.settled() says whether the map is ready and still (no pan, zoom, popup or cluster
 * animation under way), i.e. whether what is on the screen stays where it is.
 *
 * Text from the data is always set with textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var L = global.L;
  var wangge = (global.wangge = global.wangge || {});
  wangge.maps = wangge.maps || {};

  // -- geometry decoding (see maps.encoding.encode_geometries) -------------------------------

  // digits of the encoding: base64url, 0-31 end a number, 32-63 continue it
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  var DIGIT = new Int8Array(128);
  for (var d = 0; d < ALPHABET.length; d++) DIGIT[ALPHABET.charCodeAt(d)] = d;

  function decodeRing(text, originX, originY, step) {
    var points = [];
    var i = 0;
    var n = text.length;
    var x = originX;
    var y = originY;
    var pair = [0, 0];
    while (i < n) {
      for (var k = 0; k < 2; k++) {
        var shift = 0;
        var result = 0;
        var chunk;
        do {
          chunk = DIGIT[text.charCodeAt(i++)];
          result += (chunk & 31) * Math.pow(2, shift);
          shift += 5;
        } while (chunk >= 32);
        // zigzag: even is positive, odd is negative
        pair[k] = result % 2 ? -(result + 1) / 2 : result / 2;
      }
      x += pair[0];
      y += pair[1];
      points.push([y * step, x * step]);
    }
    return points;
  }

  /* Decode the unit payload: adds `latlngs` (one Leaflet multipolygon array per unit). */
  wangge.decodeUnits = function (data) {
    var geometries = data.geometry.split("!");
    var ox = data.origin[0];
    var oy = data.origin[1];
    var latlngs = [];
    for (var u = 0; u < data.code.length; u++) {
      var text = geometries[u] || "";
      var polygons = [];
      if (text) {
        var parts = text.split(":");
        for (var p = 0; p < parts.length; p++) {
          var rings = parts[p].split(";");
          var polygon = [];
          for (var r = 0; r < rings.length; r++) {
            polygon.push(decodeRing(rings[r], ox, oy, data.step));
          }
          polygons.push(polygon);
        }
      }
      latlngs.push(polygons);
    }
    data.latlngs = latlngs;
    return data;
  };

  // -- small DOM helpers ---------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function row(table, label, value) {
    var tr = el("tr");
    tr.appendChild(el("th", null, label));
    tr.appendChild(el("td", null, value));
    table.appendChild(tr);
  }

  function swatch(color, className) {
    var s = el("span", className || "wg-swatch");
    s.style.background = color;
    return s;
  }

  function number(n) {
    return Number(n).toLocaleString(wangge.locale || "zh-CN");
  }

  // -- language (see maps/i18n.py: the table of labels) --------------------------------------

  /* The page's language: {lang: "zh"|"en", locale, labels}; sent before any layer. */
  wangge.setLanguage = function (language) {
    wangge.lang = language.lang;
    wangge.locale = language.locale;
    wangge.labels = language.labels;
    return language;
  };

  /* A label of the page's language with its {name} places filled from `values`. */
  wangge.t = function (key, values) {
    var text = (wangge.labels && wangge.labels[key]) || key;
    for (var name in values || {}) {
      text = text.split("{" + name + "}").join(String(values[name]));
    }
    return text;
  };
  var t = wangge.t;

  // -- base tiles in GCJ-02 (see geo/crs.py: the same formula) -------------------------------

  var GCJ_A = 6378245.0;
  var GCJ_EE = 0.00669342162296594323;

  function outOfChina(lon, lat) {
    return lon < 72.004 || lon > 137.8347 || lat < 0.8293 || lat > 55.8271;
  }

  /* WGS84 [lon, lat] to GCJ-02 [lon, lat] (unchanged outside China). */
  wangge.wgs84ToGcj02 = function (lon, lat) {
    if (outOfChina(lon, lat)) return [lon, lat];
    var PI = Math.PI;
    var x = lon - 105.0;
    var y = lat - 35.0;
    var sx = Math.sqrt(Math.abs(x));
    var common = ((20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0) / 3.0;
    var dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common;
    dlat += ((20.0 * Math.sin(y * PI) + 40.0 * Math.sin((y / 3.0) * PI)) * 2.0) / 3.0;
    dlat += ((160.0 * Math.sin((y / 12.0) * PI) + 320.0 * Math.sin((y * PI) / 30.0)) * 2.0) / 3.0;
    var dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common;
    dlon += ((20.0 * Math.sin(x * PI) + 40.0 * Math.sin((x / 3.0) * PI)) * 2.0) / 3.0;
    dlon += ((150.0 * Math.sin((x / 12.0) * PI) + 300.0 * Math.sin((x / 30.0) * PI)) * 2.0) / 3.0;
    var radlat = (lat / 180.0) * PI;
    var magic = 1.0 - GCJ_EE * Math.sin(radlat) * Math.sin(radlat);
    var sqrtmagic = Math.sqrt(magic);
    dlat = (dlat * 180.0) / (((GCJ_A * (1.0 - GCJ_EE)) / (magic * sqrtmagic)) * PI);
    dlon = (dlon * 180.0) / ((GCJ_A / sqrtmagic) * Math.cos(radlat) * PI);
    return [lon + dlon, lat + dlat];
  };

  // -- unit layers ---------------------------------------------------------------------------

  function unitTooltip(units, i) {
    var box = el("div", "wg-tip");
    box.appendChild(el("b", null, units.name[i] || units.code[i]));
    box.appendChild(el("div", null, t("unit.cases", { n: number(units.count[i]) })));
    return box;
  }

  function unitPopup(units, i) {
    var box = el("div", "wg-popup");
    box.appendChild(el("div", "wg-popup-title", units.name[i] || units.code[i]));
    var table = el("table");
    row(table, t("field.code"), units.code[i]);
    row(table, t("field.cases"), number(units.count[i]));
    row(table, t("field.leader"), units.leader[i] || "—");
    if (units.phone) row(table, t("field.phone"), units.phone[i] || "—");
    box.appendChild(table);
    return box;
  }

  function unitGroup(units, style) {
    var group = L.featureGroup();
    for (var i = 0; i < units.latlngs.length; i++) {
      if (!units.latlngs[i].length) continue;
      var options = style(i);
      options.unit = i;
      group.addLayer(L.polygon(units.latlngs[i], options));
    }
    group.bindTooltip(
      function (layer) {
        return unitTooltip(units, layer.options.unit);
      },
      { sticky: true }
    );
    return group;
  }

  /* Fill of each unit by the class of its case count; no outline (the boundaries draw it). */
  wangge.choroplethLayer = function (units, options) {
    var group = unitGroup(units, function (i) {
      return {
        stroke: false,
        fill: true,
        fillColor: options.colors[units.cls[i]],
        fillOpacity: 0.75,
      };
    });
    // for live.js, which keeps the counts up to date
    group.wgUnits = units;
    group.wgColors = options.colors;
    return group;
  };

  /* Outlines of the units, with a popup: name, code, cases, leader (and phone if sent). */
  wangge.boundariesLayer = function (units) {
    var group = unitGroup(units, function () {
      // an invisible fill keeps the inside clickable
      return { color: "#555", weight: 0.5, opacity: 0.45, fill: true, fillOpacity: 0 };
    });
    group.bindPopup(function (layer) {
      return unitPopup(units, layer.options.unit);
    });
    return group;
  };

  // -- open cases ----------------------------------------------------------------------------

  // row: [lat, lon, id, category index, created, status index, overdue, leader, due]
  function casePopup(payload, r) {
    var box = el("div", "wg-popup");
    var head = el("div", "wg-popup-title", t("case.title", { id: r[2] }));
    if (r[6]) head.appendChild(el("span", "wg-badge", t("case.overdue")));
    box.appendChild(head);
    var table = el("table");
    row(table, t("field.category"), payload.categories[r[3]]);
    row(table, t("field.status"), payload.statuses[r[5]]);
    row(table, t("field.reported"), r[4] || "—");
    row(table, t("field.due"), r[8] || "—");
    row(table, t("field.leader"), r[7] || "—");
    box.appendChild(table);
    var link = el("a", "wg-case-link", t("case.open"));
    link.href = payload.url.split("{id}").join(encodeURIComponent(String(r[2])));
    box.appendChild(link);
    return box;
  }

  /* A cluster: the plugin's look, plus a red badge with the number of overdue cases in it. */
  function clusterIcon(cluster) {
    var markers = cluster.getAllChildMarkers();
    var overdue = 0;
    for (var i = 0; i < markers.length; i++) {
      if (markers[i].options.caseRow[6]) overdue++;
    }
    var n = cluster.getChildCount();
    var size = n < 10 ? "small" : n < 100 ? "medium" : "large";
    var wrap = el("div");
    var inner = el("div");
    inner.appendChild(el("span", null, number(n)));
    wrap.appendChild(inner);
    if (overdue) wrap.appendChild(el("b", "wg-cluster-badge", number(overdue)));
    return L.divIcon({
      html: wrap.innerHTML,
      className: "marker-cluster marker-cluster-" + size,
      iconSize: L.point(40, 40),
    });
  }

  wangge.caseLayer = function (payload) {
    var group = L.markerClusterGroup({
      chunkedLoading: true,
      maxClusterRadius: 45,
      showCoverageOnHover: false,
      iconCreateFunction: clusterIcon,
      // markers are clustered in chunks once the group is on the map: until the last chunk
      // the layer is not drawn (see wangge.track)
      chunkProgress: function (processed, total) {
        group.wgPending = processed < total;
      },
    });
    group.wgPending = true;
    var icons = {};
    function icon(status, overdue) {
      var key = status + "/" + overdue;
      if (!icons[key]) {
        var dot = el("span", "wg-dot");
        dot.style.background = payload.colors[status];
        var holder = el("div");
        holder.appendChild(dot);
        icons[key] = L.divIcon({
          className: "wg-case" + (overdue ? " wg-overdue" : ""),
          html: holder.innerHTML,
          iconSize: overdue ? [18, 18] : [12, 12],
        });
      }
      return icons[key];
    }
    function popup(layer) {
      return casePopup(payload, layer.options.caseRow);
    }
    var markers = [];
    for (var i = 0; i < payload.rows.length; i++) {
      var r = payload.rows[i];
      var marker = L.marker([r[0], r[1]], {
        icon: icon(r[5], r[6]),
        caseRow: r,
        zIndexOffset: r[6] ? 1000 : 0,
      });
      marker.bindPopup(popup);
      markers.push(marker);
    }
    group.addLayers(markers);
    return group;
  };

  // -- title, legend, registry ---------------------------------------------------------------

  function legendSection(box, heading) {
    var section = el("div", "wg-legend-section");
    section.appendChild(el("div", "wg-legend-heading", heading));
    box.appendChild(section);
    return section;
  }

  function legendLine(section, mark, text) {
    var line = el("div", "wg-legend-line");
    if (mark) line.appendChild(mark);
    line.appendChild(el("span", null, text));
    section.appendChild(line);
    return line;
  }

  function buildLegend(config) {
    var box = el("div", "wg-legend");
    var classes = legendSection(
      box,
      t("legend.classes", { level: config.levelName, scheme: config.scheme })
    );
    for (var i = 0; i < config.classes.length; i++) {
      var c = config.classes[i];
      legendLine(classes, swatch(c.color), t("legend.units", { label: c.label, n: number(c.units) }));
    }

    var open = config.open;
    var cases = legendSection(box, t("legend.open", { n: number(open.total) }));
    if (open.cap === 0) {
      legendLine(cases, null, t("legend.notDrawn", { n: number(open.overdue) }));
    } else {
      for (var s = 0; s < open.statuses.length; s++) {
        var st = open.statuses[s];
        legendLine(
          cases,
          swatch(st.color, "wg-swatch wg-round"),
          t("legend.status", { name: st.name, n: number(st.count) })
        );
      }
      legendLine(
        cases,
        el("span", "wg-swatch wg-round wg-ring"),
        t("legend.overdue", { n: number(open.overdue) })
      );
      if (open.total > open.shown) {
        legendLine(
          cases,
          null,
          t("legend.capped", {
            shown: number(open.shown),
            total: number(open.total),
            cap: number(open.cap),
          })
        ).className += " wg-note";
      }
    }

    var heat = legendSection(box, config.layerNames.heat);
    legendLine(
      heat,
      null,
      t("legend.heat", {
        drawn: number(config.heat.drawn),
        cells: number(config.heat.cells),
        cell: number(config.heat.cellM),
      })
    );

    var about = legendSection(box, t("legend.data"));
    legendLine(
      about,
      null,
      t("legend.totals", {
        cases: number(config.cases),
        inUnits: number(config.casesInUnits),
        units: number(config.units),
      })
    );
    legendLine(about, null, t("legend.filters", { filters: config.filters || t("legend.none") }));
    legendLine(about, null, t("legend.built", { at: config.builtAt }));
    if (config.timeZone) legendLine(about, null, t("legend.tz", { tz: config.timeZone }));
    return box;
  }

  function buildTitle(config) {
    var box = el("div", "wg-title");
    box.appendChild(el("div", "wg-title-main", config.title));
    var parts = [config.levelName, t("title.cases", { n: number(config.cases) })];
    if (config.filters) parts.push(config.filters);
    parts.push(t("title.built", { at: config.builtAt }));
    box.appendChild(el("div", "wg-title-sub", parts.join(" · ")));
    return box;
  }

  function control(position, node) {
    var c = L.control({ position: position });
    c.onAdd = function () {
      L.DomEvent.disableClickPropagation(node);
      L.DomEvent.disableScrollPropagation(node);
      return node;
    };
    return c;
  }

  /* The small DOM and legend helpers, shared with the other map pages (coverage.js). */
  wangge.dom = {
    el: el,
    row: row,
    legendSection: legendSection,
    legendLine: legendLine,
    control: control,
  };

  // -- the page's state ------------------------------------------------------------------------

  var ANIMATING = /\bleaflet-(zoom|cluster)-anim\b/;

  /* Register a map's entry ({map, layers, config}) in wangge.maps and as wangge.last, with
     entry.settled(); set data-ready="true" on the container once every layer is drawn. */
  wangge.track = function (entry) {
    var map = entry.map;
    var container = map.getContainer();
    var moving = false;
    map.on("movestart", function () {
      moving = true;
    });
    map.on("moveend", function () {
      moving = false;
    });

    function pending() {
      for (var key in entry.layers) {
        var layer = entry.layers[key];
        if (layer && layer.wgPending && map.hasLayer(layer)) return true;
      }
      return false;
    }

    function animating() {
      if (moving) return true;
      if (ANIMATING.test(map.getPane("mapPane").className)) return true;
      // a closed popup fades out before it leaves the page, and still takes the clicks
      var popups = container.querySelectorAll(".leaflet-popup");
      for (var i = 0; i < popups.length; i++) {
        if (popups[i].style.opacity === "0") return true;
      }
      return false;
    }

    entry.settled = function () {
      return container.getAttribute("data-ready") === "true" && !pending() && !animating();
    };

    // canvas layers draw in the next animation frame after they are added, which the layers
    // of this page were before this call: ready one frame after that, once none is pending
    function whenDrawn() {
      if (pending()) {
        global.requestAnimationFrame(whenDrawn);
        return;
      }
      global.requestAnimationFrame(function () {
        container.setAttribute("data-ready", "true");
      });
    }
    global.requestAnimationFrame(whenDrawn);

    wangge.maps[container.id] = entry;
    wangge.last = entry;
    return entry;
  };

  /* Title, legend, and wangge.maps[<map id>] = {map, layers, config, settled}. */
  wangge.decorate = function (map, config, layers) {
    var container = map.getContainer();
    if (config.plain) L.DomUtil.addClass(container, "wg-plain");
    container.appendChild(buildTitle(config));
    control("bottomright", buildLegend(config)).addTo(map);
    wangge.pageApi(map, config.tilesCrs);
    return wangge.track({ map: map, layers: layers, config: config });
  };

  // wangge page API: what other scripts of the dispatcher's page build on -------------------
  //   wangge.map   the page's L.Map
  //   wangge.lang  "zh" or "en"
  //   wangge.t     (key, values) -> the label of the page's language (maps/i18n.py)
  //   wangge.toMap ([lon, lat] in WGS84) -> [lat, lon] in the base tiles' system (GCJ-02
  //                shifted when WANGGE_TILES_CRS=gcj02): where to draw a point held in WGS84
  wangge.pageApi = function (map, tilesCrs) {
    wangge.map = map;
    wangge.tilesCrs = tilesCrs || "wgs84";
    wangge.toMap = function (lonlat) {
      var p = wangge.tilesCrs === "gcj02" ? wangge.wgs84ToGcj02(lonlat[0], lonlat[1]) : lonlat;
      return [p[1], p[0]];
    };
    return wangge;
  };
  // end of the wangge page API
})(window);
