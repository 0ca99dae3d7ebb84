// Headroom chart components on uPlot, shared by the dashboard and `headroom simulate --report`
// (inlined there by inlineChartAssets()). Plain browser script: defines window.HeadroomCharts.
//
//   const c = HeadroomCharts.demandCapacityChart(el, { t, demand, burst, capacity }, { time: true });
//   c.setData({ t, demand, burst, capacity });   // columns of equal length; null = no data
//
// t is in seconds: epoch seconds with { time: true } (default), plain seconds with { time: false }.
/* global document, window, getComputedStyle, ResizeObserver, uPlot */
(function () {
  'use strict';

  var COLORS = {
    demand: '#1f6feb',
    burst: '#8fb8ff',
    capacity: '#2da44e',
    desired: '#d29922',
    ready: '#2da44e',
    starting: '#8250df',
    latency: '#1f6feb',
    slo: '#cf222e',
    predicted: '#8250df',
    cpu: '#1f6feb',
    memory: '#bf8700',
  };

  function css(name, fallback) {
    var v = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
    return v || fallback;
  }

  function widthOf(el) {
    return Math.max(200, Math.floor(el.clientWidth || el.getBoundingClientRect().width || 400));
  }

  var stepped = null;
  function steps() {
    if (!stepped && uPlot.paths && uPlot.paths.stepped) stepped = uPlot.paths.stepped({ align: 1 });
    return stepped;
  }

  /**
   * A line chart: spec = { series: [{ key, label, color, dash?, scale?, step?, fill? }], y: {label},
   * y2?: {label, scale} }; data = { t: [...], <key>: [...] }.
   */
  function lineChart(el, spec, data, opts) {
    opts = opts || {};
    var time = opts.time !== false;
    var axisColor = css('--muted', '#667');
    var gridColor = css('--grid', 'rgba(128,128,128,0.15)');
    var series = [{ label: time ? 'time' : 's' }];
    spec.series.forEach(function (s) {
      var o = {
        label: s.label,
        stroke: s.color,
        width: s.width || 2,
        scale: s.scale || 'y',
        spanGaps: false,
        points: { show: false },
      };
      if (s.dash) o.dash = s.dash;
      if (s.fill) o.fill = s.fill;
      if (s.step && steps()) o.paths = steps();
      if (s.digits !== undefined) {
        o.value = function (u, v) {
          return v == null ? '–' : v.toFixed(s.digits);
        };
      }
      series.push(o);
    });
    var axes = [
      { stroke: axisColor, grid: { stroke: gridColor }, ticks: { stroke: gridColor } },
      {
        scale: 'y',
        label: spec.y && spec.y.label,
        stroke: axisColor,
        grid: { stroke: gridColor },
        ticks: { stroke: gridColor },
        size: 50,
      },
    ];
    // Whole-number ticks for counts: no "0.25 instances".
    if (spec.y && spec.y.integer) axes[1].incrs = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000];
    var scales = { x: { time: time }, y: { range: spec.y && spec.y.range } };
    if (spec.y2) {
      axes.push({
        scale: spec.y2.scale,
        side: 1,
        label: spec.y2.label,
        stroke: axisColor,
        grid: { show: false },
        size: 55,
      });
      scales[spec.y2.scale] = { range: spec.y2.range };
    }
    var u = new uPlot(
      {
        width: widthOf(el),
        height: opts.height || 200,
        series: series,
        axes: axes,
        scales: scales,
        legend: { live: true },
        cursor: { drag: { x: false, y: false } },
      },
      columns(spec, data),
      el,
    );
    var ro = null;
    if (typeof ResizeObserver === 'function') {
      ro = new ResizeObserver(function () {
        var w = widthOf(el);
        if (w !== u.width) u.setSize({ width: w, height: u.height });
      });
      ro.observe(el);
    }
    return {
      uplot: u,
      setData: function (d) {
        u.setData(columns(spec, d));
      },
      destroy: function () {
        if (ro) ro.disconnect();
        u.destroy();
      },
    };
  }

  function columns(spec, data) {
    data = data || {};
    var t = data.t || [];
    var out = [t];
    spec.series.forEach(function (s) {
      var col = data[s.key];
      out.push(col && col.length === t.length ? col : t.map(() => null));
    });
    return out;
  }

  // Nonnegative scales that start at 0: demand, counts and latency are read against zero.
  function fromZero(u, min, max) {
    return [0, max > 0 ? max * 1.1 : 1];
  }

  /** Demand (stable window, burst window) against the capacity of the ready instances. */
  function demandCapacityChart(el, data, opts) {
    return lineChart(
      el,
      {
        series: [
          { key: 'demand', label: 'demand', color: COLORS.demand, digits: 1 },
          { key: 'burst', label: 'burst', color: COLORS.burst, width: 1, digits: 1 },
          { key: 'capacity', label: 'capacity', color: COLORS.capacity, step: true, dash: [6, 4], digits: 0 },
        ],
        y: { label: 'req/s', range: fromZero },
      },
      data,
      opts,
    );
  }

  /** Instance counts: ready, starting, desired (step lines: counts change in whole steps). */
  function instancesChart(el, data, opts) {
    return lineChart(
      el,
      {
        series: [
          { key: 'ready', label: 'ready', color: COLORS.ready, step: true, digits: 0 },
          { key: 'starting', label: 'starting', color: COLORS.starting, step: true, width: 1, digits: 0 },
          { key: 'desired', label: 'desired', color: COLORS.desired, step: true, dash: [6, 4], digits: 0 },
        ],
        y: { label: 'instances', range: fromZero, integer: true },
      },
      data,
      opts,
    );
  }

  /** A latency percentile against the SLO line. */
  function latencyChart(el, data, opts) {
    var label = (opts && opts.latencyLabel) || 'p99';
    return lineChart(
      el,
      {
        series: [
          { key: 'latency', label: label, color: COLORS.latency, digits: 0 },
          // What the latency model predicted at the same load and count: the model checking itself.
          { key: 'predicted', label: 'model', color: COLORS.predicted, dash: [2, 3], width: 1.5, digits: 0 },
          { key: 'slo', label: 'SLO', color: COLORS.slo, dash: [4, 4], width: 1, digits: 0 },
        ],
        y: { label: 'ms', range: fromZero },
      },
      data,
      opts,
    );
  }

  /** Mean CPU (cores) and memory (MiB) per instance; two y axes. */
  function resourcesChart(el, data, opts) {
    return lineChart(
      el,
      {
        series: [
          { key: 'cpu', label: 'CPU cores', color: COLORS.cpu, digits: 2 },
          { key: 'memoryMiB', label: 'memory MiB', color: COLORS.memory, scale: 'mem', digits: 0 },
        ],
        y: { label: 'cores', range: fromZero },
        y2: { label: 'MiB', scale: 'mem', range: fromZero },
      },
      data,
      opts,
    );
  }

  window.HeadroomCharts = {
    colors: COLORS,
    lineChart: lineChart,
    demandCapacityChart: demandCapacityChart,
    instancesChart: instancesChart,
    latencyChart: latencyChart,
    resourcesChart: resourcesChart,
  };
})();
