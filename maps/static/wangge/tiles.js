/* Wangge: the density page's units drawn from the service's vector tiles (Leaflet.VectorGrid).
   For city-scale sets the page carries no unit geometry: each level comes from its tiles
   (/tiles/{level}/{z}/{x}/{y}.mvt) and the level switches with the zoom; each unit is coloured
   by the case count its tile carries, in its level's classes (maps/tiles.py). MIT, this
   project. Needs density.js (wangge.t) and Leaflet.VectorGrid.bundled. */
(function (global) {
  "use strict";
  var wangge = global.wangge;

  function classOf(level, count) {
    for (var i = 0; i < level.upper.length; i++) {
      if (count <= level.upper[i]) return i;
    }
    return level.upper.length - 1;
  }

  function number(n) {
    return Number(n).toLocaleString(wangge.locale || "zh-CN");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function tooltip(props) {
    var box = el("div", "wg-tip");
    box.appendChild(el("b", null, props.name || props.code));
    if (props.cases !== undefined) {
      box.appendChild(el("div", null, wangge.t("unit.cases", { n: number(props.cases) })));
    }
    return box;
  }

  function popup(level, props) {
    var box = el("div", "wg-popup");
    box.appendChild(el("div", "wg-popup-title", props.name || props.code));
    var table = el("table");
    function row(label, value) {
      var tr = el("tr");
      tr.appendChild(el("th", null, label));
      tr.appendChild(el("td", null, value));
      table.appendChild(tr);
    }
    row(wangge.t("field.code"), props.code);
    if (props.cases !== undefined) row(wangge.t("field.cases"), number(props.cases));
    row(wangge.t("field.leader"), props.leader_name || "—");
    box.appendChild(table);
    return box;
  }

  /* The page's own filters (?category=&status=&since=&until=), for the tiles' counts to
     count what the page shows. */
  var FILTERS = ["category", "status", "since", "until"];
  function withFilters(url) {
    var page = new global.URLSearchParams(global.location.search);
    var parts = [];
    FILTERS.forEach(function (name) {
      page.getAll(name).forEach(function (value) {
        parts.push(encodeURIComponent(name) + "=" + encodeURIComponent(value));
      });
    });
    if (!parts.length) return url;
    return url + (url.indexOf("?") < 0 ? "?" : "&") + parts.join("&");
  }

  function levelLayer(level, group) {
    var styles = {};
    styles[level.name] = function (props) {
      var count = props.cases === undefined ? 0 : Number(props.cases);
      return {
        fill: true,
        fillColor: level.colors[classOf(level, count)],
        fillOpacity: 0.75,
        color: "#555",
        weight: 0.5,
        opacity: 0.45,
      };
    };
    var options = {
      vectorTileLayerStyles: styles,
      // SVG: each unit is a path that takes its own clicks and hovers
      rendererFactory: L.svg.tile,
      interactive: true,
      minZoom: level.minZoom,
      maxZoom: level.maxZoom,
      minNativeZoom: level.nativeZoom,
      getFeatureId: function (feature) {
        return feature.properties.code;
      },
    };
    if (level.bounds) {
      options.bounds = L.latLngBounds(
        [level.bounds[1], level.bounds[0]],
        [level.bounds[3], level.bounds[2]]
      );
    }
    var layer = L.vectorGrid.protobuf(withFilters(level.url), options);
    layer.wgLevel = level;
    layer.on("loading", function () {
      layer.wgLoading = true;
    });
    layer.on("load", function () {
      layer.wgLoading = false;
      group.wgLoads += 1;
      group.fire("wgdrawn", { level: level.name });
    });
    layer.on("click", function (e) {
      if (!group._map) return;
      L.popup().setLatLng(e.latlng).setContent(popup(level, e.layer.properties)).openOn(group._map);
    });
    layer.on("mouseover", function (e) {
      if (!group._map) return;
      group.wgTip.setLatLng(e.latlng).setContent(tooltip(e.layer.properties));
      group._map.openTooltip(group.wgTip);
    });
    layer.on("mouseout", function () {
      if (group._map) group._map.closeTooltip(group.wgTip);
    });
    return layer;
  }

  /* The units of every level from tiles: one VectorGrid per level, each shown in its zooms.
     group.wgPending: a level shown at this zoom is still loading tiles; group.wgLoads counts
     the times a level finished loading the tiles in view ("wgdrawn" events). */
  wangge.tileUnits = function (config) {
    var group = L.layerGroup();
    group.wgLoads = 0;
    group.wgTip = L.tooltip({ sticky: true });
    group.wgConfig = config;
    var layers = [];
    for (var i = 0; i < config.levels.length; i++) {
      var layer = levelLayer(config.levels[i], group);
      layers.push(layer);
      group.addLayer(layer);
    }
    group.wgLevelAt = function (zoom) {
      for (var j = 0; j < layers.length; j++) {
        var lv = layers[j].wgLevel;
        if (zoom >= lv.minZoom && zoom <= lv.maxZoom) return lv.name;
      }
      return null;
    };
    Object.defineProperty(group, "wgPending", {
      get: function () {
        var map = group._map;
        if (!map) return false;
        var zoom = Math.round(map.getZoom());
        for (var j = 0; j < layers.length; j++) {
          var lv = layers[j].wgLevel;
          if (zoom >= lv.minZoom && zoom <= lv.maxZoom && layers[j].wgLoading) return true;
        }
        return false;
      },
    });
    return group;
  };
})(window);
