// A new policy reads its demand's past from a REAL Prometheus (history backfilled by promtool from
// OpenMetrics, as docs/backtest.md does) through the controller on a REAL kube-apiserver: two days of
// 20 rps with 100 rps for 10 minutes every 2 hours, the next spike 3 minutes after the history is
// written. 40 ms per request, one at a time, utilization 0.5: 12.5 rps per instance, so 20 rps needs
// 2 and a spike 8–9. The policy that read the past sizes the coming spike from its 2-h period before
// it comes; the same policy with historySeconds 0 sees only the 20 rps of now. A third policy reads
// a flat 20 rps with one crowd 3 hours ago: its Event says how far that crowd rose (the burst path
// sizes the first live crowd for it).
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../src/controller/controller.ts';
import type { PolicyStatus } from '../../src/controller/policy.ts';
import { cli } from './support/cli.ts';
import { e2ePolicy, testController } from './support/controller.ts';
import {
  createDeployment,
  createNamespace,
  createPolicy,
  deleteNamespace,
  ensureCluster,
  readPolicy,
  waitFor,
} from './support/kube.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

let kc: KubeConfig;
let kubeconfig: string;
let ns: string;
let prom: Prometheus;
let controller: Controller | undefined;
let spikeAt = 0;

const PERIOD = 7200;
const STEP = 15;

/** rps at t (s): 100 in the 10 minutes from each spike start, else 20. */
const rate = (t: number): number => ((((t - spikeAt) % PERIOD) + PERIOD) % PERIOD < 600 ? 100 : 20);

/**
 * rps at t (s) of job="crowd": 20, and from `crowdAt` 40, 80 then 120 a minute each, 120 for 3
 * minutes, then 20 again. Its 60-s rate every 15 s (threshold 30: 1.5× the 20 before it, over the
 * 25 that 2 instances carry) rises past 30 at +30 s, its first sight 30 s later is 40, and within
 * 120 s it peaks at 100 (30 s of 80 and 30 of 120): 2.5×; 2.22–2.5× by where the 15-s steps fall
 * (a real Prometheus read 2.667×: rate() extrapolates over the 4–5 samples in its minute).
 */
let crowdAt = 0;
const crowd = (t: number): number => {
  const s = t - crowdAt;
  return s < 0 || s >= 300 ? 20 : s < 60 ? 40 : s < 120 ? 80 : 120;
};

/** Counters of requests with those rates, every 15 s from 2 days ago to 20 minutes ahead, as OpenMetrics. */
function history(now: number): string {
  const lines = ['# TYPE http_requests counter'];
  const series = [
    ['web', rate],
    ['crowd', crowd],
  ] as const;
  for (const [job, r] of series) {
    let total = 0;
    for (let t = now - 2 * 86400; t <= now + 1200; t += STEP) {
      total += r(t) * STEP;
      lines.push(`http_requests_total{job="${job}"} ${total} ${t}`);
    }
  }
  return `${lines.join('\n')}\n# EOF\n`;
}

beforeAll(async () => {
  const cluster = await ensureCluster();
  kc = cluster.kc;
  kubeconfig = cluster.kubeconfig;
  ns = await createNamespace(kc, 'hr-history');
  await createDeployment(kc, ns, 'warm', 2);
  await createDeployment(kc, ns, 'cold', 2);
  await createDeployment(kc, ns, 'crowd', 2);
  const now = Math.floor(Date.now() / 1000);
  spikeAt = now + 180;
  crowdAt = now - 3 * 3600;
  prom = await startPrometheus({}, '15s', [], [], { openMetrics: history(now) });
}, 600_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  await prom?.dispose().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
});

const policy = (name: string, historySeconds?: number, job = 'web') =>
  e2ePolicy(
    ns,
    name,
    name,
    { template: { name: 'requestRate', metric: 'http_requests_total', selector: { job }, window: '1m' } },
    {
      behavior: {
        forecast: historySeconds === undefined ? {} : { historySeconds },
        scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] },
      },
    },
  );

