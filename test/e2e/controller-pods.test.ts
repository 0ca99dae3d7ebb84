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
import { startService, type Service } from './support/loadtest.ts';
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

/** Stops what a block started, each part even if one before it failed, then deletes its namespace. */
async function tearDown(p: {
  controller: Controller | undefined;
  kubelets: ReadonlyArray<{ stop(): Promise<void> }>;
  prom: Prometheus | undefined;
  stopService: () => Promise<unknown>;
  ns: string | undefined;
}): Promise<void> {
  await p.controller?.stop().catch(() => undefined);
  for (const k of p.kubelets) await k.stop().catch(() => undefined);
  await p.prom?.dispose().catch(() => undefined);
  await p.stopService().catch(() => undefined);
  if (cluster && p.ns) await deleteNamespace(cluster.kc, p.ns);
}

afterAll(() => tearDown({ controller, kubelets, prom, ns, stopService: async () => service?.close() }));

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

// spec.demand.pods.inFlight end to end: a REAL kube-apiserver + etcd + kube-controller-manager, a
// REAL Prometheus (15-s scrape) and the REAL example service (examples/service.ts, one 40-ms slot:
// ~25 rps at most) driven at 60 rps, so its queue grows. Two Deployments select the same pod (a
// stand-in kubelet marks one pod of each Ready at 127.0.0.1, the rest stay Pending): `answers`
// reads the service's http_requests_total alone, `arrivals` adds its http_requests_in_flight, from
// the pod (spec.demand.pods.inFlight) and in Prometheus (spec.demand.template.inFlight). A counter
// incremented on the answer cannot read more than the pod serves; answered + in flight is what
// arrived. A third Deployment, `blind`, in its own namespace, is run by a controller whose
// Prometheus does not answer: the burst its pod shows must still scale it up.
describe('spec.demand.pods.inFlight and template.inFlight: a saturated pod', () => {
  let ns: string;
  let service: Service;
  let prom: Prometheus;
  let controller: Controller | undefined;
  let blindNs: string;
  let blind: Controller | undefined;
  const kubelets: Array<{ stop(): Promise<void> }> = [];
  const SERVES_RPS = 25; // the real pod's one 40-ms slot (a little less: timers fire late)

  beforeAll(async () => {
    ns = await createNamespace(cluster.kc, 'hr-sat');
    service = await startService({ WORK_MS: '40', CONCURRENCY: '1', WORK_MODE: 'sleep' });
    prom = await startPrometheus({ web: [`127.0.0.1:${service.port}`] }, '15s');
    const template = { name: 'requestRate', metric: 'http_requests_total', selector: { job: 'web' }, window: '1m' };
    const pods = { port: 'metrics', metric: 'http_requests_total' };
    const inFlight = 'http_requests_in_flight';
    for (const [name, demand] of [
      ['answers', { template, pods }],
      ['arrivals', { template: { ...template, inFlight }, pods: { ...pods, inFlight } }],
    ] as const) {
      await createDeployment(cluster.kc, ns, name, 1, [{ name: 'metrics', containerPort: service.port }]);
      kubelets.push(standInKubelet(cluster.kc, ns, name, 250, 400, { podIP: '127.0.0.1', maxReady: 1 }));
      await createPolicy(cluster.kc, ns, e2ePolicy(ns, name, name, demand));
    }
    controller = testController(cluster.kc, prom.url, ns);
    await controller.start();
    blindNs = await createNamespace(cluster.kc, 'hr-blind');
    await createDeployment(cluster.kc, blindNs, 'blind', 1, [{ name: 'metrics', containerPort: service.port }]);
    kubelets.push(standInKubelet(cluster.kc, blindNs, 'blind', 250, 400, { podIP: '127.0.0.1', maxReady: 1 }));
    const blindDemand = { template, pods: { ...pods, inFlight } };
    await createPolicy(cluster.kc, blindNs, e2ePolicy(blindNs, 'blind', 'blind', blindDemand));
    blind = testController(cluster.kc, 'http://127.0.0.1:9', blindNs); // nothing listens: refused
    await blind.start();
  }, 1_200_000);

  // Its queue may still hold minutes of work: killed, not drained.
  afterAll(() =>
    tearDown({
      controller,
      kubelets,
      prom,
      ns,
      stopService: async () => void (service?.child.exitCode === null && service.child.kill('SIGKILL')),
    }).then(() =>
      tearDown({ controller: blind, kubelets: [], prom: undefined, ns: blindNs, stopService: async () => {} }),
    ),
  );

  it('reads what arrives (answered + in flight) from the pod and in Prometheus, and sizes for it; the answered counter reads what one pod serves', async () => {
    const traffic = (name: string) =>
      controller!.statusSnapshots().find((s) => s.service.name === `${ns}/${name}`)?.traffic;
    const reading = (name: string) => traffic(name)?.burst?.arrivalRps;
    const stable = (name: string) => traffic(name)?.stable?.arrivalRps;
    await waitFor(
      'both deciding from metrics, the pod read at 0 rps',
      async () => ({
        answers: (await readPolicy(cluster.kc, ns, 'answers')).status?.lastDecision?.valid,
        arrivals: (await readPolicy(cluster.kc, ns, 'arrivals')).status?.lastDecision?.valid,
        rps: [reading('answers'), reading('arrivals')],
      }),
      (x) => x.answers === true && x.arrivals === true && x.rps[0] === 0 && x.rps[1] === 0,
      90_000,
    );
    // Blind (Prometheus refused): decided without data, held at 1.
    const blindPolicy = await readPolicy(cluster.kc, blindNs, 'blind');
    expect(blindPolicy.status?.lastDecision?.valid).toBe(false);
    expect(blindPolicy.status?.lastDecision?.reasons?.map((r) => r.code)).toEqual(['NoMetrics']);
    expect(await replicasOf(cluster.kc, blindNs, 'blind')).toBe(1);
    // The policy applied through the real apiserver kept the fields (a CRD without them prunes them).
    const applied = (await readPolicy(cluster.kc, ns, 'arrivals')).spec.demand;
    expect([applied.pods?.inFlight, applied.template?.inFlight]).toEqual(Array(2).fill('http_requests_in_flight'));
    // …and the status says what each reading counts, from that spec (the dashboard marks answers).
    const counts = (name: string) => [traffic(name)?.stable?.counts, traffic(name)?.burst?.counts];
    expect(counts('answers')).toEqual(['answers', 'answers']);
    expect(counts('arrivals')).toEqual(['arrivals', 'arrivals']);

    const load = driveLoad(`${service.url}/work`, LOAD_RPS, 110);
    const loadStart = Date.now();
    let answersMax = 0;
    let seen: { arrivals: number; answers: number } | undefined;
    try {
      // Bounded: 40 s, a poll every 250 ms, until the arrivals reading holds most of the load.
      const t0 = Date.now();
      while (Date.now() - t0 < 40_000 && seen === undefined) {
        const [answers, arrivals] = [reading('answers') ?? 0, reading('arrivals') ?? 0];
        answersMax = Math.max(answersMax, answers);
        if (arrivals >= LOAD_RPS * 0.8) seen = { arrivals, answers };
        else await sleep(250);
      }
      expect(seen, 'the arrivals reading reached 80 % of the load').toBeDefined();
      // Sized for what arrives: ⌈48 / 12.5⌉ = 4 at least, written to the Deployment.
      const up = await waitFor(
        'the arrivals policy sized for what arrives',
        () => replicasOf(cluster.kc, ns, 'arrivals'),
        (n) => n >= 4,
        15_000,
      );
      expect(up).toBeGreaterThanOrEqual(4);
      answersMax = Math.max(answersMax, reading('answers') ?? 0);
      // The answered counter alone never read more than the pod serves, so its policy asked for
      // what 25 rps needs at 12.5 an instance: 2 (3 with a reading a little over 25).
      expect(answersMax).toBeGreaterThan(SERVES_RPS * 0.6);
      expect(answersMax).toBeLessThanOrEqual(SERVES_RPS * 1.1);
      expect(await replicasOf(cluster.kc, ns, 'answers')).toBeLessThanOrEqual(3);
      // Prometheus still refused, the pod's burst scaled `blind` up too, the decision invalid.
      const blindUp = await waitFor(
        'the blind policy scaled up for the burst its pod shows',
        () => readPolicy(cluster.kc, blindNs, 'blind'),
        // A round whose pod scrape failed holds (NoMetrics alone, never down): wait for one that read the burst.
        (p) =>
          (p.status?.lastDecision?.desired ?? 0) >= 4 &&
          (p.status?.lastDecision?.reasons ?? []).some((r) => r.code === 'Burst'),
        30_000,
      );
      expect(blindUp.status?.lastDecision?.valid).toBe(false);
      expect(blindUp.status?.lastDecision?.reasons?.map((r) => r.code)).toEqual(
        expect.arrayContaining(['NoMetrics', 'Burst']),
      );
      expect(blindUp.status?.conditions?.find((c) => c.type === 'MetricsAvailable')?.status).toBe('False');
      expect(await replicasOf(cluster.kc, blindNs, 'blind')).toBeGreaterThanOrEqual(4);
      const reason = (await readPolicy(cluster.kc, ns, 'arrivals')).status?.lastDecision?.reasons?.find(
        (r) => r.code === 'Burst',
      );
      // Prometheus' minute (the stable demand, 15-s scrapes): rate(answered) + deriv(in flight)
      // reaches the load once the window holds the rise; rate(answered) alone stays at what the pod
      // serves. Bounded: 100 s from the load's start.
      let stableAnswersMax = 0;
      let stableArrivals = 0;
      while (Date.now() - loadStart < 100_000 && stableArrivals < LOAD_RPS * 0.8) {
        stableAnswersMax = Math.max(stableAnswersMax, stable('answers') ?? 0);
        stableArrivals = stable('arrivals') ?? 0;
        if (stableArrivals < LOAD_RPS * 0.8) await sleep(500);
      }
      expect(stableArrivals).toBeGreaterThanOrEqual(LOAD_RPS * 0.8);
      expect(stableAnswersMax).toBeLessThanOrEqual(SERVES_RPS * 1.1);
      console.log(
        JSON.stringify({
          seen,
          answersMax,
          arrivalsReplicas: up,
          reason: reason?.message,
          stableArrivals,
          stableAnswersMax,
          blind: blindUp.status?.lastDecision?.reasons?.map((r) => r.message),
        }),
      );
    } finally {
      // Its queue holds minutes of work by now: stop it rather than wait for every answer.
      service.child.kill('SIGKILL');
      await load.stop();
    }
  });
});
