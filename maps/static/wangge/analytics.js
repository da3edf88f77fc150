/*
 * Wangge targeted-governance layers on a map page: hot and cold units (Gi* classes after the
 * FDR correction, red and blue) from GET /analytics/hotspots and recurring places (circles
 * sized by their count) from GET /analytics/recurring, with a legend in the page's language
 * (Chinese; English with ?lang=en or an English page). Same origin: the session cookie
 * authorises the GETs. The map is read from window.wangge.map (the page API of density.js).
 * A written page (wangge map density) has no routes to ask: it carries the same layers in a
 * JSON script element (id wangge-analytics-data, maps/analytics.py), drawn from there.
 *
 * The hot spots are of the page's level (its meta tag wangge-analytics says which); recurring
 * places are named by the catalogue's names of their categories (GET /categories).
 *
 * For tests: the map container gets data-analytics="ready" (or "unavailable"), and
 * window.wangge.analytics holds {hot, cold, places} counts and the two layers.
 * Text from the data is always set with textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var COLOURS = {
    hot_99: "#d7191c",
    hot_95: "#f46d43",
    hot_90: "#fdae61",
    cold_90: "#abd9e9",
    cold_95: "#74add1",
    cold_99: "#2c7bb6",
  };
  var TEXT = {
    zh: {
      title: "靶向治理",
      hot_99: "热点（99%置信）",
      hot_95: "热点（95%置信）",
      hot_90: "热点（90%置信）",
      cold_90: "冷点（90%置信）",
      cold_95: "冷点（95%置信）",
      cold_99: "冷点（99%置信）",
      places: "反复投诉点（圆大小＝件数）",
      reports: "件",
    },
    en: {
      title: "Targeted governance",
      hot_99: "Hot spot (99% confidence)",
      hot_95: "Hot spot (95% confidence)",
      hot_90: "Hot spot (90% confidence)",
      cold_90: "Cold spot (90% confidence)",
      cold_95: "Cold spot (95% confidence)",
      cold_99: "Cold spot (99% confidence)",
      places: "Recurring places (circle size = reports)",
      reports: "reports",
    },
  };
  var CLASSES = ["hot_99", "hot_95", "hot_90", "cold_90", "cold_95", "cold_99"];

  function pageLang() {
    var asked = new URLSearchParams(global.location.search).get("lang");
    if (asked) return asked.indexOf("en") === 0 ? "en" : "zh";
    var html = global.document.documentElement.lang || "";
    return html.indexOf("en") === 0 ? "en" : "zh";
  }

  function getJson(url) {
    return global.fetch(url, { credentials: "same-origin" }).then(function (answer) {
      if (!answer.ok) throw new Error(url + ": " + answer.status);
      return answer.json();
    });
  }

  function legend(L, text) {
    var control = L.control({ position: "bottomleft" });
    control.onAdd = function () {
      var box = L.DomUtil.create("div", "wg-analytics-legend");
      var head = L.DomUtil.create("div", "wg-analytics-title", box);
      head.textContent = text.title;
      CLASSES.forEach(function (name) {
        var row = L.DomUtil.create("div", "wg-analytics-row", box);
        var swatch = L.DomUtil.create("span", "wg-analytics-swatch", row);
        swatch.style.background = COLOURS[name];
        var label = L.DomUtil.create("span", "", row);
        label.textContent = text[name];
      });
      var row = L.DomUtil.create("div", "wg-analytics-row", box);
      L.DomUtil.create("span", "wg-analytics-place", row);
      var label = L.DomUtil.create("span", "", row);
      label.textContent = text.places;
      return box;
    };
    return control;
  }

  // the three answers the layers are drawn from: [hot spots, recurring places, categories]
  function asked(level) {
    return Promise.all([
      getJson(
        "/analytics/hotspots?level=" + encodeURIComponent(level) + "&geometry=true&permutations=199"
      ),
      getJson("/analytics/recurring"),
      getJson("/categories"),
    ]);
  }

  function written(data) {
    return Promise.resolve([{ units: data.units }, { places: data.places }, data.categories]);
  }

  function draw(map, lang, answered) {
    var L = global.L;
    var text = TEXT[lang];
    var container = map.getContainer();
    answered
      .then(function (answers) {
        var names = {};
        answers[2].forEach(function (c) {
          names[c.code] = lang === "en" ? c.name_en : c.name_zh;
        });
        var units = answers[0].units.filter(function (u) {
          return COLOURS[u["class"]] !== undefined;
        });
        var unitLayer = L.geoJSON(
          units.map(function (u) {
            return { type: "Feature", geometry: u.geometry, properties: u };
          }),
          {
            style: function (feature) {
              var colour = COLOURS[feature.properties["class"]];
              return { color: colour, weight: 1, fillColor: colour, fillOpacity: 0.55 };
            },
            onEachFeature: function (feature, layer) {
              var p = feature.properties;
              var tip = global.document.createElement("div");
              tip.textContent = p.name + " · " + text[p["class"]] + " · " + p.count + " " + text.reports;
              layer.bindTooltip(tip);
            },
          }
        );
        var placeLayer = L.layerGroup(
          answers[1].places.map(function (place) {
            var marker = L.circleMarker([place.lat, place.lon], {
              radius: 4 + 2 * Math.sqrt(place.count),
              color: "#5e3c99",
              weight: 2,
              fillColor: "#b2abd2",
              fillOpacity: 0.8,
              className: "wg-analytics-marker",
            });
            var tip = global.document.createElement("div");
            tip.textContent = (names[place.category] || place.category) + " · " + place.count +
              " " + text.reports;
            marker.bindTooltip(tip);
            return marker;
          })
        );
        unitLayer.addTo(map);
        placeLayer.addTo(map);
        legend(L, text).addTo(map);
        global.wangge.analytics = {
          hot: units.filter(function (u) { return u["class"].indexOf("hot") === 0; }).length,
          cold: units.filter(function (u) { return u["class"].indexOf("cold") === 0; }).length,
          places: answers[1].places.length,
          units: unitLayer,
          recurring: placeLayer,
        };
        container.setAttribute("data-analytics", "ready");
      })
      .catch(function () {
        container.setAttribute("data-analytics", "unavailable");
      });
  }

  // density.js sets window.wangge.map when it has built the map; wait for it (with a deadline)
  var started = Date.now();
  function whenMap(answers) {
    var wangge = global.wangge || {};
    if (wangge.map) return draw(wangge.map, wangge.lang || pageLang(), answers());
    if (Date.now() - started < 30000) global.setTimeout(function () { whenMap(answers); }, 50);
  }
  // the page the service answers says so (for a level with units enough for hot spots, GET
  // /maps/density); a written page carries its layers; any other page has nothing to draw
  function meta(content) {
    return global.document.querySelector('meta[name="wangge-analytics"][content="' + content + '"]');
  }
  global.addEventListener("load", function () {
    // read once the whole page (head included) is there
    var inline = global.document.getElementById("wangge-analytics-data");
    if (meta("inline") && inline) {
      var data = JSON.parse(inline.textContent);
      return whenMap(function () { return written(data); });
    }
    var served = meta("on");
    if (served && global.fetch && global.location.protocol.indexOf("http") === 0) {
      whenMap(function () { return asked(served.dataset.level); });
    }
  });
})(window);
