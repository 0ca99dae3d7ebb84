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

  /**
   * Makes `parent`'s children match `items`, keeping every node that still matches: a row, a button or
   * a list item keeps its focus, a held mouse button and a text selection across the updates that
   * arrive every second. Children with a data-key match by it (a new decision goes in above the kept
   * ones, which are not moved); others by position and tag. Attributes and texts change in place; new
   * nodes only go in where nothing matches. Not morphdom: it moves a kept keyed node when a new one
   * goes in before it, and a moved node loses the selection in it (README, "Design").
   */
  function patch(parent, items) {
    for (var i = 0; i < items.length; i++) {
      var want = items[i];
      var cur = parent.childNodes[i] || null;
      var key = want.nodeType === 1 ? want.getAttribute('data-key') : null;
      if (key !== null && !(cur && keyOf(cur) === key)) {
        var found = cur;
        while (found && keyOf(found) !== key) found = found.nextSibling;
        if (!found) {
          parent.insertBefore(want, cur);
          continue;
        }
        parent.insertBefore(found, cur);
        cur = found;
      }
      if (!cur) parent.appendChild(want);
      else if (cur.isEqualNode(want)) continue;
      else if (cur.nodeType === want.nodeType && cur.nodeName === want.nodeName && keyOf(cur) === key) morph(cur, want);
      else parent.replaceChild(want, cur);
    }
    while (parent.childNodes.length > items.length) parent.removeChild(parent.lastChild);
  }

  function keyOf(n) {
    return n.nodeType === 1 ? n.getAttribute('data-key') : null;
  }

  function morph(cur, want) {
    if (cur.nodeType !== 1) {
      if (cur.nodeValue !== want.nodeValue) cur.nodeValue = want.nodeValue;
      return;
    }
    Array.prototype.slice.call(cur.attributes).forEach(function (a) {
      if (!want.hasAttribute(a.name)) cur.removeAttribute(a.name);
    });
    Array.prototype.slice.call(want.attributes).forEach(function (a) {
      if (cur.getAttribute(a.name) !== a.value) cur.setAttribute(a.name, a.value);
    });
    patch(cur, Array.prototype.slice.call(want.childNodes));
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

  // What a window measures, as percentiles (max: the 100th).
  var MEASURED = [
    [50, 'p50'],
    [90, 'p90'],
    [99, 'p99'],
    [100, 'max'],
  ];

  /**
   * Whether the SLO holds, judged on the percentile it names. A window keeps p50/p90/p99 and max;
   * another percentile is bounded by its neighbours (p99.9 ≥ p99: p99 over the SLO misses it; p95 ≤
   * p99: p99 within it meets it), and between them it is not known, which is said rather than "met".
   * `stale`: the data is from before the connection dropped: never shown green or red.
   */
  function sloStatus(snap, stale) {
    var slo = snap.service.slo;
    if (!slo) return { text: 'none', cls: 'muted' };
    var w = snap.traffic.burst || snap.traffic.stable;
    var lat = w && w.latencyMs;
    if (!lat) return { text: 'no data', cls: 'muted' };
    var below = null; // the highest measured percentile ≤ the SLO's
    var above = null; // the lowest ≥ it
    MEASURED.forEach(function (m) {
      var v = lat[m[1]];
      if (v == null) return;
      if (m[0] <= slo.percentile) below = { k: m[1], v: v };
      if (m[0] >= slo.percentile && !above) above = { k: m[1], v: v };
    });
    var scope = slo.scope === 'endToEnd' ? 'end-to-end ' : '';
    var name = 'p' + slo.percentile;
    var limit = ' / ' + fmt(slo.latencyMs) + ' ms)';
    var hit = above && above.v <= slo.latencyMs ? above : below && below.v > slo.latencyMs ? below : null;
    if (!hit) {
      var seen = [below, above].filter(Boolean).map(function (m) {
        return m.k + ' ' + fmt(m.v);
      });
      return { text: scope + name + ' not measured (' + seen.join(', ') + limit, cls: 'muted' };
    }
    var ok = hit === above;
    // "met (p99 150 / 200 ms)"; bounded: "met (p95 ≤ p99 150 / 200 ms)", "missed (p99.9 ≥ p99 300 / 200 ms)"
    var bound = hit.k === name ? '' : name + (ok ? ' ≤ ' : ' ≥ ');
    return {
      text: (ok ? 'met' : 'missed') + ' (' + scope + bound + hit.k + ' ' + fmt(hit.v) + limit,
      cls: stale ? 'muted' : ok ? 'ok' : 'bad',
    };
  }

  /** The SLO as the detail panel writes it: "p99 ≤ 500 ms", "end-to-end p99 ≤ 600 ms". */
  function sloText(slo) {
    if (!slo) return 'none';
    return (slo.scope === 'endToEnd' ? 'end-to-end ' : '') + 'p' + slo.percentile + ' ≤ ' + slo.latencyMs + ' ms';
  }

  /** Requests per second one instance serves, as the loop sizes it (the server's `sizing`: calibrated). */
  function perInstanceRps(snap) {
    if (snap.sizing && snap.sizing.perInstanceRps > 0 && isFinite(snap.sizing.perInstanceRps)) {
      return snap.sizing.perInstanceRps;
    }
    var c = snap.service.capacity;
    return c && c.serviceTimeMs > 0 ? (c.concurrency * 1000) / c.serviceTimeMs : null;
  }

  /** "(spec)", "(learned)", "(spec, calibrated ×1.24)". */
  function capacitySource(snap) {
    var k = snap.sizing && snap.sizing.scale !== 1 ? ', calibrated ×' + snap.sizing.scale.toFixed(2) : '';
    return '(' + snap.service.capacity.source + k + ')';
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
    // The history keeps p99: its line says something about an SLO at p99 or above (p99.9 ≥ p99), not
    // about a p90 one, so no threshold is drawn against it then.
    var slo = s.service.slo && s.service.slo.percentile >= 99 ? s.service.slo.latencyMs : null;
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
    var text = 'Latency p99 vs SLO';
    if (slo && slo.percentile < 99) text = 'Latency p99 (SLO ' + sloText(slo) + ': not drawn, only p99 is kept)';
    else if (slo) text += ' (' + sloText(slo) + ')';
    var m = snap.model;
    var sized = snap.sizing && snap.sizing.calibrated ? snap.sizing : null;
    if (m && m.samples > 0) {
      // Without a prediction now there is nothing to be off from (the smoothed error is older).
      var off = m.predictedMs == null ? '' : ' (' + Math.max(m.error, 1 / m.error).toFixed(2) + '× off)';
      text +=
        ' · measured ' +
        (m.measuredMs == null ? '–' : Math.round(m.measuredMs)) +
        ' ms, model ' +
        (m.predictedMs == null ? '–' : Math.round(m.predictedMs)) +
        ' ms' +
        off +
        // The server's `sizing` is the core's sizingCapacity on this snapshot: the page keeps no copy of the rule.
        (sized
          ? ', sizing with service time ×' +
            sized.scale.toFixed(2) +
            (sized.serviceTime && sized.serviceTime.quantilesMs
              ? ' in the shape measured at the instances (p99 ' + fmt(sized.serviceTime.quantilesMs.p99) + ' ms)'
              : '')
          : '');
    }
    // Local mode: where the burst window's time went, the wait for a slot and the time at the instance.
    var b = snap.traffic && snap.traffic.burst;
    if (b && b.waitMs && b.atInstanceMs) {
      text +=
        ' · p99 waiting for a slot ' + fmt(b.waitMs.p99) + ' ms, at the instance ' + fmt(b.atInstanceMs.p99) + ' ms';
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

  /**
   * One row of the services table (app.js handles clicks and keys on the table). `stale`: from before
   * the connection dropped, dimmed and never green.
   */
  function serviceRow(name, s, selected, stale) {
    var slo = sloStatus(s, stale);
    var mode = [s.shadow ? 'shadow' : 'active'];
    if (s.paused) mode.push('paused');
    var cls = [selected ? 'sel' : '', stale ? 'stale' : ''].filter(Boolean).join(' ');
    return el('tr', { 'data-service': name, 'data-key': name, tabindex: '0', className: cls }, [
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
      stat('capacity', per == null ? '–' : fmt(per, 1) + ' req/s per instance ' + capacitySource(s), 'capacity'),
      stat('SLO', sloText(s.service.slo)),
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
    patch(ol, decisionItems(decisions));
  }

  /** The decision log's items, each keyed by its decision (a new one goes in above the kept ones). */
  function decisionItems(decisions) {
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
      return el('li', { className: 'decision', 'data-key': (x.key || '') + '@' + d.at }, [head, reasons]);
    });
    if (!items.length) items = [el('li', { className: 'muted', text: 'No decision yet.' })];
    return items;
  }

  /** A snapshot's events, the last 30 newest first, into `ol`. */
  function renderEvents(ol, events) {
    patch(ol, eventItems(events));
  }

  function eventItems(events) {
    var evs = (events || []).slice(-30).reverse();
    var items = evs.map(function (x) {
      var key = [x.at, x.type, x.instance || '', x.message].join('|');
      return el('li', { className: x.warning ? 'warn' : '', 'data-key': key }, [
        el('time', { text: timeOf(x.at) }),
        ' ',
        el('code', { text: x.type }),
        x.instance ? ' ' + x.instance : '',
        ' ' + x.message,
      ]);
    });
    if (!items.length) items = [el('li', { className: 'muted', text: 'No events.' })];
    return items;
  }

  /** Alerts into `ul`, firing first, then pending, then resolved. */
  function renderAlerts(ul, alerts) {
    patch(ul, alertItems(alerts));
  }

  function alertItems(alerts) {
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
    return items;
  }

  root.HeadroomPanels = {
    $: $,
    el: el,
    patch: patch,
    fmt: fmt,
    plural: plural,
    timeOf: timeOf,
    sloKey: sloKey,
    sloStatus: sloStatus,
    sloText: sloText,
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
    decisionItems: decisionItems,
    eventItems: eventItems,
    alertItems: alertItems,
  };
})(typeof window !== 'undefined' ? window : globalThis);
