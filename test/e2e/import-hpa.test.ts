// `headroom import hpa` against a REAL kube-apiserver (scripts/k8s-control-plane.sh): the HPA of
// docs/controller.md's "Moving from the HPA" (examples/k8s/hpa.yaml) created next to its Deployment,
// imported live with the command the page shows, applied with kubectl against the installed CRD,
// and read back through the controller's own policy code with the capacity ConfigMap the page
// says to create. Also: a ServiceAccount without RBAC gets HR_KUBE_FORBIDDEN, a missing name
// HR_HPA_NOT_FOUND, and a broken policy is refused by the apiserver (the CRD check is real).
import { CoreV1Api, KubeConfig, type KubeConfig as Kc } from '@kubernetes/client-node';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { buildModel, type HeadroomPolicy } from '../../src/controller/policy.ts';
import { PROFILE_KIND } from '../../src/input/profile.ts';
import {
  createDeployment,
  createNamespace,
  deleteNamespace,
  ensureCluster,
  freshKubectlCache,
  KUBECTL,
  readPolicy,
  waitFor,
  type Cluster,
} from './support/kube.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/controller.md'), 'utf8');
const section = DOC.slice(
  DOC.indexOf('## Moving from the HPA'),
  DOC.indexOf('\n## ', DOC.indexOf('## Moving from the HPA') + 5),
);

let cluster: Cluster;
let kc: Kc;
let ns: string;
const dir = mkdtempSync(join(tmpdir(), 'hr-import-e2e-'));

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv = {},
  cwd = ROOT,
): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, {
    cwd,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfig, ...env },
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}
/** The page's `npm run -s headroom -- ...`. */
const headroom = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run('npm', ['run', '-s', 'headroom', '--', ...args], env);
const kubectl = (args: string[]) => run(existsSync(KUBECTL) ? KUBECTL : 'kubectl', [...freshKubectlCache(), ...args]);

/** A HeadroomPolicy as the apiserver stored it. */
const getPolicy = (name: string): Promise<HeadroomPolicy> => readPolicy(kc, ns, name);

beforeAll(async () => {
  cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-import');
}, 1_200_000);

afterAll(async () => {
  if (kc && ns) await deleteNamespace(kc, ns);
});

/** examples/k8s/hpa.yaml in NS; autoscaling/v2 is served from Kubernetes 1.23, v2beta2 (the same shape) before. */
function exampleHpa(apiVersion: string): Record<string, unknown> {
  const hpa = parse(readFileSync(join(ROOT, 'examples/k8s/hpa.yaml'), 'utf8')) as Record<string, unknown>;
  return { ...hpa, apiVersion, metadata: { ...(hpa.metadata as object), namespace: ns } };
}

async function servedAutoscaling(): Promise<string> {
  const groups = JSON.parse(kubectl(['get', '--raw', '/apis/autoscaling']).stdout) as {
    versions: { version: string }[];
  };
  const served = groups.versions.map((v) => v.version);
  return served.includes('v2') ? 'autoscaling/v2' : 'autoscaling/v2beta2';
}

const PROFILE = {
  kind: PROFILE_KIND,
  target: 'http://checkout/',
  measuredAt: '2026-12-01T00:00:00Z',
  slo: { latencyMs: 250, percentile: 99 },
  kneeRps: 180,
  serviceTimeMs: 40,
  concurrency: 8,
  steps: [],
};

