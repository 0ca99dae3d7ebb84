// The dashboard page: one EventSource (/api/events) feeds every panel; no full reloads.
// Data from the server is only ever written with textContent (no HTML injection). With a token the
// page was opened as /?token=X: fetches send it as a Bearer header, the EventSource in the URL.
/* global document, location, URLSearchParams, fetch, alert, requestAnimationFrame, EventSource, HeadroomCharts, HeadroomGraph, HeadroomPanels */
(function () {
  'use strict';

  var MAX_POINTS = 900; // the server keeps 900 ticks too
  var MAX_DECISIONS = 60;

  var token = new URLSearchParams(location.search).get('token');
  var state = {
    services: new Map(), // name → { snap, history, resources, decisions }
    selected: null,
    allowWrite: false,
    whatIf: false,
    alerts: null,
    graphs: [], // GraphView[] (src/server/graph-view.ts), drawn by graph.js
    charts: null,
    chartsFor: null,
    staleSince: null, // Date the event stream dropped; null while live
  };

  // Helpers and panels that do not touch `state` (panels.js, loaded before this file).
  var P = HeadroomPanels;
  var $ = P.$;
  var el = P.el;
  var fmt = P.fmt;
  var plural = P.plural;

  function headers(extra) {
    var h = Object.assign({}, extra || {});
    if (token) h.authorization = 'Bearer ' + token;
    return h;
  }

  // ---- data ------------------------------------------------------------------------------------

  function ingest(msg) {
    state.allowWrite = !!msg.allowWrite;
    state.whatIf = !!msg.whatIf;
    if (msg.alerts !== undefined) state.alerts = msg.alerts;
    if (Array.isArray(msg.graphs)) state.graphs = msg.graphs;
    var now = Date.now() / 1000;
    // A full snapshot (a new connection: the server may have restarted) is the whole set: a service
    // it does not list is gone, with its row, charts and alerts.
    if (msg.full) {
      var names = new Set(
        (msg.services || []).map(function (s) {
          return s.service.name;
        }),
      );
      Array.from(state.services.keys()).forEach(function (name) {
        if (!names.has(name)) state.services.delete(name);
      });
    }
    (msg.services || []).forEach(function (s) {
      var name = s.service.name;
      var e = state.services.get(name);
      if (!e) {
        e = { snap: s, history: [], resources: [], decisions: [] };
        state.services.set(name, e);
      }
      e.snap = s;
      if (msg.full) e.history = s.history.slice();
      else Array.prototype.push.apply(e.history, s.history);
      // A page opened late starts with the decisions the server kept (newest first), and one that
      // reconnects gets those made while it was away.
      if (msg.full && s.decisions) mergeKept(e, s.decisions);
      if (e.history.length > MAX_POINTS) e.history.splice(0, e.history.length - MAX_POINTS);
      // CPU/memory are not in the tick history: sample them from each push.
      var cpu = [];
      var mem = [];
      s.instances.forEach(function (i) {
        if (i.cpuCores != null) cpu.push(i.cpuCores);
        if (i.memoryBytes != null) mem.push(i.memoryBytes);
      });
      e.resources.push({
        t: now,
        cpu: cpu.length ? cpu.reduce((a, b) => a + b, 0) / cpu.length : null,
        memoryMiB: mem.length ? mem.reduce((a, b) => a + b, 0) / mem.length / 1048576 : null,
      });
      if (e.resources.length > MAX_POINTS) e.resources.shift();
      logDecision(e, s.decision);
    });
    if (state.selected === null || !state.services.has(state.selected)) {
      var entry = state.graphs.length ? state.graphs[0].entry : null;
      state.selected = state.services.has(entry)
        ? entry
        : state.services.size
          ? state.services.keys().next().value
          : null;
    }
  }

  /**
   * The server's kept decisions (newest first) replace the page's over the time they cover: the
   * server saw every tick, the page only what arrived while connected. Older ones the page has stay.
   */
  function mergeKept(e, kept) {
    if (!kept.length) return;
    var oldest = Date.parse(kept[kept.length - 1].at);
    var mine = new Map(
      e.decisions.map(function (x) {
        return [x.key + '@' + x.d.at, x];
      }),
    );
    var merged = kept.map(function (d) {
      var key = decisionKey(d);
      // The same decision keeps its entry (and so its list item on the page).
      var had = mine.get(key + '@' + d.at);
      return had ? Object.assign(had, { d: d }) : { key: key, d: d, lastAt: d.at };
    });
    e.decisions.forEach(function (x) {
      if (Date.parse(x.d.at) < oldest) merged.push(x);
    });
    e.decisions = merged.slice(0, MAX_DECISIONS);
  }

  function decisionKey(d) {
    return [
      d.desired,
      d.recommended,
      d.binding,
      d.mode,
      d.valid,
      d.reasons
        .map(function (r) {
          return r.code;
        })
        .join(','),
    ].join('|');
  }

  /** Keep a decision when it differs from the last kept one (count, binding or reasons). */
  function logDecision(e, d) {
    if (!d) return;
    var last = e.decisions[0];
    var key = decisionKey(d);
    if (last && last.key === key) {
      last.lastAt = d.at;
      // The first one of its kind is kept; the plan's warnings shown under it are the newest.
      last.d = Object.assign({}, last.d, { warnings: d.warnings });
      return;
    }
    e.decisions.unshift({ key: key, d: d, lastAt: d.at });
    if (e.decisions.length > MAX_DECISIONS) e.decisions.pop();
  }

  // ---- rendering -------------------------------------------------------------------------------

  function render() {
    document.body.classList.toggle('stale', state.staleSince !== null);
    renderServices();
    renderGraphs();
    var e = state.selected !== null ? state.services.get(state.selected) : undefined;
    $('detail').hidden = !e;
    $('whatif').hidden = !e || !state.whatIf;
    if (e) {
      renderDetail(e);
      renderCharts(e);
      P.renderDecisions($('decisions'), e.decisions);
      P.renderEvents($('events'), e.snap.events);
    }
    P.renderAlerts($('alerts'), alertList());
  }

  // Rows and buttons are patched in place (P.patch), so their handlers sit on the containers.
  function renderServices() {
    var body = document.querySelector('#services tbody');
    var rows = [];
    state.services.forEach(function (e, name) {
      rows.push(P.serviceRow(name, e.snap, name === state.selected, state.staleSince !== null));
    });
    P.patch(body, rows);
    $('empty').hidden = state.services.size > 0;
  }

  function rowOf(ev) {
    var tr = ev.target.closest('tr[data-service]');
    return tr ? tr.getAttribute('data-service') : null;
  }

  function setupServices() {
    var body = document.querySelector('#services tbody');
    body.addEventListener('click', function (ev) {
      var name = rowOf(ev);
      if (name !== null) select(name);
    });
    body.addEventListener('keydown', function (ev) {
      var name = rowOf(ev);
      if (name !== null && (ev.key === 'Enter' || ev.key === ' ')) select(name);
    });
  }

  function renderGraphs() {
    $('graphs').hidden = state.graphs.length === 0;
    if (typeof HeadroomGraph !== 'undefined') HeadroomGraph.update($('graph-list'), state.graphs);
  }

  function select(name) {
    state.selected = name;
    render();
  }

  function renderDetail(e) {
    var s = e.snap;
    $('detail-name').textContent = s.service.name;
    P.patch($('stats'), P.detailStats(s));
    renderActions(s);
  }

  function renderActions(s) {
    var box = $('actions');
    box.hidden = !state.allowWrite;
    if (!state.allowWrite) return;
    P.patch(box, [
      el('button', {
        type: 'button',
        'data-action': 'shadow',
        text: s.shadow ? 'Switch to active' : 'Switch to shadow',
      }),
      el('button', { type: 'button', 'data-action': 'pause', text: s.paused ? 'Resume' : 'Pause' }),
    ]);
  }

  function setupActions() {
    $('actions').addEventListener('click', function (ev) {
      var b = ev.target.closest('button[data-action]');
      var e = state.selected !== null ? state.services.get(state.selected) : undefined;
      if (!b || !e) return;
      // What the button said when clicked: the snapshot it was drawn from.
      var s = e.snap;
      if (b.getAttribute('data-action') === 'shadow') {
        act('/api/actions/shadow', { service: s.service.name, shadow: !s.shadow });
      } else {
        act('/api/actions/pause', { service: s.service.name, paused: !s.paused });
      }
    });
  }

  function act(path, body) {
    fetch(path, {
      method: 'POST',
      headers: headers({ 'content-type': 'application/json' }),
      body: JSON.stringify(body),
    })
      .then(function (r) {
        return r.json().then(function (j) {
          if (!r.ok) alert(j.message || r.statusText);
        });
      })
      .catch(function (err) {
        alert(String(err));
      });
  }

  function showNote(id, text) {
    var n = $(id);
    n.hidden = text == null;
    n.textContent = text == null ? '' : text;
  }

  function renderCharts(e) {
    if (typeof HeadroomCharts === 'undefined') return;
    var d = P.chartData(e);
    $('latency-caption').textContent = P.latencyCaption(e.snap);
    var notes = P.chartNotes(e, d);
    showNote('latency-note', notes.latency);
    showNote('resources-note', notes.resources);
    // The first time each chart shows (tests compare the charts' time axes).
    $('chart-demand').dataset.first = d.demand.t.length ? String(d.demand.t[0]) : '';
    $('chart-resources').dataset.first = d.resources.t.length ? String(d.resources.t[0]) : '';
    if (state.chartsFor !== e.snap.service.name) {
      if (state.charts) Object.values(state.charts).forEach((c) => c.destroy());
      ['chart-demand', 'chart-instances', 'chart-latency', 'chart-resources'].forEach(function (id) {
        $(id).replaceChildren();
      });
      state.charts = {
        demand: HeadroomCharts.demandCapacityChart($('chart-demand'), d.demand),
        instances: HeadroomCharts.instancesChart($('chart-instances'), d.instances),
        latency: HeadroomCharts.latencyChart($('chart-latency'), d.latency),
        resources: HeadroomCharts.resourcesChart($('chart-resources'), d.resources),
      };
      state.chartsFor = e.snap.service.name;
      return;
    }
    state.charts.demand.setData(d.demand);
    state.charts.instances.setData(d.instances);
    state.charts.latency.setData(d.latency);
    state.charts.resources.setData(d.resources);
  }

  function alertList() {
    var a = state.alerts;
    var all = Array.isArray(a) ? a : a && Array.isArray(a.alerts) ? a.alerts : [];
    // Alerts carried on the snapshots (per service) count too; the same alert from both sources once.
    state.services.forEach(function (e) {
      var sa = e.snap.alerts;
      if (Array.isArray(sa)) all = all.concat(sa);
      else if (sa && Array.isArray(sa.alerts)) all = all.concat(sa.alerts);
    });
    var seen = new Set();
    return all.filter(function (x) {
      var k = JSON.stringify([x.rule, x.labels, x.state, x.activeAt]);
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
  }

  // ---- what-if ---------------------------------------------------------------------------------

  function setupWhatIf() {
    var form = $('whatif-form');
    form.addEventListener('submit', function (ev) {
      ev.preventDefault();
      var body = { service: state.selected };
      ['demandRps', 'latencyMs', 'percentile', 'targetUtilization'].forEach(function (k) {
        var v = form.elements[k].value;
        if (v !== '') body[k] = Number(v);
      });
      var out = $('whatif-result');
      out.replaceChildren(el('p', { className: 'muted', text: 'planning…' }));
      fetch('/api/what-if', {
        method: 'POST',
        headers: headers({ 'content-type': 'application/json' }),
        body: JSON.stringify(body),
      })
        .then(function (r) {
          return r.json().then(function (j) {
            return { ok: r.ok, j: j };
          });
        })
        .then(function (x) {
          if (!x.ok) {
            out.replaceChildren(el('p', { className: 'bad', text: x.j.message || x.j.error || 'error' }));
            return;
          }
          var j = x.j;
          // A controller's policy before its first round has no counts yet (null).
          var now =
            j.current && j.current.desired != null && j.current.ready != null
              ? ' (now ' + j.current.desired + ' desired, ' + j.current.ready + ' ready)'
              : '';
          out.replaceChildren(
            el('p', {}, [
              el('strong', { id: 'whatif-replicas', text: plural(j.plan.replicas, 'instance') }),
              ' at ' + fmt(j.input.demandRps, 1) + ' req/s, binding ',
              el('code', { text: j.plan.binding }),
              now,
            ]),
            el(
              'ul',
              { className: 'reasons' },
              j.explanation.concat(j.plan.warnings).map(function (line) {
                return el('li', { text: line });
              }),
            ),
          );
        })
        .catch(function (err) {
          out.replaceChildren(el('p', { className: 'bad', text: String(err) }));
        });
    });
  }

  function prefillWhatIf() {
    var e = state.selected !== null ? state.services.get(state.selected) : undefined;
    if (!e) return;
    var f = $('whatif-form');
    var s = e.snap;
    var d = s.decision && s.decision.sizedForRps != null ? s.decision.sizedForRps : null;
    f.elements.demandRps.placeholder = d == null ? '' : fmt(d, 1);
    // An end-to-end SLO is the graph's, not one what-if could size this service for.
    var slo = s.service.slo && s.service.slo.scope !== 'endToEnd' ? s.service.slo : null;
    f.elements.latencyMs.placeholder = slo ? String(slo.latencyMs) : '';
    f.elements.percentile.placeholder = slo ? String(slo.percentile) : '';
  }

  // ---- live updates ----------------------------------------------------------------------------

  function setConn(st, text) {
    var c = $('conn');
    c.dataset.state = st;
    c.textContent = text;
  }

  var pending = false;
  function schedule() {
    // Coalesce bursts of events into one render per frame.
    if (pending) return;
    pending = true;
    requestAnimationFrame(function () {
      pending = false;
      render();
      prefillWhatIf();
    });
  }

  function connect() {
    var url = '/api/events' + (token ? '?token=' + encodeURIComponent(token) : '');
    var es = new EventSource(url);
    es.addEventListener('open', function () {
      setConn('live', 'live');
    });
    es.addEventListener('snapshot', function (ev) {
      var msg;
      try {
        msg = JSON.parse(ev.data);
      } catch {
        return;
      }
      ingest(msg);
      state.staleSince = null;
      setConn('live', 'live · ' + new Date().toLocaleTimeString());
      schedule();
    });
    es.addEventListener('problem', function (ev) {
      var m;
      try {
        m = JSON.parse(ev.data).message;
      } catch {
        m = 'status unavailable';
      }
      setConn('down', 'server: ' + m);
    });
    es.addEventListener('error', function () {
      // EventSource reconnects by itself (retry: 2000); the next stream starts with full history.
      // Until then the page shows what it last had: said so, and nothing drawn as live or green.
      if (state.staleSince === null) state.staleSince = new Date();
      setConn(
        'down',
        'disconnected since ' +
          state.staleSince.toLocaleTimeString() +
          ' — data below is from then' +
          (es.readyState === EventSource.CLOSED ? '' : ' (reconnecting…)'),
      );
      schedule();
    });
  }

  function start() {
    setupServices();
    setupActions();
    setupWhatIf();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
