// HeadroomApplication: the checks (application.ts), the graph round with fake ports
// (applications.ts, application-round.ts) and the member's reconcile taking its share. The
// expected counts come from `headroom plan`'s path on an equivalent plan spec (parseSpecText, the
// same YAML a user would give `plan`), not from the controller's own model building.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments, parse } from 'yaml';
import { applicationCrdManifest, applicationCrdYaml } from '../../src/controller/application-crd.ts';
import { applicationGraph, type HeadroomApplication, type Member } from '../../src/controller/application.ts';
import { Applications, type ApplicationPorts, type MemberShare } from '../../src/controller/applications.ts';
import { buildModel, demandQueries, type HeadroomPolicy } from '../../src/controller/policy.ts';
import { reconcilePolicy, silent, type ReconcilePorts } from '../../src/controller/reconcile.ts';
import { planGraph } from '../../src/core/graph.ts';
import { parseSpecText } from '../../src/input/load.ts';
import type { Actuator, ScaleOutcome, ScaleReading } from '../../src/ports/actuator.ts';
import type { MetricSample } from '../../src/ports/metrics.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const url = (p: string) => new URL(`../../${p}`, import.meta.url);

/** examples/k8s/application.yaml: the application and its three policies, in namespace shop. */
function example(): { app: HeadroomApplication; policies: HeadroomPolicy[] } {
  const docs = parseAllDocuments(readFileSync(url('examples/k8s/application.yaml'), 'utf8')).map(
    (d) => d.toJS() as { kind: string; metadata: { name: string } },
  );
  const meta = (name: string) => ({ name, namespace: 'shop', uid: `uid-${name}`, generation: 1 });
  const app = docs.find((d) => d.kind === 'HeadroomApplication') as unknown as HeadroomApplication;
  const policies = docs
    .filter((d) => d.kind === 'HeadroomPolicy')
    .map((d) => ({ ...(d as unknown as HeadroomPolicy), metadata: meta(d.metadata.name) }));
  return { app: { ...app, metadata: meta(app.metadata.name) }, policies };
}

/** The same graph as a `headroom plan` spec, written out by hand from the example's numbers. */
function planCounts(entryRps: number): Record<string, number> {
  const spec = parseSpecText(
    `services:
  - name: gateway
    demand: { rps: ${entryRps} }
    instance: { serviceTimeMs: 3, concurrency: 4, serviceTimeCv: 0.5 }
    slo: { latencyMs: 150, percentile: 99, scope: endToEnd }
    replicas: { min: 1, max: 20 }
    calls: [{ service: cart, perRequest: 1.5 }]
  - name: cart
    instance: { serviceTimeMs: 8, concurrency: 1, serviceTimeCv: 2 }
    replicas: { min: 1, max: 20 }
    calls: [{ service: db, perRequest: 3 }]
  - name: db
    instance: { serviceTimeMs: 2, concurrency: 4, serviceTimeCv: 2 }
    replicas: { min: 1, max: 20 }
`,
    'equivalent.yaml',
  );
  return Object.fromEntries(planGraph(spec.services).services.map((s) => [s.name, s.replicas]));
}

const ok = (value: number): MetricSample => ({ kind: 'ok', value, at: NOW / 1000, series: 1 });
const q = (p: HeadroomPolicy): string => demandQueries(p.spec).demand;

function appPorts(answers: Map<string, MetricSample>) {
  const written: Array<{ name: string; status: HeadroomApplication['status'] }> = [];
  const ports: ApplicationPorts = {
    metrics: { sample: (query) => Promise.resolve(answers.get(query) ?? { kind: 'no-data', reason: 'empty result' }) },
    status: {
      writeStatus: (ref, status) => {
        written.push({ name: ref.name, status: status as HeadroomApplication['status'] });
        return Promise.resolve(true);
      },
    },
    model: (p) => Promise.resolve({ model: buildModel(p) }),
    log: silent,
  };
  return { ports, written };
}

/** One controller round of the applications: plan (round), then the status (settle). */
async function planRound(
  apps: Applications,
  ports: ApplicationPorts,
  list: HeadroomApplication[],
  policies: HeadroomPolicy[],
  due: HeadroomPolicy[],
) {
  const shares = await apps.round(ports, list, policies, due);
  await apps.settle(ports, NOW);
  return shares;
}

