// The self-contained HTML report: uPlot's JS and CSS are inlined from node_modules (no network),
// with a latency-vs-rate plot (p50/p90/p99/p99.9 and the SLO line), achieved-vs-asked throughput,
// the knee, the fit and the step table.
import { assetText } from '../server/dashboard/assets.ts';
import { escapeHtml as esc, inlineCode as inline, scriptJson } from '../server/html.ts';
import { generatorCpuWarning, kneeMeaning, kneeNotes, type LoadtestResult } from './output.ts';
import { modelText } from './output-text.ts';

export interface ReportAssets {
  uplotJs: string;
  uplotCss: string;
}

/** uPlot's JS and CSS, the same files the dashboard serves. */
export function loadReportAssets(): ReportAssets {
  return { uplotJs: assetText('uPlot.iife.min.js'), uplotCss: assetText('uPlot.min.css') };
}

/** The probe's distribution for the fit line, e.g. "; probe: 2000 sequential requests, mean 10.9 ms, CV 0.03, p99 11.6 ms". */
function probeText(res: LoadtestResult): string {
  const d = res.probe?.distribution;
  if (!d) return '';
  return `; probe: ${d.samples} sequential requests, mean ${d.meanMs} ms, CV ${d.cv}, p99 ${d.quantilesMs.p99} ms${d.stable ? '' : ' (too few for the profile)'}`;
}

export function renderReport(res: LoadtestResult, assets: ReportAssets): string {
  // uPlot needs ascending x: refinement steps are run out of order, so sort by asked rate.
  const sorted = [...res.steps].filter((s) => s.completed > 0).sort((a, b) => a.targetRps - b.targetRps);
  const data = {
    rate: sorted.map((s) => s.targetRps),
    achieved: sorted.map((s) => s.achievedRps),
    p50: sorted.map((s) => s.latencyMs.p50),
    p90: sorted.map((s) => s.latencyMs.p90),
    p99: sorted.map((s) => s.latencyMs.p99),
    p999: sorted.map((s) => s.latencyMs.p999),
    slo: res.slo,
    knee: res.kneeRps,
  };
  const title = `headroom loadtest: ${res.target}`;
  const contention = generatorCpuWarning(res);
  const knees = kneeMeaning(res);
  const notes = kneeNotes(res);
  const fit =
    res.serviceTimeMs !== null
      ? `serviceTimeMs <b>${res.serviceTimeMs}</b>, concurrency <b>${res.concurrency}</b> (fit: ${esc(String(res.fitMethod))}) → capacity ${res.capacityRps} rps; ${esc(modelText(res))} predicts a knee of ${res.predictedKneeRps} rps${probeText(res)}`
      : 'no fit (no step completed)';
  const rows = res.steps
    .map(
      (s, i) =>
        `<tr class="${s.sloMet ? 'ok' : 'bad'}"><td>${i + 1}</td><td>${s.phase}</td><td>${s.targetRps}</td><td>${s.achievedRps}</td><td>${s.latencyMs.p50}</td><td>${s.latencyMs.p90}</td><td>${s.latencyMs.p99}</td><td>${s.latencyMs.p999}</td><td>${s.latencyMs.max}</td><td>${(s.errorRate * 100).toFixed(2)}%</td><td>${s.dropped}</td><td>${s.late}</td><td>${s.cut ? `cut (${esc(s.cut)})` : s.sloMet ? 'ok' : `FAIL ${esc(s.breach ?? '')}`}</td></tr>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>${inline(assets.uplotCss, 'style')}</style>
<style>
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
.partial { background: #fde68a; border: 1px solid #d97706; padding: 8px 12px; margin: 12px 0; font-weight: 600; }
table { border-collapse: collapse; margin-top: 16px; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
tr.bad td { background: #fee2e2; }
.charts { display: flex; flex-wrap: wrap; gap: 24px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${res.partial ? `<div class="partial" id="partial">PARTIAL RESULT: the run stopped early (${esc(res.stopReason)}); the knee is a lower bound.</div>` : res.kneeIsLowerBound ? `<div class="partial" id="lower-bound">LOWER BOUND: --max-rps was reached with the SLO still met; the knee is at least ${res.kneeRps} rps (rerun with a higher --max-rps).</div>` : ''}
${contention ? `<div class="partial" id="generator-cpu">Warning: ${esc(contention)}.</div>` : ''}
<p>${esc(res.method)} ${esc(res.target)} · measured ${esc(res.measuredAt)} · SLO p${res.slo.percentile} ≤ ${res.slo.latencyMs} ms, errors ≤ ${(res.errorRateLimit * 100).toFixed(2)}%</p>
<p>${res.steps.length === 0 ? `Knee: <b id="knee">none</b>: no load step ran` : `Knee: <b id="knee">${res.kneeRps}</b> rps${res.firstBadRps !== null ? ` (first failing rate ${res.firstBadRps} rps)` : ''}`}; stopped by ${esc(res.stopReason)}.<br>${fit}</p>
${knees ? `<p id="knee-meaning">${esc(knees)}.</p>` : ''}
${notes.map((n) => `<p class="note">Note: ${esc(n)}.</p>`).join('\n')}
<div class="charts"><div id="latency"></div><div id="throughput"></div></div>
<noscript>The charts need JavaScript; the table below has every number.</noscript>
<table class="steps">
<thead><tr><th>#</th><th>phase</th><th>rate</th><th>achieved</th><th>p50 ms</th><th>p90 ms</th><th>p99 ms</th><th>p99.9 ms</th><th>max ms</th><th>errors</th><th>dropped</th><th>late</th><th>SLO</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
<script>${inline(assets.uplotJs, 'script')}</script>
<script>
const D = ${scriptJson(data)};
const W = Math.min(720, window.innerWidth - 48);
const sloLine = D.rate.map(() => D.slo.latencyMs);
new uPlot({
  title: 'Latency vs asked rate (ms, log scale)', width: W, height: 380,
  scales: { x: { time: false }, y: { distr: 3 } },
  axes: [{ label: 'asked rate (rps)' }, { label: 'latency (ms)' }],
  series: [
    { label: 'rps' },
    { label: 'p50', stroke: '#2563eb', width: 2, points: { show: true } },
    { label: 'p90', stroke: '#16a34a', width: 2, points: { show: true } },
    { label: 'p99', stroke: '#d97706', width: 2, points: { show: true } },
    { label: 'p99.9', stroke: '#dc2626', width: 2, points: { show: true } },
    { label: 'SLO p' + D.slo.percentile + ' ≤ ' + D.slo.latencyMs + ' ms', stroke: '#000', dash: [6, 4], width: 1 },
  ],
}, [D.rate, D.p50, D.p90, D.p99, D.p999, sloLine], document.getElementById('latency'));
new uPlot({
  title: 'Achieved vs asked rate (rps)', width: W, height: 380,
  scales: { x: { time: false } },
  axes: [{ label: 'asked rate (rps)' }, { label: 'rps' }],
  series: [
    { label: 'rps' },
    { label: 'achieved', stroke: '#2563eb', width: 2, points: { show: true } },
    { label: 'asked', stroke: '#999', dash: [4, 4], width: 1 },
  ],
}, [D.rate, D.achieved, D.rate], document.getElementById('throughput'));
</script>
</body>
</html>
`;
}
