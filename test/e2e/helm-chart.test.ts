// The Helm chart deploy/helm/headroom, rendered by scripts/helm-template (Go's text/template — the
// engine Helm runs — with the Helm/sprig functions the chart uses; there is no `helm` binary on
// this machine), then checked against the plain manifests and dry-run on a REAL kube-apiserver.
import {
  CoordinationV1Api,
  CoreV1Api,
  KubeConfig,
  KubernetesObjectApi,
  type KubernetesObject,
  type V1Container,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebs } from './support/debs.ts';
import { createNamespace, deleteNamespace, ensureCluster, waitFor } from './support/kube.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHART = join(ROOT, 'deploy/helm/headroom');

interface Rule {
  apiGroups: string[];
  resources: string[];
  resourceNames?: string[];
  verbs: string[];
}
type Obj = KubernetesObject & {
  rules?: Rule[];
  roleRef?: { kind: string; name: string };
  subjects?: Array<{ kind: string; name: string; namespace?: string }>;
  spec?: Record<string, unknown>;
};

/** Build the renderer once per source version (Debian's golang-go, stdlib only), cached. */
function renderer(): string {
  const src = join(ROOT, 'scripts/helm-template/main.go');
  const hash = createHash('sha256').update(readFileSync(src)).digest('hex').slice(0, 12);
  const bin = join(homedir(), '.cache/headroom/helm-template', `helm-template-${hash}`);
  if (!existsSync(bin)) {
    ensureDebs(['golang-go']);
    mkdirSync(dirname(bin), { recursive: true });
    execFileSync('go', ['build', '-o', bin, src], {
      cwd: dirname(src),
      env: { ...process.env, GO111MODULE: 'off' },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 300_000,
    });
  }
  return bin;
}

function merge(base: unknown, over: unknown): unknown {
  if (typeof base !== 'object' || base === null || Array.isArray(base)) return over;
  if (typeof over !== 'object' || over === null || Array.isArray(over)) return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = merge(out[k], v);
  return out;
}

let bin: string;
/** `helm template NAME CHART --namespace NS -f overrides`: the rendered objects. */
function render(name: string, namespace: string, overrides: Record<string, unknown> = {}): Obj[] {
  const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Record<string, string>;
  const values = merge(parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')), overrides);
  const ctx = {
    Values: values,
    Release: { Name: name, Namespace: namespace, Service: 'Helm', IsInstall: true, IsUpgrade: false, Revision: 1 },
    Chart: { Name: chart.name, Version: chart.version, AppVersion: chart.appVersion, Description: chart.description },
  };
  const out = execFileSync(bin, [CHART], { input: JSON.stringify(ctx), encoding: 'utf8' });
  return parseAllDocuments(out)
    .map((d) => {
      if (d.errors.length) throw new Error(`rendered YAML: ${d.errors[0]?.message}\n${out}`);
      return d.toJS() as Obj | null;
    })
    .filter((o): o is Obj => o !== null);
}

const manifests = (): Obj[] =>
  parseAllDocuments(readFileSync(join(ROOT, 'deploy/manifests/rbac.yaml'), 'utf8')).map((d) => d.toJS() as Obj);
const one = (objs: Obj[], kind: string, suffix = ''): Obj => {
  const o = objs.find((x) => x.kind === kind && (x.metadata?.name ?? '').endsWith(suffix));
  if (!o) throw new Error(`no ${kind}${suffix ? ` *${suffix}` : ''} in ${objs.map((x) => x.kind).join(', ')}`);
  return o;
};
const sortedRules = (rules: Rule[] = []): string[] =>
  rules
    .map((r) =>
      JSON.stringify([r.apiGroups, [...r.resources].sort(), [...(r.resourceNames ?? [])].sort(), [...r.verbs].sort()]),
    )
    .sort();
const container = (d: Obj): { args: string[]; resources: unknown } =>
  ((d.spec?.template as { spec: { containers: Array<{ args: string[]; resources: unknown }> } }).spec.containers[0] ?? {
    args: [],
    resources: undefined,
  }) as { args: string[]; resources: unknown };

const podSpec = (d: Obj): V1PodSpec => (d.spec?.template as { spec: V1PodSpec }).spec;
const leaseRule = (objs: Obj[]): Rule | undefined =>
  one(objs, 'Role', '-leader-election').rules?.find((r) => r.resourceNames);

let kc: KubeConfig;
let ns: string;
const namespaces: string[] = [];
const procs: ChildProcess[] = [];
const dirs: string[] = [];

beforeAll(async () => {
  bin = renderer();
  const cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-helm');
  namespaces.push(ns);
}, 1_200_000);

afterAll(async () => {
  for (const p of procs) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    p.kill('SIGTERM');
    await new Promise((resolve) => {
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        resolve(undefined);
      }, 10_000);
      p.once('exit', () => {
        clearTimeout(t);
        resolve(undefined);
      });
    });
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  if (kc) for (const n of namespaces) await deleteNamespace(kc, n);
});

