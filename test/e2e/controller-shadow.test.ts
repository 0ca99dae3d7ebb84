// `headroom controller --shadow` (issue 17, item 5) against a real kube-apiserver and a real
// Prometheus scraping a real service under load: the report says per target what Headroom would
// set and the money difference, and nothing is written (no scale, no status, no Event).
import { CoreV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, VERSION } from '../../src/controller/crd.ts';
import { cli } from './support/cli.ts';
import {
  createDeployment,
  createHpaV1,
  createNamespace,
  deleteNamespace,
  createPolicy as createPolicyIn,
  ensureCluster,
  readPolicy,
  replicasOf,
  type Cluster,
} from './support/kube.ts';
import {
  driveLoad,
  startCountingService,
  startPrometheus,
  type CountingService,
  type Prometheus,
} from './support/prometheus.ts';

let cluster: Cluster;
let ns: string;
let service: CountingService;
let prom: Prometheus;

// 40 ms per request, one at a time, utilization 0.5: 12.5 rps per instance. 0.05 USD per
// instance-hour: 5 replicas cost 5 × 0.05 × 730 = 182.50 USD a month.
const policy = (name: string, target: string, pricing: boolean, slo = false) => ({
  apiVersion: `${GROUP}/${VERSION}`,
  kind: 'HeadroomPolicy',
  metadata: { name, namespace: ns },
  spec: {
    scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target },
    service: {
      instance: { serviceTimeMs: 40, concurrency: 1 },
      targetUtilization: 0.5,
      replicas: { min: 1, max: 10 },
      behavior: { forecast: { enabled: false } },
      ...(pricing ? { pricing: { currency: 'USD', instanceHour: 0.05 } } : {}),
      // An SLO with neither serviceTimeCv nor quantiles: the plan warns that it assumes exponential.
      ...(slo ? { slo: { latencyMs: 400, percentile: 99 } } : {}),
    },
    demand: {
      template: { name: 'requestRate', metric: 'http_requests_total', selector: { job: 'web' }, window: '10s' },
    },
  },
});

const shadowArgs = (): string[] => [
  'controller',
  '--shadow',
  '--namespace',
  ns,
  '--prometheus',
  prom.url,
  '--kubeconfig',
  cluster.kubeconfig,
];

beforeAll(async () => {
  cluster = await ensureCluster();
  ns = await createNamespace(cluster.kc, 'hr-shadow');
  service = await startCountingService();
  prom = await startPrometheus({ web: [service.target] });
  await createDeployment(cluster.kc, ns, 'web', 5);
  await createDeployment(cluster.kc, ns, 'api', 2);
  // cart has an HPA: its active policy yields to it, and the dry run must say so, not size it.
  await createDeployment(cluster.kc, ns, 'cart', 3);
  await createHpaV1(cluster.kc, ns, 'cart', 'cart');
  for (const body of [policy('web', 'web', true), policy('api', 'api', false, true), policy('cart', 'cart', false)])
    await createPolicyIn(cluster.kc, ns, body);
}, 1_200_000);

afterAll(async () => {
  await prom?.dispose().catch(() => undefined);
  await service?.close().catch(() => undefined);
  if (cluster && ns) await deleteNamespace(cluster.kc, ns);
});

describe('controller --shadow', () => {
  it('reports what it would set and the money difference per target, and writes nothing', async () => {
    // ~20 rps for long enough that Prometheus has a 10-s rate: 20 ÷ 12.5 → 2 instances.
    const load = driveLoad(service.url, 20, 60);
    type Report = { targets: Array<Record<string, unknown>>; totals: Array<Record<string, unknown>> };
    const found: { report?: Report } = {};
    try {
      for (let i = 0; i < 20 && !found.report; i++) {
        await new Promise((r) => setTimeout(r, 2000));
        const out = await cli([...shadowArgs(), '--json'], undefined, 60_000);
        expect(out.code, out.stderr).toBe(0);
        // Its own stop is no failure: no "watch failed; restarting" on the way out.
        expect(out.stderr).not.toMatch(/watch failed|restart failed/);
        const r = JSON.parse(out.stdout) as Report;
        if (r.targets.find((t) => t.policy === 'web')?.recommended !== undefined) found.report = r;
      }
    } finally {
      await load.stop();
    }
    const report = found.report;
    expect(report, 'a decision within 40 s of load').toBeDefined();
    const web = report!.targets.find((t) => t.policy === 'web')!;
    const api = report!.targets.find((t) => t.policy === 'api')!;
    expect(web).toMatchObject({ namespace: ns, target: 'Deployment/web', mode: 'active', current: 5 });
    const would = web.recommended as number;
    expect(would).toBeGreaterThanOrEqual(1);
    expect(would).toBeLessThanOrEqual(4); // 20 rps needs 2; well below the 5 it runs
    // This round it would hold 5: a first round keeps scale-downs for the stabilization window.
    expect(web.wouldSet).toBe(5);
    const money = web.money as { currency: string; now: number; wouldBe: number; difference: number };
    expect(money.currency).toBe('USD');
    expect(money.now).toBeCloseTo(5 * 0.05 * 730, 2);
    expect(money.wouldBe).toBeCloseTo(would * 0.05 * 730, 2);
    expect(money.difference).toBeCloseTo((would - 5) * 0.05 * 730, 2);
    // No pricing: the row has no money, and the totals count only the priced target.
    expect(api).toMatchObject({ target: 'Deployment/api', current: 2 });
    expect(api.money).toBeUndefined();
    // What `plan` would warn about comes with the row; web (no SLO) has nothing to warn about.
    expect(api.warnings).toEqual(expect.arrayContaining([expect.stringMatching(/^service times assumed exponential/)]));
    expect(web.warnings).toBeUndefined();
    // The active policy on the HPA's target yields, as the running controller would: no count.
    const cart = report!.targets.find((t) => t.policy === 'cart')!;
    expect(cart.reason).toMatch(/^HorizontalPodAutoscaler cart also scales Deployment cart: this policy yields/);
    expect(cart.recommended).toBeUndefined();
    expect(report!.totals).toEqual([
      { currency: 'USD', now: money.now, wouldBe: money.wouldBe, difference: money.difference, targets: 1 },
    ]);

    // Nothing was written: the replicas, the policies' status and Events are as they were.
    expect(await replicasOf(cluster.kc, ns, 'web')).toBe(5);
    expect(await replicasOf(cluster.kc, ns, 'api')).toBe(2);
    expect(await replicasOf(cluster.kc, ns, 'cart')).toBe(3);
    for (const name of ['web', 'api', 'cart'])
      expect((await readPolicy(cluster.kc, ns, name)).status, name).toBeUndefined();
    const events = await cluster.kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: ns });
    expect(
      events.items.filter(
        (e) => e.source?.component?.includes('headroom') || e.reportingComponent?.includes('headroom'),
      ),
    ).toEqual([]);

    // The table says the same numbers.
    const text = await cli(shadowArgs());
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toContain('nothing was written');
    expect(text.stdout).toContain('182.50 USD');
    expect(text.stdout).toMatch(new RegExp(`^warning: ${ns}/api: service times assumed exponential`, 'm'));
  }, 180_000);
});
