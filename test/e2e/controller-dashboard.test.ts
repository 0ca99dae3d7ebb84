// `headroom controller` serving /api/status, the dashboard and alerts, end to end: two REAL
// controller processes (the CLI, leader election on) against a REAL kube-apiserver and a REAL
// Prometheus scraping a real local service under load. Checks what a user meets: the status API
// lists the policy with its decision reasons and alerts (evaluated by the leader only), the page
// and its assets load, the token guards /api/* while the probes stay open, and bad flags exit 2.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { request } from 'undici';
import { launchChromium } from './support/chromium.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GROUP, PLURAL, VERSION } from '../../src/controller/crd.ts';
import type { StatusSnapshot } from '../../src/server/status.ts';
import { createDeployment, createNamespace, deleteNamespace, ensureCluster, waitFor } from './support/kube.ts';
import {
  driveLoad,
  startCountingService,
  startPrometheus,
  type CountingService,
  type Prometheus,
} from './support/prometheus.ts';

const ROOT = join(import.meta.dirname, '..', '..');
// vitest runs on Node 24: start the CLI without scripts/bootstrap.mjs, whose wrapper process
// would take SIGTERM without passing it on (and leave the controller running).
const TOKEN = 'e2e-dashboard-token-0123456789';

let kubeconfig: string;
let kc: KubeConfig;
let ns: string;
let service: CountingService;
let prom: Prometheus;
let dir: string;
let load: { stop(): Promise<number> } | undefined;
const procs: ChildProcess[] = [];
const closers: Array<() => Promise<void>> = [];

interface Ctl {
  proc: ChildProcess;
  url: string;
  output: () => string;
}

/** Runs the CLI; resolves with the exit code and output (for usage errors). */
function runCli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
    });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.stderr.on('data', (d: Buffer) => (out += d.toString()));
    p.on('close', (code) => resolve({ code, out }));
  });
}

/** Starts `headroom controller` and waits for its "controller starting" log line (port 0 → the bound port). */
async function startCtl(extra: string[], env: NodeJS.ProcessEnv = {}): Promise<Ctl> {
  const args = [
    'controller',
    '--kubeconfig',
    kubeconfig,
    '--namespace',
    ns,
    '--prometheus',
    prom.url,
    '--metrics-port',
    '0',
    '--leader-elect',
    '--lease-name',
    'headroom-dash-e2e',
    '--lease-duration',
    '3',
    ...extra,
  ];
  const proc = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', 'src/cli/main.ts', ...args], {
    cwd: ROOT,
    env: { ...process.env, HEADROOM_TOKEN: '', ...env },
  });
  procs.push(proc);
  let out = '';
  proc.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`controller did not start:\n${out}`)), 60_000);
    proc.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      for (const line of out.split('\n')) {
        if (!line.includes('"controller starting"')) continue;
        const port = (JSON.parse(line) as { port: number }).port;
        clearTimeout(timer);
        resolve(`http://127.0.0.1:${port}`);
      }
    });
    proc.on('exit', (code) => reject(new Error(`controller exited ${code}:\n${out}`)));
  });
  return { proc, url, output: () => out };
}

async function get(url: string, token?: string): Promise<{ code: number; type: string; body: string }> {
  const r = await request(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { code: r.statusCode, type: String(r.headers['content-type'] ?? ''), body: await r.body.text() };
}

const statusOf = async (c: Ctl): Promise<StatusSnapshot[]> =>
  JSON.parse((await get(`${c.url}/api/status`, TOKEN)).body) as StatusSnapshot[];

let a: Ctl;
let b: Ctl;
const hooks: Array<{ auth: string; body: string }> = [];

beforeAll(async () => {
  const cluster = await ensureCluster();
  kubeconfig = cluster.kubeconfig;
  kc = cluster.kc;
  ns = await createNamespace(kc, 'hr-dash');
  service = await startCountingService();
  closers.push(() => service.close());
  prom = await startPrometheus({ web: [service.target] });
  closers.push(() => prom.dispose());
  await createDeployment(kc, ns, 'web', 1);
  dir = mkdtempSync(join(tmpdir(), 'headroom-ctl-dash-'));
  // A real webhook receiver: each controller sends with its own token, so we know who sent.
  const hook = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      hooks.push({ auth: String(req.headers.authorization ?? ''), body });
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
  closers.push(() => new Promise<void>((r) => hook.close(() => r())));
  const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
  writeFileSync(
    join(dir, 'alerts.yaml'),
    [
      'alerts:',
      '  defaults: true',
      '  rules:',
      '    - name: DemandSeen',
      "      expr: 'service.demandRps > 5'",
      '      for: 0s',
      '      severity: info',
      "      annotations: { summary: '{{ $labels.service }} serves {{ $value }} rps' }",
      '  receivers:',
      '    - name: hook',
      `      webhook: { url: '${hookUrl}', tokenEnv: HOOK_TOKEN }`,
      '  route: { receiver: hook, groupWait: 1s }',
      '',
    ].join('\n'),
  );
  await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace: ns,
    plural: PLURAL,
    body: {
      apiVersion: `${GROUP}/${VERSION}`,
      kind: 'HeadroomPolicy',
      metadata: { name: 'web', namespace: ns },
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
        mode: 'shadow',
        intervalSeconds: 1,
        service: {
          instance: { serviceTimeMs: 40, concurrency: 1 },
          targetUtilization: 0.5,
          replicas: { min: 1, max: 3 },
          behavior: { forecast: { enabled: false } },
        },
        demand: {
          template: { name: 'requestRate', metric: 'http_requests_total', selector: { job: 'web' }, window: '5s' },
        },
      },
    },
  });
  load = driveLoad(service.url, 20, 150);
  // A: token from the environment; B: from --token. Both loopback.
  a = await startCtl(['--alerts', join(dir, 'alerts.yaml')], { HEADROOM_TOKEN: TOKEN, HOOK_TOKEN: 'hook-a' });
  b = await startCtl(['--alerts', join(dir, 'alerts.yaml'), '--token', TOKEN], { HOOK_TOKEN: 'hook-b' });
}, 1_200_000);