class FakeTarget implements Actuator {
  writes: number[] = [];
  replicas: number;
  constructor(replicas: number) {
    this.replicas = replicas;
  }
  read(): Promise<ScaleReading> {
    return Promise.resolve({ specReplicas: this.replicas, statusReplicas: this.replicas, version: '1' });
  }
  scale(_t: unknown, replicas: number): Promise<ScaleOutcome> {
    const from = this.replicas;
    this.replicas = replicas;
    this.writes.push(replicas);
    return Promise.resolve({ kind: 'scaled', from, to: replicas, attempts: 1 });
  }
}

function reconcilePorts(target: Actuator, answers: Map<string, MetricSample>): ReconcilePorts {
  return {
    metrics: { sample: (query) => Promise.resolve(answers.get(query) ?? { kind: 'no-data', reason: 'empty result' }) },
    scale: target,
    status: { writeStatus: () => Promise.resolve(true) },
    events: { recordEvent: () => Promise.resolve() },
  };
}

/** A member's round as the controller runs it: with its graph model and share when it has one. */
function reconcileMember(target: Actuator, answers: Map<string, MetricSample>, p: HeadroomPolicy, s?: MemberShare) {
  return reconcilePolicy(reconcilePorts(target, answers), {
    policy: p,
    model: { model: s?.model ?? buildModel(p) },
    now: NOW,
    graph: s?.share,
  });
}

const members = (policies: HeadroomPolicy[]) => {
  const m = new Map<string, Member>(
    policies.map((p) => [p.metadata.name, { policy: p, model: { model: buildModel(p) } }]),
  );
  return (n: string) => m.get(n);
};
const withSpec = (app: HeadroomApplication, spec: object): HeadroomApplication => ({
  ...app,
  spec: { ...app.spec, ...spec },
});

describe('HeadroomApplication CRD', () => {
  it('deploy/ and the Helm chart hold exactly the generated CRD, with the printer columns', () => {
    for (const dir of ['deploy/crds', 'deploy/helm/headroom/crds']) {
      expect(readFileSync(url(`${dir}/headroomapplications.headroom.dev.yaml`), 'utf8')).toBe(applicationCrdYaml());
    }
    expect(parse(applicationCrdYaml())).toEqual(applicationCrdManifest());
    const v = (applicationCrdManifest().spec as { versions: { additionalPrinterColumns: { name: string }[] }[] })
      .versions[0];
    expect(v?.additionalPrinterColumns.map((c) => c.name)).toEqual(
      expect.arrayContaining(['Entry', 'SLO', 'Predicted', 'Feasible']),
    );
  });

  it('RBAC (manifest and chart) lets the controller watch applications and patch their status', () => {
    for (const f of ['deploy/manifests/rbac.yaml', 'deploy/helm/headroom/templates/rbac.yaml']) {
      const text = readFileSync(url(f), 'utf8');
      expect(text).toMatch(/resources: \[headroompolicies, headroomapplications\]\n\s+verbs: \[list, watch\]/);
      expect(text).toMatch(/headroomapplications\/status\]\n\s+verbs: \[patch\]/);
    }
  });
});

