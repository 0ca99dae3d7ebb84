// docs/controller.md's quick start, step by step, on the local control plane (issue 18 item 9):
// the same files (examples/k8s/) and commands (kubectl apply, `npm run -s headroom -- controller`,
// kubectl get hrp), with a real Prometheus and the real example service.
//
// What cannot run here is replaced as close to the real thing as possible:
//   - no image build and no kubelet: a stand-in marks the example pods Ready, and the example
//     service runs as a local process (examples/service.ts with the Deployment's args);
//   - Debian's Prometheus has no Kubernetes discovery: it scrapes that process with the pod's
//     metadata as static labels, through the job's own relabel_configs from examples/k8s/prometheus.yml,
//     so the `app` label the policy selects on comes from the shipped relabeling.
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';
import {
  createNamespace,
  deleteNamespace,
  ensureCluster,
  freshKubectlCache,
  KUBECTL,
  replicasOf,
  standInKubelet,
  waitFor,
  type Cluster,
} from './support/kube.ts';
import { driveLoad, freePort, startPrometheus, type Prometheus } from './support/prometheus.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/controller.md'), 'utf8');
const quickStart = DOC.slice(DOC.indexOf('## Quick start'), DOC.indexOf('## Usage'));

let cluster: Cluster;
let kc: KubeConfig;
let ns: string;
let prom: Prometheus | undefined;
const children: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

function kubectl(args: string[]): string {
  // The control plane's own kubectl (or the one on PATH for HEADROOM_KUBECONFIG).
  const bin = existsSync(KUBECTL) ? KUBECTL : 'kubectl';
  return execFileSync(bin, [...freshKubectlCache(), ...args, '-n', ns], {
    cwd: ROOT,
    env: { ...process.env, KUBECONFIG: cluster.kubeconfig },
    encoding: 'utf8',
    timeout: 60_000,
  });
}

function start(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  child.stderr?.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-20_000)));
  children.push(child);
  return { child, out: () => out };
}

beforeAll(async () => {
  cluster = await ensureCluster();
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-qs');
}, 1_200_000);

afterAll(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(
    children.map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : Promise.resolve())),
  );
  for (const close of closers.reverse()) await close().catch(() => undefined);
  await prom?.dispose();
  if (kc && ns) await deleteNamespace(kc, ns);
});

describe('docs/controller.md quick start', () => {
  it('applies the examples, runs the controller as documented, and the policy scales the example Deployment', async () => {
    // Step 1–2, as written (the CRD is already applied by ensureCluster; applying it again is a no-op).
    for (const cmd of [
      'kubectl apply -f deploy/crds/',
      'kubectl apply -f examples/k8s/example-service.yaml -f examples/k8s/policy.yaml',
      'npm run -s headroom -- controller --prometheus http://127.0.0.1:9090',
      'kubectl get hrp example -o wide',
    ])
      expect(quickStart, `the quick start has \`${cmd}\``).toContain(cmd);
    kubectl(['apply', '-f', 'deploy/crds/']);
    kubectl(['apply', '-f', 'examples/k8s/example-service.yaml', '-f', 'examples/k8s/policy.yaml']);
    const kubelet = standInKubelet(kc, ns, 'example');
    closers.push(() => kubelet.stop());

    // The pods' process: the Deployment's command and args on a free local port; it stands in for
    // every pod, so it gets their slots together (16: 800 rps; one pod has 4, 200 rps).
    const deployment = parseAllDocuments(readFileSync(join(ROOT, 'examples/k8s/example-service.yaml'), 'utf8'))
      .map(
        (d) =>
          d.toJS() as {
            kind: string;
            spec?: { template?: { spec?: { containers?: Array<{ command: string[]; args: string[] }> } } };
          },
      )
      .find((d) => d.kind === 'Deployment');
    const container = deployment?.spec?.template?.spec?.containers?.[0];
    expect(container?.command[1]).toBe('--disable-warning=ExperimentalWarning');
    const port = await freePort();
    const args = [...container!.args];
    args[args.indexOf('--host') + 1] = '127.0.0.1';
    args[args.indexOf('--port') + 1] = String(port);
    expect(args[args.indexOf('--concurrency') + 1]).toBe('4');
    args[args.indexOf('--concurrency') + 1] = '16';
    const svc = start(process.execPath, [...container!.command.slice(1), ...args]);
    await waitFor(
      'the example service listens',
      async () => svc.out(),
      (o) => o.includes('"listening"'),
      30_000,
    );

    // Step 3: the shipped scrape job, its discovery replaced by the pod's metadata as static labels.
    const shipped = parse(readFileSync(join(ROOT, 'examples/k8s/prometheus.yml'), 'utf8')) as {
      scrape_configs: Array<Record<string, unknown>>;
    };
    const job = { ...shipped.scrape_configs[0]! };
    delete job.kubernetes_sd_configs;
    job.static_configs = [
      {
        targets: [`127.0.0.1:${port}`],
        labels: {
          __meta_kubernetes_pod_annotation_prometheus_io_scrape: 'true',
          __meta_kubernetes_pod_annotation_prometheus_io_port: String(port),
          __meta_kubernetes_pod_label_app: 'example',
          __meta_kubernetes_namespace: ns,
          __meta_kubernetes_pod_name: 'example-0',
        },
      },
    ];
    job.scrape_interval = '1s';
    const dir = mkdtempSync(join(tmpdir(), 'headroom-qs-'));
    writeFileSync(join(dir, 'job.yml'), stringify(job)); // for a person debugging the test
    prom = await startPrometheus({}, '1s', [], [job]);

    // Step 4: the controller exactly as documented, with the test's Prometheus, namespace and a free port.
    const ctl = start(
      'npm',
      [
        'run',
        '-s',
        'headroom',
        '--',
        'controller',
        `--prometheus=${prom.url}`,
        `--namespace=${ns}`,
        '--metrics-port=0',
      ],
      { KUBECONFIG: cluster.kubeconfig },
    );

    // Step 5: Ready True/Active, valid decisions from the scraped demand.
    const ready = await waitFor(
      'the policy Ready and deciding',
      () =>
        kc
          .makeApiClient(CustomObjectsApi)
          .getNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL, name: 'example' })
          .then((x) => x as HeadroomPolicy),
      (p) =>
        p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True' && c.reason === 'Active') ===
          true && p.status?.lastDecision?.valid === true,
      90_000,
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\ncontroller output:\n${ctl.out()}`);
    });
    expect(ready.status?.demand).toMatch(/rps/);
    const wide = kubectl(['get', 'hrp', 'example', '-o', 'wide']);
    expect(wide).toMatch(/^NAME\s+TARGET\s+READY\s+REASON\s+MODE\s+CURRENT\s+DESIRED/m);
    expect(wide).toMatch(/example\s+example\s+True\s+Active\s+active\s+1\s+1/);

    // 300 rps, above what one pod serves (200 rps; 300 ÷ (200 × 0.9) → 2): the Deployment follows
    // (the policy's 1-m rate window and 15-s interval).
    const load = driveLoad(`http://127.0.0.1:${port}/`, 300, 150);
    try {
      const scaled = await waitFor(
        'the example Deployment scaled up',
        () => replicasOf(kc, ns, 'example'),
        (n) => n >= 2,
        140_000,
      ).catch((err: unknown) => {
        throw new Error(`${String(err)}\ncontroller output:\n${ctl.out()}`);
      });
      expect(scaled).toBeLessThanOrEqual(20);
    } finally {
      await load.stop();
    }
    const described = kubectl(['describe', 'hrp', 'example']);
    expect(described).toMatch(/Scaled/);
  }, 400_000);
});