afterAll(async () => {
  await load?.stop();
  for (const p of procs) {
    if (p.exitCode === null) {
      p.kill('SIGTERM');
      await new Promise((r) => {
        const t = setTimeout(() => {
          p.kill('SIGKILL');
          r(undefined);
        }, 10_000);
        p.once('exit', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
    }
  }
  for (const close of closers.reverse()) await close().catch(() => undefined);
  if (kc && ns) await deleteNamespace(kc, ns);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('controller status API and dashboard', () => {
  it('probes and /metrics stay open; /api/status and the page need the token', async () => {
    for (const c of [a, b]) {
      expect((await get(`${c.url}/healthz`)).code).toBe(200);
      await waitFor(
        'ready',
        () => get(`${c.url}/readyz`),
        (r) => r.code === 200,
        30_000,
      );
      const m = await get(`${c.url}/metrics`);
      expect(m.code).toBe(200);
      expect(m.body).toContain('headroom_controller_leader');
      expect((await get(`${c.url}/api/status`)).code).toBe(401);
      expect((await get(`${c.url}/api/status`, 'wrong-token-wrong-token')).code).toBe(401);
      expect((await get(`${c.url}/`)).code).toBe(401);
      expect((await get(`${c.url}/api/status`, TOKEN)).code).toBe(200);
    }
  });

  it('/api/status lists the policy with its decision reasons and the leader’s alerts', async () => {
    const leaderOf = async (): Promise<[Ctl, Ctl] | undefined> => {
      const [ra, rb] = await Promise.all([get(`${a.url}/readyz`), get(`${b.url}/readyz`)]);
      const la = ra.body.includes('leader');
      const lb = rb.body.includes('leader');
      return la !== lb ? (la ? [a, b] : [b, a]) : undefined;
    };
    const pair = await waitFor('one leader', leaderOf, (x) => x !== undefined, 30_000);
    if (!pair) throw new Error('no leader');
    const [leader, standby] = pair;
    const name = `${ns}/web`;
    const snaps = await waitFor(
      'a decision from measured demand and a firing alert',
      () => statusOf(leader),
      (s) => {
        const w = s.find((x) => x.service.name === name);
        return (
          w?.decision?.valid === true &&
          w.decision.recommended >= 2 &&
          (w.alerts?.alerts ?? []).some((al) => al.rule === 'DemandSeen' && al.state === 'firing')
        );
      },
      90_000,
    );
    expect(snaps).toHaveLength(1);
    const w = snaps[0];
    if (!w) throw new Error('no snapshot');
    expect(w.kind).toBe('headroom.dev/status/v1');
    expect(w.mode).toBe('kubernetes');
    expect(w.shadow).toBe(true);
    expect(w.replicas).toMatchObject({ min: 1, max: 3, current: 1 });
    // ~20 rps at 40 ms and utilization 0.5 needs 2 instances (waited for above): shadow, so not applied.
    expect(w.traffic.stable?.arrivalRps).toBeGreaterThan(5);
    expect(w.decision?.applied).toBe(false);
    expect(w.decision?.reasons.length).toBeGreaterThan(0);
    for (const r of w.decision?.reasons ?? []) expect(r.code).toMatch(/^\w+$/);
    const alert = w.alerts?.alerts.find((al) => al.rule === 'DemandSeen');
    expect(alert?.labels.service).toBe(name);
    expect(alert?.annotations.summary).toMatch(new RegExp(`^${name} serves [0-9.]+ rps$`));
    expect(w.history.length).toBeGreaterThan(0);
    expect(w.events.some((e) => e.type === 'WouldScale')).toBe(true);

    // The standby shows the leader's persisted decision but evaluates no alerts (no double paging).
    const s = await waitFor(
      'standby sees the decision',
      () => statusOf(standby),
      (x) => x[0]?.decision?.valid === true,
      30_000,
    );
    expect(s[0]?.service.name).toBe(name);
    expect(s[0]?.decision?.reasons.length).toBeGreaterThan(0);
    expect(s[0]?.alerts?.alerts).toEqual([]);

    // Only the leader sends: every notification carries its webhook token.
    const sent = await waitFor(
      'a webhook notification',
      async () => hooks.filter((h) => h.body.includes('DemandSeen')),
      (h) => h.length > 0,
      30_000,
    );
    const leaderToken = `Bearer ${leader === a ? 'hook-a' : 'hook-b'}`;
    expect(hooks.map((h) => h.auth)).toEqual(hooks.map(() => leaderToken));
    const payload = JSON.parse(sent[0]?.body ?? '{}') as { status?: string; alerts?: Array<{ labels: object }> };
    expect(payload.status).toBe('firing');
    expect(payload.alerts?.[0]?.labels).toMatchObject({ alertname: 'DemandSeen', service: name });
  });

  it('GET / serves the dashboard page and its assets; its API reads the same snapshots', async () => {
    const page = await get(`${a.url}/?token=${TOKEN}`);
    expect(page.code).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('<title>Headroom controller</title>');
    const scripts = [...page.body.matchAll(/src="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
    expect(scripts.length).toBeGreaterThan(0);
    for (const src of scripts) expect((await get(`${a.url}${src}`)).code).toBe(200);
    const services = await get(`${a.url}/api/services`, TOKEN);
    expect(services.code).toBe(200);
    expect(services.body).toContain(`${ns}/web`);
    // Read-only: the write actions are refused.
    const r = await request(`${a.url}/api/actions/shadow`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ shadow: false }),
    });
    await r.body.dump();
    expect(r.statusCode).toBe(403);

    // In real Chromium: the charts the controller cannot fill say why instead of staying empty boxes.
    const profile = mkdtempSync(join(tmpdir(), 'headroom-ctl-chromium-'));
    const ctx = await launchChromium(profile);
    try {
      const tab = await ctx.newPage();
      const errors: string[] = [];
      tab.on('pageerror', (e) => errors.push(String(e)));
      await tab.goto(`${a.url}/?token=${TOKEN}`);
      await tab.locator(`tr[data-service="${ns}/web"]`).waitFor({ timeout: 30_000 });
      await tab.locator('#latency-note').waitFor({ state: 'visible', timeout: 15_000 });
      expect(await tab.locator('#latency-note').textContent()).toMatch(/spec\.latency/);
      expect(await tab.locator('#resources-note').textContent()).toMatch(/not collected in controller mode/);
      // The row's demand is the status API's number, marked as answers: the spec's requestRate
      // template counts a request when it is answered, so a saturated pool would read its capacity.
      // Both change every round: read the row, then the API, until one pair is from the same round.
      const cell = tab.locator(`tr[data-service="${ns}/web"] td[data-field="demand"]`);
      const pair = await waitFor(
        'the row and /api/status agree',
        async () => {
          const text = (await cell.textContent()) ?? '';
          const w = (await statusOf(a)).find((x) => x.service.name === `${ns}/web`)?.traffic.stable;
          return { text, w };
        },
        ({ text, w }) => w != null && text === `${w.arrivalRps.toFixed(1)} req/s answered`,
        30_000,
      );
      expect(pair.w?.counts).toBe('answers');
      expect(pair.w?.arrivalRps).toBeGreaterThan(5);
    } finally {
      await ctx.close();
      rmSync(profile, { recursive: true, force: true });
    }
  });

  it('SIGTERM: both stop cleanly (alert dispatcher closed, server closed) and exit 0', async () => {
    const exits = [a, b].map(
      (c) =>
        new Promise<number | null>((resolve) => {
          if (c.proc.exitCode !== null) resolve(c.proc.exitCode);
          else c.proc.once('exit', (code) => resolve(code));
        }),
    );
    for (const c of [a, b]) c.proc.kill('SIGTERM');
    expect(await Promise.all(exits)).toEqual([0, 0]);
    for (const c of [a, b]) expect(c.output()).toContain('"stopped"');
  });

  it('bad flags exit 2 with a stable code before anything starts', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'alerts:\n  rules:\n    - name: X\n      expr: "service.nope > 1"\n');
    const bad = await runCli([
      'controller',
      '--kubeconfig',
      kubeconfig,
      '--metrics-port',
      '0',
      '--alerts',
      join(dir, 'bad.yaml'),
    ]);
    expect(bad.code).toBe(2);
    expect(bad.out).toContain('HR_ALERT_RULE_INVALID');
    expect(bad.out).toContain('bad.yaml');
    const short = await runCli(['controller', '--kubeconfig', kubeconfig, '--metrics-port', '0', '--token', 'short']);
    expect(short.code).toBe(2);
    expect(short.out).toContain('HR_TOKEN_REQUIRED');
    expect(short.out).not.toContain('controller starting');
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, '127.0.0.1', () => r()));
    try {
      const port = String((taken.address() as AddressInfo).port);
      const busy = await runCli(['controller', '--kubeconfig', kubeconfig, '--metrics-port', port]);
      expect(busy.code).toBe(2);
      expect(busy.out).toContain('HR_PORT_IN_USE');
      expect(busy.out).toContain('--metrics-port');
    } finally {
      taken.close();
    }
  });
});