describe('applicationGraph: the same checks as a plan spec, naming the application’s keys', () => {
  it('builds the members’ graph models: calls, the entry’s SLO, 0.9 utilization unless the policy sets one', () => {
    const { app, policies } = example();
    const r = applicationGraph(app, members(policies));
    if (!('graph' in r)) throw new Error(JSON.stringify(r.problems));
    const byName = new Map(r.graph.models.map((m) => [m.name, m]));
    expect(r.graph.members).toEqual(['gateway', 'cart', 'db']);
    expect(byName.get('gateway')?.endToEndSlo).toEqual({ latencyMs: 150, percentile: 99 });
    expect(byName.get('cart')?.calls).toEqual([{ service: 'db', perRequest: 3, mode: 'sequential' }]);
    expect(byName.get('db')?.targetUtilization).toBe(0.9);
    const own = policies.map((p) =>
      p.metadata.name === 'db'
        ? { ...p, spec: { ...p.spec, service: { ...p.spec.service, targetUtilization: 0.6 } } }
        : p,
    );
    const r2 = applicationGraph(app, members(own));
    expect('graph' in r2 && r2.graph.models.find((m) => m.name === 'db')?.targetUtilization).toBe(0.6);
  });

  it('a cycle, an unknown member, perRequest 0 and an unreachable caller are reported together', () => {
    const { app, policies } = example();
    const bad = withSpec(app, {
      calls: [
        { from: 'gateway', to: 'cart', perRequest: 0 },
        { from: 'cart', to: 'db', perRequest: 3 },
        { from: 'db', to: 'cart', perRequest: 1 },
        { from: 'cart', to: 'payments', perRequest: 1 },
      ],
    });
    const r = applicationGraph(bad, members(policies));
    if (!('problems' in r)) throw new Error('accepted');
    const by = (code: string) => r.problems.filter((p) => p.code === code);
    expect(by('HR_GRAPH_PER_REQUEST')[0]).toMatchObject({ path: 'spec.calls[0].perRequest', value: 0 });
    expect(by('HR_GRAPH_CYCLE')[0]?.path).toBe('spec.calls[2]');
    expect(by('HR_GRAPH_CYCLE')[0]?.message).toContain('db → cart');
    expect(by('HR_GRAPH_UNKNOWN_SERVICE')[0]).toMatchObject({ path: 'spec.calls[3].to', value: 'payments' });
    const lonely = applicationGraph(
      withSpec(app, { calls: [...app.spec.calls, { from: 'db', to: 'gateway', perRequest: 1 }].slice(1) }),
      members(policies),
    );
    expect('problems' in lonely && lonely.problems.map((p) => p.code)).toEqual(
      expect.arrayContaining(['HR_GRAPH_ENTRY']),
    );
  });

  it('a call into the entry is said in the application’s words, at the call', () => {
    const { app, policies } = example();
    const r = applicationGraph(
      withSpec(app, { calls: [...app.spec.calls, { from: 'db', to: 'gateway', perRequest: 1 }] }),
      members(policies),
    );
    if (!('problems' in r)) throw new Error('accepted');
    const entry = r.problems.filter((p) => p.code === 'HR_GRAPH_ENTRY');
    expect(entry).toEqual([
      expect.objectContaining({
        path: 'spec.calls[2].to',
        value: 'gateway',
        message: 'db → gateway: a call into the entry; requests arrive at the entry, no member calls it',
      }),
    ]);
    expect(JSON.stringify(r.problems)).not.toContain('scope');
  });

  it('an SLO below the floor (106 ms with no queueing on gateway → cart → db) is HR_GRAPH_SLO_FLOOR', () => {
    const { app, policies } = example();
    const r = applicationGraph(withSpec(app, { slo: { latencyMs: 100, percentile: 99 } }), members(policies));
    expect('problems' in r && r.problems[0]).toMatchObject({ code: 'HR_GRAPH_SLO_FLOOR', path: 'spec.slo.latencyMs' });
    expect('problems' in r && r.problems[0]?.message).toContain('gateway → cart → db');
  });

  it('a schema problem (no slo) is reported as by a plan spec: HR_SPEC_INVALID at spec.slo', () => {
    const { app, policies } = example();
    const r = applicationGraph({ spec: { entry: 'gateway', calls: app.spec.calls } as never }, members(policies));
    expect('problems' in r && r.problems[0]).toMatchObject({ code: 'HR_SPEC_INVALID', path: 'spec.slo' });
  });

  it('a percentile written as a fraction (0.99) is refused as a plan spec refuses it, with the hint', () => {
    const { app, policies } = example();
    const spec = { ...app.spec, slo: { latencyMs: 200, percentile: 0.99 } };
    const r = applicationGraph({ spec } as never, members(policies));
    expect('problems' in r && r.problems[0]).toMatchObject({ code: 'HR_SPEC_INVALID', path: 'spec.slo.percentile' });
    expect('problems' in r && r.problems.map((p) => p.message).join(' ')).toContain('0.99 looks like a fraction');
  });
});

