// Benchmark: one reconcile round over 1,000 HeadroomPolicies against the REAL kube-apiserver
// (scripts/k8s-control-plane.sh) and a REAL Prometheus. Target: ≤ 5 s per round, scale writes only
// where the count changes. Reports API requests per round (by HTTP method).
// Run: flock /tmp/headroom-heavy.lock npm run bench -- bench/controller.ts [--policies 1000] [--concurrency 32]
//      [--profile cold.cpuprofile]
// Each round also reports the CPU seconds the apiserver, etcd, Prometheus and the controller used
// (from /proc): on a small machine they share the cores, so a round cannot be shorter than their sum
// divided by the core count.
//
// Targets are a custom resource with a scale subresource (no pods, so kube-controller-manager does
// not add load of its own); 1 policy in 10 sees 60 rps (→ 5 replicas), the rest 5 rps (→ 1).
// Rounds: 1 cold (no status yet: every status written), 2 steady (no scale writes; the policies
// scaled in round 1 write their new reasons once), 3 after 10 % of the targets were scaled by hand
// (only those are written back), 4 the round after (their status once more: reasons now "Steady"),
// 5 quiet (nothing written).
import {
  ApiextensionsV1Api,
  CoreV1Api,
  loadYaml,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { makeClients } from '../src/adapters/kubernetes/client.ts';
import { clockTicksPerSecond, readCpuTicks } from '../src/adapters/metrics/process/proc.ts';
import { PrometheusSource } from '../src/adapters/metrics/prometheus/index.ts';
import { Controller, type RoundStats } from '../src/controller/controller.ts';
import { GROUP, PLURAL, VERSION } from '../src/controller/crd.ts';
import { createNamespace, deleteNamespace, ensureCluster } from '../test/e2e/support/kube.ts';
import { startPrometheus } from '../test/e2e/support/prometheus.ts';

const { values } = parseArgs({
  options: {
    policies: { type: 'string', default: '1000' },
    concurrency: { type: 'string', default: '32' },
    /** Write a V8 CPU profile of the controller's cold round to this file (open in Chrome DevTools). */
    profile: { type: 'string' },
  },
});
const N = Number(values.policies);
const concurrency = Number(values.concurrency);
if (!Number.isInteger(N) || N < 1 || N > 10_000 || !Number.isInteger(concurrency) || concurrency < 1) {
  throw new Error('--policies 1..10000, --concurrency ≥ 1');
}

const TGROUP = 'bench.headroom.dev';
const TPLURAL = 'benchtargets';

async function applyTargetCrd(api: ApiextensionsV1Api): Promise<void> {
  const name = `${TPLURAL}.${TGROUP}`;
  const body = loadYaml<V1CustomResourceDefinition>(
    JSON.stringify({
      apiVersion: 'apiextensions.k8s.io/v1',
      kind: 'CustomResourceDefinition',
      metadata: { name },
      spec: {
        group: TGROUP,
        names: { kind: 'BenchTarget', plural: TPLURAL, singular: 'benchtarget', listKind: 'BenchTargetList' },
        scope: 'Namespaced',
        versions: [
          {
            name: 'v1',
            served: true,
            storage: true,
            subresources: {
              scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas' },
              status: {},
            },
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { replicas: { type: 'integer', minimum: 0 } } },
                  status: { type: 'object', properties: { replicas: { type: 'integer' } } },
                },
              },
            },
          },
        ],
      },
    }),
  );
  try {
    await api.readCustomResourceDefinition({ name });
  } catch {
    await api.createCustomResourceDefinition({ body });
  }
  for (let i = 0; i < 100; i++) {
    const crd = await api.readCustomResourceDefinition({ name });
    if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) return;
    await sleep(100);
  }
  throw new Error(`${name} not established`);
}

/** Run `fn` over 0..n-1, `width` at a time. */
async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/** CPU seconds (user + system) a process has used so far, from /proc (Linux; 0 if unknown). */
const cpuOf = (pid: number): number => (readCpuTicks(pid) ?? 0) / clockTicksPerSecond();
function pidsOf(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').map(Number);
  } catch {
    return [];
  }
}
const self = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

const cluster = await ensureCluster();
const watched = { apiserver: pidsOf('kube-apiserver'), etcd: pidsOf('bin/etcd') };
let promPids: number[] = [];
const sum = (pids: number[]): number => pids.reduce((s, p) => s + cpuOf(p), 0);
const cpuNow = (): Record<string, number> => ({
  apiserver: sum(watched.apiserver),
  etcd: sum(watched.etcd),
  prometheus: sum(promPids),
  controller: self(),
});
const kc = cluster.kc;
await applyTargetCrd(kc.makeApiClient(ApiextensionsV1Api));
/**
 * Wait until no bench namespace is left: deleting one (2,000 objects, by kube-controller-manager's
 * namespace controller) keeps the apiserver busy for a minute, and a round measured meanwhile is
 * measured on a busier machine.
 */
async function namespacesGone(maxS: number): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  const t0 = performance.now();
  for (;;) {
    const left = (await core.listNamespace()).items.filter((n) => n.metadata?.name?.startsWith('hr-bench-'));
    if (left.length === 0) return;
    if (performance.now() - t0 > maxS * 1000) {
      console.log(`still deleting after ${maxS} s: ${left.map((n) => n.metadata?.name).join(', ')}`);
      return;
    }
    await sleep(1000);
  }
}
await namespacesGone(300);
const ns = await createNamespace(kc, 'hr-bench');
const prom = await startPrometheus({});
promPids = pidsOf('prometheus --config.file');
// makeClients: one shared TLS connection pool (a plain makeApiClient opens a connection per request).
const custom = makeClients(kc).custom;
const hot = (i: number): boolean => i % 10 === 0;

