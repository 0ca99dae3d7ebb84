// The dashboard's static files, read once at startup: our own (assets/), uPlot's from
// node_modules/uplot/dist and dagre's (the call-graph layout) from node_modules/@dagrejs/dagre/dist. Nothing is fetched from the internet; the page works offline.
//
// Reusing the charts elsewhere (`headroom simulate --report`): `inlineChartAssets()` returns one
// `<style>` + `<script>` block (uPlot + assets/charts.js, ~60 KB) to paste into a self-contained
// HTML file. After it, in a later script, window.HeadroomCharts offers (t in seconds; pass
// { time: false } for seconds since start instead of epoch seconds; null = no data):
//   HeadroomCharts.demandCapacityChart(el, { t, demand, burst, capacity }, opts)
//   HeadroomCharts.instancesChart(el, { t, ready, starting, desired }, opts)
//   HeadroomCharts.latencyChart(el, { t, latency, slo }, { latencyLabel: 'p99', ...opts })
//   HeadroomCharts.resourcesChart(el, { t, cpu, memoryMiB }, opts)
//   HeadroomCharts.lineChart(el, { series: [{ key, label, color }], y: { label } }, data, opts)
// Each returns { uplot, setData(data), destroy() } and follows its element's width.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inlineCode } from '../html.ts';

export interface Asset {
  body: Buffer;
  type: string;
}

const OWN = fileURLToPath(new URL('./assets/', import.meta.url));

function uplotDir(): string {
  // package.json `main` is dist/uPlot.cjs.js: its folder holds the browser builds too.
  return dirname(createRequire(import.meta.url).resolve('uplot'));
}

function dagreDir(): string {
  // `require` resolves to dist/dagre.cjs; dist/dagre.min.js beside it is the IIFE (global `dagre`).
  return dirname(createRequire(import.meta.url).resolve('@dagrejs/dagre'));
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const typeOf = (name: string): string => TYPES[name.slice(name.lastIndexOf('.'))] ?? 'application/octet-stream';

/** name served under /assets/ → file on disk. A fixed list: no path from the request reaches the disk. */
function files(): Record<string, string> {
  const u = uplotDir();
  return {
    'uPlot.iife.min.js': join(u, 'uPlot.iife.min.js'),
    'uPlot.min.css': join(u, 'uPlot.min.css'),
    'dagre.min.js': join(dagreDir(), 'dagre.min.js'),
    'charts.js': join(OWN, 'charts.js'),
    'graph-text.js': join(OWN, 'graph-text.js'),
    'graph.js': join(OWN, 'graph.js'),
    'panels.js': join(OWN, 'panels.js'),
    'app.js': join(OWN, 'app.js'),
    'style.css': join(OWN, 'style.css'),
    'favicon.svg': join(OWN, 'favicon.svg'),
  };
}

let cache: Map<string, Asset> | undefined;

/** Every asset, read on first use and kept (a few hundred KB). */
export function loadAssets(): Map<string, Asset> {
  if (cache) return cache;
  const m = new Map<string, Asset>();
  for (const [name, path] of Object.entries(files())) m.set(name, { body: readFileSync(path), type: typeOf(name) });
  cache = m;
  return m;
}

/** The page; `{{ASSET_QUERY}}` and `{{TITLE}}` are filled per request. */
export function pageTemplate(): string {
  return readFileSync(join(OWN, 'index.html'), 'utf8');
}

/**
 * The chart components as one `<style>` + `<script>` block to paste into a self-contained HTML file
 * (the simulator's --report). After it, `HeadroomCharts.demandCapacityChart(el, data)` etc. work.
 */
export function inlineChartAssets(): string {
  return [
    `<style>${inlineCode(assetText('uPlot.min.css'), 'style')}</style>`,
    `<script>${inlineCode(assetText('uPlot.iife.min.js'), 'script')}</script>`,
    `<script>${inlineCode(assetText('charts.js'), 'script')}</script>`,
  ].join('\n');
}

/** One asset's text, e.g. uPlot for a report that draws its own charts. */
export function assetText(name: string): string {
  return loadAssets().get(name)?.body.toString('utf8') ?? '';
}