describe('the graph round (Applications.round) and the members’ reconciles', () => {
  it('sizes every member for its share: the counts `plan` gives for the same graph at the entry’s demand', async () => {
    const { app, policies } = example();
    const [gateway, cart, db] = policies as [HeadroomPolicy, HeadroomPolicy, HeadroomPolicy];
    void db;
    // The entry measures 100 rps; its callees measure what the calls send: 150 and 450.
    const answers = new Map([
      [q(gateway), ok(100)],
      [q(cart), ok(150)],
      [q(db), ok(450)],
    ]);
    const f = appPorts(answers);
    const apps = new Applications();
    const shares = await planRound(apps, f.ports, [app], policies, policies);
    expect([...shares.keys()].sort()).toEqual(['uid-cart', 'uid-db', 'uid-gateway']);
    const want = planCounts(100);
    expect(want).toEqual({ gateway: 1, cart: 3, db: 1 }); // cart is raised above its own 2 by the split
    for (const p of policies) {
      const r = await reconcileMember(new FakeTarget(1), answers, p, shares.get(p.metadata.uid ?? ''));
      expect(r.status.desiredReplicas, p.metadata.name).toBe(want[p.metadata.name]);
      expect(r.status.graph).toMatchObject({ application: 'shop', entry: 'gateway' });
      if (p === cart) {
        expect(r.status.lastDecision?.reasons.map((x) => x.code)).toContain('SizedByEndToEnd');
        expect(r.status.graph?.budgetMs).toBeGreaterThan(8); // its own p99 at 3 instances, above the 8 ms work
      }
    }
    // Without the application, cart sizes on utilization alone (0.7 of 125 rps per instance): 2.
    const plain = await reconcilePolicy(reconcilePorts(new FakeTarget(1), answers), {
      policy: cart,
      model: { model: buildModel(cart) },
      now: NOW,
    });
    expect(plain.status.desiredReplicas).toBe(2);
    expect(plain.status.graph).toBeUndefined();
    const st = f.written.at(-1)?.status;
    expect(st).toMatchObject({ entryDemandRps: 100, feasible: true, slo: '150 ms p99' });
    expect(Object.fromEntries(st?.members?.map((m) => [m.name, m.replicas]) ?? [])).toEqual(want);
    expect(st?.predictedMs).toBeLessThanOrEqual(150);
    expect(st?.conditions?.[0]).toMatchObject({ type: 'Ready', status: 'True', reason: 'Planned' });
    expect(Object.fromEntries(apps.views([app])[0]?.nodes.map((n) => [n.name, n.replicas]) ?? [])).toEqual(want);
    expect(apps.views([app])[0]?.edges.find((e) => e.from === 'cart')).toMatchObject({ to: 'db', rps: 450 });
  });

  it('missing entry demand: no plan, members hold (never scaled down on their own demand)', async () => {
    const { app, policies } = example();
    const cart = policies[1] as HeadroomPolicy;
    // Only cart answers, and low: as a plain policy it would go from 5 to 1.
    const answers = new Map([[q(cart), ok(10)]]);
    const f = appPorts(answers);
    const shares = await planRound(new Applications(), f.ports, [app], policies, policies);
    expect(shares.get('uid-cart')?.share.missing).toContain('gateway');
    const target = new FakeTarget(5);
    const r = await reconcileMember(target, answers, cart, shares.get('uid-cart'));
    expect(target.writes).toEqual([]);
    expect(r.status.desiredReplicas).toBe(5);
    expect(r.status.conditions?.find((c) => c.type === 'MetricsAvailable')).toMatchObject({ status: 'False' });
    expect(f.written.at(-1)?.status?.conditions?.[0]).toMatchObject({ status: 'False', reason: 'EntryDemandMissing' });
  });

  it('a member whose own demand is missing holds, even with a budget from the plan', async () => {
    const { app, policies } = example();
    const [gateway, cart] = policies as [HeadroomPolicy, HeadroomPolicy];
    const answers = new Map([[q(gateway), ok(100)]]); // the entry answers; cart's own query does not
    const shares = await planRound(new Applications(), appPorts(answers).ports, [app], policies, policies);
    expect(shares.get('uid-cart')?.share.budget).toBeDefined();
    const target = new FakeTarget(5); // the plan says 3: a write would be a scale-down on missing data
    const r = await reconcileMember(target, answers, cart, shares.get('uid-cart'));
    expect(target.writes).toEqual([]);
    expect(r.status.lastDecision?.valid).toBe(false);
  });

  it('an invalid application (a cycle) gives no shares and says why, naming the edge', async () => {
    const { app, policies } = example();
    const cyclic = withSpec(app, { calls: [...app.spec.calls, { from: 'db', to: 'cart', perRequest: 1 }] });
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    const shares = await planRound(new Applications(), f.ports, [cyclic], policies, policies);
    expect(shares.size).toBe(0);
    const c = f.written.at(-1)?.status?.conditions?.[0];
    expect(c).toMatchObject({ type: 'Ready', status: 'False', reason: 'InvalidApplication' });
    expect(c?.message).toContain('HR_GRAPH_CYCLE spec.calls[2]: db → cart closes a cycle');
  });

  it('a member with no HeadroomPolicy: InvalidApplication, HR_GRAPH_UNKNOWN_SERVICE, no shares', async () => {
    const { app, policies } = example();
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    const without = policies.filter((p) => p.metadata.name !== 'db');
    const shares = await planRound(new Applications(), f.ports, [app], without, without);
    expect(shares.size).toBe(0);
    expect(f.written.at(-1)?.status?.conditions?.[0]?.message).toContain(
      'HR_GRAPH_UNKNOWN_SERVICE spec.calls[1].to: no HeadroomPolicy named db',
    );
  });

  it('a policy in two applications stays with the first; the second is invalid', async () => {
    const { app, policies } = example();
    const second = { ...app, metadata: { ...app.metadata, name: 'shop2', uid: 'uid-shop2' } };
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    await planRound(new Applications(), f.ports, [second, app], policies, policies);
    const last = new Map(f.written.map((w) => [w.name, w.status]));
    expect(last.get('shop')?.conditions?.[0]?.reason).toBe('Planned');
    expect(last.get('shop2')?.conditions?.[0]?.message).toContain('already a member of application shop');
  });

  it('a shared member stays with the first application whichever members are due', async () => {
    // b-shop (search → cart) sorts after a-shop (gateway → cart → db): a-shop keeps cart every
    // round, even one where only b-shop's members are due (it used to plan b-shop then).
    const { app, policies } = example();
    const search = {
      ...(policies[0] as HeadroomPolicy),
      metadata: { name: 'search', namespace: 'shop', uid: 'uid-search', generation: 1 },
    };
    const all = [...policies, search];
    const a = { ...app, metadata: { ...app.metadata, name: 'a-shop', uid: 'uid-a' } };
    const b: HeadroomApplication = {
      ...app,
      metadata: { ...app.metadata, name: 'b-shop', uid: 'uid-b' },
      spec: { entry: 'search', slo: app.spec.slo, calls: [{ from: 'search', to: 'cart', perRequest: 1 }] },
    };
    const f = appPorts(
      new Map([
        [q(policies[0] as HeadroomPolicy), ok(100)],
        [q(search), ok(100)],
      ]),
    );
    const apps = new Applications();
    for (const due of [all, [search], [search, policies[1] as HeadroomPolicy], all]) {
      const shares = await planRound(apps, f.ports, [b, a], all, due);
      expect(shares.get('uid-cart')?.share.application ?? 'a-shop').toBe('a-shop');
      expect(shares.has('uid-search')).toBe(false);
    }
    const ofB = f.written.filter((w) => w.name === 'b-shop').map((w) => w.status?.conditions?.[0]?.reason);
    expect(ofB.length).toBeGreaterThan(0);
    expect(new Set(ofB)).toEqual(new Set(['InvalidApplication']));
  });

  it('a tick with no member due reuses the last check: no model is built again', async () => {
    const { app, policies } = example();
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    let built = 0;
    const ports = { ...f.ports, model: (p: HeadroomPolicy) => (built++, f.ports.model(p)) };
    const apps = new Applications();
    await planRound(apps, ports, [app], policies, policies);
    expect(built).toBe(3);
    for (let i = 0; i < 5; i++) await planRound(apps, ports, [app], policies, []);
    expect(built).toBe(3);
    // A member's spec changes: checked again (claims may change), though still not due.
    const changed = policies.map((p) =>
      p.metadata.name === 'db' ? { ...p, metadata: { ...p.metadata, generation: 2 } } : p,
    );
    await planRound(apps, ports, [app], changed, []);
    expect(built).toBe(6);
  });

  it('a plan that members do not apply is not Ready: shadow, paused, yielding, unreadable target', async () => {
    const { app, policies } = example();
    const [gateway, cart, db] = policies as [HeadroomPolicy, HeadroomPolicy, HeadroomPolicy];
    const answers = new Map([[q(gateway), ok(100)]]);
    const statusOf = new Map<string, HeadroomPolicy['status']>([
      [
        'cart',
        {
          conditions: [
            {
              type: 'Ready',
              status: 'False',
              reason: 'Conflict',
              message: 'HorizontalPodAutoscaler cart scales the target',
            },
            {
              type: 'ScalingActive',
              status: 'False',
              reason: 'Conflict',
              message: 'another autoscaler owns the target',
            },
          ],
        } as HeadroomPolicy['status'],
      ],
      ['db', { paused: 'true' } as HeadroomPolicy['status']],
    ]);
    const f = appPorts(answers);
    const ports = { ...f.ports, memberStatus: (p: HeadroomPolicy) => statusOf.get(p.metadata.name) };
    const shadowGateway = { ...gateway, spec: { ...gateway.spec, mode: 'shadow' as const } };
    await planRound(new Applications(), ports, [app], [shadowGateway, cart, db], [shadowGateway, cart, db]);
    const st = f.written.at(-1)?.status;
    const c = st?.conditions?.[0];
    expect(c).toMatchObject({ type: 'Ready', status: 'False', reason: 'MembersNotApplying' });
    expect(c?.message).toContain('gateway is in shadow mode');
    expect(c?.message).toContain('cart: Conflict: HorizontalPodAutoscaler cart scales the target');
    expect(c?.message).toContain('db is paused (headroom.dev/paused: "true")');
    expect(st?.members?.map((m) => m.replicas)).toEqual([1, 3, 1]); // the plan stays visible
    // Once every member applies its share: Planned.
    statusOf.clear();
    await planRound(new Applications(), ports, [app], policies, policies);
    expect(f.written.at(-1)?.status?.conditions?.[0]).toMatchObject({ status: 'True', reason: 'Planned' });
  });

  it('an unchanged plan is written again once a minute (lastPlanTime), not every round', async () => {
    const { app, policies } = example();
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    const apps = new Applications();
    let listed = app;
    for (let t = 0; t <= 130_000; t += 10_000) {
      await apps.round(f.ports, [listed], policies, policies);
      await apps.settle(f.ports, NOW + t);
      listed = { ...app, status: f.written.at(-1)?.status }; // as the informer lists it after a write
    }
    // Written at 0 s, 60 s and 120 s: 3 writes over 14 rounds.
    expect(f.written.map((w) => Date.parse(w.status?.lastPlanTime ?? '') - NOW)).toEqual([0, 60_000, 120_000]);
  });

  it('an invalid application is logged when its problem starts or changes, not every round', async () => {
    const { app, policies } = example();
    const cyclic = withSpec(app, { calls: [...app.spec.calls, { from: 'db', to: 'cart', perRequest: 1 }] });
    const warned: string[] = [];
    const f = appPorts(new Map([[q(policies[0] as HeadroomPolicy), ok(100)]]));
    const ports = { ...f.ports, log: { ...silent, warn: (_o: object, msg: string) => warned.push(msg) } };
    const apps = new Applications();
    for (let i = 0; i < 5; i++) await planRound(apps, ports, [cyclic], policies, policies);
    expect(warned).toEqual(['application problem']);
  });

  it('a changed application makes all its members due; an unchanged one only its due members', async () => {
    const { app, policies } = example();
    const apps = new Applications();
    expect(apps.due([app], policies, []).map((p) => p.metadata.name)).toEqual(['gateway', 'cart', 'db']);
    await planRound(apps, appPorts(new Map()).ports, [app], policies, policies);
    expect(apps.due([app], policies, [])).toEqual([]);
    const changed = { ...app, metadata: { ...app.metadata, generation: 2 } };
    expect(apps.due([changed], policies, []).length).toBe(3);
  });
});
