/* ugate's own page: an OAuth2 client of the gateway that serves it (or of
   the companion app that shows it, with ?external_auth=1), reading
   everything through the gateway's APIs. Hand-written, no dependencies. */
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var CLIENT_ID = location.origin + "/";
  var STORE_KEY = "ugateTokens";
  var query = new URLSearchParams(location.search);
  var external = query.get("external_auth") === "1";
  var auth = null;          // {access_token, expires (ms), refresh_token?, kind}
  var refreshing = null;    // the refresh under way, shared by its callers
  var entities = {};        // entity_id -> {s, a, lc, lu}
  var points = {};          // entity_id -> [[seconds, value]], oldest first
  var maxPoints = 60;
  var services = {};
  var ws = null, wsNext = 1, wsWaiting = {}, wsEvents = {}, wsDelay = 500;
  var rows = {}, shownIds = "", changed = {}, renderQueued = false;
  var view = null, pollTimer = null, configLoaded = false, detailId = null, startedUs = null;

  // -- small helpers -----------------------------------------------------------

  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) { e.className = cls; }
    if (text !== undefined && text !== null) { e.textContent = text; }
    return e;
  }
  function say(id, text, bad) {
    var e = $(id);
    e.textContent = text || "";
    e.className = bad ? "error" : "";
  }
  function status(text) { $("status").textContent = text; }
  function ago(seconds) {
    var s = Math.max(0, Math.round(Date.now() / 1000 - seconds));
    if (s < 60) { return s + " s ago"; }
    if (s < 3600) { return Math.floor(s / 60) + " min ago"; }
    if (s < 86400) { return Math.floor(s / 3600) + " h ago"; }
    return Math.floor(s / 86400) + " d ago";
  }
  function duration(s) {
    var d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
    return (d ? d + " d " : "") + (d || h ? h + " h " : "") + m + " min";
  }
  function pause(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function bytes(n) { return n >= 1048576 ? (n / 1048576).toFixed(1) + " MiB" : Math.round(n / 1024) + " KiB"; }
  function number(text) {
    if (typeof text !== "string" || text.trim() === "") { return null; }
    var v = Number(text);
    return isFinite(v) ? v : null;
  }
  function dl(pairs) {
    var d = el("dl");
    pairs.forEach(function (p) {
      if (p[1] === undefined) { return; }
      d.appendChild(el("dt", null, p[0]));
      var dd = el("dd", p[2] || null, p[1] === null ? "-" : String(p[1]));
      d.appendChild(dd);
    });
    return d;
  }
  function replace(id, children) {
    var box = $(id);
    box.textContent = "";
    children.forEach(function (c) { box.appendChild(c); });
  }

  // -- signing in ------------------------------------------------------------

  function storage() { return localStorage.getItem(STORE_KEY) ? localStorage : sessionStorage; }
  function save(data, keep) {
    auth = data;
    if (data.kind === "external") { return; }  // the app keeps its own tokens
    (keep ? localStorage : storage()).setItem(STORE_KEY, JSON.stringify(data));
  }
  function forget() {
    localStorage.removeItem(STORE_KEY);
    sessionStorage.removeItem(STORE_KEY);
    auth = null;
  }
  function loaded() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || sessionStorage.getItem(STORE_KEY)); }
    catch (e) { return null; }
  }

  async function tokenRequest(fields) {
    fields.client_id = CLIENT_ID;
    var r = await fetch("/auth/token", {method: "POST", body: new URLSearchParams(fields)});
    var data = await r.json().catch(function () { return {}; });
    if (!r.ok) { throw new Error(data.error_description || data.error || "sign-in failed (" + r.status + ")"); }
    return data;
  }

  function fromTokens(data, refresh) {
    return {access_token: data.access_token, refresh_token: data.refresh_token || refresh,
            expires: Date.now() + data.expires_in * 1000, kind: "oauth"};
  }

  // The companion apps' bridge (Home Assistant's external auth): the app
  // calls back window[callback](success, {access_token, expires_in}).
  function askApp(force) {
    return new Promise(function (resolve, reject) {
      window.externalAuthSetToken = function (ok, data) {
        if (ok && data && data.access_token) {
          resolve({access_token: data.access_token, expires: Date.now() + data.expires_in * 1000,
                   kind: "external"});
        } else {
          reject(new Error("the app gave no token"));
        }
      };
      var payload = {callback: "externalAuthSetToken", force: !!force};
      if (window.externalApp) {
        window.externalApp.getExternalAuth(JSON.stringify(payload));
      } else if (window.webkit && window.webkit.messageHandlers && window.webkit.messageHandlers.getExternalAuth) {
        window.webkit.messageHandlers.getExternalAuth.postMessage(payload);
      } else {
        reject(new Error("external_auth=1, but no app bridge (window.externalApp or webkit.messageHandlers)"));
      }
    });
  }

  async function refresh() {
    if (auth.kind === "external") {
      save(await askApp(true));
    } else if (auth.kind === "oauth" && auth.refresh_token) {
      save(fromTokens(await tokenRequest({grant_type: "refresh_token", refresh_token: auth.refresh_token}),
                      auth.refresh_token));
    } else {
      throw new Error("the token is no longer valid");
    }
  }

  async function token(force) {
    if (!auth) { throw new Error("signed out"); }
    if (force || (auth.expires && auth.expires - 60000 < Date.now())) {
      if (!refreshing) { refreshing = refresh().finally(function () { refreshing = null; }); }
      await refreshing;
    }
    return auth.access_token;
  }

  function signIn() {
    var state = Math.random().toString(36).slice(2) + Date.now().toString(36);
    sessionStorage.setItem("ugateState", state);
    location.assign("/auth/authorize?" + new URLSearchParams({
      response_type: "code", client_id: CLIENT_ID, redirect_uri: CLIENT_ID, state: state}));
  }

  function showSignIn(problem) {
    forget();
    if (ws) { ws.onclose = null; ws.close(); ws = null; }
    $("nav").hidden = true;
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = true; });
    $("signin").hidden = false;
    say("signin-error", problem, true);
    status("");
    $("signin-button").focus();
  }

  async function api(path, options) {
    options = options || {};
    var headers = {Authorization: "Bearer " + await token()};
    if (options.json !== undefined) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(options.json);
    }
    var r = await fetch(path, {method: options.method || "GET", headers: headers, body: options.body});
    if (r.status === 401 && !options.retried) {
      try { await token(true); } catch (e) { showSignIn("Signed out: " + e.message); throw e; }
      options.retried = true;
      return api(path, options);
    }
    return r;
  }

  async function message(r) {
    var data = await r.json().catch(function () { return {}; });
    return data.message || data.error || r.status + " " + r.statusText;
  }

  // -- the WebSocket API ------------------------------------------------------------

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/websocket");
    var socket = ws;
    socket.onmessage = async function (m) {
      var msg = JSON.parse(m.data);
      if (msg.type === "auth_required") {
        try { socket.send(JSON.stringify({type: "auth", access_token: await token()})); }
        catch (e) { showSignIn(e.message); }
      } else if (msg.type === "auth_ok") {
        wsDelay = 500;
        status("connected");
        subscribe();
      } else if (msg.type === "auth_invalid") {
        socket.onclose = null;
        try { await token(true); connect(); } catch (e) { showSignIn("Signed out: " + e.message); }
      } else if (msg.type === "result" && wsWaiting[msg.id]) {
        var waiting = wsWaiting[msg.id];
        delete wsWaiting[msg.id];
        if (msg.success) { waiting[0](msg.result); } else { waiting[1](new Error(msg.error.message)); }
      } else if (msg.type === "event" && wsEvents[msg.id]) {
        wsEvents[msg.id](msg.event);
      }
    };
    socket.onclose = function () {
      Object.keys(wsWaiting).forEach(function (id) { wsWaiting[id][1](new Error("disconnected")); });
      wsWaiting = {};
      wsEvents = {};
      status("disconnected; reconnecting");
      setTimeout(connect, wsDelay);
      wsDelay = Math.min(wsDelay * 2, 5000);
    };
  }

  function send(msg, onEvent) {
    return new Promise(function (resolve, reject) {
      if (!ws || ws.readyState !== 1) { reject(new Error("not connected")); return; }
      msg.id = wsNext++;
      wsWaiting[msg.id] = [resolve, reject];
      if (onEvent) { wsEvents[msg.id] = onEvent; }
      ws.send(JSON.stringify(msg));
    });
  }

  function subscribe() {
    entities = {};
    send({type: "subscribe_entities"}, entitiesChanged).catch(function (e) { status(e.message); });
    send({type: "get_services"}).then(function (s) { services = s; });
    send({type: "subscribe_events", event_type: "system_log_event"}, logged).catch(function () {});
    if (view) { show(view); }
  }

  // -- entities ------------------------------------------------------------------

  function addPoint(id, seconds, state) {
    var v = number(state);
    if (v === null || id.indexOf("persistent_notification.") === 0) { return; }
    var list = points[id] || (points[id] = []), last = list[list.length - 1];
    // Older than the last point, or the same one again (the hub keeps whole seconds).
    if (last && (last[0] > seconds || (seconds - last[0] < 1 && last[1] === v))) { return; }
    list.push([seconds, v]);
    if (list.length > maxPoints) { list.splice(0, list.length - maxPoints); }
  }

  function entitiesChanged(ev) {
    var fresh = [];
    Object.keys(ev.a || {}).forEach(function (id) {
      var s = ev.a[id];
      entities[id] = {s: s.s, a: s.a, lc: s.lc, lu: s.lu || s.lc};
      if (!points[id]) { fresh.push(id); }
      addPoint(id, entities[id].lu, s.s);
      changed[id] = true;
    });
    Object.keys(ev.c || {}).forEach(function (id) {
      var e = entities[id], plus = ev.c[id]["+"] || {}, minus = ev.c[id]["-"];
      if (!e) { return; }
      if ("s" in plus) { e.s = plus.s; }
      if (plus.lc) { e.lc = e.lu = plus.lc; }
      if (plus.lu) { e.lu = plus.lu; }
      if (plus.a) { Object.assign(e.a, plus.a); }
      if (minus && minus.a) { minus.a.forEach(function (k) { delete e.a[k]; }); }
      addPoint(id, e.lu, e.s);
      changed[id] = true;
    });
    (ev.r || []).forEach(function (id) { delete entities[id]; delete points[id]; });
    if (fresh.length) { loadHistory(fresh); }
    queueRender();
  }

  // The hub's recent values (GET /api/history/period) for sparklines; the
  // ids go in pieces, so no request line is longer than a board allows.
  async function loadHistory(ids) {
    ids = ids.filter(function (id) { return number(entities[id].s) !== null; });
    while (ids.length) {
      var part = [], length = 0;
      while (ids.length && length < 1200) { length += ids[0].length + 1; part.push(ids.shift()); }
      var r = await api("/api/history/period?minimal_response&no_attributes&filter_entity_id=" + part.join(","));
      if (!r.ok) { return; }
      (await r.json()).forEach(function (list) {
        var id = list[0].entity_id, live = points[id] || [];
        points[id] = [];
        list.forEach(function (p) { addPoint(id, Date.parse(p.last_changed) / 1000, p.state); });
        live.forEach(function (p) { addPoint(id, p[0], String(p[1])); });
        changed[id] = true;
      });
      queueRender();
    }
  }

  function queueRender() {
    if (!renderQueued) {
      renderQueued = true;
      requestAnimationFrame(function () { renderQueued = false; render(); });
    }
  }

  function source(id, a) {
    if (a.port) { return [a.device_id || a.port, "serial " + a.port + (a.protocol ? " · " + a.protocol : "")]; }
    if (a.tenant_id) { return [a.device_id, "Hono device · tenant " + a.tenant_id]; }
    if (a.device_id) { return [a.device_id, "device"]; }
    return [id.split(".")[0], "REST and services"];
  }

  function name(id) { return (entities[id].a.friendly_name || id); }
  function stateText(e) { return e.s + (e.a.unit_of_measurement ? " " + e.a.unit_of_measurement : ""); }

  function spark(svg, list) {
    svg.textContent = "";
    if (!list || list.length < 2) { return; }
    var lo = Infinity, hi = -Infinity, t0 = list[0][0], t1 = list[list.length - 1][0];
    list.forEach(function (p) { lo = Math.min(lo, p[1]); hi = Math.max(hi, p[1]); });
    var w = 300, h = 80, pad = 4;
    var xy = list.map(function (p) {
      var x = t1 > t0 ? (p[0] - t0) / (t1 - t0) * w : 0;
      var y = hi > lo ? h - pad - (p[1] - lo) / (hi - lo) * (h - 2 * pad) : h / 2;
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    var line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", xy.join(" "));
    svg.appendChild(line);
  }

  function row(id) {
    var r = rows[id];
    if (!r) {
      var b = el("button", "entity");
      b.type = "button";
      b.dataset.entity = id;
      var label = el("span", "name");
      var svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
      svg.setAttribute("class", "spark");
      svg.setAttribute("viewBox", "0 0 300 80");
      svg.setAttribute("preserveAspectRatio", "none");
      svg.setAttribute("aria-hidden", "true");
      r = rows[id] = {el: b, label: label, state: el("span", "state"), spark: svg, ago: el("span", "ago")};
      [label, r.state, svg, r.ago].forEach(function (c) { b.appendChild(c); });
      b.onclick = function () { openDetail(id); };
    }
    return r;
  }

  function render() {
    var filter = $("filter").value.trim().toLowerCase();
    var ids = Object.keys(entities).filter(function (id) {
      if (id.indexOf("persistent_notification.") === 0) { return false; }
      var e = entities[id];
      return !filter || [id, e.a.friendly_name || "", e.a.device_id || "", e.s, e.a.port || ""].join(" ")
        .toLowerCase().indexOf(filter) >= 0;
    }).sort(function (x, y) { return name(x).localeCompare(name(y)); });
    var key = ids.join(" ");
    if (key !== shownIds) {
      shownIds = key;
      var groups = {};
      ids.forEach(function (id) {
        var s = source(id, entities[id].a), k = s[1] + "\u0000" + s[0];
        (groups[k] = groups[k] || {title: s[0], sub: s[1], ids: []}).ids.push(id);
      });
      var boxes = Object.keys(groups).sort().map(function (k) {
        var g = groups[k], box = el("section", "group"), h = el("h3", null, g.title + " ");
        h.appendChild(el("small", null, g.sub));
        box.appendChild(h);
        g.ids.forEach(function (id) { box.appendChild(row(id).el); });
        return box;
      });
      replace("groups", boxes);
      Object.keys(rows).forEach(function (id) { if (!entities[id]) { delete rows[id]; } });
      $("count").textContent = ids.length + " of " + Object.keys(rows).length;
      ids.forEach(function (id) { changed[id] = true; });
    }
    Object.keys(changed).forEach(function (id) {
      var e = entities[id], r = rows[id];
      if (!e || !r) { return; }
      r.label.textContent = "";
      r.label.appendChild(document.createTextNode(name(id)));
      r.label.appendChild(el("span", "id", id));
      r.state.textContent = stateText(e);
      r.ago.dataset.t = e.lc;
      r.ago.textContent = ago(e.lc);
      spark(r.spark, points[id]);
      r.el.classList.remove("flash");
      void r.el.offsetWidth;  // restart the animation
      r.el.classList.add("flash");
    });
    if (detailId && changed[detailId]) { fillDetail(); }
    changed = {};
    renderNotifications();
  }

  function tick() {
    document.querySelectorAll(".ago").forEach(function (e) { e.textContent = ago(Number(e.dataset.t)); });
  }

  // -- the detail view and commands ---------------------------------------------

  function openDetail(id) {
    detailId = id;
    say("detail-error", "");
    fillDetail();
    $("detail").showModal();
  }

  function commandButtons(id, e) {
    var domain = id.split(".")[0], list = [], box = $("detail-commands");
    box.textContent = "";
    function add(text, run) {
      var b = el("button", null, text);
      b.type = "button";
      b.onclick = function () {
        say("detail-error", "");
        run().catch(function (err) { say("detail-error", err.message, true); });
      };
      box.appendChild(b);
      box.appendChild(document.createTextNode(" "));
    }
    function service(d, s, data) {
      return function () { return send({type: "call_service", domain: d, service: s, service_data: data}); };
    }
    var own = services[domain] || {};
    ["turn_on", "turn_off", "toggle", "press"].forEach(function (s) {
      if (own[s]) { add(s.replace("_", " "), service(domain, s, {entity_id: id})); list.push(s); }
    });
    if (e.a.port && services.ugate && services.ugate.send_command) {
      ["on", "off"].forEach(function (v) { add("send " + v, service("ugate", "send_command", {entity_id: id, value: v})); });
      var input = el("input");
      input.id = "command-value";
      input.setAttribute("aria-label", "Value to send");
      input.placeholder = "value";
      box.appendChild(input);
      add("Send", function () {
        var v = input.value.trim(), n = number(v);
        return service("ugate", "send_command", {entity_id: id, value: n === null ? v : n})();
      });
    }
  }

  function fillDetail() {
    var id = detailId, e = entities[id];
    if (!e) { $("detail").close(); return; }
    $("detail-title").textContent = name(id);
    $("detail-state").textContent = stateText(e) + " · " + ago(e.lc);
    spark($("detail-chart"), points[id]);
    $("detail-chart").classList.toggle("none", !(points[id] && points[id].length > 1));
    if ($("detail-commands").dataset.entity !== id) {
      $("detail-commands").dataset.entity = id;
      commandButtons(id, e);
    }
    var rowsOut = [["entity_id", id], ["last changed", new Date(e.lc * 1000).toLocaleString()]];
    Object.keys(e.a).sort().forEach(function (k) {
      var v = e.a[k];
      rowsOut.push([k, typeof v === "object" ? JSON.stringify(v) : String(v)]);
    });
    replace("detail-attributes", rowsOut.map(function (p) {
      var tr = el("tr");
      tr.appendChild(el("th", null, p[0]));
      tr.appendChild(el("td", null, p[1]));
      return tr;
    }));
  }

  // -- connections ------------------------------------------------------------------

  function card(title, pairs, extra) {
    var c = el("div", "card");
    c.appendChild(el("h3", null, title));
    c.appendChild(dl(pairs));
    if (extra) { c.appendChild(extra); }
    return c;
  }
  function cards(id, list, empty, make) {
    var box = el("div", "cards");
    list.forEach(function (x) { box.appendChild(make(x)); });
    replace(id, list.length ? [box] : [el("p", "dim", empty)]);
  }
  function when(iso) { return iso ? ago(Date.parse(iso) / 1000) : null; }

  // An API a config may leave out answers 404: its part stays hidden.
  async function optional(path, part, id, make) {
    var r = await api(path);
    $(part).hidden = !r.ok;
    if (r.ok) {
      var data = await r.json();
      if (!Array.isArray(data)) { data = [data]; }
      cards(id, data, "None.", make);
    }
  }

  async function loadConnections() {
    var ports = await (await api("/api/ugate/ports")).json();
    cards("ports", ports, "No serial ports in config.json (key serial).", function (p) {
      return card(p.port, [["protocol", p.protocol], ["state", p.state, p.state === "open" ? "good" : "bad"],
        ["lines read", p.lines_read], ["rejected", p.lines_rejected], ["last line", when(p.last_line_at)],
        ["last rejected", p.last_rejected], ["last error", p.last_error, p.last_error ? "bad" : ""]]);
    });
    var forwarders = await (await api("/api/ugate/forwarders")).json();
    cards("forwarders", forwarders, "No forwarders in config.json (key forward).", function (f) {
      return card(f.name + " (" + f.type + ")", [["connected", f.connected ? "yes" : "no", f.connected ? "good" : "bad"],
        ["queued", f.queued], ["sent", f.sent], ["failed", f.failed], ["last success", when(f.last_success)],
        ["last error", f.last_error, f.last_error ? "bad" : ""]]);
    });
    await optional("/api/ugate/consumers", "consumers-part", "consumers", function (c) {
      return card(c.name + " (" + c.consumer + ")", [["tenant", c.tenant], ["connected", when(c.since)],
        ["messages", c.messages], ["events to settle", c.events_waiting]]);
    });
    await optional("/api/mobile_app/registrations", "phones-part", "phones", function (p) {
      var remove = el("button", "plain", "Remove");
      remove.type = "button";
      remove.setAttribute("aria-label", "Remove " + p.device_name);
      remove.onclick = async function () {
        if (!confirm("Remove " + p.device_name + "? The app must register again.")) { return; }
        var r = await api("/api/mobile_app/registrations/" + encodeURIComponent(p.entry_id), {method: "DELETE"});
        if (!r.ok) { status(await message(r)); }
        loadConnections();
      };
      return card(p.device_name, [["app", p.app_name + " " + p.app_version],
        ["phone", p.manufacturer + " " + p.model], ["system", p.os_name + " " + p.os_version],
        ["registered", when(p.created_at)], ["last seen", when(p.last_seen) || "not since the start"],
        ["sensors", (p.sensors || []).length],
        ["push", p.notify_service || "no"]], remove);
    });
    await optional("/api/ugate/board", "board-part", "board", function (b) {
      return card(b.board || b.name || "board", Object.keys(b).filter(function (k) {
        return typeof b[k] !== "object";
      }).map(function (k) { return [k, b[k]]; }));
    });
  }

  // -- the log ------------------------------------------------------------------------

  // The log file once (/api/error_log), then each new line as it is logged
  // (the gateway's system_log_event, Home Assistant's event for log lines).
  var LEVELS = {DEBUG: 10, INFO: 20, WARNING: 30, ERROR: 40}, logText = null, logLive = [];

  function logged(ev) {
    var d = ev.data;
    logLive.push(new Date(d.timestamp * 1000).toISOString().slice(0, 23) + " " + d.level + " " +
                 d.name + ": " + d.message.join(" "));
    if (logLive.length > 2000) { logLive.splice(0, logLive.length - 2000); }
    if (view === "log") { renderLog(); }
  }

  async function loadLog() {
    var r = await api("/api/error_log");
    logText = r.ok ? await r.text() : "";
    $("log-note").hidden = r.ok;
    logLive = logLive.filter(function (line) { return logText.indexOf(line) < 0; });
    renderLog();
  }

  function renderLog() {
    if (logText === null) { return; }
    var min = LEVELS[$("level").value], level = 20, out = [];
    logText.split("\n").concat(logLive).forEach(function (line) {
      var m = /^\S+ (DEBUG|INFO|WARNING|ERROR) /.exec(line);
      if (m) { level = LEVELS[m[1]]; }
      if (line && level >= min) {
        out.push(el("div", "lv-" + (m ? m[1] : ""), line));
      }
    });
    var box = $("log");
    replace("log", out.slice(-2000));
    if ($("follow").checked) { box.scrollTop = box.scrollHeight; }
  }

  // -- security ----------------------------------------------------------------------

  function renderNotifications() {
    var ids = Object.keys(entities).filter(function (id) { return id.indexOf("persistent_notification.") === 0; });
    $("badge").hidden = !ids.length;
    $("badge").textContent = ids.length;
    if (view !== "security") { return; }
    var items = ids.map(function (id) {
      var a = entities[id].a, item = el("div", "item"), text = el("div");
      text.appendChild(el("strong", null, a.title || "Notification"));
      text.appendChild(el("div", null, a.message));
      text.appendChild(el("small", "dim", ago(entities[id].lc)));
      var b = el("button", "plain", "Dismiss");
      b.type = "button";
      b.setAttribute("aria-label", "Dismiss " + (a.title || id));
      b.onclick = function () {
        send({type: "call_service", domain: "persistent_notification", service: "dismiss",
              service_data: {notification_id: a.notification_id || id.split(".")[1]}})
          .catch(function (e) { say("security-message", e.message, true); });
      };
      item.appendChild(text);
      item.appendChild(b);
      return item;
    });
    replace("notifications", items.length ? items : [el("p", "dim", "No notifications.")]);
  }

  function listItem(text, sub, button, action) {
    var item = el("div", "item"), t = el("div", null, text);
    if (sub) { t.appendChild(el("div", "dim", sub)); }
    var b = el("button", "plain", button);
    b.type = "button";
    b.setAttribute("aria-label", button + " " + text);
    b.onclick = function () { action().catch(function (e) { say("security-message", e.message, true); }); };
    item.appendChild(t);
    item.appendChild(b);
    return item;
  }

  async function loadSecurity() {
    renderNotifications();
    var r = await api("/api/ugate/owner/bans");
    if (r.ok) {
      var bans = await r.json();
      replace("bans", bans.length ? bans.map(function (address) {
        return listItem(address, null, "Unban", async function () {
          var u = await api("/api/ugate/owner/bans/" + encodeURIComponent(address), {method: "DELETE"});
          say("security-message", await message(u), !u.ok);
          loadSecurity();
        });
      }) : [el("p", "dim", "No address is banned.")]);
    } else {
      replace("bans", [el("p", "dim", await message(r))]);
    }
    var tokens = (await send({type: "auth/refresh_tokens"})).filter(function (t) {
      return t.type === "long_lived_access_token";
    });
    replace("tokens", tokens.length ? tokens.map(function (t) {
      return listItem(t.client_name, "created " + new Date(t.created_at).toLocaleString() +
        (t.last_used_at ? ", last used " + new Date(t.last_used_at).toLocaleString() : ""), "Revoke", async function () {
        await send({type: "auth/delete_refresh_token", refresh_token_id: t.id});
        say("security-message", "Revoked " + t.client_name + ".");
        loadSecurity();
      });
    }) : [el("p", "dim", "No long-lived tokens.")]);
  }

  // -- the gateway ------------------------------------------------------------------

  async function loadGateway() {
    var r = await api("/api/ugate/owner/gateway");
    if (!r.ok) { replace("info", [el("dd", null, await message(r))]); return; }
    var g = await r.json(), m = g.memory || {}, pairs = [
      ["Version", g.version + " (Home Assistant API " + g.ha_version + ")"], ["Runtime", g.runtime],
      ["Name", g.location_name], ["Uptime", duration(g.uptime)],
      ["Entities", g.entities + " of " + g.max_entities + " (limits.max_entities)"],
      ["History", g.history_points ? g.history_points + " points per numeric entity" : "off"]];
    if (m.rss_bytes) { pairs.push(["Memory", bytes(m.rss_bytes) + " resident"]); }
    if (m.heap_free_bytes !== undefined) {
      pairs.push(["Heap", bytes(m.heap_free_bytes) + " free of " + bytes(m.heap_free_bytes + m.heap_used_bytes)]);
    }
    if (g.history_points) { maxPoints = g.history_points; }
    startedUs = g.started_us;
    var out = [];
    pairs.forEach(function (p) { out.push(el("dt", null, p[0])); out.push(el("dd", null, p[1])); });
    replace("info", out);
    if (board === null) {  // a board answers its status: it takes updates
      var b = await api("/api/ugate/board");
      board = b.ok && await b.json();
      $("update-part").hidden = !board;
    }
    if (!configLoaded) {
      var c = await api("/api/ugate/owner/config");
      if (c.ok) {
        var data = await c.json();
        $("config").value = data.text;
        $("config-path").textContent = data.path;
        configLoaded = true;
      }
    }
  }

  // The gateway is back when it answers from another start than the one
  // that took the restart (the old one may still answer for a moment).
  async function waitForRestart(text) {
    say("config-message", text + " Waiting for the gateway…");
    var before = startedUs;
    await pause(1000);
    for (var i = 0; i < 120; i++) {
      try {
        var r = await api("/api/ugate/owner/gateway");
        if (r.ok && (await r.json()).started_us !== before) {
          say("config-message", "The gateway is back."); configLoaded = false; loadGateway(); return;
        }
      } catch (e) { /* still down */ }
      await pause(500);
    }
    say("config-message", "The gateway did not come back within a minute: look at its console.", true);
  }

  // -- the over-the-air update (a board) ---------------------------------------
  // The bundle (README "Over-the-air update"): "ugate-update 1\n", one JSON
  // line naming each file's path, size and SHA-256, then the files' bytes:
  // lib/'s files, then lib/ as a ROMFS image, which a board that runs from
  // its ROMFS partition takes alone. Each file goes in pieces as large as
  // the board says it takes; the board checks every SHA-256 as written to
  // its flash before it restarts.
  var MAGIC = "ugate-update 1\n", IMAGE = "romfs.img", board = null;

  function unbundle(buffer) {
    var all = new Uint8Array(buffer), text = new TextDecoder(), end = all.indexOf(10, MAGIC.length), h = null;
    if (text.decode(all.subarray(0, MAGIC.length)) !== MAGIC) {
      throw new Error("This is not a ugate update bundle: pick build/<board>/ugate-update.bin of make firmware.");
    }
    try { h = JSON.parse(text.decode(all.subarray(MAGIC.length, end))); } catch (e) { /* said below */ }
    if (end < 0 || !h || !Array.isArray(h.files)) { throw new Error("The bundle's header is damaged."); }
    var at = end + 1;
    h.files.forEach(function (f) { f.data = all.subarray(at, at + f.size); at += f.size; });
    if (at !== all.length) { throw new Error("The bundle is damaged: its files do not add up to its size."); }
    return h;
  }

  async function version() {
    var r = await api("/api/ugate/owner/gateway");
    return "ugate " + (r.ok ? (await r.json()).version : "(version unknown)");
  }

  async function sendUpdate(file) {
    var h = unbundle(await file.arrayBuffer()), bar = $("update-progress"), total = 0, done = 0;
    if (board.board && h.board_name !== board.board) {
      throw new Error("This update is for " + h.board_name + " (" + h.board + "), but this board is " + board.board + ".");
    }
    var r = await api("/api/ugate/update", {method: "POST"});
    if (!r.ok) { throw new Error(await message(r)); }
    var begun = await r.json(), slot = begun.slot, piece = begun.piece;
    // What the board takes (its tree, or its image), then their SHA-256 sums
    // as the board checks them (as sha256sum writes them, a line a file, in
    // order of path).
    var files = h.files.filter(function (f) { return (f.path === IMAGE) === !!begun.image; });
    if (!files.length) { throw new Error("This board runs from its ROMFS partition, and the bundle has no image for it."); }
    var parts = files.map(function (f, i) {
      return {url: "files/" + f.path, data: f.data, what: f.path, label: "file " + (i + 1) + " of " + files.length};
    });
    var inOrder = files.slice().sort(function (a, b) { return a.path < b.path ? -1 : a.path > b.path ? 1 : 0; });
    parts.push({url: "sums", what: "the SHA-256 sums", label: "the SHA-256 sums",
                data: new TextEncoder().encode(inOrder.map(function (f) { return f.sha256 + "  " + f.path + "\n"; }).join(""))});
    parts.forEach(function (p) { total += p.data.length; });
    bar.max = total;
    bar.value = 0;
    bar.hidden = false;
    for (var i = 0; i < parts.length; i++) {
      var p = parts[i];
      for (var at = 0; at === 0 || at < p.data.length; at += piece) {
        r = await api("/api/ugate/update/" + p.url + "?offset=" + at, {method: "PUT", body: p.data.subarray(at, at + piece)});
        if (!r.ok) { throw new Error("The board refused " + p.what + ": " + await message(r)); }
        done += Math.min(piece, p.data.length - at);
        bar.value = done;
        say("update-message", "Sending ugate " + h.version + ": " + p.label + ", " + bytes(done) + " of " + bytes(total) + ".");
      }
    }
    r = await api("/api/ugate/update/commit", {method: "POST"});
    if (!r.ok) { throw new Error("The board refused the update: " + await message(r) + ". It runs the code it had."); }
    say("update-message", "The board checked every file and restarts into ugate " + h.version +
        " on trial; it keeps it once it has run for a while. Waiting…");
    for (var n = 0; n < 300; n++) {  // a trial boot that fails takes the watchdog's minute
      await pause(1000);
      var s = null;
      try { r = await api("/api/ugate/board"); s = r.ok && await r.json(); } catch (e) { /* restarting */ }
      if (s && s.rolled_back === slot) {
        throw new Error("The update did not come up: the board went back to the code before it, " + await version() + ".");
      }
      if (s && s.slot === slot && !s.on_trial) {
        say("update-message", "The update runs and is kept: " + await version() + ".");
        return;
      }
    }
    throw new Error("The board did not say within 5 minutes whether the update came up: look at its console.");
  }

  async function saveConfig() {
    say("config-message", "Checking…");
    var r = await api("/api/ugate/owner/config", {method: "POST", json: {text: $("config").value}});
    var text = await message(r);
    if (!r.ok) { say("config-message", text, true); return; }
    await waitForRestart(text);
  }

  // -- views ---------------------------------------------------------------------------

  var LOADERS = {connections: loadConnections, log: loadLog, security: loadSecurity, gateway: loadGateway};
  var POLL_MS = {connections: 3000, gateway: 5000};

  function show(name) {
    if (!LOADERS[name] && name !== "sensors") { name = "sensors"; }
    view = name;
    document.querySelectorAll(".view").forEach(function (v) { v.hidden = v.id !== "view-" + name; });
    document.querySelectorAll("nav a").forEach(function (a) {
      if (a.id === "nav-" + name) { a.setAttribute("aria-current", "page"); } else { a.removeAttribute("aria-current"); }
    });
    clearInterval(pollTimer);
    var load = LOADERS[name];
    if (!load) { return; }
    var run = function () { load().catch(function (e) { status(e.message); }); };
    run();
    if (POLL_MS[name]) { pollTimer = setInterval(run, POLL_MS[name]); }
  }

  function started() {
    $("signin").hidden = true;
    $("nav").hidden = false;
    connect();
    show(location.hash.slice(1));
  }

  function wire() {
    $("signin-button").onclick = signIn;
    $("token-form").onsubmit = function (ev) {
      ev.preventDefault();
      var t = $("token-input").value.trim();
      if (!t) { return; }
      save({access_token: t, kind: "pasted"}, true);
      $("token-input").value = "";
      started();
    };
    $("filter").oninput = queueRender;
    $("detail-close").onclick = function () { $("detail").close(); };
    $("detail").onclose = function () { detailId = null; $("detail-commands").dataset.entity = ""; };
    $("level").onchange = renderLog;
    $("llat-form").onsubmit = function (ev) {
      ev.preventDefault();
      send({type: "auth/long_lived_access_token", client_name: $("llat-name").value.trim(),
            lifespan: Number($("llat-days").value)})
        .then(function (t) {
          $("llat-value").value = t;
          $("llat-new").hidden = false;
          $("llat-name").value = "";
          say("security-message", "Token created.");
          loadSecurity();
        }).catch(function (e) { say("security-message", e.message, true); });
    };
    $("password-form").onsubmit = function (ev) {
      ev.preventDefault();
      send({type: "config/auth_provider/homeassistant/change_password",
            current_password: $("password-current").value, new_password: $("password-new").value})
        .then(function () {
          $("password-form").reset();
          say("security-message", "Password changed.");
        }).catch(function (e) { say("security-message", e.message, true); });
    };
    $("signout").onclick = async function () {
      if (auth && auth.refresh_token) {
        await fetch("/auth/token", {method: "POST", body: new URLSearchParams({action: "revoke", token: auth.refresh_token})});
      }
      showSignIn("");
    };
    $("config-save").onclick = function () { saveConfig().catch(function (e) { say("config-message", e.message, true); }); };
    $("update-form").onsubmit = function (ev) {
      ev.preventDefault();
      $("update-send").disabled = true;
      say("update-message", "Reading the bundle…");
      sendUpdate($("update-file").files[0]).catch(function (e) {
        $("update-progress").hidden = true;
        say("update-message", e.message, true);
      }).finally(function () { $("update-send").disabled = false; });
    };
    $("restart").onclick = async function () {
      var r = await api("/api/ugate/owner/restart", {method: "POST"});
      if (r.ok) { await waitForRestart(await message(r)); } else { say("config-message", await message(r), true); }
    };
    window.onhashchange = function () { if (auth) { show(location.hash.slice(1)); } };
    setInterval(tick, 1000);
  }

  async function start() {
    wire();
    if (external) {
      try { save(await askApp(false)); } catch (e) { showSignIn(e.message); return; }
      started();
      return;
    }
    var code = query.get("code");
    if (code) {
      var expected = sessionStorage.getItem("ugateState");
      sessionStorage.removeItem("ugateState");
      history.replaceState(null, "", location.pathname + location.hash);
      if (!expected || query.get("state") !== expected) { showSignIn("The sign-in answer did not match: try again."); return; }
      try {
        save(fromTokens(await tokenRequest({grant_type: "authorization_code", code: code})),
             query.get("storeToken") === "true");
      } catch (e) { showSignIn(e.message); return; }
    } else {
      auth = loaded();
    }
    if (!auth) { showSignIn(""); return; }
    started();
  }

  start();
})();
