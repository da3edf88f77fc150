/*
 * Wangge live screen, on the density map: new cases and changes arrive through the stream
 * (GET /maps/density/events, server-sent events; the browser reconnects by itself and resumes
 * after its Last-Event-ID), the queue panel beside the map (GET /maps/density/queue), and
 * the actions a case's popup offers (GET /maps/density/cases/{id}, from the lifecycle),
 * made with POST /reports/{id}/transitions: the session cookie plus the page's CSRF token.
 *
 * The choropleth's counts follow too: a new case adds one to every unit of the page's level
 * it lies in, as far as the page's filters select it (category, status, times; a status
 * change moves it in or out of a page filtered by status), recoloured in the page's classes.
 *
 * State for scripts and tests: wangge.live = {cases, events, cursor, state, recounted}; the panel's
 * data-live is "open" while the stream is connected, "ended" once the session ended.
 * Text from the data is always set with textContent, never parsed as HTML.
 */
(function (global) {
  "use strict";

  var L = global.L;
  var doc = global.document;
  var wangge = (global.wangge = global.wangge || {});

  // -- labels (Chinese first; ?lang=en gives English) -----------------------------------------

  var LABELS = {
    zh: {
      queue: "待办队列",
      unassigned: "未派单（辖区外）",
      overdue: "已超期",
      escalated: "已吹哨上报",
      reopened: "重新办理",
      empty: "无",
      case: "案件",
      category: "类别",
      status: "状态",
      unit: "网格",
      department: "部门",
      overdueBadge: "超期",
      age: "已过",
      minutes: "分钟",
      hours: "小时",
      days: "天",
      actions: "操作",
      none: "无可用操作",
      parent: "上报上级网格",
      toDepartment: "派至部门",
      departmentHint: "部门名称",
      unitHint: "网格编码或名称",
      reassign: "改派",
      duplicateOf: "重复于",
      noteHint: "说明",
      reject: "驳回",
      done: "已更新",
      failed: "未能更新",
      live: "实时",
      ended: "已退出登录，实时更新已停止",
      reconnecting: "重新连接中…",
      newCase: "新案件",
    },
    en: {
      queue: "Queue",
      unassigned: "Unassigned (outside the area)",
      overdue: "Overdue",
      escalated: "Escalated",
      reopened: "Reopened",
      empty: "none",
      case: "Case",
      category: "Category",
      status: "Status",
      unit: "Unit",
      department: "Department",
      overdueBadge: "overdue",
      age: "age",
      minutes: "min",
      hours: "h",
      days: "d",
      actions: "Actions",
      none: "No action available",
      parent: "Escalate to the parent unit",
      toDepartment: "Send to department",
      departmentHint: "department name",
      unitHint: "unit code or name",
      reassign: "Reassign",
      duplicateOf: "duplicate of",
      noteHint: "note",
      reject: "Reject",
      done: "Updated",
      failed: "Not updated",
      live: "live",
      ended: "Signed out: live updates stopped",
      reconnecting: "reconnecting…",
      newCase: "new case",
    },
  };
  var STATUS = {
    zh: {
      submitted: "待派单",
      assigned: "已派单",
      accepted: "已接单",
      in_progress: "处理中",
      resolved: "已办结",
      closed: "已结案",
      escalated: "已吹哨上报",
      reassigned: "已改派",
      rejected: "已驳回",
      reopened: "重新办理",
    },
    en: {
      submitted: "submitted",
      assigned: "assigned",
      accepted: "accepted",
      in_progress: "in progress",
      resolved: "resolved",
      closed: "closed",
      escalated: "escalated",
      reassigned: "reassigned",
      rejected: "rejected",
      reopened: "reopened",
    },
  };
  // the button that moves a case into each state
  var ACTION = {
    zh: {
      assigned: "派单",
      accepted: "接单",
      in_progress: "开始处理",
      resolved: "办结",
      closed: "结案",
      reopened: "重新打开",
      escalated: "吹哨上报",
      reassigned: "改派",
      rejected: "驳回为重复",
    },
    en: {
      assigned: "Assign",
      accepted: "Accept",
      in_progress: "Start",
      resolved: "Resolve",
      closed: "Close",
      reopened: "Reopen",
      escalated: "Escalate",
      reassigned: "Reassign",
      rejected: "Reject as duplicate",
    },
  };

  function language() {
    if (wangge.lang === "en" || wangge.lang === "zh") return wangge.lang;
    return /[?&]lang=en(&|$)/.test(global.location.search) ? "en" : "zh";
  }
  var lang = language();
  function t(key) {
    return LABELS[lang][key] || key;
  }
  function statusName(code) {
    return STATUS[lang][code] || code;
  }
  function categoryName(c) {
    return lang === "en" ? c.category_en : c.category_zh;
  }
  var numbers = new Intl.NumberFormat(lang === "en" ? "en" : "zh-CN");

  function el(tag, className, text) {
    var node = doc.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function meta(name) {
    var node = doc.querySelector('meta[name="' + name + '"]');
    return node ? node.getAttribute("content") || "" : "";
  }

  function age(created) {
    var minutes = Math.max(0, (Date.now() - Date.parse(created)) / 60000);
    if (minutes < 60) return numbers.format(Math.round(minutes)) + " " + t("minutes");
    if (minutes < 1440) return numbers.format(Math.round(minutes / 60)) + " " + t("hours");
    return numbers.format(Math.round(minutes / 1440)) + " " + t("days");
  }

  // -- the page's state -------------------------------------------------------------------

  var live = (wangge.live = {
    cases: {}, // id -> the case as the stream last told it
    events: 0,
    cursor: parseInt(meta("wangge-live-cursor"), 10) || 0,
    state: "connecting",
    recounted: 0, // changes that moved a count of the choropleth
  });
  var csrf = meta("csrf-token");
  var panel = doc.getElementById("queue");

  function toLatLng(c) {
    return wangge.toMap ? wangge.toMap([c.lon, c.lat]) : [c.lat, c.lon];
  }

  function request(method, url, body) {
    var headers = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRF-Token"] = csrf;
    }
    return global
      .fetch(url, {
        method: method,
        headers: headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) {
            var error = new Error((data && data.message) || String(response.status));
            error.body = data;
            throw error;
          }
          return data;
        });
      });
  }

  // -- markers of cases the stream told about ------------------------------------------------

  var markers = {}; // id -> L.Marker of live.js
  var layer = null;

  function icon(c) {
    return L.divIcon({
      className: "wg-live-case" + (c.overdue ? " wg-live-overdue" : ""),
      html: '<span class="wg-live-dot wg-live-' + c.status.replace(/[^a-z_]/g, "") + '"></span>',
      iconSize: [16, 16],
    });
  }

  /* The density map's own marker of a case, if it drew one (density.js: caseRow[2] is the id). */
  function pageMarkers(id) {
    var found = [];
    var registry = wangge.maps || {};
    for (var key in registry) {
      var layers = registry[key].layers || {};
      for (var name in layers) {
        var group = layers[name];
        if (!group || !group.getLayers || group === layer) continue;
        var children = group.getLayers();
        for (var i = 0; i < children.length; i++) {
          var row = children[i].options && children[i].options.caseRow;
          if (row && row[2] === id) found.push([group, children[i]]);
        }
      }
    }
    return found;
  }

  function showCase(c) {
    live.cases[c.id] = c;
    // the stream's view replaces the page's snapshot of the case
    var old = pageMarkers(c.id);
    for (var i = 0; i < old.length; i++) old[i][0].removeLayer(old[i][1]);
    var marker = markers[c.id];
    if (!c.open) {
      if (marker) {
        layer.removeLayer(marker);
        delete markers[c.id];
      }
      return;
    }
    if (!marker) {
      marker = markers[c.id] = L.marker(toLatLng(c), { icon: icon(c), wgCaseId: c.id });
      // the popup is built when it opens, from the case as the stream last told it
      marker.bindPopup(el("div"), { minWidth: 240 });
      marker.on("popupopen", function (e) {
        e.popup.setContent(casePopup(live.cases[c.id]));
      });
      layer.addLayer(marker);
    } else {
      marker.setLatLng(toLatLng(c));
      marker.setIcon(icon(c));
    }
    var element = marker.getElement();
    if (element) element.setAttribute("data-case-id", String(c.id));
  }

  // -- popups: the case and what the signed-in role may do with it -------------------------------

  function casePopup(c) {
    var box = el("div", "wg-live-popup");
    box.setAttribute("data-case-id", String(c.id));
    var head = el("div", "wg-popup-title", t("case") + " " + c.id);
    if (c.overdue) head.appendChild(el("span", "wg-badge", t("overdueBadge")));
    box.appendChild(head);
    var table = el("table");
    function line(label, value) {
      var tr = el("tr");
      tr.appendChild(el("th", null, label));
      tr.appendChild(el("td", null, value));
      table.appendChild(tr);
    }
    line(t("category"), categoryName(c));
    line(t("status"), statusName(c.status));
    line(t("unit"), c.unit_code || "—");
    if (c.department) line(t("department"), c.department);
    box.appendChild(table);
    box.appendChild(actionsBox(c.id));
    return box;
  }

  /* The actions part of a popup: filled from GET /maps/density/cases/{id}. */
  function actionsBox(id) {
    var box = el("div", "wg-live-actions");
    box.setAttribute("data-case-id", String(id));
    request("GET", "/maps/density/cases/" + encodeURIComponent(id))
      .then(function (data) {
        fillActions(box, data);
      })
      .catch(function (error) {
        box.textContent = error.message;
      });
    return box;
  }

  function fillActions(box, data) {
    var c = data.case;
    box.textContent = "";
    box.appendChild(el("div", "wg-live-actions-title", t("actions")));
    var result = el("div", "wg-live-result");
    if (!c.actions.length) box.appendChild(el("div", "wg-live-none", t("none")));

    function send(change, button) {
      button.disabled = true;
      change.note = change.note || "";
      request("POST", "/reports/" + encodeURIComponent(c.id) + "/transitions", change)
        .then(function (report) {
          result.className = "wg-live-result wg-live-ok";
          result.textContent = t("done") + ": " + statusName(report.status);
          return request("GET", "/maps/density/cases/" + encodeURIComponent(c.id));
        })
        .then(function (fresh) {
          showCase(fresh.case);
          fillActions(box, fresh);
          box.appendChild(result);
          refreshQueue();
        })
        .catch(function (error) {
          button.disabled = false;
          result.className = "wg-live-result wg-live-error";
          result.textContent = t("failed") + ": " + error.message;
        });
    }

    function button(label, action, change, extra) {
      var b = el("button", "wg-live-action", label);
      b.type = "button";
      b.setAttribute("data-action", action);
      b.addEventListener("click", function () {
        var value = change();
        if (value) send(value, b);
      });
      (extra || box).appendChild(b);
      return b;
    }

    c.actions.forEach(function (action) {
      if (action === "escalated") {
        var row = el("div", "wg-live-row");
        button(t("parent"), "escalated-parent", function () {
          return { to: "escalated", escalate_to: "parent" };
        }, row);
        var dept = el("input", "wg-live-input");
        dept.placeholder = t("departmentHint");
        dept.maxLength = 100;
        row.appendChild(dept);
        button(t("toDepartment"), "escalated-department", function () {
          var name = dept.value.trim();
          return name ? { to: "escalated", escalate_to: name } : null;
        }, row);
        box.appendChild(row);
      } else if (action === "reassigned") {
        var row2 = el("div", "wg-live-row");
        var unit = el("input", "wg-live-input");
        unit.placeholder = t("unitHint");
        unit.maxLength = 64;
        var listId = "wg-units-" + c.id;
        var list = el("datalist");
        list.id = listId;
        unit.setAttribute("list", listId);
        unit.addEventListener("input", function () {
          var q = unit.value.trim();
          if (!q) return;
          request("GET", "/maps/density/units?q=" + encodeURIComponent(q) + "&limit=10")
            .then(function (units) {
              list.textContent = "";
              units.forEach(function (u) {
                var option = el("option");
                option.value = u.code;
                option.label = u.name + " (" + u.level + ")";
                list.appendChild(option);
              });
            })
            .catch(function () {});
        });
        row2.appendChild(unit);
        row2.appendChild(list);
        button(t("reassign"), "reassigned", function () {
          var code = unit.value.trim();
          return code ? { to: "reassigned", unit_code: code } : null;
        }, row2);
        box.appendChild(row2);
      } else if (action === "rejected") {
        var row3 = el("div", "wg-live-row");
        var pick = el("select", "wg-live-input");
        data.nearby.forEach(function (n) {
          var option = el("option", null, "#" + n.id + " · " + numbers.format(n.distance_m) + " m");
          option.value = String(n.id);
          pick.appendChild(option);
        });
        var note = el("input", "wg-live-input");
        note.placeholder = t("noteHint");
        note.maxLength = 200;
        if (data.nearby.length) {
          row3.appendChild(el("span", null, t("duplicateOf")));
          row3.appendChild(pick);
        }
        row3.appendChild(note);
        button(ACTION[lang].rejected, "rejected", function () {
          var change = { to: "rejected", note: note.value.trim() };
          if (data.nearby.length) change.duplicate_of = parseInt(pick.value, 10);
          return change.duplicate_of || change.note ? change : null;
        }, row3);
        box.appendChild(row3);
      } else {
        button(ACTION[lang][action] || action, action, function () {
          return { to: action };
        });
      }
    });
    box.appendChild(result);
    // a popup of live.js holds a node: laid out again to fit (the density map's own popups
    // are rebuilt by an update, so they are left as they are)
    if (wangge.map) {
      wangge.map.eachLayer(function (l) {
        if (l instanceof L.Popup && l._source && l._source.options.wgCaseId !== undefined) {
          var node = l.getElement();
          if (node && node.contains(box)) l.update();
        }
      });
    }
  }

  /* The density map's own case popups get the actions too. */
  function onPopupOpen(e) {
    var source = e.popup._source;
    var row = source && source.options && source.options.caseRow;
    if (!row) return;
    var content = e.popup.getElement().querySelector(".leaflet-popup-content");
    if (content && !content.querySelector(".wg-live-actions")) {
      content.appendChild(actionsBox(row[2]));
    }
  }

  // -- the queue panel ----------------------------------------------------------------------

  var SECTIONS = ["unassigned", "overdue", "escalated", "reopened"];
  var queueTimer = null;

  function flyTo(c) {
    var map = wangge.map;
    showCase(c);
    var marker = markers[c.id];
    map.flyTo(toLatLng(c), Math.max(map.getZoom(), 17), { duration: 0.5 });
    map.once("moveend", function () {
      if (marker) marker.openPopup();
    });
  }

  function renderQueue(data) {
    panel.textContent = "";
    var head = el("div", "wg-queue-title", t("queue"));
    var badge = el("span", "wg-queue-live", live.state === "ended" ? t("ended") : t("live"));
    head.appendChild(badge);
    panel.appendChild(head);
    SECTIONS.forEach(function (name) {
      var section = data[name];
      var box = el("section", "wg-queue-section");
      box.setAttribute("data-section", name);
      var title = el("h3", null, t(name) + " ");
      title.appendChild(el("span", "wg-queue-count", numbers.format(section.count)));
      box.appendChild(title);
      var list = el("ul");
      if (!section.items.length) list.appendChild(el("li", "wg-queue-empty", t("empty")));
      section.items.forEach(function (c) {
        var item = el("li", "wg-queue-item");
        item.setAttribute("data-case-id", String(c.id));
        item.tabIndex = 0;
        item.appendChild(el("b", null, "#" + c.id + " "));
        item.appendChild(el("span", null, categoryName(c)));
        item.appendChild(
          el("small", null, " · " + (c.unit_code || "—") + " · " + t("age") + " " + age(c.created_at))
        );
        item.addEventListener("click", function () {
          flyTo(c);
        });
        item.addEventListener("keydown", function (e) {
          if (e.key === "Enter") flyTo(c);
        });
        list.appendChild(item);
      });
      box.appendChild(list);
      panel.appendChild(box);
    });
    panel.setAttribute("data-queue", "ready");
  }

  function refreshQueue() {
    if (queueTimer) return;
    queueTimer = global.setTimeout(function () {
      queueTimer = null;
      request("GET", "/maps/density/queue?limit=20")
        .then(renderQueue)
        .catch(function () {});
    }, 200);
  }

  // -- counts per unit -------------------------------------------------------------------------

  var FILTER = (function () {
    var query = new global.URLSearchParams(global.location.search);
    return {
      category: query.getAll("category"),
      status: query.getAll("status"),
      since: query.get("since") ? Date.parse(query.get("since")) : null,
      until: query.get("until") ? Date.parse(query.get("until")) : null,
    };
  })();

  /* How a change moves the count of the units it lies in, on this page: +1 for a new case
     the page's filters select; with a status filter, +1 or -1 as the case moves in or out.
     A page filtered by time counts new cases only (a change does not say when its case was
     made); a case moved to another unit is not followed (reload for that). */
  function countDelta(change) {
    if (change.kind !== "transition") return 0;
    if (FILTER.category.length && FILTER.category.indexOf(change.category) < 0) return 0;
    var created = change.from_status === null;
    if (FILTER.since !== null || FILTER.until !== null) {
      if (!created) return 0;
      var at = Date.parse(change.at);
      if (FILTER.since !== null && at < FILTER.since) return 0;
      if (FILTER.until !== null && at >= FILTER.until) return 0;
    }
    if (!FILTER.status.length) return created ? 1 : 0;
    var was = !created && FILTER.status.indexOf(change.from_status) >= 0;
    var is = FILTER.status.indexOf(change.to_status) >= 0;
    return (is ? 1 : 0) - (was ? 1 : 0);
  }

  /* The choropleth's lookups, made once: unit index by code, its polygon, each class's
     highest count (as the page classed them). */
  function choropleth() {
    var group = wangge.last && wangge.last.layers && wangge.last.layers.choropleth;
    if (!group || !group.wgUnits) return null;
    if (!group.wgLive) {
      var units = group.wgUnits;
      var at = {};
      var shapes = {};
      var upper = [];
      units.code.forEach(function (code, i) {
        at[code] = i;
        var c = units.cls[i];
        upper[c] = Math.max(upper[c] === undefined ? 0 : upper[c], units.count[i]);
      });
      for (var k = 0; k < group.wgColors.length; k++) {
        if (upper[k] === undefined) upper[k] = k ? upper[k - 1] : 0;
      }
      group.eachLayer(function (layer) {
        shapes[layer.options.unit] = layer;
      });
      group.wgLive = { at: at, shapes: shapes, upper: upper };
    }
    return group;
  }

  function recount(change) {
    var delta = countDelta(change);
    var group = delta && change.units && change.units.length ? choropleth() : null;
    if (!group) return;
    var units = group.wgUnits;
    var lookup = group.wgLive;
    change.units.forEach(function (code) {
      var i = lookup.at[code];
      if (i === undefined) return;
      units.count[i] = Math.max(0, units.count[i] + delta);
      var cls = lookup.upper.length - 1;
      for (var k = 0; k < lookup.upper.length; k++) {
        if (units.count[i] <= lookup.upper[k]) {
          cls = k;
          break;
        }
      }
      units.cls[i] = cls;
      if (lookup.shapes[i]) lookup.shapes[i].setStyle({ fillColor: group.wgColors[cls] });
    });
    live.recounted += 1;
  }

  // -- the stream -----------------------------------------------------------------------------

  function connect() {
    var source = new global.EventSource("/maps/density/events?since_event=" + live.cursor);
    source.addEventListener("open", function () {
      live.state = "open";
      panel.setAttribute("data-live", "open");
    });
    source.addEventListener("change", function (e) {
      var change = JSON.parse(e.data);
      live.events += 1;
      live.cursor = change.event_id;
      if (change.case) showCase(change.case);
      recount(change);
      refreshQueue();
    });
    source.addEventListener("cursor", function (e) {
      live.cursor = parseInt(e.data, 10) || live.cursor;
    });
    source.addEventListener("end", function () {
      source.close();
      live.state = "ended";
      panel.setAttribute("data-live", "ended");
      var badge = panel.querySelector(".wg-queue-live");
      if (badge) badge.textContent = t("ended");
    });
    source.addEventListener("error", function () {
      if (live.state !== "ended") {
        live.state = "reconnecting";
        panel.setAttribute("data-live", "reconnecting");
      }
    });
    live.source = source;
  }

  function start() {
    if (!wangge.map) {
      global.requestAnimationFrame(start);
      return;
    }
    layer = L.layerGroup().addTo(wangge.map);
    live.layer = layer;
    wangge.map.on("popupopen", onPopupOpen);
    if (!panel) return;
    panel.setAttribute("lang", lang === "en" ? "en" : "zh-CN");
    refreshQueue();
    connect();
  }
  start();
})(window);
