/*
 * Wangge coverage map: the layers, title and legend of the page written by maps/coverage.py.
 * Needs density.js first (its geometry decoder, wangge.decodeUnits, and wangge.track). Keeps
 * every map's layers in window.wangge.maps (and the last one in wangge.last) for other scripts
 * and tests, with the page's state (data-ready, entry.settled()) as density.js describes.
 *
 * Text from the data is always set with textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var L = global.L;
  var wangge = (global.wangge = global.wangge || {});
  wangge.maps = wangge.maps || {};
  var coverage = (wangge.coverage = {});

  var STYLE = {
    units: { color: "#666", weight: 0.6, opacity: 0.6, fillOpacity: 0.7 },
    areas: {
      color: "#2166ac",
      weight: 1.5,
      opacity: 0.8,
      fillColor: "#4393c3",
      fillOpacity: 0.12,
      interactive: false,
    },
    gaps: {
      color: "#7a0177",
      weight: 2,
      opacity: 0.9,
      dashArray: "5 3",
      fillColor: "#7a0177",
      fillOpacity: 0.22,
    },
  };

  // -- small DOM helpers ---------------------------------------------------------------------

  // el, row, the legend's sections and lines, and controls come from density.js
  var dom = wangge.dom;
  var el = dom.el;
  var row = dom.row;
  var section = dom.legendSection;
  var line = dom.legendLine;
  var control = dom.control;
  var t = wangge.t;

  function swatch(className, color) {
    var s = el("span", "wg-swatch " + (className || ""));
    if (color) s.style.background = color;
    return s;
  }

  function number(n) {
    return n === null || n === undefined ? "—" : Math.round(Number(n)).toLocaleString(wangge.locale || "zh-CN");
  }

  function percent(share) {
    return share === null || share === undefined ? "—" : (100 * share).toFixed(1) + "%";
  }

  function area(m2) {
    return m2 >= 10000
      ? t("cov.hectares", { n: (m2 / 10000).toFixed(1) })
      : t("cov.squareMetres", { n: number(m2) });
  }

  function popupBox(title, badge) {
    var box = el("div", "wg-popup");
    var head = el("div", "wg-popup-title", title);
    if (badge) head.appendChild(el("span", badge.className, badge.text));
    box.appendChild(head);
    return box;
  }

  // -- data ----------------------------------------------------------------------------------

  function decode(data, text, n) {
    var codes = new Array(n);
    return wangge.decodeUnits({ step: data.step, origin: data.origin, geometry: text, code: codes })
      .latlngs;
  }

  /* Decode the shared payload: units, gaps (whole-unit pieces point at their unit), areas. */
  coverage.data = function (data) {
    var units = data.units;
    var gaps = data.gaps;
    units.latlngs = decode(data, units.geometry, units.code.length);
    gaps.latlngs = decode(data, gaps.geometry, gaps.unit.length);
    for (var i = 0; i < gaps.unit.length; i++) {
      if (gaps.whole[i]) gaps.latlngs[i] = units.latlngs[gaps.unit[i]];
    }
    data.areas.latlngs = decode(data, data.areas.geometry, data.areas.count);
    return data;
  };

  function polygons(latlngs, style) {
    var group = L.featureGroup();
    for (var i = 0; i < latlngs.length; i++) {
      if (!latlngs[i].length) continue;
      var options = style(i);
      options.index = i;
      group.addLayer(L.polygon(latlngs[i], options));
    }
    return group;
  }

  function assign(target, source) {
    for (var key in source) target[key] = source[key];
    return target;
  }

  // -- units ---------------------------------------------------------------------------------

  function unitName(units, i) {
    return units.name[i] || units.code[i];
  }

  function unitPopup(units, i) {
    var box = popupBox(unitName(units, i));
    var table = el("table");
    row(table, t("cov.code"), units.code[i]);
    row(table, t("cov.pop60"), number(units.pop60[i]));
    row(table, t("cov.cov60"), number(units.cov60[i]));
    row(table, t("cov.unc60"), number(units.unc60[i]));
    row(table, t("cov.share"), percent(units.share[i]));
    box.appendChild(table);
    return box;
  }

  /* Each unit filled by the class of its uncovered 60+, with a popup of its figures. */
  coverage.unitsLayer = function (data, options) {
    var units = data.units;
    var group = polygons(units.latlngs, function (i) {
      return assign({ fillColor: options.colors[units.cls[i]] }, STYLE.units);
    });
    group.bindTooltip(
      function (layer) {
        var i = layer.options.index;
        var box = el("div", "wg-tip");
        box.appendChild(el("b", null, unitName(units, i)));
        box.appendChild(el("div", null, t("cov.tipUncovered", { n: number(units.unc60[i]) })));
        return box;
      },
      { sticky: true }
    );
    group.bindPopup(function (layer) {
      return unitPopup(units, layer.options.index);
    });
    return group;
  };

  /* The service areas: drawn only, so that clicks reach the units below them. */
  coverage.areasLayer = function (data) {
    return polygons(data.areas.latlngs, function () {
      return assign({}, STYLE.areas);
    });
  };

  // -- gaps ----------------------------------------------------------------------------------

  coverage.gapsLayer = function (data) {
    var gaps = data.gaps;
    var units = data.units;
    var group = polygons(gaps.latlngs, function () {
      return assign({}, STYLE.gaps);
    });
    group.bindTooltip(
      function (layer) {
        var i = layer.options.index;
        var box = el("div", "wg-tip");
        box.appendChild(el("b", null, t("cov.gapIn", { unit: unitName(units, gaps.unit[i]) })));
        box.appendChild(el("div", null, t("cov.tipUncovered", { n: number(gaps.res60[i]) })));
        return box;
      },
      { sticky: true }
    );
    group.bindPopup(function (layer) {
      var i = layer.options.index;
      var u = gaps.unit[i];
      var box = popupBox(t("cov.gapIn", { unit: unitName(units, u) }), {
        className: "wg-badge wg-gap-badge",
        text: t("cov.outside"),
      });
      var table = el("table");
      row(table, t("cov.unit"), units.code[u]);
      row(table, t("cov.unc60"), number(gaps.res60[i]));
      row(table, t("cov.uncAll"), number(gaps.res[i]));
      row(table, t("cov.area"), area(gaps.area[i]));
      row(table, t("cov.whole"), gaps.whole[i] ? t("cov.yes") : t("cov.part"));
      box.appendChild(table);
      return box;
    });
    return group;
  };

  // -- facilities and sites ------------------------------------------------------------------

  function divIcon(className, text, size) {
    var holder = el("div");
    holder.appendChild(el("span", null, text));
    return L.divIcon({ className: className, html: holder.innerHTML, iconSize: [size, size] });
  }

  // row: [lat, lon, name, type, capacity]
  coverage.facilitiesLayer = function (_data, payload) {
    var group = L.featureGroup();
    var icon = divIcon("wg-facility", "", 16);
    for (var i = 0; i < payload.rows.length; i++) {
      var r = payload.rows[i];
      var marker = L.marker([r[0], r[1]], { icon: icon, facilityRow: r, zIndexOffset: 500 });
      marker.bindTooltip(el("span", null, r[2] || t("cov.facility")));
      marker.bindPopup(function (layer) {
        var f = layer.options.facilityRow;
        var box = popupBox(f[2] || t("cov.facility"));
        var table = el("table");
        row(table, t("cov.type"), f[3] === null ? "—" : f[3]);
        row(table, t("cov.capacity"), f[4] === null ? "—" : f[4]);
        box.appendChild(table);
        return box;
      });
      group.addLayer(marker);
    }
    return group;
  };

  // row: [lat, lon, rank, gain 60+, gain, unit code, unit name, cumulative 60+, share]
  coverage.sitesLayer = function (_data, payload) {
    var group = L.featureGroup();
    for (var i = 0; i < payload.rows.length; i++) {
      var r = payload.rows[i];
      var marker = L.marker([r[0], r[1]], {
        icon: divIcon("wg-site", r[2], 24),
        siteRow: r,
        zIndexOffset: 1000,
      });
      marker.bindTooltip(el("span", null, t("cov.siteTip", { rank: r[2], n: number(r[3]) })));
      marker.bindPopup(function (layer) {
        var s = layer.options.siteRow;
        var box = popupBox(t("cov.site", { rank: s[2] }), {
          className: "wg-badge wg-site-badge",
          text: t("cov.new"),
        });
        var table = el("table");
        row(table, t("cov.newly60"), number(s[3]));
        row(table, t("cov.newlyAll"), number(s[4]));
        row(table, t("cov.unit"), s[5] === null ? "—" : (s[6] ? s[6] + " (" + s[5] + ")" : s[5]));
        row(table, t("cov.cumulative60"), number(s[7]));
        row(table, t("cov.shareUncovered"), percent(s[8]));
        row(table, t("cov.location"), s[0].toFixed(6) + ", " + s[1].toFixed(6));
        box.appendChild(table);
        return box;
      });
      group.addLayer(marker);
    }
    return group;
  };

  // -- title, legend, registry ---------------------------------------------------------------

  function serviceText(config) {
    var svc = config.service;
    var text = t("cov.metres", { n: number(svc.distanceM) });
    if (svc.minutes !== null) {
      text = t("cov.walk", {
        minutes: svc.minutes,
        speed: svc.speed === null ? "?" : svc.speed.toFixed(1),
        distance: text,
      });
    }
    text += t("filter.join") + svc.mode;
    if (svc.bufferM !== null && svc.bufferM !== undefined) {
      text += t("filter.join") + t("cov.buffer", { n: number(svc.bufferM) });
    }
    return text;
  }

  function totalsText(totals) {
    return t("cov.of", {
      part: number(totals.covered60),
      whole: number(totals.residents60),
      share: percent(totals.share60),
    });
  }

  function buildLegend(config) {
    var box = el("div", "wg-legend");
    var level = config.levelName || config.level;
    var classes = section(box, t("cov.classes", { level: level, scheme: config.scheme }));
    for (var i = 0; i < config.classes.length; i++) {
      var c = config.classes[i];
      line(classes, swatch(null, c.color), t("legend.units", { label: c.label, n: number(c.units) }));
    }

    var fac = section(box, t("cov.count", {
      name: config.layerNames.facilities,
      n: number(config.facilities.total) + (config.facilityType ? " " + config.facilityType : ""),
    }));
    line(fac, el("span", "wg-swatch wg-facility-mark"), t("cov.facility"));
    line(fac, swatch("wg-area-mark"), t("cov.serviceArea", { text: serviceText(config) }));
    if (config.facilities.drawn < config.facilities.total) {
      line(fac, null, t("cov.notDrawn", {
        n: number(config.facilities.total - config.facilities.drawn),
      })).className += " wg-note";
    }

    var gaps = section(
      box,
      t("cov.pieces", { name: config.layerNames.gaps, n: number(config.gaps.total) })
    );
    line(gaps, swatch("wg-gap-mark"), t("cov.gapResidents", { n: number(config.gaps.residents60) }));

    if (config.sites) {
      var sites = section(box, t("cov.count", {
        name: config.layerNames.sites,
        n: number(config.sites.total),
      }));
      var text = config.sites.shareOfUncovered === null
        ? t("cov.sitesGain", { n: number(config.sites.gain60) })
        : t("cov.sitesGainShare", {
          n: number(config.sites.gain60),
          share: percent(config.sites.shareOfUncovered),
        });
      line(sites, el("span", "wg-swatch wg-site-mark"), text);
    }

    var sums = config.totals;
    var totals = section(box, t("cov.totals"));
    line(totals, null, t("cov.covered60", { text: totalsText(sums) }));
    line(totals, null, t("cov.uncovered60", { n: number(sums.uncovered60) }));
    if (sums.residents !== null && sums.residents > 0) {
      line(
        totals,
        null,
        t("cov.allAges", { covered: number(sums.covered), residents: number(sums.residents) })
      );
    }
    if (sums.outside60) {
      line(totals, null, t("cov.outsideLevel", { n: number(sums.outside60), level: level }))
        .className += " wg-note";
    }

    var about = section(box, t("legend.data"));
    line(about, null, t("cov.units", { n: number(config.units.total), level: level }));
    if (config.parameters) line(about, null, t("cov.parameters", { text: config.parameters }));
    line(about, null, t("legend.built", { at: config.builtAt }));
    if (config.timeZone) line(about, null, t("legend.tz", { tz: config.timeZone }));
    return box;
  }

  function buildTitle(config) {
    var box = el("div", "wg-title");
    box.appendChild(el("div", "wg-title-main", config.title));
    var parts = [];
    if (config.facilityType) parts.push(config.facilityType);
    parts.push(serviceText(config));
    parts.push(config.levelName || config.level);
    parts.push(t("cov.titleCovered", { text: totalsText(config.totals) }));
    parts.push(t("title.built", { at: config.builtAt }));
    box.appendChild(el("div", "wg-title-sub", parts.join(" · ")));
    return box;
  }

  /* Title, legend, stacking, and wangge.maps[<map id>] = {map, layers, config, settled}. */
  coverage.decorate = function (map, config, layers) {
    var container = map.getContainer();
    if (config.plain) L.DomUtil.addClass(container, "wg-plain");
    container.appendChild(buildTitle(config));
    control("bottomright", buildLegend(config)).addTo(map);
    // one canvas draws every polygon in the order added: a layer switched back on would
    // cover the others, so service areas and gaps are put back on top of the units
    map.on("overlayadd", function () {
      ["areas", "gaps"].forEach(function (key) {
        if (layers[key] && map.hasLayer(layers[key])) layers[key].bringToFront();
      });
    });
    return wangge.track({ map: map, layers: layers, config: config });
  };
})(window);