describe('a new policy reads its demand history from Prometheus', () => {
  it('finds the 2-h period in the past and sizes the coming spike before it comes', async () => {
    await createPolicy(kc, ns, { ...policy('warm'), spec: { ...policy('warm').spec, intervalSeconds: 15 } });
    await createPolicy(kc, ns, { ...policy('cold', 0), spec: { ...policy('cold', 0).spec, intervalSeconds: 15 } });
    const crowdPolicy = policy('crowd', undefined, 'crowd');
    await createPolicy(kc, ns, { ...crowdPolicy, spec: { ...crowdPolicy.spec, intervalSeconds: 15 } });
    // `headroom controller --shadow` first (it writes nothing, so both policies stay new): the
    // command's own wiring reads the past too.
    const out = await cli(
      ['controller', '--shadow', '--json', '--namespace', ns, '--prometheus', prom.url, '--kubeconfig', kubeconfig],
      undefined,
      60_000,
    );
    expect(out.code, out.stderr).toBe(0);
    type Row = { policy: string; recommended?: number; reason: string };
    const rows = (JSON.parse(out.stdout) as { targets: Row[] }).targets;
    const shadow = (name: string) => rows.find((r) => r.policy === name);
    expect(shadow('warm')?.reason).toMatch(/^forecast 1\d\d(\.\d+)? rps within 120 s: period 2 h/);
    expect(shadow('warm')?.recommended).toBeGreaterThanOrEqual(8);
    expect(shadow('cold')?.recommended).toBe(2);
    expect((await readPolicy(kc, ns, 'warm')).status).toBeUndefined();

    controller = testController(kc, prom.url, ns);
    await controller.start();
    const decided = (name: string) =>
      waitFor(
        `${name}'s first decision`,
        async () => (await readPolicy(kc, ns, name)).status,
        (s: PolicyStatus | undefined) => s?.lastDecision !== undefined,
        60_000,
      );
    const [warm, cold] = await Promise.all([decided('warm'), decided('cold'), decided('crowd')]);
    // Decided before the spike: this round's own reading is the quiet 20 rps.
    expect(Date.now() / 1000).toBeLessThan(spikeAt);
    expect(warm!.lastDecision!.demandRps).toBeCloseTo(20, 0);

    const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    const of = (name: string) => events.items.filter((e) => e.involvedObject.name === name);
    const read = of('warm').find((e) => e.reason === 'HistoryRead');
    expect(read?.type).toBe('Normal');
    // 2 days at 15 s up to the step before now: ~11,520 readings, less the first minute, where the
    // data begins inside the 8 days read: rate()'s first window reads a counter's first samples low.
    expect(read?.message).toMatch(
      /^read 47 h 5\d min of demand history \(11,[45]\d\d readings 15 s apart\) from Prometheus: [\d,]+ minutes scored \(the forecast starts calibrated\), a period of 2 h found$/,
    );
    const reason = warm!.lastDecision!.reasons.find((r) => r.code === 'ForecastPeriodic');
    expect(reason?.message).toMatch(/period 2 h .*spike of 1\d\d rps expected (now|in \d+ s)/);
    expect(warm!.desiredReplicas).toBeGreaterThanOrEqual(8);

    // historySeconds 0: nothing read, the quiet 20 rps sized as it is.
    expect(of('cold').map((e) => e.reason)).not.toContain('HistoryRead');
    expect(cold!.lastDecision!.reasons.map((r) => r.code)).not.toContain('ForecastPeriodic');
    expect(cold!.desiredReplicas).toBe(2);

    // The crowd 3 hours ago, scored from what Prometheus' rate() read of it; the 2-h spikes above
    // found a period, so none of theirs is (the message ends at the period).
    const crowdRead = of('crowd').find((e) => e.reason === 'HistoryRead')?.message ?? '';
    const m = /; 1 burst in it scored: it rose ([\d.]+)× its first sight within 120 s$/.exec(crowdRead);
    expect(m, crowdRead).not.toBeNull();
    expect(Number(m?.[1])).toBeGreaterThanOrEqual(2);
    expect(Number(m?.[1])).toBeLessThanOrEqual(3);
    expect(crowdRead).toMatch(/minutes scored \(the forecast starts calibrated\), no period found; 1 burst/);
  }, 120_000);
});
