// Who writes a scale target, and what counts as capacity, on a REAL kube-apiserver +
// kube-controller-manager (scripts/k8s-control-plane.sh, or HEADROOM_KUBECONFIG) with a REAL
// Prometheus answering the demand queries:
//   - two HeadroomPolicies on one Deployment: the older writes, the other yields (Conflict);
//   - an HPA (autoscaling/v1, and v2/v2beta2) on a Deployment: the policy yields to it;
//   - a Deployment whose pods exist but never become Ready (no kubelet here): 0 ready, not 3;
//   - `kubectl get hrp` shows Ready and Reason for a yielding and an invalid policy;
//   - an external writer (a GitOps sync) resetting the replicas every 250 ms: with the back-off the
//     controller writes a few times, not every interval; the annotation headroom.dev/paused holds
//     all writes, or one direction.
// Scale writes are counted twice: the Deployment's metadata.generation (bumped by every change of
// spec.replicas, whoever writes) and the controller's own headroom_controller_scale_writes_total.
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  AutoscalingV1Api,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Controller } from '../../src/controller/controller.ts';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { HeadroomPolicy, PolicyStatus } from '../../src/controller/policy.ts';
import {
  createDeployment,
  createHpaV1,
  createNamespace,
  createPolicy as createPolicyIn,
  deleteNamespace,
  ensureCluster,
  freshKubectlCache,
  KUBECTL,
  readPolicy,
  replicasOf,
  setReplicas,
  waitFor,
  type Cluster,
} from './support/kube.ts';
import { e2ePolicy, testController } from './support/controller.ts';
import { startPrometheus, type Prometheus } from './support/prometheus.ts';

let cluster: Cluster;
let kc: KubeConfig;
let ns: string;
let prom: Prometheus;
let controller: Controller;

// 40 ms per request, one at a time, utilization 0.5: 12.5 rps per instance.
// vector(30) → 3 replicas, vector(60) → 5.
const policy = (name: string, target: string, demand: Record<string, string>, service: Record<string, unknown> = {}) =>
  e2ePolicy(ns, name, target, demand, service);

const custom = (): CustomObjectsApi => kc.makeApiClient(CustomObjectsApi);
const apps = (): AppsV1Api => kc.makeApiClient(AppsV1Api);

const createPolicy = (body: unknown): Promise<void> => createPolicyIn(kc, ns, body);

const getPolicy = (name: string): Promise<HeadroomPolicy> => readPolicy(kc, ns, name);

const ready = (s: PolicyStatus | undefined) => s?.conditions?.find((c) => c.type === 'Ready');
const able = (s: PolicyStatus | undefined) => s?.conditions?.find((c) => c.type === 'AbleToScale');

const MERGE_PATCH = setHeaderOptions('Content-Type', 'application/merge-patch+json');
async function patchPolicy(name: string, body: unknown): Promise<void> {
  await custom().patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name, body },
    MERGE_PATCH,
  );
}

/** Sets `name` to `replicas` every `everyMs` for `forMs`, as a GitOps sync loop would; returns its write count. */
async function externalWriter(name: string, replicas: number, everyMs: number, forMs: number): Promise<number> {
  const end = Date.now() + forMs;
  let n = 0;
  while (Date.now() < end) {
    await setReplicas(kc, ns, name, replicas);
    n++;
    await sleep(everyMs);
  }
  return n;
}

/** metadata.generation: +1 for every write that changed spec.replicas, by anyone. */
async function generationOf(name: string): Promise<number> {
  return (await apps().readNamespacedDeployment({ name, namespace: ns })).metadata?.generation ?? 0;
}

async function metric(name: string, labels = ''): Promise<number> {
  const text = await controller.registry.metrics();
  const line = text.split('\n').find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(' ')[1]) : 0;
}

