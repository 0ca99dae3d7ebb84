// Demo history for `headroom backtest` (docs/backtest.md), as OpenMetrics text for
// `promtool tsdb create-blocks-from openmetrics`: a web service's request counter, the replicas an
// HPA-like autoscaler ran, and a measured p99, one sample a minute for DAYS days up to END.
//
//   node --disable-warning=ExperimentalWarning examples/backtest-history.ts [END] [DAYS] > history.om.txt
//
// - http_requests_total{job="web",code="200"}: a daily shape, 150 rps at night to 750 rps at
//   14:00 UTC, ±10 % seeded noise, constant within each 10-minute block (so rate()[2m] inside a block
//   is exactly the written rate); code="500" is a steady 1 rps. Day 3 has a 37-minute scrape gap
//   from 03:00 (no samples of the service's series), as when Prometheus could not reach it.
// - kube_deployment_status_replicas{deployment="web",namespace="shop"}: ceil(rps / 100) + 1 of the
//   rate 15 minutes before: a late, generous autoscaler.
// - job:http_request_duration_seconds:p99{job="web"}: 40 ms + 160 ms × (rps per replica ÷ 95)⁴, a
//   recording rule's output (seconds): over the 200-ms SLO above 95 rps per replica. It comes from
//   the service's histogram, so the scrape gap leaves it out too.
import { mulberry32 } from '../src/simulator/synthetic.ts';

const end = Date.parse(process.argv[2] ?? '2026-11-30T00:00:00Z') / 1000;
const days = Number(process.argv[3] ?? 8);
if (!Number.isFinite(end) || end % 60 !== 0 || !(days > 0 && days <= 31)) {
  throw new Error('usage: backtest-history.ts [END on a whole minute, RFC 3339] [DAYS, 1..31]');
}
// Five minutes before the range too: the first step's rate()[2m] needs earlier samples.
const minutes = days * 1440 + 5;
const start = end - (minutes - 1) * 60;
const rnd = mulberry32(7);
const blockRate = new Map<number, number>();
const rateAt = (t: number): number => {
  const block = Math.floor(t / 600);
  let r = blockRate.get(block);
  if (r === undefined) {
    const hour = ((block * 600) % 86400) / 3600;
    const daily = 150 + 600 * (0.5 - 0.5 * Math.cos((2 * Math.PI * (hour - 2)) / 24));
    r = Math.round(daily * (0.9 + 0.2 * rnd()));
    blockRate.set(block, r);
  }
  return r;
};
const gapFrom = start + 5 * 60 + 2 * 86400 + 3 * 3600 - ((start + 5 * 60) % 86400);
const lines: string[] = [];
const ok: string[] = [];
const err: string[] = [];
const reps: string[] = [];
const lat: string[] = [];
let count = 1_000_000;
let errors = 5_000;
for (let i = 0; i < minutes; i++) {
  const t = start + i * 60;
  const r = rateAt(t); // the minute (t − 60, t]
  count += r * 60;
  errors += 60;
  const replicas = Math.ceil(rateAt(t - 900) / 100) + 1;
  reps.push(`kube_deployment_status_replicas{deployment="web",namespace="shop"} ${replicas} ${t}`);
  if (t >= gapFrom && t < gapFrom + 37 * 60) continue;
  ok.push(`http_requests_total{job="web",code="200"} ${count} ${t}`);
  err.push(`http_requests_total{job="web",code="500"} ${errors} ${t}`);
  lat.push(
    `job:http_request_duration_seconds:p99{job="web"} ${(0.04 + 0.16 * (r / replicas / 95) ** 4).toFixed(6)} ${t}`,
  );
}
lines.push('# TYPE http_requests counter', ...ok, ...err);
lines.push('# TYPE kube_deployment_status_replicas gauge', ...reps);
lines.push('# TYPE job:http_request_duration_seconds:p99 gauge', ...lat);
lines.push('# EOF');
process.stdout.write(`${lines.join('\n')}\n`);
