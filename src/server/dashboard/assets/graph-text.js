// The texts of the call-graph picture (graph.js draws them): numbers, node lines, edge labels,
// titles, the header. Pure functions of a GraphView (src/server/graph-view.ts), no DOM. Plain
// browser script: defines window.HeadroomGraphText, which graph.js reads (load this one first).
/* global window */
(function (root) {
  'use strict';

  var NAME_MAX = 32; // longer names are cut with "…" (the full name is in the node's <title>)

  /** 3 significant digits, as `headroom plan` prints: 7.75, 70, 149, 16.9; integers as they are. */
  function num(x) {
    if (x == null || !isFinite(x)) return '–';
    if (Number.isInteger(x)) return String(x);
    var k = Math.max(0, 2 - Math.floor(Math.log10(Math.abs(x))));
    var m = Math.pow(10, k);
    return String(Math.round(x * m) / m);
  }

  function shortName(name) {
    return name.length > NAME_MAX ? name.slice(0, NAME_MAX - 1) + '…' : name;
  }

  function pct(view) {
    return 'p' + view.slo.percentile;
  }

  /** "3 instances" or "2 / 3 ready". */
  function countText(node) {
    if (node.ready != null) return node.ready + ' / ' + node.replicas + ' ready';
    return node.replicas + (node.replicas === 1 ? ' instance' : ' instances');
  }

  /** "p99 ≤ 16.9 ms"; null budget: no count keeps it from queueing without bound. */
  function budgetText(node, view) {
    return node.budgetMs == null ? 'overloaded' : pct(view) + ' ≤ ' + num(node.budgetMs) + ' ms';
  }

  /** The lines a node shows, in order: name, count, budget, demand. */
  function nodeLines(node, view) {
    return [
      { field: 'name', text: shortName(node.name) },
      { field: 'count', text: countText(node) },
      { field: 'budget', text: budgetText(node, view) },
      { field: 'demand', text: num(node.demandRps) + ' req/s' },
    ];
  }

  /** "750 calls/s · ×1.5" (parallel: "500 calls/s · ×1 ∥"). */
  function edgeLabel(edge) {
    return num(edge.rps) + ' calls/s · ×' + num(edge.perRequest) + (edge.mode === 'parallel' ? ' ∥' : '');
  }

  function edgeTitle(edge) {
    return (
      edge.from +
      ' → ' +
      edge.to +
      ': ' +
      num(edge.rps) +
      ' calls/s, ' +
      num(edge.perRequest) +
      ' per request, ' +
      edge.mode
    );
  }

  function nodeTitle(node, view) {
    return (
      node.name +
      (node.name === view.entry ? ' (entry)' : '') +
      ': ' +
      countText(node) +
      ', own ' +
      budgetText(node, view) +
      ' (queue + own work), ' +
      num(node.demandRps) +
      ' req/s' +
      (node.binding ? ', binding ' + node.binding : '')
    );
  }

  /** The header's parts: SLO, predicted, measured (when the mode measures), and whether it is met (state). */
  function headline(view) {
    var slo = 'end-to-end ' + pct(view) + ' ≤ ' + num(view.slo.latencyMs) + ' ms at ' + view.entry;
    var over = '> ' + num(2 * view.slo.latencyMs) + ' ms';
    var predicted = 'predicted ' + (view.predictedMs == null ? over : num(view.predictedMs) + ' ms');
    // A running graph: the same prediction at the counts ready, what the measurement compares with.
    if (view.predictedNowMs !== undefined)
      predicted +=
        ' (plan), ' + (view.predictedNowMs == null ? over : num(view.predictedNowMs) + ' ms') + ' at the counts ready';
    var measured =
      view.measuredMs === undefined
        ? null
        : view.measuredMs == null
          ? 'measured – (no traffic yet)'
          : 'measured ' + num(view.measuredMs) + ' ms';
    var status = sloState(view);
    var total = 0;
    view.nodes.forEach(function (n) {
      total += n.replicas;
    });
    return {
      slo: slo,
      predicted: predicted,
      measured: measured,
      total: total + (total === 1 ? ' instance' : ' instances'),
      status: status.text,
      state: status.state,
    };
  }

  /**
   * Whether the SLO holds: the measurement decides where there is one (a feasible plan says what
   * the counts should do, not what the requests took); without one, only that the plan is feasible.
   * state: 'met' | 'missed' | 'infeasible' | 'unmeasured'.
   */
  function sloState(view) {
    if (!view.feasible) return { state: 'infeasible', text: 'infeasible: no count within replicas.max meets the SLO' };
    if (view.measuredMs == null) {
      return {
        state: 'unmeasured',
        text:
          view.measuredMs === null ? 'plan feasible, not measured yet' : 'plan feasible (latency not measured here)',
      };
    }
    return view.measuredMs <= view.slo.latencyMs
      ? { state: 'met', text: 'meets the SLO' }
      : { state: 'missed', text: 'misses the SLO: measured ' + num(view.measuredMs) + ' ms' };
  }

  /** What decides the drawing's shape: when it is unchanged, only texts are updated. */
  function shapeKey(view) {
    return JSON.stringify([
      view.entry,
      view.nodes.map(function (n) {
        return n.name;
      }),
      view.edges.map(function (e) {
        return [e.from, e.to, e.mode];
      }),
    ]);
  }

  root.HeadroomGraphText = {
    num: num,
    shortName: shortName,
    countText: countText,
    budgetText: budgetText,
    nodeLines: nodeLines,
    edgeLabel: edgeLabel,
    edgeTitle: edgeTitle,
    nodeTitle: nodeTitle,
    headline: headline,
    shapeKey: shapeKey,
  };
})(typeof window !== 'undefined' ? window : globalThis);
