/*
 * Wangge volunteer services layer (maps/volunteers.py): units shaded by the teams that reach
 * them for one service, units no team reaches outlined in red, and the teams' bases with their
 * reach. Text from the data is always set with textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var L = global.L;
  var wangge = (global.wangge = global.wangge || {});
  var volunteers = (wangge.volunteers = {});

  var REACHED = { color: "#2b8a3e", weight: 0.8, opacity: 0.8, fillColor: "#2b8a3e", fillOpacity: 0.15 };
  var UNREACHED = { color: "#c92a2a", weight: 2, opacity: 0.9, dashArray: "4 3", fillColor: "#c92a2a", fillOpacity: 0.3 };
  var BASE = { color: "#1864ab", weight: 1, fillOpacity: 0.08 };

  function line(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div;
  }

  function unitTip(props, serviceName) {
    var box = document.createElement("div");
    var title = document.createElement("b");
    title.textContent = props.name + " (" + props.code + ")";
    box.appendChild(title);
    if (props.teams) {
      box.appendChild(line(serviceName + ": " + props.teams + " 支队伍 teams"));
      box.appendChild(line(props.team_names.join("、")));
    } else {
      box.appendChild(line(serviceName + ": 无队伍覆盖 no team reaches it"));
    }
    box.appendChild(line(props.orders + " 单 orders, " + Math.round(props.done * 100) + "% 完成 done"));
    return box;
  }

  volunteers.layer = function (data) {
    var group = L.featureGroup();
    L.geoJSON(data.units, {
      style: function (feature) {
        return feature.properties.teams ? REACHED : UNREACHED;
      },
      onEachFeature: function (feature, layer) {
        layer.bindTooltip(unitTip(feature.properties, data.service_name), { sticky: true });
      },
    }).addTo(group);
    data.bases.forEach(function (base) {
      var tip = document.createElement("div");
      tip.textContent = base.name + " · " + Math.round(base.radius_m) + " m";
      L.circle([base.lat, base.lon], L.extend({ radius: base.radius_m }, BASE))
        .bindTooltip(tip)
        .addTo(group);
      L.circleMarker([base.lat, base.lon], { radius: 4, color: "#1864ab", fillOpacity: 1 }).addTo(group);
    });
    wangge.volunteersLayer = { data: data, layer: group };
    return group;
  };
})(window);