/**
 * What the kubelet would run for the rendered Deployment, as a local process: `headroom controller`
 * with the container's args, authenticated as the pod's ServiceAccount (its token Secret), its env
 * (fieldRef namespace, secretKeyRef and configMap volumes read from the apiserver, `$(VAR)`
 * expanded), mounts in a temp dir, `--metrics-port=0` and KUBERNETES_SERVICE_HOST set as in a pod
 * (so it listens on 0.0.0.0). Resolves once it logs "controller starting".
 */
async function runPod(
  dep: Obj,
): Promise<{ port: number; identity: string; dashboard: string | false; receivers: number; output: () => string }> {
  const core = kc.makeApiClient(CoreV1Api);
  const namespace = dep.metadata?.namespace ?? '';
  const pod = podSpec(dep);
  const c = pod.containers[0] as V1Container;
  const dir = mkdtempSync(join(tmpdir(), 'hr-helm-pod-'));
  dirs.push(dir);
  // The ServiceAccount's token (Kubernetes 1.20: the token controller writes it into a Secret).
  const sa = await waitFor(
    'ServiceAccount token',
    () => core.readNamespacedServiceAccount({ name: pod.serviceAccountName ?? 'default', namespace }),
    (x) => (x.secrets?.length ?? 0) > 0,
    30_000,
  );
  const secret = await core.readNamespacedSecret({ name: sa.secrets?.[0]?.name ?? '', namespace });
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new Error('no cluster');
  const saKc = new KubeConfig();
  saKc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'sa', token: Buffer.from(secret.data?.token ?? '', 'base64').toString() }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
    currentContext: 'sa',
  });
  writeFileSync(join(dir, 'kubeconfig'), saKc.exportConfig());

  const env: Record<string, string> = {};
  for (const e of c.env ?? []) {
    const from = e.valueFrom;
    if (from?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (from?.secretKeyRef) {
      const s = await core.readNamespacedSecret({ name: from.secretKeyRef.name ?? '', namespace });
      env[e.name] = Buffer.from(s.data?.[from.secretKeyRef.key] ?? '', 'base64').toString();
    } else if (from) throw new Error(`env ${e.name}: unsupported valueFrom`);
    else env[e.name] = e.value ?? '';
  }
  const mounts: Array<[string, string]> = [];
  for (const m of c.volumeMounts ?? []) {
    const vol = (pod.volumes ?? []).find((v) => v.name === m.name);
    if (!vol?.configMap) throw new Error(`volume ${m.name}: only configMap volumes here`);
    const cm = await core.readNamespacedConfigMap({ name: vol.configMap.name ?? '', namespace });
    const local = join(dir, m.name);
    mkdirSync(local, { recursive: true });
    const items = vol.configMap.items ?? Object.keys(cm.data ?? {}).map((key) => ({ key, path: key }));
    for (const it of items) writeFileSync(join(local, it.path), cm.data?.[it.key] ?? '');
    mounts.push([m.mountPath, local]);
  }
  const args = (c.args ?? []).map((a) => {
    let out = a.replace(/\$\((\w+)\)/g, (_, v: string) => env[v] ?? `$(${v})`);
    for (const [from, to] of mounts) out = out.replace(`=${from}/`, `=${to}/`);
    return out.startsWith('--metrics-port=') ? '--metrics-port=0' : out;
  });
  const proc = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args, `--kubeconfig=${join(dir, 'kubeconfig')}`],
    { cwd: ROOT, env: { ...process.env, HEADROOM_TOKEN: '', KUBERNETES_SERVICE_HOST: '10.96.0.1', ...env } },
  );
  procs.push(proc);
  let out = '';
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not start:\n${out}`)), 60_000);
    proc.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const line = out.split('\n').find((l) => l.includes('"controller starting"'));
      if (!line) return;
      clearTimeout(timer);
      const j = JSON.parse(line) as { port: number; identity: string; dashboard: string | false; receivers: number };
      resolve({ ...j, output: () => out });
    });
    proc.on('exit', (code) => reject(new Error(`controller exited ${code}:\n${out}`)));
  });
}

describe('deploy/helm/headroom', () => {
  it('default values: the same least-privilege RBAC as deploy/manifests, a leader-electing Deployment', () => {
    const objs = render('hr', 'ops');
    expect(objs.map((o) => o.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
    const plain = manifests();
    expect(sortedRules(one(objs, 'ClusterRole').rules)).toEqual(sortedRules(one(plain, 'ClusterRole').rules));
    // The leader-election Role names the release's Lease; otherwise the same rules as the manifests'.
    const leaseRole = one(objs, 'Role', '-leader-election');
    const plainLease = one(plain, 'Role', '-leader-election');
    const renamed = (plainLease.rules ?? []).map((r) =>
      r.resourceNames ? { ...r, resourceNames: r.resourceNames.map(() => 'hr-controller') } : r,
    );
    expect(sortedRules(leaseRole.rules)).toEqual(sortedRules(renamed));

    const sa = one(objs, 'ServiceAccount');
    const dep = one(objs, 'Deployment');
    expect(sa.metadata?.namespace).toBe('ops');
    expect((dep.spec?.template as { spec: { serviceAccountName: string } }).spec.serviceAccountName).toBe(
      sa.metadata?.name,
    );
    expect(one(objs, 'ClusterRoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: sa.metadata?.name, namespace: 'ops' },
    ]);
    expect(dep.spec?.replicas).toBe(2);
    const { args, resources } = container(dep);
    expect(args).toEqual(
      expect.arrayContaining(['--leader-elect', '--lease-name=hr-controller', '--lease-duration=15']),
    );
    // The image is the chart's appVersion; no token, no alerts file, no volumes.
    const chart = parse(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as { appVersion: string };
    expect(podSpec(dep).containers[0]?.image).toBe(`headroom:${chart.appVersion}`);
    expect(podSpec(dep).containers[0]?.env?.map((e) => e.name)).toEqual(['POD_NAMESPACE']);
    expect(args.some((a) => a.startsWith('--alerts'))).toBe(false);
    expect(podSpec(dep).volumes).toBeUndefined();
    // A release named "headroom" gets the names of deploy/manifests, its Lease included.
    const named = render('headroom', 'headroom');
    for (const kind of ['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'RoleBinding'])
      expect(one(named, kind).metadata?.name).toBe(one(plain, kind).metadata?.name);
    expect(one(named, 'Deployment').metadata?.name).toBe('headroom-controller');
    expect(leaseRule(named)?.resourceNames).toEqual(leaseRule(plain)?.resourceNames);
    expect(args.some((a) => a.startsWith('--namespace='))).toBe(false);
    expect(resources).toEqual({ requests: { cpu: '50m', memory: '96Mi' }, limits: { memory: '256Mi' } });
    // The Service and the Deployment's selector find the pods.
    const podLabels = (dep.spec?.template as { metadata: { labels: Record<string, string> } }).metadata.labels;
    const selector = (dep.spec?.selector as { matchLabels: Record<string, string> }).matchLabels;
    expect(podLabels).toMatchObject(selector);
    expect(podLabels).toMatchObject((one(objs, 'Service').spec?.selector ?? {}) as Record<string, string>);
  });

  it('one namespace, extra scale targets, no leader election: a Role, the extra rule, the flags', () => {
    const objs = render('edge', 'ops', {
      watchNamespace: 'apps',
      extraScaleTargets: [{ apiGroup: 'example.com', resources: ['widgets/scale'] }],
      leaderElection: { enabled: false },
      replicaCount: 1,
      nodeSelector: { 'kubernetes.io/os': 'linux' },
    });
    expect(objs.map((o) => o.kind).sort()).toEqual(['Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount']);
    const role = one(objs, 'Role');
    expect(role.metadata?.namespace).toBe('apps');
    expect(role.rules).toContainEqual({
      apiGroups: ['example.com'],
      resources: ['widgets/scale'],
      verbs: ['get', 'patch'],
    });
    expect(one(objs, 'RoleBinding').roleRef).toMatchObject({ kind: 'Role', name: role.metadata?.name });
    const dep = one(objs, 'Deployment');
    const { args } = container(dep);
    expect(args).toContain('--namespace=apps');
    expect(args).not.toContain('--leader-elect');
    expect((dep.spec?.template as { spec: { nodeSelector?: unknown } }).spec.nodeSelector).toEqual({
      'kubernetes.io/os': 'linux',
    });
  });

  it('two releases in one namespace: each its own Lease, named in its own leader-election Role', () => {
    const a = render('team-a', 'ops', { watchNamespace: 'apps-a' });
    const b = render('team-b', 'ops', { watchNamespace: 'apps-b' });
    const leaseOf = (objs: Obj[]): string | undefined =>
      container(one(objs, 'Deployment'))
        .args.find((x) => x.startsWith('--lease-name='))
        ?.slice('--lease-name='.length);
    expect(leaseOf(a)).toBe('team-a-controller');
    expect(leaseOf(b)).toBe('team-b-controller');
    expect(leaseRule(a)?.resourceNames).toEqual(['team-a-controller']);
    expect(leaseRule(b)?.resourceNames).toEqual(['team-b-controller']);
    // No object of one release has the name of the other's in the same namespace.
    const key = (o: Obj): string => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
    const names = new Set(a.map(key));
    expect(b.filter((o) => names.has(key(o)))).toEqual([]);
    // An explicit name still wins, in the flag and in the Role.
    const fixed = render('team-a', 'ops', { leaderElection: { leaseName: 'my-lease' } });
    expect(leaseOf(fixed)).toBe('my-lease');
    expect(leaseRule(fixed)?.resourceNames).toEqual(['my-lease']);
  });

  it('Helm user values: token Secret, alerts ConfigMap, extra env/args/volumes, existing ServiceAccount, no RBAC', () => {
    const objs = render('hr', 'ops', {
      image: { tag: '1.2.3' },
      dashboard: { tokenSecret: { name: 'hr-token', key: 'tok' } },
      alerts: { config: { receivers: [{ name: 'hook', webhook: { url: 'https://hooks.example.com/x' } }] } },
      extraEnv: [{ name: 'HEADROOM_SLACK_URL', valueFrom: { secretKeyRef: { name: 'slack', key: 'url' } } }],
      extraArgs: ['--metrics-host=0.0.0.0'],
      extraVolumes: [{ name: 'hook', secret: { secretName: 'hook' } }],
      extraVolumeMounts: [{ name: 'hook', mountPath: '/var/run/secrets/hook', readOnly: true }],
      serviceAccount: { create: false, name: 'platform-sa' },
      rbac: { create: false },
    });
    expect(objs.map((o) => o.kind).sort()).toEqual(['ConfigMap', 'Deployment', 'Service']);
    const dep = one(objs, 'Deployment');
    const pod = podSpec(dep);
    const c = pod.containers[0] as V1Container;
    expect(c.image).toBe('headroom:1.2.3');
    expect(pod.serviceAccountName).toBe('platform-sa');
    expect(c.env).toEqual([
      { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'HEADROOM_TOKEN', valueFrom: { secretKeyRef: { name: 'hr-token', key: 'tok' } } },
      { name: 'HEADROOM_SLACK_URL', valueFrom: { secretKeyRef: { name: 'slack', key: 'url' } } },
    ]);
    expect(c.args?.slice(-2)).toEqual(['--alerts=/etc/headroom/alerts/alerts.yaml', '--metrics-host=0.0.0.0']);
    expect(c.volumeMounts).toEqual([
      { name: 'alerts', mountPath: '/etc/headroom/alerts', readOnly: true },
      { name: 'hook', mountPath: '/var/run/secrets/hook', readOnly: true },
    ]);
    const cm = one(objs, 'ConfigMap') as Obj & { data: Record<string, string> };
    expect(pod.volumes).toEqual([
      {
        name: 'alerts',
        configMap: { name: cm.metadata?.name, items: [{ key: 'alerts.yaml', path: 'alerts.yaml' }] },
      },
      { name: 'hook', secret: { secretName: 'hook' } },
    ]);
    // The ConfigMap holds a whole alerts file: the alerts: section given.
    expect(parse(cm.data['alerts.yaml'] ?? '')).toEqual({
      alerts: { receivers: [{ name: 'hook', webhook: { url: 'https://hooks.example.com/x' } }] },
    });
    const annotations = (dep.spec?.template as { metadata: { annotations: Record<string, string> } }).metadata
      .annotations;
    expect(annotations['checksum/alerts']).toMatch(/^[0-9a-f]{64}$/);

    // An existing ConfigMap (its own key) instead: no ConfigMap rendered; dashboard off.
    const own = render('hr', 'ops', {
      alerts: { configMap: { name: 'team-alerts', key: 'headroom.yaml' } },
      dashboard: { enabled: false },
    });
    expect(own.map((o) => o.kind)).not.toContain('ConfigMap');
    const ownPod = podSpec(one(own, 'Deployment'));
    expect(ownPod.volumes).toEqual([
      { name: 'alerts', configMap: { name: 'team-alerts', items: [{ key: 'headroom.yaml', path: 'alerts.yaml' }] } },
    ]);
    expect(ownPod.containers[0]?.args).toEqual(
      expect.arrayContaining(['--no-dashboard', '--alerts=/etc/headroom/alerts/alerts.yaml']),
    );
    // serviceAccount.create false without a name: the namespace's default ServiceAccount.
    const dflt = render('hr', 'ops', { serviceAccount: { create: false } });
    expect(podSpec(one(dflt, 'Deployment')).serviceAccountName).toBe('default');
    expect(one(dflt, 'ClusterRoleBinding').subjects).toEqual([
      { kind: 'ServiceAccount', name: 'default', namespace: 'ops' },
    ]);
  });

  it('a 53-character release name (Helm’s longest): every name fits and the apiserver accepts every object', async () => {
    const release = `hr${'x'.repeat(50)}1`;
    expect(release).toHaveLength(53);
    const objs = render(release, ns, {
      alerts: { config: { rules: [{ name: 'HeadroomCannotFit', enabled: false }] } },
      dashboard: { tokenSecret: { name: 'hr-token' } },
    });
    expect(objs.map((o) => o.kind)).toContain('ConfigMap');
    // The release's full name (Deployment, ServiceAccount, Lease) and the metrics Service name are
    // DNS labels: at most 63 characters (the Service was 72 before: refused).
    const full = one(objs, 'Deployment').metadata?.name ?? '';
    expect(full).toBe(`${release.slice(0, 52)}-controller`);
    expect(container(one(objs, 'Deployment')).args).toContain(`--lease-name=${full}`);
    expect(leaseRule(objs)?.resourceNames).toEqual([full]);
    expect(one(objs, 'Service').metadata?.name?.length).toBeLessThanOrEqual(63);
    expect(one(objs, 'Service').metadata?.name).toMatch(/-metrics$/);
    const api = KubernetesObjectApi.makeApiClient(kc);
    for (const o of objs) {
      const created = await api.create(o, undefined, 'All');
      expect(created.metadata?.name).toBe(o.metadata?.name);
    }
    // The Helm user values' objects pass too.
    for (const o of render('hr', ns, {
      alerts: { configMap: { name: 'team-alerts' } },
      extraEnv: [{ name: 'A', value: 'b' }],
      extraArgs: ['--log-level=debug'],
      extraVolumes: [{ name: 'hook', secret: { secretName: 'hook' } }],
      extraVolumeMounts: [{ name: 'hook', mountPath: '/var/run/secrets/hook' }],
      serviceAccount: { create: false, name: 'platform-sa' },
      rbac: { create: false },
    }))
      await api.create(o, undefined, 'All');
  });

  it('two releases in one namespace, each run as its pod would be: both lead their own Lease; the token Secret turns /api/status on and the alerts ConfigMap is loaded', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    const api = KubernetesObjectApi.makeApiClient(kc);
    const watchA = await createNamespace(kc, 'hr-helm-a');
    namespaces.push(watchA);
    const watchB = await createNamespace(kc, 'hr-helm-b');
    namespaces.push(watchB);
    const TOKEN = 'helm-chart-e2e-token-0123456789';
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'hr-token' }, stringData: { token: TOKEN } },
    });
    const a = render('team-a', ns, {
      watchNamespace: watchA,
      dashboard: { tokenSecret: { name: 'hr-token' } },
      alerts: { config: { receivers: [{ name: 'hook', webhook: { url: 'http://127.0.0.1:9/hook' } }] } },
      extraEnv: [{ name: 'HEADROOM_E2E', value: '1' }],
    });
    const b = render('team-b', ns, { watchNamespace: watchB });
    // Everything but the Deployments (no kubelet here): this test runs their pods itself.
    for (const o of [...a, ...b]) if (o.kind !== 'Deployment') await api.create(o);
    const [ca, cb] = [await runPod(one(a, 'Deployment')), await runPod(one(b, 'Deployment'))];

    const coord = kc.makeApiClient(CoordinationV1Api);
    for (const [name, ctl] of [
      ['team-a-controller', ca],
      ['team-b-controller', cb],
    ] as const) {
      const lease = await waitFor(
        `Lease ${name}`,
        () => coord.readNamespacedLease({ name, namespace: ns }),
        (l) => l.spec?.holderIdentity === ctl.identity,
        30_000,
      );
      expect(lease.spec?.holderIdentity).toBe(ctl.identity);
    }
    expect(ca.identity).not.toBe(cb.identity);

    // Release a: the token from its Secret turns the dashboard on; the alerts file has its receiver.
    expect(ca.dashboard).not.toBe(false);
    expect(ca.receivers).toBe(1);
    const status = async (port: number, token?: string): Promise<number> =>
      (
        await fetch(`http://127.0.0.1:${port}/api/status`, {
          headers: token ? { authorization: `Bearer ${token}` } : {},
        })
      ).status;
    expect(await status(ca.port, TOKEN)).toBe(200);
    expect(await status(ca.port)).toBe(401);
    // Release b: no token in a pod, so the dashboard and /api/status stay off; the probes answer.
    expect(cb.dashboard).toBe(false);
    expect(cb.receivers).toBe(0);
    expect(await status(cb.port, TOKEN)).not.toBe(200);
    expect((await fetch(`http://127.0.0.1:${cb.port}/healthz`)).status).toBe(200);
  });

  it('the rendered objects pass a server-side dry run on the real apiserver; a bad value is rejected', async () => {
    const api = KubernetesObjectApi.makeApiClient(kc);
    // The chart's CRD is the generated one (test/controller/policy.test.ts) and is installed by ensureCluster.
    for (const o of render('hr', ns)) {
      const created = await api.create(o, undefined, 'All');
      expect(created.metadata?.name).toBe(o.metadata?.name);
    }
    // Nothing was persisted.
    const listed = await api.list('apps/v1', 'Deployment', ns);
    expect(listed.items).toHaveLength(0);
    // The dry run does validate: a negative replica count is refused (HTTP 422).
    const bad = one(render('hr', ns, { replicaCount: -1 }), 'Deployment');
    await expect(api.create(bad, undefined, 'All')).rejects.toMatchObject({ code: 422 });
  });
});
