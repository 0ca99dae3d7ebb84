// spec.demand.pods end to end: a REAL kube-apiserver + etcd + kube-controller-manager, a REAL
// Prometheus scraping a real service every 15 s (the common setting), and the controller reading
// the same service's /metrics through the pod the apiserver lists. Two Deployments get the same
// load: `fast` takes its burst from its pod (spec.demand.pods), `slow` from Prometheus
// (template.burstWindow 30s, two scrapes). This control plane has no kubelet: a stand-in marks one
// pod of each Running and Ready at 127.0.0.1 (its container port is the service's) and leaves the
// rest Pending, so the test also sees that pods not ready are never read nor counted.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Controller } from '../../src/controller/controller.ts';
import {
  createDeployment,
  createNamespace,
  createPolicy,
  deleteNamespace,
  ensureCluster,
  readPolicy,
  replicasOf,
  standInKubelet,
  waitFor,
  type Cluster,
} from './support/kube.ts';
import { e2ePolicy, testController } from './support/controller.ts';
import { driveLoad, startCountingService, type CountingService, type Prometheus } from './support/prometheus.ts';
import { startPrometheus } from './support/prometheus.ts';

let cluster: Cluster;
let ns: string;
let service: CountingService;
let prom: Prometheus;
let controller: Controller | undefined;
const kubelets: Array<{ stop(): Promise<void> }> = [];

const LOAD_RPS = 60; // 40 ms each, one at a time, utilization 0.5: 12.5 rps per instance → 5

const policy = (name: string, demand: Record<string, unknown>) => e2ePolicy(ns, name, name, demand);

beforeAll(async () => {
  cluster = await ensureCluster();
  ns = await createNamespace(cluster.kc, 'hr-pods');
  service = await startCountingService();
  prom = await startPrometheus({ web: [service.target] }, '15s');
  const port = Number(service.target.split(':').pop());
  for (const name of ['fast', 'slow']) {
    await createDeployment(cluster.kc, ns, name, 1, [{ name: 'metrics', containerPort: port }]);
    kubelets.push(standInKubelet(cluster.kc, ns, name, 250, 400, { podIP: '127.0.0.1', maxReady: 1 }));
  }
  const template = { name: 'requestRate', metric: 'http_requests_total', selector: { job: 'web' }, window: '1m' };
  await createPolicy(
    cluster.kc,
    ns,
    policy('fast', { template, pods: { port: 'metrics', metric: 'http_requests_total' } }),
  );
  await createPolicy(cluster.kc, ns, policy('slow', { template: { ...template, burstWindow: '30s' } }));
  controller = testController(cluster.kc, prom.url, ns);
  await controller.start();
}, 1_200_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  for (const k of kubelets) await k.stop().catch(() => undefined);
  await prom?.dispose().catch(() => undefined);
  await service?.close().catch(() => undefined);
  if (cluster && ns) await deleteNamespace(cluster.kc, ns);
});

describe('spec.demand.pods: the burst read from the pods', () => {
  it('sees a burst from the pod before Prometheus does, at the rate the service served, counting only ready pods', async () => {
    // Idle first: both decide from data (Prometheus has two 15-s scrapes) and the pod reads 0 rps.
    const snapshot = (name: string) => controller!.statusSnapshots().find((s) => s.service.name === `${ns}/${name}`);
    await waitFor(
      'both deciding from metrics, the pod read',
      async () => ({
        fast: (await readPolicy(cluster.kc, ns, 'fast')).status?.lastDecision?.valid,
        slow: (await readPolicy(cluster.kc, ns, 'slow')).status?.lastDecision?.valid,
        podRps: snapshot('fast')?.traffic.burst?.arrivalRps,
      }),
      (x) => x.fast === true && x.slow === true && x.podRps === 0,
      90_000,
    );
    expect([await replicasOf(cluster.kc, ns, 'fast'), await replicasOf(cluster.kc, ns, 'slow')]).toEqual([1, 1]);
    const podCondition = (await readPolicy(cluster.kc, ns, 'fast')).status?.conditions?.find(
      (c) => c.type === 'PodMetricsAvailable',
    );
    expect(podCondition).toMatchObject({ status: 'True', reason: 'PodsRead' });

    const t0 = Date.now();
    const load = driveLoad(service.url, LOAD_RPS, 75);
    const firstUp: Record<string, number> = {};
    let reasonsAtUp: Array<{ code: string; message: string }> = [];
    try {
      // Bounded: 75 s of load, a poll every 250 ms.
      while (Date.now() - t0 < 75_000 && (firstUp.fast === undefined || firstUp.slow === undefined)) {
        for (const name of ['fast', 'slow']) {
          if (firstUp[name] === undefined && (await replicasOf(cluster.kc, ns, name)) > 1) {
            firstUp[name] = Date.now() - t0;
            if (name === 'fast') {
              // The status is written just after the scale, in the same round.
              const up = await waitFor(
                'the decision behind the scale-up in status',
                () => readPolicy(cluster.kc, ns, 'fast'),
                (p) => (p.status?.lastDecision?.desired ?? 0) > 1,
                10_000,
              );
              reasonsAtUp = up.status?.lastDecision?.reasons ?? [];
            }
          }
        }
        await sleep(250);
      }
      // Scaled up, `fast` has one ready pod and the rest Pending: the pod reading stays the
      // service's rate (a Pending pod read or counted would multiply it).
      await sleep(5000);
      const later = snapshot('fast')?.traffic.burst?.arrivalRps;
      expect(later).toBeGreaterThan(LOAD_RPS * 0.6);
      expect(later).toBeLessThan(LOAD_RPS * 1.4);
    } finally {
      await load.stop();
    }
    console.log(JSON.stringify({ firstUpMs: firstUp, reasonsAtUp }));
    expect(firstUp.fast).toBeDefined();
    expect(firstUp.slow).toBeDefined();
    // The order, not a duration: the pod's 6-s window sees the rise before a 15-s scrape does.
    expect(firstUp.fast!).toBeLessThan(firstUp.slow!);
    expect(reasonsAtUp.map((r) => r.code)).toContain('Burst');
    // The reading that fired it, as the reason says it: over the 1-ready-pod threshold (12.5 rps),
    // and no more than the service served (60 rps; a Pending pod counted would add 60 each).
    const said = /last (\d+) s at ([\d.]+) rps/.exec(reasonsAtUp.find((r) => r.code === 'Burst')?.message ?? '');
    expect(said?.[1]).toBe('6');
    expect(Number(said?.[2])).toBeGreaterThanOrEqual(12.5);
    expect(Number(said?.[2])).toBeLessThanOrEqual(LOAD_RPS * 1.25);
  });
});
