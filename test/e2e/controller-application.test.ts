// A HeadroomApplication end to end: a REAL kube-apiserver (scripts/k8s-control-plane.sh, or
// HEADROOM_KUBECONFIG) with the CRDs applied from deploy/crds/, examples/k8s/application.yaml
// applied as shipped, and a REAL Prometheus scraping the request counters every second.
//
// The counters come from a small exporter that writes each sample with its own timestamp:
// http_requests_total{app="gateway"} = 100 rps × t, cart 150 × t, db 450 × t (the calls 1.5 and 3
// per request). So Prometheus's rate() is exact, and the members measure exactly the demand the
// graph sends them: the counts can be compared with `headroom plan` one for one. (Real services
// under load measure rates with noise, which would make equality a matter of luck near a step.)
// The expectation is the real `headroom plan --json` on the same graph written as a plan spec.
import { AppsV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments, stringify } from 'yaml';
import { PrometheusSource } from '../../src/adapters/metrics/prometheus/index.ts';
import { APP_PLURAL } from '../../src/controller/application-crd.ts';
import type { ApplicationStatus, HeadroomApplication } from '../../src/controller/application.ts';
import type { Controller } from '../../src/controller/controller.ts';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';
import { cli } from './support/cli.ts';
import { testController } from './support/controller.ts';
import {
  createDeployment,
  createHpaV1,
  createNamespace,
  deleteNamespace,
  ensureCluster,
  readPolicy,
  replicasOf,
  waitFor,
  type Cluster,
} from './support/kube.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

const ENTRY_RPS = 100;
const RATES: Record<string, number> = { gateway: ENTRY_RPS, cart: ENTRY_RPS * 1.5, db: ENTRY_RPS * 1.5 * 3 };
const EXAMPLE = new URL('../../examples/k8s/application.yaml', import.meta.url);

