// The self-contained HTML report of `headroom simulate --report`: the dashboard's own chart
// components (uPlot + charts.js, inlined by inlineChartAssets(); no network), per policy a
// demand-vs-capacity plot (demand, the demand its ready instances serve within the SLO) and its
// instance count, and the cost/violation scatter with each baseline's frontier, as inline SVG.
import { HOURS_PER_MONTH, formatMoney, formatMoneyDelta } from '../core/cost.ts';
import { inlineChartAssets } from '../server/dashboard/assets.ts';
import { escapeHtml as esc, scriptJson } from '../server/html.ts';
import { ceilingText, marginText } from './bound.ts';
import type { PolicyRun } from './engine.ts';
import { frontier, SWEPT, type NoiseBoundResult, type PolicyResult, type SimulationResult } from './run.ts';

export interface ReportAssets {
  /** `<style>` + `<script>` blocks defining window.HeadroomCharts. */
  charts: string;
}

export function loadReportAssets(): ReportAssets {
  return { charts: inlineChartAssets() };
}

/**
 * `savings` (1 − Headroom's cost ÷ the baseline's) as words: 0.25 → "25.0 % cheaper", −0.034 →
 * "3.4 % dearer". The sign is in the word, never in the number (the terminal and the report share it).
 */
export function savingsText(savings: number): string {
  return `${(Math.abs(savings) * 100).toFixed(1)} % ${savings >= 0 ? 'cheaper' : 'dearer'}`;
}

const COLORS: Record<string, string> = {
  actual: '#b0183c',
  headroom: '#1b7f3b',
  hpa: '#1f5fbf',
  kpa: '#b8561b',
  keda: '#7a3fb0',
  static: '#666666',
  oracle: '#000000',
};

/** What a caller adds to the page: its own title, and notes shown above the table (plain text). */
export interface ReportExtra {
  title?: string;
  notes?: readonly string[];
}

