// The dashboard page: one EventSource (/api/events) feeds every panel; no full reloads.
// Data from the server is only ever written with textContent (no HTML injection). With a token the
// page was opened as /?token=X: fetches send it as a Bearer header, the EventSource in the URL.
/* global document, location, URLSearchParams, fetch, alert, requestAnimationFrame, EventSource, HeadroomCharts, HeadroomGraph */
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
  };

  function $(id) {
    return document.getElementById(id);
  }

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'className') e.className = attrs[k];
        else e.setAttribute(k, attrs[k]);
      });
    }
    (children || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  function fmt(v, digits) {
    if (v == null || !isFinite(v)) return '–';
    return Number(v).toFixed(digits == null ? 0 : digits);
  }

  function plural(n, word) {
    return n + ' ' + word + (n === 1 ? '' : 's');
  }

  function timeOf(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : d.toLocaleTimeString();
  }

  function headers(extra) {
    var h = Object.assign({}, extra || {});
    if (token) h.authorization = 'Bearer ' + token;
    return h;
  }

  // ---- data ------------------------------------------------------------------------------------

  /** The latency percentile the windows report closest to the SLO's (p50/p90/p99). */
  function sloKey(slo) {
    var p = slo ? slo.percentile : 99;
    return p > 90 ? 'p99' : p > 50 ? 'p90' : 'p50';
  }

  function sloStatus(snap) {
    var slo = snap.service.slo;
    if (!slo) return { text: 'none', cls: 'muted' };
    var w = snap.traffic.burst || snap.traffic.stable;
    var lat = w && w.latencyMs ? w.latencyMs[sloKey(slo)] : null;
    if (lat == null) return { text: 'no data', cls: 'muted' };
    var ok = lat <= slo.latencyMs;
    return {
      text: (ok ? 'met' : 'missed') + ' (' + sloKey(slo) + ' ' + fmt(lat) + ' / ' + fmt(slo.latencyMs) + ' ms)',
      cls: ok ? 'ok' : 'bad',
    };
  }

  function perInstanceRps(snap) {
    var c = snap.service.capacity;
    return c && c.serviceTimeMs > 0 ? (c.concurrency * 1000) / c.serviceTimeMs : null;
  }

  function ingest(msg) {
    state.allowWrite = !!msg.allowWrite;
    state.whatIf = !!msg.whatIf;
    if (msg.alerts !== undefined) state.alerts = msg.alerts;
    if (Array.isArray(msg.graphs)) state.graphs = msg.graphs;
    var now = Date.now() / 1000;
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
      // A page opened late starts with the decisions the server kept (newest first), not an empty log.
      if (msg.full && s.decisions && e.decisions.length === 0) {
        s.decisions
          .slice()
          .reverse()
          .forEach(function (d) {
            logDecision(e, d);
          });
      }
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
      state.selected = state.services.size ? state.services.keys().next().value : null;
    }
  }

  /** Keep a decision when it differs from the last kept one (count, binding or reasons). */
  function logDecision(e, d) {
    if (!d) return;
    var last = e.decisions[0];
    var key = [
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
    if (last && last.key === key) {
      last.lastAt = d.at;
      return;
    }
    e.decisions.unshift({ key: key, d: d, lastAt: d.at });
    if (e.decisions.length > MAX_DECISIONS) e.decisions.pop();
  }

  // ---- rendering -------------------------------------------------------------------------------

  function render() {
    renderServices();
    renderGraphs();
    var e = state.selected !== null ? state.services.get(state.selected) : undefined;
    $('detail').hidden = !e;
    $('whatif').hidden = !e || !state.whatIf;
    if (e) {
      renderDetail(e);
      renderCharts(e);
      renderDecisions(e);
      renderEvents(e);
    }
    renderAlerts();
  }

  function renderServices() {
    var body = document.querySelector('#services tbody');
    var rows = [];
    state.services.forEach(function (e, name) {
      var s = e.snap;
      var slo = sloStatus(s);
      var mode = [s.shadow ? 'shadow' : 'active'];
      if (s.paused) mode.push('paused');
      var demand = s.traffic.stable ? s.traffic.stable.arrivalRps : null;
      var tr = el('tr', { 'data-service': name, tabindex: '0', className: name === state.selected ? 'sel' : '' }, [
        el('td', { 'data-field': 'name', text: name }),
        el('td', { 'data-field': 'instances' }, [
          el('span', { 'data-field': 'ready', text: String(s.replicas.ready) }),
          ' / ',
          el('span', { 'data-field': 'current', text: String(s.replicas.current) }),
        ]),
        el('td', { 'data-field': 'desired', text: String(s.replicas.desired) }),
        el('td', { 'data-field': 'binding', text: s.decision ? s.decision.binding : '–' }),
        el('td', { 'data-field': 'slo', className: slo.cls, text: slo.text }),
        el('td', { 'data-field': 'demand', text: demand == null ? '–' : fmt(demand, 1) + ' req/s' }),
        el('td', { 'data-field': 'mode', text: mode.join(', ') }),
      ]);
      tr.addEventListener('click', function () {
        select(name);
      });
      tr.addEventListener('keydown', function (ev) {
        if (ev.key === 'Enter' || ev.key === ' ') select(name);
      });
      rows.push(tr);
    });
    body.replaceChildren.apply(body, rows);
    $('empty').hidden = state.services.size > 0;
  }

  function renderGraphs() {
    $('graphs').hidden = state.graphs.length === 0;
    if (typeof HeadroomGraph !== 'undefined') HeadroomGraph.update($('graph-list'), state.graphs);
  }

  function select(name) {
    state.selected = name;
    render();
  }

  function stat(label, value, id) {
    var dd = el('dd', { text: value });
    if (id) dd.id = id;
    return el('div', { className: 'stat' }, [el('dt', { text: label }), dd]);
  }

  function renderDetail(e) {
    var s = e.snap;
    $('detail-name').textContent = s.service.name;
    var cap = s.service.capacity;
    var per = perInstanceRps(s);
    var items = [
      stat('ready', String(s.replicas.ready), 'replicas-ready'),
      stat('running', String(s.replicas.current), 'replicas-current'),
      stat('desired', String(s.replicas.desired), 'replicas-desired'),
      stat(
        'range',
        s.replicas.min +
          '–' +
          s.replicas.max +
          (s.replicas.fitLimit != null ? ' (host fits ' + s.replicas.fitLimit + ')' : ''),
      ),
      stat('demand', s.traffic.stable ? fmt(s.traffic.stable.arrivalRps, 1) + ' req/s' : '–', 'demand'),
      stat('capacity', per == null ? '–' : fmt(per, 1) + ' req/s per instance (' + cap.source + ')'),
      stat('SLO', s.service.slo ? 'p' + s.service.slo.percentile + ' ≤ ' + s.service.slo.latencyMs + ' ms' : 'none'),
      stat('mode', (s.shadow ? 'shadow' : 'active') + (s.paused ? ', paused' : '')),
    ];
    if (s.cost) {
      var cost = stat('cost / month', costText(s.cost), 'cost');
      cost.title = costTitle(s.cost);
      items.push(cost);
    }
    var dl = $('stats');
    dl.replaceChildren.apply(dl, items);
    renderActions(s);
  }

  // "58.40 USD now, 73.00 USD at desired"; the price per instance-hour in its title
  function costText(c) {
    var money = function (x) {
      return x.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 }) + ' ' + c.currency;
    };
    return (
      money(c.currentPerMonth) +
      ' now' +
      (c.desiredPerMonth !== c.currentPerMonth ? ', ' + money(c.desiredPerMonth) + ' at desired' : '')
    );
  }

  function costTitle(c) {
    return Number(c.perInstanceHour.toPrecision(4)) + ' ' + c.currency + ' per instance-hour × 730 h a month';
  }

  function renderActions(s) {
    var box = $('actions');
    box.hidden = !state.allowWrite;
    if (!state.allowWrite) return;
    var shadowBtn = el('button', { type: 'button', text: s.shadow ? 'Switch to active' : 'Switch to shadow' });
    shadowBtn.addEventListener('click', function () {
      act('/api/actions/shadow', { service: s.service.name, shadow: !s.shadow });
    });
    var pauseBtn = el('button', { type: 'button', text: s.paused ? 'Resume' : 'Pause' });
    pauseBtn.addEventListener('click', function () {
      act('/api/actions/pause', { service: s.service.name, paused: !s.paused });
    });
    box.replaceChildren(shadowBtn, pauseBtn);
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

  function chartData(e) {
    var s = e.snap;
    var per = perInstanceRps(s);
    var slo = s.service.slo ? s.service.slo.latencyMs : null;
    var h = e.history;
    return {
      demand: {
        t: h.map((p) => p.t),
        demand: h.map((p) => p.demandRps),
        burst: h.map((p) => p.burstRps),
        capacity: h.map((p) => (per == null ? null : p.ready * per)),
      },
      instances: {
        t: h.map((p) => p.t),
        ready: h.map((p) => p.ready),
        starting: h.map((p) => Math.max(0, p.current - p.ready)),
        desired: h.map((p) => p.desired),
      },
      latency: {
        t: h.map((p) => p.t),
        latency: h.map((p) => p.p99Ms),
        predicted: h.map((p) => (p.predictedP99Ms == null ? null : p.predictedP99Ms)),
        slo: h.map(() => slo),
      },
      // From the tick history when the server measures usage (local mode): the same time axis as the
      // other charts, from before the page opened. Else from what each push showed.
      resources: h.some((p) => p.cpuCores != null || p.memoryBytes != null)
        ? {
            t: h.map((p) => p.t),
            cpu: h.map((p) => (p.cpuCores == null ? null : p.cpuCores)),
            memoryMiB: h.map((p) => (p.memoryBytes == null ? null : p.memoryBytes / 1048576)),
          }
        : {
            t: e.resources.map((p) => p.t),
            cpu: e.resources.map((p) => p.cpu),
            memoryMiB: e.resources.map((p) => p.memoryMiB),
          },
    };
  }

  /** Why a chart is empty, when the mode cannot fill it (null: it has data, or will). */
  function chartNotes(e, d) {
    var k8s = e.snap.mode === 'kubernetes';
    var noLatency = !d.latency.latency.some((x) => x != null);
    var noUsage = !d.resources.cpu.some((x) => x != null) && !d.resources.memoryMiB.some((x) => x != null);
    return {
      latency:
        k8s && noLatency
          ? 'No measured latency: give the HeadroomPolicy spec.latency (a Prometheus histogram) to chart p99 against the model.'
          : null,
      resources: k8s && noUsage ? 'Per-pod CPU and memory are not collected in controller mode.' : null,
    };
  }

  function showNote(id, text) {
    var n = $(id);
    n.hidden = text == null;
    n.textContent = text == null ? '' : text;
  }

  /** "Latency p99 vs SLO (p99 ≤ 100 ms) · model 1.9× off, sizing with service time ×1.9". */
  function latencyCaption(snap) {
    var slo = snap.service.slo;
    var text = 'Latency p99 vs SLO' + (slo ? ' (p' + slo.percentile + ' ≤ ' + slo.latencyMs + ' ms)' : '');
    var m = snap.model;
    if (m && m.samples > 0) {
      var off = Math.max(m.error, 1 / m.error);
      text +=
        ' · measured ' +
        (m.measuredMs == null ? '–' : Math.round(m.measuredMs)) +
        ' ms, model ' +
        (m.predictedMs == null ? '–' : Math.round(m.predictedMs)) +
        ' ms (' +
        off.toFixed(2) +
        '× off)' +
        (m.calibrating && Math.abs(m.scale - 1) > 0.05 ? ', sizing with service time ×' + m.scale.toFixed(2) : '');
    }
    return text;
  }

  function renderCharts(e) {
    if (typeof HeadroomCharts === 'undefined') return;
    var d = chartData(e);
    $('latency-caption').textContent = latencyCaption(e.snap);
    var notes = chartNotes(e, d);
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

  function renderDecisions(e) {
    var items = e.decisions.map(function (x) {
      var d = x.d;
      var head = el('div', { className: 'head' }, [
        el('time', { text: timeOf(d.at) }),
        ' ',
        el('strong', { className: 'desired', text: plural(d.desired, 'instance') }),
        d.recommended !== d.desired ? ' (recommended ' + d.recommended + ')' : '',
        ' · binding ',
        el('code', { text: d.binding }),
        ' · ' + d.mode + (d.applied ? ' · applied' : '') + (d.valid ? '' : ' · invalid'),
      ]);
      var reasons = el(
        'ul',
        { className: 'reasons' },
        d.reasons.map(function (r) {
          return el('li', { className: 'reason', 'data-code': r.code }, [
            el('code', { text: r.code }),
            ' ' + r.message,
          ]);
        }),
      );
      return el('li', { className: 'decision' }, [head, reasons]);
    });
    var ol = $('decisions');
    if (!items.length) items = [el('li', { className: 'muted', text: 'No decision yet.' })];
    ol.replaceChildren.apply(ol, items);
  }

  function renderEvents(e) {
    var evs = (e.snap.events || []).slice(-30).reverse();
    var items = evs.map(function (x) {
      return el('li', { className: x.warning ? 'warn' : '' }, [
        el('time', { text: timeOf(x.at) }),
        ' ',
        el('code', { text: x.type }),
        x.instance ? ' ' + x.instance : '',
        ' ' + x.message,
      ]);
    });
    var ol = $('events');
    if (!items.length) items = [el('li', { className: 'muted', text: 'No events.' })];
    ol.replaceChildren.apply(ol, items);
  }

  function alertList() {
    var a = state.alerts;
    var all = Array.isArray(a) ? a : a && Array.isArray(a.alerts) ? a.alerts : [];
    // Alerts carried on the snapshots (per service) count too.
    state.services.forEach(function (e) {
      var sa = e.snap.alerts;
      if (Array.isArray(sa)) all = all.concat(sa);
      else if (sa && Array.isArray(sa.alerts)) all = all.concat(sa.alerts);
    });
    return all;
  }

  function renderAlerts() {
    var all = alertList();
    var order = { firing: 0, pending: 1, resolved: 2 };
    all.sort(function (x, y) {
      return (order[x.state] ?? 3) - (order[y.state] ?? 3);
    });
    var items = all.map(function (a) {
      var labels = a.labels || {};
      var ann = a.annotations || {};
      var since = a.firedAt || a.activeAt;
      return el('li', { className: 'alert ' + a.state, 'data-state': a.state }, [
        el('span', { className: 'badge ' + a.state, text: a.state }),
        ' ',
        el('strong', { text: a.rule || labels.alertname || 'alert' }),
        labels.service ? ' · ' + labels.service : '',
        labels.severity ? ' · ' + labels.severity : '',
        a.value != null ? ' · value ' + fmt(a.value, 2) : '',
        since ? ' · since ' + new Date(since * 1000).toLocaleTimeString() : '',
        ann.summary ? el('div', { className: 'muted', text: ann.summary }) : null,
      ]);
    });
    var ul = $('alerts');
    if (!items.length) items = [el('li', { className: 'muted', text: 'No alerts.' })];
    ul.replaceChildren.apply(ul, items);
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
          var now = j.current ? ' (now ' + j.current.desired + ' desired, ' + j.current.ready + ' ready)' : '';
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
    f.elements.latencyMs.placeholder = s.service.slo ? String(s.service.slo.latencyMs) : '';
    f.elements.percentile.placeholder = s.service.slo ? String(s.service.slo.percentile) : '';
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
      setConn('down', es.readyState === EventSource.CLOSED ? 'disconnected' : 'reconnecting…');
    });
  }

  function start() {
    setupWhatIf();
    connect();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