try {
  const t0 = performance.now();
  await pool(N, 16, async (i) => {
    await custom.createNamespacedCustomObject({
      group: TGROUP,
      version: 'v1',
      namespace: ns,
      plural: TPLURAL,
      body: { apiVersion: `${TGROUP}/v1`, kind: 'BenchTarget', metadata: { name: `t${i}` }, spec: { replicas: 1 } },
    });
    await custom.createNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: ns,
      plural: PLURAL,
      body: {
        apiVersion: `${GROUP}/${VERSION}`,
        kind: 'HeadroomPolicy',
        metadata: { name: `p${i}` },
        spec: {
          scaleTargetRef: { apiVersion: `${TGROUP}/v1`, kind: 'BenchTarget', name: `t${i}` },
          intervalSeconds: 3600,
          service: {
            instance: { serviceTimeMs: 40, concurrency: 1 },
            targetUtilization: 0.5,
            replicas: { min: 1, max: 20 },
          },
          demand: { query: `vector(${hot(i) ? 60 : 5})` },
        },
      },
    });
  });
  console.log(`setup: ${N} targets + ${N} policies in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const clients = makeClients(kc);
  const controller = new Controller({
    clients,
    metrics: new PrometheusSource({ url: prom.url }),
    namespace: ns,
    leaderElection: false,
    manual: true,
    concurrency,
    // Rounds here follow each other closely; keep the periodic state refresh (default every 60 s per
    // policy, see docs/controller.md) out of the per-round write counts.
    stateRefreshMs: 3_600_000,
  });
  await controller.start();
  for (let i = 0; i < 100 && controller.policies().length < N; i++) await sleep(100);
  if (controller.policies().length !== N) throw new Error(`informer lists ${controller.policies().length} of ${N}`);

  const rows: Array<{
    round: string;
    stats: RoundStats;
    byMethod: Record<string, number>;
    cpu: Record<string, number>;
  }> = [];
  const round = async (name: string): Promise<RoundStats> => {
    const before = { ...clients.counter.byMethod };
    const cpu0 = cpuNow();
    const stats = await controller.reconcileAll();
    const cpu1 = cpuNow();
    const byMethod = Object.fromEntries(
      Object.entries(clients.counter.byMethod).map(([m, c]) => [m, c - (before[m] ?? 0)]),
    );
    const cpu = Object.fromEntries(Object.entries(cpu1).map(([k, v]) => [k, v - (cpu0[k] ?? 0)]));
    rows.push({ round: name, stats, byMethod, cpu });
    return stats;
  };
  let session: Session | undefined;
  if (values.profile) {
    session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
  }
  const cold = await round('1 cold (no status yet)');
  if (session && values.profile) {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(values.profile, JSON.stringify(profile));
    session.disconnect();
    console.log(`cold-round CPU profile: ${values.profile}`);
  }
  // Let the informer see our status writes before the steady round.
  await sleep(2000);
  const steady = await round('2 next round, demand unchanged');
  // Someone scales 10 % of the targets by hand: only those are written back.
  const touched = Math.ceil(N / 10);
  await pool(touched, 16, (k) =>
    custom.patchNamespacedCustomObjectScale(
      {
        group: TGROUP,
        version: 'v1',
        namespace: ns,
        plural: TPLURAL,
        name: `t${k * 10 + 1}`,
        body: { spec: { replicas: 7 } },
      },
      setHeaderOptions('Content-Type', 'application/merge-patch+json'),
    ),
  );
  await sleep(1000);
  const changed = await round(`3 after ${touched} targets were scaled by hand`);
  await sleep(1000);
  // The round after a scale writes its status once more (the core's reasons add "Steady");
  // the round after that writes nothing.
  await round('4 after the write-back');
  await sleep(1000);
  const quiet = await round('5 quiet');
  await controller.stop();

  console.log(`\n${N} policies, concurrency ${concurrency}, Node ${process.version}`);
  console.log(
    '| round | time (s) | scale writes | status writes | errors | API requests | by method | CPU s: apiserver / etcd / Prometheus / controller |',
  );
  console.log(
    '| ----- | -------: | -----------: | ------------: | -----: | -----------: | --------- | ------------------------------------------------- |',
  );
  for (const r of rows) {
    const m = Object.entries(r.byMethod)
      .filter(([, c]) => c > 0)
      .map(([k, c]) => `${k} ${c}`)
      .join(', ');
    const s = r.stats;
    console.log(
      `| ${r.round} | ${(s.ms / 1000).toFixed(2)} | ${s.scaled} | ${s.statusWrites} | ${s.errors} | ${s.apiRequests} | ${m} | ${[r.cpu.apiserver, r.cpu.etcd, r.cpu.prometheus, r.cpu.controller].map((c) => (c ?? 0).toFixed(1)).join(' / ')} |`,
    );
  }
  const expectHot = Math.ceil(N / 10);
  const ok = cold.scaled === expectHot && steady.scaled === 0 && changed.scaled === touched && quiet.scaled === 0;
  const yes = (b: boolean): string => (b ? 'yes' : 'NO');
  console.log(
    `\nscale writes only where the count changed: ${yes(ok)}; quiet round without status writes: ${yes(quiet.statusWrites === 0)}`,
  );
  console.log(
    `rounds ≤ 5 s: ${rows.map((r) => `${r.round.split(' ')[0] ?? ''} ${yes(r.stats.ms <= 5000)}`).join(', ')}`,
  );
  if (!ok) process.exitCode = 1;
} finally {
  await prom.dispose();
  await deleteNamespace(kc, ns);
  await namespacesGone(180);
}