async function eventsOf(name: string) {
  const l = await kc
    .makeApiClient(CoreV1Api)
    .listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${name}` });
  return l.items;
}

beforeAll(async () => {
  cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-own');
  prom = await startPrometheus({});
  for (const [name, n] of [
    ['dup', 1],
    ['hpa-v1', 2],
    ['hpa-v2', 2],
    ['unready', 3],
    ['fight', 1],
    ['gitops', 1],
    ['paused', 1],
    ['recreated', 1],
  ] as const) {
    await createDeployment(kc, ns, name, n);
  }
  controller = testController(kc, prom.url, ns);
  await controller.start();
}, 1_200_000);

afterAll(async () => {
  await controller?.stop().catch(() => undefined);
  await prom?.dispose().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
});

describe('one writer per scale target', () => {
  it('two policies on one Deployment: the older scales it once, the second yields with Conflict and writes 0 times', async () => {
    const gen0 = await generationOf('dup');
    const writes0 = await metric('headroom_controller_scale_writes_total');
    await createPolicy(policy('dup-a', 'dup', { query: 'vector(30)' }));
    await waitFor(
      'dup-a scaled to 3',
      () => replicasOf(kc, ns, 'dup'),
      (n) => n === 3,
      30_000,
    );
    const gen1 = await generationOf('dup');
    // The write is counted when its round ends (after the status write and Event), a moment after
    // the Deployment shows it.
    const writes1 = await waitFor(
      'the write counted',
      () => metric('headroom_controller_scale_writes_total'),
      (n) => n > writes0,
      10_000,
    );
    expect(gen1 - gen0).toBe(1);
    expect(writes1 - writes0).toBe(1);

    // The second policy wants 5; before the fix the two flapped the target 3 ↔ 5 every interval.
    await createPolicy(policy('dup-b', 'dup', { query: 'vector(60)' }));
    const b = await waitFor(
      'dup-b Conflict',
      () => getPolicy('dup-b'),
      (p) => ready(p.status)?.reason === 'Conflict',
      20_000,
    );
    expect(ready(b.status)).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(ready(b.status)?.message).toContain('HeadroomPolicy dup-a');
    expect(b.status?.conditions?.find((c) => c.type === 'AbleToScale')).toMatchObject({
      status: 'False',
      reason: 'Conflict',
    });
    const conflicts0 = await metric('headroom_controller_reconciles_total', '{result="conflict"}');
    await sleep(6000); // 6 intervals of both policies
    const gen2 = await generationOf('dup');
    const writes2 = await metric('headroom_controller_scale_writes_total');
    const conflicts = (await metric('headroom_controller_reconciles_total', '{result="conflict"}')) - conflicts0;
    console.log(
      `duplicate policies: scale writes dup-a+dup-b ${writes2 - writes0} (generation +${gen2 - gen0}), ` +
        `after dup-b appeared ${writes2 - writes1} (generation +${gen2 - gen1}); dup-b yielded ${conflicts} times`,
    );
    expect(gen2).toBe(gen1); // no write at all while dup-b exists
    expect(writes2).toBe(writes1);
    expect(conflicts).toBeGreaterThanOrEqual(4);
    expect(await replicasOf(kc, ns, 'dup')).toBe(3);
    expect(ready((await getPolicy('dup-a')).status)).toMatchObject({ status: 'True', reason: 'Active' });
    const ev = (await eventsOf('dup-b')).filter((e) => e.reason === 'Conflict');
    expect(ev).toHaveLength(1); // one Event for the flip, not one per round
    expect(ev[0]?.type).toBe('Warning');
    expect(ev[0]?.message).toContain('dup-a');
  });

  it('an HPA (autoscaling/v1, and v2 or v2beta2) on a Deployment: the policy yields to it and writes 0 times', async () => {
    await createHpaV1(kc, ns, 'hpa-v1', 'hpa-v1');
    // autoscaling/v2 (1.23+), else v2beta2 (this control plane is 1.20): the same stored object.
    const v2 = {
      metadata: { name: 'hpa-v2-scaler' },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'hpa-v2' },
        minReplicas: 1,
        maxReplicas: 10,
        metrics: [
          { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } },
        ],
      },
    };
    let v2Version = '';
    for (const version of ['v2', 'v2beta2']) {
      try {
        await custom().createNamespacedCustomObject({
          group: 'autoscaling',
          version,
          namespace: ns,
          plural: 'horizontalpodautoscalers',
          body: { apiVersion: `autoscaling/${version}`, kind: 'HorizontalPodAutoscaler', ...v2 },
        });
        v2Version = version;
        break;
      } catch (err) {
        if ((err as { code?: number }).code !== 404) throw err;
      }
    }
    expect(v2Version).not.toBe('');
    // The HPA watch delivers in milliseconds; the policies come after, as a user would add them.
    await sleep(1000);
    const gens0 = [await generationOf('hpa-v1'), await generationOf('hpa-v2')];
    const writes0 = await metric('headroom_controller_scale_writes_total');
    await createPolicy(policy('hpa-v1', 'hpa-v1', { query: 'vector(60)' })); // wants 5, runs at 2
    await createPolicy(policy('hpa-v2', 'hpa-v2', { query: 'vector(60)' }));
    for (const [name, hpa] of [
      ['hpa-v1', 'hpa-v1'],
      ['hpa-v2', 'hpa-v2-scaler'],
    ] as const) {
      const p = await waitFor(
        `${name} Conflict`,
        () => getPolicy(name),
        (x) => ready(x.status)?.reason === 'Conflict',
        20_000,
      );
      expect(ready(p.status)?.status).toBe('False');
      expect(ready(p.status)?.message).toContain(`HorizontalPodAutoscaler ${hpa}`);
      const ev = await eventsOf(name);
      expect(ev.some((e) => e.reason === 'Conflict' && e.type === 'Warning' && e.message?.includes(hpa))).toBe(true);
    }
    await sleep(5000);
    const gens1 = [await generationOf('hpa-v1'), await generationOf('hpa-v2')];
    const writes1 = await metric('headroom_controller_scale_writes_total');
    console.log(`HPA targets: scale writes by the policies ${writes1 - writes0}, generations ${gens0} → ${gens1}`);
    expect(gens1).toEqual(gens0);
    expect(writes1).toBe(writes0);
    expect(await replicasOf(kc, ns, 'hpa-v1')).toBe(2);
    expect(await replicasOf(kc, ns, 'hpa-v2')).toBe(2);

    // The HPA goes: the policy takes the target over at its next interval.
    await kc.makeApiClient(AutoscalingV1Api).deleteNamespacedHorizontalPodAutoscaler({ name: 'hpa-v1', namespace: ns });
    await waitFor(
      'hpa-v1 scaled by its policy',
      () => replicasOf(kc, ns, 'hpa-v1'),
      (n) => n === 5,
      20_000,
    );
    const freed = await waitFor(
      'hpa-v1 Active',
      () => getPolicy('hpa-v1'),
      (x) => ready(x.status)?.reason === 'Active',
      20_000,
    );
    expect(ready(freed.status)?.status).toBe('True');
  });
});

describe('a target its owner scales', () => {
  it('a ReplicaSet of a Deployment: Ready=False TargetOwned naming the Deployment, a Warning Event, its replicas untouched', async () => {
    await createDeployment(kc, ns, 'owner', 1);
    // kube-controller-manager creates the ReplicaSet, with the Deployment as its controller.
    const rs = await waitFor(
      "the Deployment's ReplicaSet",
      async () => (await apps().listNamespacedReplicaSet({ namespace: ns })).items,
      (l) => l.some((r) => r.metadata?.ownerReferences?.some((o) => o.controller && o.name === 'owner')),
      30_000,
    ).then((l) => l.find((r) => r.metadata?.ownerReferences?.some((o) => o.name === 'owner'))!);
    const name = rs.metadata!.name!;
    const gen0 = rs.metadata?.generation ?? 0;
    const p = policy('owned', 'owner', { query: 'vector(30)' }); // would scale it to 3
    await createPolicy({
      ...p,
      spec: { ...p.spec, scaleTargetRef: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name } },
    });
    const st = await waitFor(
      'owned: Ready False',
      () => getPolicy('owned'),
      (x) => ready(x.status)?.status === 'False',
      30_000,
    ).then((x) => x.status);
    expect(ready(st)).toMatchObject({ reason: 'TargetOwned' });
    expect(ready(st)?.message).toContain(
      `ReplicaSet ${name} is managed by Deployment owner (its controller ownerReference), which sets its replicas: target the Deployment`,
    );
    expect(able(st)).toMatchObject({ status: 'False', reason: 'TargetOwned' });
    expect(st?.desiredReplicas).toBeUndefined();
    const ev = await waitFor(
      'a TargetOwned Event',
      () => eventsOf('owned'),
      (l) => l.some((e) => e.reason === 'TargetOwned'),
      10_000,
    );
    expect(ev.find((e) => e.reason === 'TargetOwned')?.type).toBe('Warning');
    // Several more rounds (1 s each): never written, so neither the ReplicaSet nor its Deployment moved.
    await sleep(3000);
    const now = await apps().readNamespacedReplicaSet({ name, namespace: ns });
    expect(now.spec?.replicas).toBe(1);
    expect(now.metadata?.generation ?? 0).toBe(gen0);
    expect(await replicasOf(kc, ns, 'owner')).toBe(1);
    expect(ready((await getPolicy('owned')).status)?.reason).toBe('TargetOwned');
    expect((await eventsOf('owned')).some((e) => e.reason === 'ExternalWrite')).toBe(false);
  }, 60_000);
});

describe('ready pods are capacity, created pods are not', () => {
  it('3 pods that never become Ready: ready 0 in the decision, the status API and the history', async () => {
    // No kubelet in this control plane: kube-controller-manager creates the pods, nothing runs them.
    const dep = await waitFor(
      'unready pods created',
      () => apps().readNamespacedDeployment({ name: 'unready', namespace: ns }),
      (d) => d.status?.replicas === 3,
      60_000,
    );
    expect(dep.status?.readyReplicas ?? 0).toBe(0);
    // Demand 10 rps, burst 30 rps. 3 ready pods would carry 3 × 12.5 = 37.5 rps (no burst);
    // 0 ready carry nothing, so the burst path sizes for 30 rps.
    await createPolicy(policy('unready', 'unready', { query: 'vector(10)', burstQuery: 'vector(30)' }));
    const p = await waitFor(
      'unready decided',
      () => getPolicy('unready'),
      (x) => x.status?.lastDecision?.valid === true,
      20_000,
    );
    const reasons = p.status?.lastDecision?.reasons ?? [];
    const burst = reasons.find((r) => r.code === 'Burst');
    console.log(`unready: ${reasons.map((r) => `${r.code}: ${r.message}`).join(' | ')}`);
    expect(burst?.message).toContain('what 0 ready instances carry');
    expect(p.status?.lastDecision?.mode).toBe('burst');
    expect(p.status?.currentReplicas).toBe(3);
    // The status reaches the apiserver before the round ends (its Events follow): wait for the round's own view.
    const snap = await waitFor(
      'unready in /api/status',
      async () => controller.statusSnapshots().find((s) => s.service.name === `${ns}/unready`),
      (s) => (s?.history.length ?? 0) > 0,
      20_000,
    );
    expect(snap?.replicas).toMatchObject({ current: 3, ready: 0 });
    expect(snap?.history.length).toBeGreaterThan(0);
    expect(snap?.history.every((h) => h.ready === 0)).toBe(true);
  });
});

describe('GitOps and pauses: never fight another writer', () => {
  // vector(60) → 5 replicas. The writer sets 2 every 250 ms for 8 s; the controller decides every 1 s,
  // with no scale-up rate limit to speak of (the default 4 pods per 15 s would throttle the fight).
  async function fightFor(name: string, backoffSeconds: number) {
    const p = policy(
      name,
      name,
      { query: 'vector(60)' },
      {
        behavior: {
          forecast: { enabled: false },
          scaleUp: { policies: [{ type: 'Pods', value: 10, periodSeconds: 1 }] },
        },
      },
    );
    await createPolicy({ ...p, spec: { ...p.spec, externalWriteBackoffSeconds: backoffSeconds } });
    await waitFor(
      `${name} scaled to 5`,
      () => replicasOf(kc, ns, name),
      (n) => n === 5,
      30_000,
    );
    await sleep(1500); // the status with appliedReplicas 5 is written
    const writes0 = await metric('headroom_controller_scale_writes_total');
    const external0 = await metric('headroom_controller_external_writes_total');
    const resets = await externalWriter(name, 2, 250, 8000);
    return {
      resets,
      writes: (await metric('headroom_controller_scale_writes_total')) - writes0,
      external: (await metric('headroom_controller_external_writes_total')) - external0,
    };
  }

  it('backoff 0 (the HPA way) writes back every interval; a 4-s back-off writes at most twice in 8 s, with an ExternalWrite event', async () => {
    const fight = await fightFor('fight', 0);
    const calm = await fightFor('gitops', 4);
    console.log(
      `external writer, 8 s at 4 resets/s: backoff 0 → ${fight.writes} scale writes (${fight.external} seen), ` +
        `backoff 4 s → ${calm.writes} scale writes (${calm.external} seen); ${calm.resets} resets each`,
    );
    expect(fight.writes).toBeGreaterThanOrEqual(5);
    expect(calm.external).toBeGreaterThanOrEqual(1);
    expect(calm.writes).toBeLessThanOrEqual(2);
    const p = await getPolicy('gitops');
    const ev = (await eventsOf('gitops')).filter((e) => e.reason === 'ExternalWrite');
    expect(ev.length).toBeGreaterThanOrEqual(1);
    expect(ev[0]?.type).toBe('Warning');
    expect(ev[0]?.message).toContain('→ 2 by another writer');
    expect(able(p.status)?.reason === 'BackingOff' || p.status?.backoffUntil !== undefined).toBe(true);
    // The writer stops: after its back-off the controller restores its count.
    await waitFor(
      'gitops back to 5',
      () => replicasOf(kc, ns, 'gitops'),
      (n) => n === 5,
      20_000,
    );
    await patchPolicy('fight', { spec: { mode: 'shadow' } }); // out of the way of the next tests
  });

  it('a Deployment deleted and created again is another object: no counts while it is gone, then written at once', async () => {
    // The default 300-s back-off: were the new Deployment's 1 taken for another writer's, it would stay 1.
    await createPolicy(
      policy('recreated', 'recreated', { query: 'vector(60)' }, { behavior: { forecast: { enabled: false } } }),
    );
    const first = await waitFor(
      'recreated written 5',
      () => getPolicy('recreated'),
      (x) => x.status?.appliedReplicas === 5,
      30_000,
    );
    const uid = (await apps().readNamespacedDeployment({ name: 'recreated', namespace: ns })).metadata?.uid;
    expect(first.status?.appliedTarget).toBe(`apps/v1/Deployment/recreated/${uid}`);
    await apps().deleteNamespacedDeployment({ name: 'recreated', namespace: ns });
    const gone = await waitFor(
      'recreated FailedGetScale',
      () => getPolicy('recreated'),
      (x) => ready(x.status)?.reason === 'FailedGetScale',
      20_000,
    );
    expect(ready(gone.status)?.message).toMatch(
      /^HR_SCALE_TARGET spec\.scaleTargetRef: Deployment .*\/recreated not found/,
    );
    expect(gone.status?.currentReplicas).toBeUndefined();
    expect(gone.status?.desiredReplicas).toBeUndefined();
    await createDeployment(kc, ns, 'recreated', 1);
    await waitFor(
      'the new recreated written 5',
      () => replicasOf(kc, ns, 'recreated'),
      (n) => n === 5,
      20_000,
    );
    expect((await eventsOf('recreated')).filter((e) => e.reason === 'ExternalWrite')).toEqual([]);
    await patchPolicy('recreated', { spec: { mode: 'shadow' } });
  });

  it('headroom.dev/paused: "true" holds every write, "down" lets it scale up but not down', async () => {
    await createPolicy({
      ...policy(
        'paused',
        'paused',
        { query: 'vector(60)' },
        {
          behavior: { forecast: { enabled: false }, scaleDown: { stabilizationWindowSeconds: 0 } },
        },
      ),
      metadata: { name: 'paused', namespace: ns, annotations: { 'headroom.dev/paused': 'true' } },
    });
    const held = await waitFor(
      'paused decides 5 and holds',
      () => getPolicy('paused'),
      (x) => x.status?.desiredReplicas === 5 && able(x.status)?.reason === 'Paused',
      30_000,
    );
    expect(held.status?.paused).toBe('true');
    expect(able(held.status)?.message).toContain('would scale 1 → 5');
    await sleep(3000);
    expect(await replicasOf(kc, ns, 'paused')).toBe(1);

    await patchPolicy('paused', { metadata: { annotations: { 'headroom.dev/paused': 'down' } } });
    await waitFor(
      'paused "down" scales up',
      () => replicasOf(kc, ns, 'paused'),
      (n) => n === 5,
      30_000,
    );
    // Demand falls to 12 rps (1 replica): scaling down is paused.
    await patchPolicy('paused', { spec: { demand: { query: 'vector(12)' } } });
    const down = await waitFor(
      'paused "down" holds the scale-down',
      () => getPolicy('paused'),
      (x) => x.status?.desiredReplicas === 1 && able(x.status)?.reason === 'Paused',
      30_000,
    );
    expect(able(down.status)?.message).toContain('scaling down is paused');
    await sleep(3000);
    expect(await replicasOf(kc, ns, 'paused')).toBe(5);

    // An unknown value is an invalid policy that names the annotation, not a silent "not paused".
    await patchPolicy('paused', { metadata: { annotations: { 'headroom.dev/paused': 'yes' } } });
    const bad = await waitFor(
      'invalid annotation',
      () => getPolicy('paused'),
      (x) => ready(x.status)?.reason === 'InvalidPolicy',
      20_000,
    );
    expect(ready(bad.status)?.message).toContain('headroom.dev/paused: "yes" is not one of');
    expect(await replicasOf(kc, ns, 'paused')).toBe(5);

    await patchPolicy('paused', { metadata: { annotations: { 'headroom.dev/paused': null } } });
    await waitFor(
      'unpaused scales down',
      () => replicasOf(kc, ns, 'paused'),
      (n) => n === 1,
      30_000,
    );
    expect((await eventsOf('paused')).map((e) => e.reason)).toEqual(expect.arrayContaining(['Paused', 'Resumed']));
  });
});

describe('kubectl get hrp', () => {
  // Skipped (and reported as skipped) only against another cluster (HEADROOM_KUBECONFIG) with no
  // built kubectl. Decided when the file loads: on a fresh machine the control plane (and kubectl)
  // is built later, in beforeAll, so "no kubectl yet" must not skip it (a single-file run did).
  it.skipIf(!!process.env.HEADROOM_KUBECONFIG && !existsSync(KUBECTL))(
    'shows Ready and Reason for a yielding and an invalid policy',
    async () => {
      expect(existsSync(KUBECTL), `kubectl built with the control plane at ${KUBECTL}`).toBe(true);
      await createPolicy(policy('invalid', 'dup', { query: 'vector(1)' }, { replicas: { min: 5, max: 2 } }));
      await waitFor(
        'invalid reported',
        () => getPolicy('invalid'),
        (x) => ready(x.status)?.reason === 'InvalidPolicy',
        20_000,
      );
      const out = execFileSync(
        KUBECTL,
        [...freshKubectlCache(), '--kubeconfig', cluster.kubeconfig, '-n', ns, 'get', 'hrp'],
        {
          encoding: 'utf8',
        },
      );
      console.log(out);
      const lines = out.trim().split('\n');
      const header = lines[0]?.split(/\s+/) ?? [];
      expect(header.slice(0, 4)).toEqual(['NAME', 'TARGET', 'READY', 'REASON']);
      const row = (name: string) => lines.find((l) => l.startsWith(`${name} `))?.split(/\s+/);
      expect(row('dup-a')?.slice(1, 4)).toEqual(['dup', 'True', 'Active']);
      expect(row('dup-b')?.slice(1, 4)).toEqual(['dup', 'False', 'Conflict']);
      expect(row('invalid')?.slice(1, 4)).toEqual(['dup', 'False', 'InvalidPolicy']);
    },
  );
});
