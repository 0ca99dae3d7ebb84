// The call-graph picture on the dashboard (docs/graph.md): one SVG per GraphView
// (src/server/graph-view.ts), laid out left to right from the entry by dagre. Plain browser script:
// defines window.HeadroomGraph. Its texts come from graph-text.js (window.HeadroomGraphText),
// which must load first.
//
//   HeadroomGraph.update(container, graphs)  // draw, or update in place when the shape is the same
//
// Names from the server only ever go in as text (textContent), never as markup. The pure parts
// (texts, re-exported from graph-text.js, and layout) are exported too, for tests:
// HeadroomGraph.nodeLines(node, view) etc.
/* global document, window */
(function (root) {
  'use strict';

  var SVG = 'http://www.w3.org/2000/svg';
  var LINE = 16; // px between text lines in a node
  var CHAR = 7; // px per character at 12–13 px system-ui, to size boxes before they are drawn
  var LABEL_W = 20 * CHAR; // an edge label's box: "2250 calls/s · ×3 ∥"
  var uid = 0; // marker ids: from a counter, never from a name

  // The texts (graph-text.js, loaded before this file).
  var T = root.HeadroomGraphText;
  var num = T.num;
  var shortName = T.shortName;
  var nodeLines = T.nodeLines;
  var edgeLabel = T.edgeLabel;
  var edgeTitle = T.edgeTitle;
  var nodeTitle = T.nodeTitle;
  var headline = T.headline;
  var shapeKey = T.shapeKey;

  /**
   * Positions from dagre, left to right. Box sizes come from the longest line a node or edge could
   * show, not from the current texts, so a count going 9 → 10 does not move anything.
   */
  function layout(view, dagre) {
    var g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 24, ranksep: 70, edgesep: 12, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(function () {
      return {};
    });
    var widest = 0;
    view.nodes.forEach(function (n) {
      widest = Math.max(widest, shortName(n.name).length, 18);
    });
    var w = Math.round(widest * CHAR + 24);
    view.nodes.forEach(function (n) {
      g.setNode(n.name, { width: w, height: 4 * LINE + 14 });
    });
    view.edges.forEach(function (e, i) {
      if (!g.hasNode(e.from) || !g.hasNode(e.to)) return;
      g.setEdge(e.from, e.to, { width: LABEL_W, height: LINE + 4, labelpos: 'c' }, String(i));
    });
    dagre.layout(g);
    var out = { width: Math.ceil(g.graph().width), height: Math.ceil(g.graph().height), nodes: {}, edges: [] };
    g.nodes().forEach(function (name) {
      var n = g.node(name);
      out.nodes[name] = { x: n.x, y: n.y, width: n.width, height: n.height };
    });
    view.edges.forEach(function (e, i) {
      var d = g.edge({ v: e.from, w: e.to, name: String(i) });
      out.edges.push(d ? { points: d.points, x: d.x, y: d.y } : null);
    });
    return out;
  }

  /** SVG path through dagre's points: straight ends, smoothed bends (quadratic through midpoints). */
  function pathOf(points) {
    if (!points || !points.length) return '';
    var p = points;
    var d = 'M' + p[0].x + ',' + p[0].y;
    if (p.length === 2) return d + ' L' + p[1].x + ',' + p[1].y;
    for (var i = 1; i < p.length - 1; i++) {
      var mx = (p[i].x + p[i + 1].x) / 2;
      var my = (p[i].y + p[i + 1].y) / 2;
      d += ' Q' + p[i].x + ',' + p[i].y + ' ' + (i === p.length - 2 ? p[i + 1].x + ',' + p[i + 1].y : mx + ',' + my);
    }
    return d;
  }

  // ---- drawing ---------------------------------------------------------------------------------

  /** app.js's el() for either namespace: attrs.text becomes textContent, attrs.className the class. */
  function make(ns, tag, attrs, children) {
    var e = ns ? document.createElementNS(ns, tag) : document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') e.textContent = attrs[k];
      else e.setAttribute(k === 'className' ? 'class' : k, attrs[k]);
    });
    (children || []).forEach(function (c) {
      if (c != null) e.appendChild(typeof c === 'string' ? document.createTextNode(c) : c);
    });
    return e;
  }

  function svg(tag, attrs, children) {
    return make(SVG, tag, attrs, children);
  }

  function html(tag, attrs, children) {
    return make(null, tag, attrs, children);
  }

  /** Builds one graph's figure; returns handles to the texts that change between updates. */
  function build(view, dagre) {
    var id = 'hr-graph-' + ++uid;
    var pos = layout(view, dagre);
    var head = {
      slo: html('span', { 'data-field': 'slo' }),
      predicted: html('span', { 'data-field': 'predicted' }),
      measured: html('span', { 'data-field': 'measured' }),
      total: html('span', { 'data-field': 'total' }),
      status: html('span', { 'data-field': 'status' }),
    };
    var header = html('p', { className: 'graph-head' }, [
      head.slo,
      ' · ',
      head.predicted,
      head.measured,
      ' · ',
      head.total,
      ' · ',
      head.status,
    ]);
    var title = svg('title', { id: id + '-title' });
    var pic = svg(
      'svg',
      {
        className: 'graph',
        role: 'group',
        'aria-labelledby': id + '-title',
        viewBox: '0 0 ' + pos.width + ' ' + pos.height,
        width: String(pos.width),
        height: String(pos.height),
      },
      [
        title,
        svg('defs', {}, [
          svg(
            'marker',
            {
              id: id + '-arrow',
              viewBox: '0 0 10 10',
              refX: '10',
              refY: '5',
              markerWidth: '7',
              markerHeight: '7',
              orient: 'auto-start-reverse',
            },
            [svg('path', { d: 'M0,0 L10,5 L0,10 z', className: 'arrow' })],
          ),
        ]),
      ],
    );
    var edges = view.edges.map(function (e, i) {
      var p = pos.edges[i];
      if (!p) return null;
      var t = svg('title');
      var label = svg('text', { x: String(p.x), y: String(p.y + 4), 'text-anchor': 'middle', 'data-field': 'rate' });
      var g = svg('g', { className: 'edge ' + e.mode, role: 'listitem', 'data-mode': e.mode }, [
        t,
        svg('path', { d: pathOf(p.points), 'marker-end': 'url(#' + id + '-arrow)' }),
        svg('rect', {
          className: 'label-bg',
          x: String(p.x - LABEL_W / 2),
          y: String(p.y - 9),
          width: String(LABEL_W),
          height: '18',
          rx: '4',
        }),
        label,
      ]);
      // Names as attributes (setAttribute escapes nothing into markup: it is a value, not HTML).
      g.setAttribute('data-from', e.from);
      g.setAttribute('data-to', e.to);
      return { g: g, title: t, label: label };
    });
    var nodes = view.nodes.map(function (n) {
      var p = pos.nodes[n.name];
      var left = p.x - p.width / 2;
      var top = p.y - p.height / 2;
      var t = svg('title');
      var texts = nodeLines(n, view).map(function (line, k) {
        return svg('text', {
          x: String(left + 12),
          y: String(top + 20 + k * LINE),
          className: line.field,
          'data-field': line.field,
        });
      });
      var box = svg('rect', {
        x: String(left),
        y: String(top),
        width: String(p.width),
        height: String(p.height),
        rx: '6',
      });
      var g = svg(
        'g',
        { className: 'node' + (n.name === view.entry ? ' entry' : ''), role: 'listitem' },
        [t, box].concat(texts),
      );
      g.setAttribute('data-node', n.name);
      return { g: g, title: t, texts: texts };
    });
    pic.appendChild(
      svg(
        'g',
        { role: 'list', 'aria-label': 'calls' },
        edges.map(function (e) {
          return e && e.g;
        }),
      ),
    );
    pic.appendChild(
      svg(
        'g',
        { role: 'list', 'aria-label': 'services' },
        nodes.map(function (n) {
          return n.g;
        }),
      ),
    );
    var legend = html('p', { className: 'graph-legend muted' }, [
      html('span', { className: 'key sequential', 'aria-hidden': 'true' }),
      ' sequential call  ',
      html('span', { className: 'key parallel', 'aria-hidden': 'true' }),
      ' parallel call (∥) · ×n: calls per request · budget: own response time (queue + own work)',
    ]);
    var fig = html('figure', { className: 'graph-figure' }, [
      header,
      html('div', { className: 'graph-scroll' }, [pic]),
      legend,
    ]);
    fig.setAttribute('data-entry', view.entry);
    return { key: shapeKey(view), fig: fig, head: head, title: title, nodes: nodes, edges: edges };
  }

  /** Writes the texts of `view` into a built figure (same shape). */
  function fill(d, view) {
    var h = headline(view);
    d.head.slo.textContent = h.slo;
    d.head.predicted.textContent = h.predicted;
    d.head.measured.textContent = h.measured == null ? '' : ' · ' + h.measured;
    d.head.total.textContent = h.total;
    d.head.status.textContent = h.status;
    d.head.status.className = h.state === 'met' ? 'ok' : h.state === 'unmeasured' ? 'muted' : 'bad';
    d.fig.classList.toggle('infeasible', !view.feasible);
    d.title.textContent =
      'Call graph from ' +
      view.entry +
      ': ' +
      h.slo +
      ', ' +
      h.predicted +
      (h.measured ? ', ' + h.measured : '') +
      ', ' +
      h.status;
    view.nodes.forEach(function (n, i) {
      var x = d.nodes[i];
      x.title.textContent = nodeTitle(n, view);
      x.g.setAttribute('aria-label', nodeTitle(n, view));
      x.g.classList.toggle('overloaded', n.budgetMs == null);
      nodeLines(n, view).forEach(function (line, k) {
        if (x.texts[k].textContent !== line.text) x.texts[k].textContent = line.text;
      });
    });
    view.edges.forEach(function (e, i) {
      var x = d.edges[i];
      if (!x) return;
      x.title.textContent = edgeTitle(e);
      x.g.setAttribute('aria-label', edgeTitle(e));
      var text = edgeLabel(e);
      if (x.label.textContent !== text) x.label.textContent = text;
    });
  }

  var drawn = new WeakMap(); // container → [{ key, fig, ... }] in the order of the graphs

  /** Draws `graphs` into `container`: rebuilds a figure only when its shape changed. */
  function update(container, graphs) {
    var dagre = root.dagre;
    if (!dagre) return;
    var old = drawn.get(container) || [];
    var next = graphs.map(function (view, i) {
      var d = old[i] && old[i].key === shapeKey(view) ? old[i] : build(view, dagre);
      fill(d, view);
      return d;
    });
    var changed =
      next.length !== old.length ||
      next.some(function (d, i) {
        return d !== old[i];
      });
    if (changed) {
      container.replaceChildren.apply(
        container,
        next.map(function (d) {
          return d.fig;
        }),
      );
    }
    drawn.set(container, next);
  }

  root.HeadroomGraph = {
    update: update,
    num: num,
    nodeLines: nodeLines,
    edgeLabel: edgeLabel,
    headline: headline,
    shapeKey: shapeKey,
    layout: layout,
    pathOf: pathOf,
  };
})(typeof window !== 'undefined' ? window : globalThis);