describe('headroom import hpa against a real apiserver', () => {
  it('imports the live HPA as the page shows, and the apiserver accepts the policy against the CRD', async () => {
    for (const cmd of [
      'npm run -s headroom -- import hpa -n shop > policies.yaml',
      'npm run -s headroom -- import hpa -n shop -f examples/k8s/hpa.yaml',
      'kubectl apply -f policies.yaml',
      'kubectl get hrp checkout -n shop -o wide',
      'kubectl create configmap checkout-capacity -n shop --from-file=profile.json=checkout.profile.json',
      'kubectl get hpa checkout -n shop',
      'kubectl delete hpa checkout -n shop',
      `kubectl patch hrp checkout -n shop --type=merge -p '{"spec":{"mode":"active"}}'`,
    ]) {
      expect(section, `the section has \`${cmd}\``).toContain(cmd);
    }
    const apiVersion = await servedAutoscaling();
    await createDeployment(kc, ns, 'checkout', 2);
    writeFileSync(join(dir, 'hpa.yaml'), stringify(exampleHpa(apiVersion)));
    const created = kubectl(['apply', '-f', join(dir, 'hpa.yaml')]);
    expect(created.status, created.stderr).toBe(0);

    // `npm run -s headroom -- import hpa -n shop > policies.yaml`, with this test's namespace.
    const live = headroom(['import', 'hpa', '-n', ns]);
    expect(live.status, live.stderr).toBe(0);
    writeFileSync(join(dir, 'policies.yaml'), live.stdout);
    expect(live.stderr).toContain(
      `${apiVersion} HorizontalPodAutoscaler ${ns}/checkout → HeadroomPolicy ${ns}/checkout (mode: shadow)`,
    );
    // The memory target is named, on stderr and in the policy.
    expect(live.stderr).toMatch(
      new RegExp(
        `HR_HPA_UNMAPPED autoscaling/v2\\w* HorizontalPodAutoscaler ${ns}/checkout: spec\\.metrics\\[\\d\\]: Resource metric memory \\(target 80 %\\) is not mapped`,
      ),
    );
    // (a 1.20 apiserver keeps HPAs as autoscaling/v1 with the other metrics in an annotation, and
    // gives them back before the CPU one: memory may be metrics[0])
    expect(live.stdout).toMatch(/# NOT MAPPED[^\n]*\n#\s+HR_HPA_UNMAPPED spec\.metrics\[\d\]: Resource metric memory/);
    expect(live.stderr).toMatch(/Fill in before mode: active/);
    const docs = parseAllDocuments(live.stdout);
    if (!Array.isArray(docs)) throw new Error('no YAML documents');
    expect(docs).toHaveLength(1);
    const policy = docs[0]?.toJS() as HeadroomPolicy;
    expect(policy.metadata).toMatchObject({ name: 'checkout', namespace: ns });
    expect(policy.spec.mode).toBe('shadow');
    expect(policy.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: 'checkout' });
    expect(policy.spec.demand.query).toBe(
      `sum(rate(http_requests_total{namespace="${ns}",pod=~"checkout-[a-z0-9]+-[a-z0-9]+"}[1m]))`,
    );

    // The same model as importing the file (the apiserver adds the behavior defaults, the HPA's and
    // Headroom's alike, so the specs may differ in spelling, not in meaning).
    const fromFile = headroom(['import', 'hpa', '-n', ns, '-f', 'examples/k8s/hpa.yaml']);
    expect(fromFile.status, fromFile.stderr).toBe(0);
    const filePolicy = parse(fromFile.stdout) as HeadroomPolicy;
    expect(buildModel(policy, JSON.stringify(PROFILE))).toEqual(buildModel(filePolicy, JSON.stringify(PROFILE)));

    // `kubectl apply -f policies.yaml`: validated by the apiserver against the installed CRD.
    const applied = kubectl(['apply', '-f', join(dir, 'policies.yaml')]);
    expect(applied.status, applied.stderr).toBe(0);
    expect(applied.stdout).toContain('headroompolicy.headroom.dev/checkout created');
    const got = kubectl(['get', 'hrp', 'checkout', '-n', ns, '-o', 'wide']);
    expect(got.status, got.stderr).toBe(0);
    expect(got.stdout).toMatch(/^NAME\s+TARGET\s+READY\s+REASON\s+MODE/);
    expect(got.stdout).toMatch(/checkout\s+checkout\s+.*shadow/);

    // The capacity the page says to give: the ConfigMap, then the controller's own parser.
    writeFileSync(join(dir, 'checkout.profile.json'), JSON.stringify(PROFILE));
    // Run where the profile is, as a user would after `headroom loadtest --profile checkout.profile.json`.
    const cm = run(
      existsSync(KUBECTL) ? KUBECTL : 'kubectl',
      [
        ...freshKubectlCache(),
        'create',
        'configmap',
        'checkout-capacity',
        '-n',
        ns,
        '--from-file=profile.json=checkout.profile.json',
      ],
      {},
      dir,
    );
    expect(cm.status, cm.stderr).toBe(0);
    const stored = await getPolicy('checkout');
    const configMap = await kc
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'checkout-capacity', namespace: ns });
    const model = buildModel(stored, configMap.data?.['profile.json']);
    expect(model).toMatchObject({
      targetUtilization: 0.6,
      replicas: { min: 2, max: 40 },
      instance: { serviceTimeMs: 40, concurrency: 8 },
    });
    expect(model.behavior.scaleDown).toMatchObject({
      stabilizationSeconds: 600,
      policies: [{ type: 'percent', value: 20, periodSeconds: 60 }],
    });
    // Held in full in quiet phases and after falls too, as the HPA held it: the field survived the CRD's pruning.
    expect(model.behavior.forecast).toEqual({ enabled: true, quietPhase: false, historySeconds: 8 * 86400 });

    // The hand-over, as the page shows it (the names test below needs the HPA: it is re-created).
    expect(kubectl(['get', 'hpa', 'checkout', '-n', ns]).stdout).toMatch(/^NAME\s+REFERENCE/);
    const deleted = kubectl(['delete', 'hpa', 'checkout', '-n', ns]);
    expect(deleted.status, deleted.stderr).toBe(0);
    const patched = kubectl(['patch', 'hrp', 'checkout', '-n', ns, '--type=merge', '-p', '{"spec":{"mode":"active"}}']);
    expect(patched.status, patched.stderr).toBe(0);
    const active = await getPolicy('checkout');
    expect(active.spec.mode).toBe('active');
    expect(kubectl(['apply', '-f', join(dir, 'hpa.yaml')]).status).toBe(0);
  });

  it('the CRD check is real: a policy the schema forbids is refused', () => {
    const broken = readFileSync(join(dir, 'policies.yaml'), 'utf8')
      .replace('  mode: shadow #', '  mode: sideways #')
      .replace('name: checkout\n', 'name: broken\n');
    writeFileSync(join(dir, 'broken.yaml'), broken);
    const r = kubectl(['apply', '-f', join(dir, 'broken.yaml')]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/spec\.mode/);
  });

  it('names: one HPA by name; a missing one is HR_HPA_NOT_FOUND; an empty namespace too', async () => {
    const one = headroom(['import', 'hpa', 'checkout', '-n', ns]);
    expect(one.status, one.stderr).toBe(0);
    expect((parse(one.stdout) as HeadroomPolicy).metadata.name).toBe('checkout');
    const missing = headroom(['import', 'hpa', 'checkout', 'nope', '-n', ns]);
    expect(missing.status).toBe(2);
    expect(missing.stdout).toBe('');
    expect(missing.stderr).toMatch(
      new RegExp(`^HR_HPA_NOT_FOUND .*: ${ns}/nope: no HorizontalPodAutoscaler nope in namespace ${ns}`),
    );
    const empty = await createNamespace(kc, 'hr-import-empty');
    try {
      const none = headroom(['import', 'hpa', '-n', empty]);
      expect(none.status).toBe(2);
      expect(none.stderr).toMatch(new RegExp(`^HR_HPA_NOT_FOUND .*no HorizontalPodAutoscalers in namespace ${empty}`));
    } finally {
      await deleteNamespace(kc, empty);
    }
    // -A lists every namespace: this test's HPA is among them.
    const all = headroom(['import', 'hpa', '-A']);
    expect(all.status, all.stderr).toBe(0);
    expect(all.stderr).toContain(`HorizontalPodAutoscaler ${ns}/checkout →`);
  });

  it('a ServiceAccount without RBAC: HR_KUBE_FORBIDDEN with the apiserver’s message, nothing on stdout', async () => {
    const core = kc.makeApiClient(CoreV1Api);
    // Kubernetes 1.20: the token controller writes the default ServiceAccount's token Secret.
    const sa = await waitFor(
      'default ServiceAccount token',
      () => core.readNamespacedServiceAccount({ name: 'default', namespace: ns }),
      (s) => (s.secrets?.length ?? 0) > 0,
      30_000,
    );
    const secret = await core.readNamespacedSecret({ name: sa.secrets?.[0]?.name ?? '', namespace: ns });
    const token = Buffer.from(secret.data?.token ?? '', 'base64').toString();
    const c = kc.getCurrentCluster();
    if (!c) throw new Error('no cluster');
    const saKc = new KubeConfig();
    saKc.loadFromOptions({
      clusters: [c],
      users: [{ name: 'sa', token }],
      contexts: [{ name: 'sa', cluster: c.name, user: 'sa', namespace: ns }],
      currentContext: 'sa',
    });
    const file = join(dir, 'sa.kubeconfig');
    writeFileSync(file, saKc.exportConfig());
    const r = headroom(['import', 'hpa', '--kubeconfig', file]);
    expect(r.status).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(
        `^HR_KUBE_FORBIDDEN .*LIST autoscaling/v2\\w* horizontalpodautoscalers in ${ns}: HTTP 403: .*forbidden`,
      ),
    );
  });
});