export function renderReport(res: SimulationResult, assets: ReportAssets, extra: ReportExtra = {}): string {
  const title = extra.title ?? `headroom simulate: ${res.service} on ${res.trace.source}`;
  const priced = res.pricing;
  const moneyTds = (p: PolicyResult): string => {
    if (!priced) return '';
    const m = p.money;
    const vs = m?.vsHeadroomPerMonth;
    return `<td>${m ? esc(formatMoney(m.total, '').trim()) : ''}</td><td>${m ? esc(formatMoney(m.perMonth, '').trim()) : ''}</td><td>${vs === undefined ? '' : esc(formatMoneyDelta(vs, '').trim())}</td>`;
  };
  const rows = res.policies
    .map(
      (p) =>
        `<tr><td style="color:${COLORS[p.policy] ?? '#000'}">${esc(p.label)}</td><td>${(p.replicaSeconds / 3600).toFixed(1)}</td><td>${p.costVsOracle.toFixed(3)}</td><td>${p.sloViolationSeconds}</td><td>${(p.violationFraction * 100).toFixed(3)} %</td><td>${p.peakReplicas}</td><td>${p.meanReplicas.toFixed(2)}</td><td>${p.scaleEvents}</td>${moneyTds(p)}</tr>`,
    )
    .join('\n');
  const moneyHead = priced
    ? `<th>${esc(priced.currency)} (trace)</th><th>${esc(priced.currency)}/month</th><th>vs Headroom</th>`
    : '';
  const moneyNote = priced
    ? `<p class="note">Priced at ${esc(String(Number(priced.perInstanceHour.toPrecision(4))))} ${esc(priced.currency)} per instance-hour; per month = the trace's cost × ${HOURS_PER_MONTH} h ÷ its ${esc(String(Number((res.trace.seconds / 3600).toFixed(2))))} h; <i>vs Headroom</i> = that policy's month − Headroom's (+ costs more).</p>`
    : '';
  const comparisons = (res.comparisons ?? [])
    .map((c) =>
      c.noSettingAsGood
        ? `<li>${esc(c.baseline)}: no target in 50–95 % had as few violating seconds as Headroom.</li>`
        : `<li>${esc(c.baseline)}: best setting with ≤ Headroom's violations is ${esc(c.bestAtEqualViolations?.label ?? '')} (${((c.bestAtEqualViolations?.replicaSeconds ?? 0) / 3600).toFixed(1)} instance-hours, ${c.bestAtEqualViolations?.sloViolationSeconds} s violating); Headroom is ${savingsText(c.savings ?? 0)}${priced && c.savingsPerMonth !== undefined ? ` (${esc(formatMoney(Math.abs(c.savingsPerMonth), priced.currency))}/month ${c.savingsPerMonth >= 0 ? 'less' : 'more'})` : ''}.</li>`,
    )
    .join('\n');
  const plots = res.policies
    .filter((p) => p.series)
    .map((p) => ({
      label: p.label,
      policy: p.policy,
      bucket: p.series?.bucketSeconds ?? 1,
      demand: p.series?.demand ?? [],
      capacity: p.series?.capacity ?? [],
      replicas: p.series?.replicas ?? [],
    }));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
${assets.charts}
<style>
body { font-family: system-ui, sans-serif; margin: 1.5em; color: #222; }
table { border-collapse: collapse; margin: 1em 0; }
td, th { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
td:first-child, th:first-child { text-align: left; }
h2 { margin-top: 1.6em; }
.note { color: #555; max-width: 60em; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p class="note">${res.trace.seconds.toLocaleString('en')} s of trace (${(res.trace.seconds / 86400).toFixed(2)} days, rows every ${res.trace.rowSeconds} s), peak ${res.trace.peakRps.toFixed(1)} rps, mean ${res.trace.meanRps.toFixed(1)} rps; startup ${res.startupSeconds} s; metrics scraped every ${res.scrapeSeconds} s and seen one interval late${res.podBurstIntervalSeconds !== undefined ? `; headroom decides every ${res.podBurstIntervalSeconds} s with its burst from the pods' counters, 1 s late` : ''}${res.reads === 'answers' ? `; headroom's and keda's request rates count answers, so a saturated pool reads what it answers, not what arrives` : ''}. Cost counts starting instances; a second violates when the modelled percentile of the ready instances exceeds the SLO or demand reaches capacity.</p>
${(extra.notes ?? []).map((n) => `<p class="note">${esc(n)}</p>`).join('\n')}
${res.modelError ? modelErrorHtml(res) : ''}
${moneyNote}<table>
<tr><th>policy</th><th>instance-hours</th><th>× oracle</th><th>violating s</th><th>violating</th><th>peak</th><th>mean</th><th>scale events</th>${moneyHead}</tr>
${rows}
</table>
${comparisons ? `<h2>Headroom against the best-tuned baselines</h2><ul>${comparisons}</ul>` : ''}
${res.noiseBound ? noiseBoundHtml(res.noiseBound) : ''}
${res.sweep ? `<h2>Cost and violations</h2><p class="note">Each baseline swept over targets 50–95 %; lines join its frontier (the fewest violations for the cost). Lower left is better.</p>${scatterSvg(res)}` : ''}
<h2>Demand and capacity</h2>
<p class="note">Demand (highest in each ${plots[0]?.bucket ?? 1}-s bucket), the demand the ready instances serve within the SLO (lowest in the bucket), and below it the instances asked for (ready + starting); x in seconds. Demand above capacity is a violation.</p>
<div id="plots"></div>
<script>
const plots = ${scriptJson(plots)};
for (const p of plots) {
  const div = document.createElement('div');
  const h = document.createElement('h3');
  h.textContent = p.label;
  const a = document.createElement('div');
  const b = document.createElement('div');
  div.append(h, a, b);
  document.getElementById('plots').appendChild(div);
  const t = p.demand.map((_, i) => i * p.bucket);
  HeadroomCharts.demandCapacityChart(a, { t, demand: p.demand, capacity: p.capacity }, { time: false });
  HeadroomCharts.instancesChart(b, { t, desired: p.replicas }, { time: false });
}
</script>
</body>
</html>
`;
}

function modelErrorHtml(res: SimulationResult): string {
  return `<p class="note"><b>${esc(res.modelError?.text ?? '')}</b>. The true service times decide which seconds violate, what the oracle needs and what the HPA and KPA measure (busy time, requests in flight); every policy sizes with the spec. <i>headroom+calibrated</i> corrects its model each tick from the latency the truth gives at the demand and ready count it sees (the model's percentile: the simulator has no per-request samples).</p>`;
}

function noiseBoundHtml(b: NoiseBoundResult): string {
  return `<h2>Noise bound</h2><p class="note">Knowing the demand averaged over a centred ${b.windowSeconds / 60}-min window at every future second, but not the noise around it, covered by one margin (${esc(marginText(b.shape, b.z))})${ceilingText(b.utilization)}${b.utilization !== undefined ? ',' : ''} within ${b.budgetSeconds} violating seconds: <b>${b.costVsOracle.toFixed(3)} × oracle</b>, ${b.sloViolationSeconds} violating s. The gap between it and the oracle is noise that nothing in the past predicts.</p>`;
}

/** Cost (× oracle) against violating fraction, one colour per family, frontiers as polylines. */
function scatterSvg(res: SimulationResult): string {
  const W = 760;
  const H = 420;
  const pad = { l: 60, r: 20, t: 20, b: 50 };
  const pts: PolicyResult[] = [...res.policies, ...(res.sweep ?? [])];
  // Violations span orders of magnitude: plot log10(violating % + 0.001).
  const fx = (p: PolicyRun): number => Math.log10(p.violationFraction * 100 + 0.001);
  const xs = pts.map(fx);
  const ys = pts.map((p) => p.replicaSeconds);
  const oracle = res.policies.find((p) => p.policy === 'oracle');
  const base = oracle?.replicaSeconds ?? Math.min(...ys);
  const x0 = Math.min(...xs);
  const x1 = Math.max(...xs, x0 + 1);
  const y0 = Math.min(...ys) / base;
  const y1 = Math.max(...ys) / base;
  const sx = (v: number): number => pad.l + ((v - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const sy = (v: number): number => H - pad.b - ((v - y0) / (y1 - y0 || 1)) * (H - pad.t - pad.b);
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-size="11">`);
  out.push(
    `<line x1="${pad.l}" y1="${H - pad.b}" x2="${W - pad.r}" y2="${H - pad.b}" stroke="#444"/><line x1="${pad.l}" y1="${pad.t}" x2="${pad.l}" y2="${H - pad.b}" stroke="#444"/>`,
  );
  for (let e = Math.ceil(x0); e <= Math.floor(x1); e++) {
    out.push(
      `<text x="${sx(e)}" y="${H - pad.b + 15}" text-anchor="middle">${Number((10 ** e).toPrecision(1))} %</text>`,
    );
  }
  for (let i = 0; i <= 5; i++) {
    const v = y0 + ((y1 - y0) * i) / 5;
    out.push(`<text x="${pad.l - 6}" y="${sy(v) + 4}" text-anchor="end">${v.toFixed(2)}×</text>`);
  }
  out.push(
    `<text x="${(W + pad.l) / 2}" y="${H - 10}" text-anchor="middle">SLO-violating time (log scale)</text><text x="14" y="${H / 2}" transform="rotate(-90 14 ${H / 2})" text-anchor="middle">cost ÷ oracle</text>`,
  );
  for (const fam of SWEPT) {
    const f = frontier((res.sweep ?? []).filter((p) => p.policy === fam));
    if (f.length > 1) {
      const d = f.map((p) => `${sx(fx(p)).toFixed(1)},${sy(p.replicaSeconds / base).toFixed(1)}`).join(' ');
      out.push(`<polyline points="${d}" fill="none" stroke="${COLORS[fam]}" stroke-width="1.5" opacity="0.7"/>`);
    }
  }
  for (const p of pts) {
    const big = p.policy === 'headroom' || p.policy === 'oracle' || p.policy === 'static';
    out.push(
      `<circle cx="${sx(fx(p)).toFixed(1)}" cy="${sy(p.replicaSeconds / base).toFixed(1)}" r="${big ? 6 : 3.5}" fill="${COLORS[p.policy] ?? '#000'}"><title>${esc(p.label)}: ${(p.violationFraction * 100).toFixed(3)} %, ${(p.replicaSeconds / base).toFixed(3)}×</title></circle>`,
    );
    if (big) {
      out.push(
        `<text x="${sx(fx(p)) + 8}" y="${sy(p.replicaSeconds / base) - 6}" fill="${COLORS[p.policy] ?? '#000'}">${esc(p.label)}</text>`,
      );
    }
  }
  let lx = W - pad.r - 90;
  for (const fam of ['headroom', ...SWEPT, 'static', 'oracle']) {
    out.push(
      `<circle cx="${lx}" cy="${pad.t + 6}" r="4" fill="${COLORS[fam]}"/><text x="${lx + 7}" y="${pad.t + 10}">${fam}</text>`,
    );
    lx -= 62;
  }
  out.push('</svg>');
  return out.join('');
}