type Doc = { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
const docs = (): Doc[] => parseAllDocuments(readFileSync(EXAMPLE, 'utf8')).map((d) => d.toJS() as Doc);

let cluster: Cluster;
let kc: KubeConfig;
let prom: Prometheus;
let exporter: Server;
let tmp: string;
const namespaces: string[] = [];
const controllers: Controller[] = [];

/** Counters with explicit sample timestamps: value = rate × seconds since t0, so rate() is exact. */
async function startExporter(): Promise<Server> {
  const t0 = Date.now() - 3_600_000;
  const s = createServer((_req, res) => {
    const ms = Date.now();
    const lines = Object.entries(RATES).map(
      ([app, rps]) => `http_requests_total{app="${app}"} ${(rps * (ms - t0)) / 1000} ${ms}`,
    );
    res.setHeader('content-type', 'text/plain; version=0.0.4');
    res.end(`# TYPE http_requests_total counter\n${lines.join('\n')}\n`);
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

async function apply(namespace: string, objects: Doc[]): Promise<void> {
  const api = kc.makeApiClient(CustomObjectsApi);
  for (const body of objects) {
    const plural = body.kind === 'HeadroomApplication' ? APP_PLURAL : PLURAL;
    await api.createNamespacedCustomObject({ group: GROUP, version: VERSION, namespace, plural, body });
  }
}

async function readApplication(namespace: string, name: string): Promise<HeadroomApplication> {
  return (await kc.makeApiClient(CustomObjectsApi).getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: APP_PLURAL,
    name,
  })) as HeadroomApplication;
}

/** The example's graph as a `headroom plan` spec: each policy's service, the application's calls and SLO. */
function planSpec(objects: Doc[], entryRps: number): string {
  const app = objects.find((d) => d.kind === 'HeadroomApplication') as unknown as HeadroomApplication;
  const services = objects
    .filter((d) => d.kind === 'HeadroomPolicy')
    .map((d) => {
      const name = d.metadata.name;
      const calls = app.spec.calls
        .filter((c) => c.from === name)
        .map((c) => ({ service: c.to, perRequest: c.perRequest, ...(c.mode ? { mode: c.mode } : {}) }));
      return {
        name,
        ...(d.spec.service as object),
        ...(name === app.spec.entry ? { demand: { rps: entryRps }, slo: { ...app.spec.slo, scope: 'endToEnd' } } : {}),
        ...(calls.length ? { calls } : {}),
      };
    });
  return stringify({ services });
}

beforeAll(async () => {
  cluster = await ensureCluster();
  kc = cluster.kc;
  exporter = await startExporter();
  prom = await startPrometheus({ shop: [`127.0.0.1:${(exporter.address() as AddressInfo).port}`] }, '1s');
  tmp = mkdtempSync(join(tmpdir(), 'headroom-app-'));
}, 1_300_000);

afterAll(async () => {
  for (const c of controllers) await c.stop();
  for (const n of namespaces) await deleteNamespace(kc, n);
  await prom?.dispose();
  await new Promise<void>((r) => (exporter ? exporter.close(() => r()) : r()));
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('HeadroomApplication on a real apiserver and Prometheus', () => {
  it('sizes every member to the counts `headroom plan` gives for the same graph at the measured demand', async () => {
    const objects = docs();
    const file = join(tmp, 'shop.yaml');
    writeFileSync(file, planSpec(objects, ENTRY_RPS));
    const plan = await cli(['plan', file, '--json']);
    expect(plan.code, plan.stderr).toBe(0);
    const graph = (
      JSON.parse(plan.stdout) as {
        graph: { predictedMs: number; services: { name: string; replicas: number; budgetMs: number }[] };
      }
    ).graph;
    const want = Object.fromEntries(graph.services.map((s) => [s.name, s.replicas]));
    // Worth testing only if the split raises someone above its plain sizing (cart: 2 → 3).
    expect(graph.services.some((s) => s.replicas > 1)).toBe(true);

    const ns = await createNamespace(kc, 'hr-app');
    namespaces.push(ns);
    for (const name of Object.keys(RATES)) await createDeployment(kc, ns, name, 1);
    await apply(ns, objects);
    // rate(…[1m]) is exact once its window holds a minute of samples. Before that every rate ramps
    // up, a callee's read a scrape later than the entry's runs ahead of the plan, and the
    // scale-down stabilization window (300 s) would keep the overshoot: start at the steady state.
    const source = new PrometheusSource({ url: prom.url, timeoutMs: 2000 });
    const entryQuery = 'sum(rate(http_requests_total{app="gateway"}[1m]))';
    await waitFor(
      'a full minute of samples',
      () => source.sample(entryQuery),
      (x) => x.kind === 'ok' && Math.abs(x.value - ENTRY_RPS) < 0.01,
      150_000,
      1000,
    );
    const c = testController(kc, prom.url, ns);
    controllers.push(c);
    await c.start();

    const counts = () =>
      Promise.all(Object.keys(want).map(async (n) => [n, await replicasOf(kc, ns, n)] as const)).then((e) =>
        Object.fromEntries(e),
      );
    const statusOk = (s: ApplicationStatus | undefined) =>
      s?.entryDemandRps !== undefined && s.entryDemandRps !== null && Math.abs(s.entryDemandRps - ENTRY_RPS) < 0.5;
    await waitFor(
      'the application planned at 100 rps',
      () => readApplication(ns, 'shop'),
      (a) => statusOk(a.status),
      150_000,
      1000,
    );
    const got = await waitFor(
      'members at the planned counts',
      counts,
      (v) => JSON.stringify(v) === JSON.stringify(want),
      30_000,
      500,
    );
    expect(got).toEqual(want);

    const app = await readApplication(ns, 'shop');
    expect(app.status?.conditions?.find((x) => x.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Planned',
    });
    expect(app.status?.feasible).toBe(true);
    // Same graph, same demand: the same prediction (3 significant digits in status).
    expect(app.status?.predictedMs).toBeCloseTo(graph.predictedMs, 0);
    expect(Object.fromEntries(app.status?.members?.map((m) => [m.name, m.replicas]) ?? [])).toEqual(want);
    for (const s of graph.services) {
      const p: HeadroomPolicy = await readPolicy(kc, ns, s.name);
      expect(p.status?.graph).toMatchObject({ application: 'shop', entry: 'gateway' });
      expect(p.status?.graph?.budgetMs).toBeCloseTo(s.budgetMs, 0);
    }
    const cart = await readPolicy(kc, ns, 'cart');
    expect(cart.status?.binding).toBe('endToEnd');
    expect(cart.status?.lastDecision?.reasons.map((r) => r.code)).toContain('SizedByEndToEnd');
    // The dashboard's picture of the same plan.
    expect(
      c
        .graphs()[0]
        ?.nodes.map((n) => [n.name, n.replicas])
        .sort(),
    ).toEqual(Object.entries(want).sort());

    // An HPA takes cart: cart yields, so the plan's prediction no longer holds for what runs.
    await createHpaV1(kc, ns, 'cart-hpa', 'cart');
    const yielded = await waitFor(
      'the application saying cart does not apply its share',
      () => readApplication(ns, 'shop'),
      (a) => a.status?.conditions?.find((x) => x.type === 'Ready')?.reason === 'MembersNotApplying',
      60_000,
      1000,
    );
    const ready = yielded.status?.conditions?.find((x) => x.type === 'Ready');
    expect(ready?.status).toBe('False');
    expect(ready?.message).toMatch(/not applied: cart: Conflict: .*cart-hpa/);
  }, 300_000);

  it('an application with a cycle reports InvalidApplication naming the edge and touches no Deployment', async () => {
    const ns = await createNamespace(kc, 'hr-app-bad');
    namespaces.push(ns);
    for (const name of Object.keys(RATES)) await createDeployment(kc, ns, name, 2);
    const apps = kc.makeApiClient(AppsV1Api);
    const before = await Promise.all(
      Object.keys(RATES).map((name) => apps.readNamespacedDeployment({ name, namespace: ns })),
    );
    // The members in shadow mode: as plain policies they decide and report but never write.
    const objects = docs().map((d) => {
      if (d.kind === 'HeadroomPolicy') return { ...d, spec: { ...d.spec, mode: 'shadow' } };
      const spec = d.spec as HeadroomApplication['spec'];
      return { ...d, spec: { ...spec, calls: [...spec.calls, { from: 'db', to: 'cart', perRequest: 1 }] } };
    });
    await apply(ns, objects);
    const c = testController(kc, prom.url, ns);
    controllers.push(c);
    await c.start();
    const app = await waitFor(
      'InvalidApplication',
      () => readApplication(ns, 'shop'),
      (a) => a.status?.conditions?.some((x) => x.reason === 'InvalidApplication') === true,
      30_000,
    );
    const cond = app.status?.conditions?.find((x) => x.type === 'Ready');
    expect(cond?.status).toBe('False');
    expect(cond?.message).toContain('HR_GRAPH_CYCLE spec.calls[2]: db → cart closes a cycle');
    expect(app.status?.members).toBeUndefined();
    // The members ran as plain policies (a decision, no graph share) ...
    const cart = await waitFor(
      'cart decided',
      () => readPolicy(kc, ns, 'cart'),
      (p) => p.status?.lastDecision !== undefined,
      30_000,
    );
    expect(cart.status?.graph).toBeUndefined();
    await sleep(2000);
    // ... and no Deployment was written: same generation, same replicas.
    const after = await Promise.all(
      Object.keys(RATES).map((name) => apps.readNamespacedDeployment({ name, namespace: ns })),
    );
    expect(after.map((d) => [d.metadata?.generation, d.spec?.replicas])).toEqual(
      before.map((d) => [d.metadata?.generation, d.spec?.replicas]),
    );
  }, 120_000);
});
