// The Helm chart deploy/helm/headroom, rendered by scripts/helm-template (Go's text/template — the
// engine Helm runs — with the Helm/sprig functions the chart uses; there is no `helm` binary on
// this machine), then checked against the plain manifests and dry-run on a REAL kube-apiserver.
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDebs } from './support/debs.ts';
import { createNamespace, deleteNamespace, ensureCluster } from './support/kube.ts';

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

let kc: KubeConfig;
let ns: string;

beforeAll(async () => {
  bin = renderer();
  const cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-helm');
}, 1_200_000);

afterAll(async () => {
  if (kc && ns) await deleteNamespace(kc, ns);
});

describe('deploy/helm/headroom', () => {
  it('default values: the same least-privilege RBAC as deploy/manifests, a leader-electing Deployment', () => {
    const objs = render('hr', 'ops');
    expect(objs.map((o) => o.kind).sort()).toEqual(
      ['ClusterRole', 'ClusterRoleBinding', 'Deployment', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'].sort(),
    );
    const plain = manifests();
    expect(sortedRules(one(objs, 'ClusterRole').rules)).toEqual(sortedRules(one(plain, 'ClusterRole').rules));
    // The leader-election Role names the chart's Lease; otherwise the same rules as the manifests'.
    const leaseRole = one(objs, 'Role', '-leader-election');
    const plainLease = one(plain, 'Role', '-leader-election');
    const renamed = (plainLease.rules ?? []).map((r) =>
      r.resourceNames ? { ...r, resourceNames: r.resourceNames.map(() => 'headroom-controller') } : r,
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
      expect.arrayContaining(['--leader-elect', '--lease-name=headroom-controller', '--lease-duration=15']),
    );
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
