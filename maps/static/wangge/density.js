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
    return Number(n).toLocaleString("en-US");
  }

  // -- unit layers ---------------------------------------------------------------------------

  function unitTooltip(units, i) {
    var box = el("div", "wg-tip");
    box.appendChild(el("b", null, units.name[i] || units.code[i]));
    box.appendChild(el("div", null, number(units.count[i]) + " cases"));
    return box;
  }

  function unitPopup(units, i) {
    var box = el("div", "wg-popup");
    box.appendChild(el("div", "wg-popup-title", units.name[i] || units.code[i]));
    var table = el("table");
    row(table, "Code", units.code[i]);
    row(table, "Cases", number(units.count[i]));
    row(table, "Leader", units.leader[i] || "—");
    if (units.phone) row(table, "Phone", units.phone[i] || "—");
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
    return unitGroup(units, function (i) {
      return {
        stroke: false,
        fill: true,
        fillColor: options.colors[units.cls[i]],
        fillOpacity: 0.75,
      };
    });
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
    var head = el("div", "wg-popup-title", "Case " + r[2]);
    if (r[6]) head.appendChild(el("span", "wg-badge", "overdue"));
    box.appendChild(head);
    var table = el("table");
    row(table, "Category", payload.categories[r[3]]);
    row(table, "Status", payload.statuses[r[5]]);
    row(table, "Reported", r[4] || "—");
    row(table, "Due", r[8] || "—");
    row(table, "Leader", r[7] || "—");
    box.appendChild(table);
    var link = el("a", "wg-case-link", "Open case");
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
    var classes = legendSection(box, "Cases per " + config.level + " (" + config.scheme + ")");
    for (var i = 0; i < config.classes.length; i++) {
      var c = config.classes[i];
      legendLine(classes, swatch(c.color), c.label + "  (" + number(c.units) + " units)");
    }

    var open = config.open;
    var cases = legendSection(box, "Open cases: " + number(open.total));
    if (open.cap === 0) {
      legendLine(cases, null, "overdue: " + number(open.overdue) + "; not drawn on this map");
    } else {
      for (var s = 0; s < open.statuses.length; s++) {
        var st = open.statuses[s];
        legendLine(
          cases,
          swatch(st.color, "wg-swatch wg-round"),
          st.name + "  (" + number(st.count) + ")"
        );
      }
      legendLine(
        cases,
        el("span", "wg-swatch wg-round wg-ring"),
        "overdue: " + number(open.overdue)
      );
      if (open.total > open.shown) {
        legendLine(
          cases,
          null,
          "Markers show " + number(open.shown) + " of " + number(open.total) +
            " open cases (limit " + number(open.cap) + "): overdue first, then the newest"
        ).className += " wg-note";
      }
    }

    var heat = legendSection(box, config.layerNames.heat);
    legendLine(
      heat,
      null,
      number(config.heat.drawn) + " located cases in " + number(config.heat.cells) + " cells of " +
        config.heat.cellM + " m"
    );

    var about = legendSection(box, "Data");
    legendLine(about, null, number(config.cases) + " cases; " + number(config.casesInUnits) +
      " in these " + number(config.units) + " units");
    legendLine(about, null, "Filters: " + (config.filters || "none"));
    legendLine(about, null, "Built: " + config.builtAt);
    if (config.timeZone) legendLine(about, null, "Times in " + config.timeZone);
    return box;
  }

  function buildTitle(config) {
    var box = el("div", "wg-title");
    box.appendChild(el("div", "wg-title-main", config.title));
    var parts = [config.level, number(config.cases) + " cases"];
    if (config.filters) parts.push(config.filters);
    parts.push("built " + config.builtAt);
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
    // wangge page API: the map and the page's language, for other scripts (analytics.js)
    wangge.map = map;
    wangge.lang = (new URLSearchParams(global.location.search).get("lang") || "zh").indexOf("en") === 0 ? "en" : "zh";
    return wangge.track({ map: map, layers: layers, config: config });
  };
})(window);
