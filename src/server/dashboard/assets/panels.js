// The dashboard's helpers and panels that do not touch the page's live state (app.js keeps that):
// DOM and text helpers, pure functions of a status snapshot, and the list renderers, each given its
// data. Plain browser script: defines window.HeadroomPanels, which app.js reads (load this first).
// Data from the server is only ever written with textContent (no HTML injection).
/* global document, window */
(function (root) {
  'use strict';

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

  /**
   * A demand window as text. A controller counter of answers is marked: a saturated pool answers
   * at its capacity, so the number is not what arrives (spec.demand … inFlight counts arrivals).
   */
  function demandText(w) {
    if (!w) return '–';
    return fmt(w.arrivalRps, 1) + ' req/s' + (w.counts === 'answers' ? ' answered' : '');
  }

  var ANSWERED_TITLE =
    'Counted when answered: while the instances are saturated this shows what they answer, not what arrives. ' +
    'An inFlight gauge in spec.demand counts arrivals.';

  /** One row of the services table (app.js adds the click and key handlers). */
  function serviceRow(name, s, selected) {
    var slo = sloStatus(s);
    var mode = [s.shadow ? 'shadow' : 'active'];
    if (s.paused) mode.push('paused');
    return el('tr', { 'data-service': name, tabindex: '0', className: selected ? 'sel' : '' }, [
      el('td', { 'data-field': 'name', text: name }),
      el('td', { 'data-field': 'instances' }, [
        el('span', { 'data-field': 'ready', text: fmt(s.replicas.ready) }),
        ' / ',
        el('span', { 'data-field': 'current', text: fmt(s.replicas.current) }),
      ]),
      el('td', { 'data-field': 'desired', text: fmt(s.replicas.desired) }),
      el('td', { 'data-field': 'binding', text: s.decision ? s.decision.binding : '–' }),
      el('td', { 'data-field': 'slo', className: slo.cls, text: slo.text }),
      el('td', { 'data-field': 'demand', text: demandText(s.traffic.stable) }),
      el('td', { 'data-field': 'mode', text: mode.join(', ') }),
    ]);
  }

  function stat(label, value, id) {
    var dd = el('dd', { text: value });
    if (id) dd.id = id;
    return el('div', { className: 'stat' }, [el('dt', { text: label }), dd]);
  }

  function demandStat(w) {
    var st = stat('demand', demandText(w), 'demand');
    if (w && w.counts === 'answers') st.title = ANSWERED_TITLE;
    return st;
  }

  /** The detail panel's figures for one snapshot (the cost's price per instance-hour in its title). */
  function detailStats(s) {
    var cap = s.service.capacity;
    var per = perInstanceRps(s);
    var items = [
      stat('ready', fmt(s.replicas.ready), 'replicas-ready'),
      stat('running', fmt(s.replicas.current), 'replicas-current'),
      stat('desired', fmt(s.replicas.desired), 'replicas-desired'),
      stat(
        'range',
        s.replicas.min +
          '–' +
          s.replicas.max +
          (s.replicas.fitLimit != null ? ' (host fits ' + s.replicas.fitLimit + ')' : ''),
      ),
      demandStat(s.traffic.stable),
      stat('capacity', per == null ? '–' : fmt(per, 1) + ' req/s per instance (' + cap.source + ')'),
      stat('SLO', s.service.slo ? 'p' + s.service.slo.percentile + ' ≤ ' + s.service.slo.latencyMs + ' ms' : 'none'),
      stat('mode', (s.shadow ? 'shadow' : 'active') + (s.paused ? ', paused' : '')),
    ];
    // Local mode: where requests wait when every instance is busy (run.queue), and how many do.
    if (s.service.queue) {
      var held = s.service.queue === 'balancer';
      items.push(
        stat('queue', held ? 'at the balancer, ≤ ' + cap.concurrency + ' per instance' : 'in the instances', 'queue'),
        stat(
          'in flight',
          fmt(s.traffic.inFlight) + (held ? ', ' + fmt(s.traffic.queued || 0) + ' waiting for a slot' : ''),
          'inflight',
        ),
      );
    }
    if (s.cost) {
      var cost = stat('cost / month', costText(s.cost), 'cost');
      cost.title = costTitle(s.cost);
      items.push(cost);
    }
    return items;
  }

  // ---- lists -----------------------------------------------------------------------------------

  /** The decision log (newest first: { d, lastAt } as app.js keeps them) into `ol`. */
  function renderDecisions(ol, decisions) {
    var items = decisions.map(function (x, i) {
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
      // The plan's warnings after the newest decision's reasons: they are about the plan now, and the
      // same line under every kept decision would bury the reasons (older servers send none).
      var warnings = (i === 0 ? d.warnings || [] : []).map(function (w) {
        return el('li', { className: 'reason warn', 'data-code': 'Warning' }, [el('code', { text: '!' }), ' ' + w]);
      });
      var reasons = el(
        'ul',
        { className: 'reasons' },
        d.reasons
          .map(function (r) {
            return el('li', { className: 'reason', 'data-code': r.code }, [
              el('code', { text: r.code }),
              ' ' + r.message,
            ]);
          })
          .concat(warnings),
      );
      return el('li', { className: 'decision' }, [head, reasons]);
    });
    if (!items.length) items = [el('li', { className: 'muted', text: 'No decision yet.' })];
    ol.replaceChildren.apply(ol, items);
  }

  /** A snapshot's events, the last 30 newest first, into `ol`. */
  function renderEvents(ol, events) {
    var evs = (events || []).slice(-30).reverse();
    var items = evs.map(function (x) {
      return el('li', { className: x.warning ? 'warn' : '' }, [
        el('time', { text: timeOf(x.at) }),
        ' ',
        el('code', { text: x.type }),
        x.instance ? ' ' + x.instance : '',
        ' ' + x.message,
      ]);
    });
    if (!items.length) items = [el('li', { className: 'muted', text: 'No events.' })];
    ol.replaceChildren.apply(ol, items);
  }

  /** Alerts into `ul`, firing first, then pending, then resolved. */
  function renderAlerts(ul, alerts) {
    var all = alerts.slice();
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
    if (!items.length) items = [el('li', { className: 'muted', text: 'No alerts.' })];
    ul.replaceChildren.apply(ul, items);
  }

  root.HeadroomPanels = {
    $: $,
    el: el,
    fmt: fmt,
    plural: plural,
    timeOf: timeOf,
    sloKey: sloKey,
    sloStatus: sloStatus,
    perInstanceRps: perInstanceRps,
    costText: costText,
    costTitle: costTitle,
    chartData: chartData,
    chartNotes: chartNotes,
    latencyCaption: latencyCaption,
    demandText: demandText,
    serviceRow: serviceRow,
    detailStats: detailStats,
    renderDecisions: renderDecisions,
    renderEvents: renderEvents,
    renderAlerts: renderAlerts,
  };
})(typeof window !== 'undefined' ? window : globalThis);
