// `headroom run examples/graph-run.yaml` as a user runs it (plus an alerts: section delivering to a
// webhook on 127.0.0.1): every service of the call graph runs as real processes behind its own
// balancer, the callers calling their callees through those balancers; the test drives Poisson
// traffic at the gateway and checks, through the status API, that the processes run, that the counts
// and the graph agree with `headroom plan --json` at the demand the run measured, the measured
// end-to-end p99 against the plan's prediction at the counts running, and that one alert engine
// serves every member.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { predictGraph } from '../../src/core/graph.ts';
import { loadRunOrGraph } from '../../src/local/graph-config.ts';
import { driveTraffic } from '../../src/local/traffic.ts';
import type { GraphView } from '../../src/server/graph-view.ts';
import { cli } from './support/cli.ts';

const SPEC = fileURLToPath(new URL('../../examples/graph-run.yaml', import.meta.url));
const RATE = 20; // the spec's demand at the gateway
const TRAFFIC_SECONDS = 45; // the stable window (30 s) then holds ~600 entry requests

interface Snap {
  service: { name: string };
  replicas: { desired: number; ready: number };
  instances: Array<{ state: string; pid?: number }>;
  traffic: { stable: { arrivalRps: number; latencyMs: { p99: number } | null } | null };
  model?: { predictedMs: number | null; measuredMs: number | null };
  alerts?: { alerts: Array<{ rule: string; state: string; labels: Record<string, string> }> };
  events: Array<{ type: string; message: string }>;
}
interface Services {
  services: Snap[];
  graphs: GraphView[];
}

let run: Promise<{ code: number | null; stdout: string; stderr: string }>;
// The example as a user has it, plus an alerts: section: db's demand over 10 rps (it gets ~60) fires
// at once and goes to a webhook here; the other members have no rule that fires.
let dir = '';
let hook: Server;
const hits: Array<{ alerts?: Array<{ labels?: Record<string, string>; status?: string }> }> = [];
const ALERTS = (url: string): string =>
  [
    'alerts:',
    '  defaults: false',
    '  rules:',
    '    - { name: DbBusy, metric: service.demandRps, op: ">", threshold: 10, for: 0s, severity: warning, services: [db] }',
    '  receivers:',
    `    - { name: hook, webhook: { url: ${JSON.stringify(url)} } }`,
    '  route: { receiver: hook, groupWait: 0s }',
    '',
  ].join('\n');
let seen: Services | undefined;
let status: { service: { name: string } } | undefined;
let sent = 0;
// Sampled when the file loads (skipIf is decided then): the 1-minute load per core.
const loadPerCore = loadavg()[0]! / cpus().length;

beforeAll(async () => {
  hook = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      hits.push(JSON.parse(data) as (typeof hits)[number]);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const { port } = hook.address() as { port: number };
  dir = mkdtempSync(join(tmpdir(), 'headroom-graph-run-'));
  const spec = join(dir, 'graph-run.yaml');
  // The copy lives elsewhere: its service.ts is the example's, by absolute path.
  const text = readFileSync(SPEC, 'utf8');
  const command = 'command: [node, service.ts]';
  if (!text.includes(command)) throw new Error(`examples/graph-run.yaml no longer has "${command}"`);
  const service = JSON.stringify(join(dirname(SPEC), 'service.ts'));
  writeFileSync(
    spec,
    `${text.replace(command, `command: [node, ${service}]`)}\n${ALERTS(`http://127.0.0.1:${port}/hook`)}`,
  );
  let servicesApi: string | undefined;
  let started: () => void = () => undefined;
  const ready = new Promise<void>((res) => (started = res));
  let entryUrl = '';
  run = cli(
    ['run', spec, '--port', '0', '--status-port', '0', '--json', '--duration', String(TRAFFIC_SECONDS + 25)],
    (out) => {
      const line = out.split('\n').find((l) => l.includes('"type":"started"'));
      if (line && !servicesApi) {
        const o = JSON.parse(line) as { servicesApi: string; url: string };
        servicesApi = o.servicesApi;
        entryUrl = o.url;
        started();
      }
    },
    180_000,
  );
  await ready;
  const traffic = driveTraffic(entryUrl, [{ name: 'poisson', seconds: TRAFFIC_SECONDS, rps: () => RATE }], {
    poisson: { seed: 11 },
    maxRequests: RATE * TRAFFIC_SECONDS * 2,
  });
  const result = await traffic.done;
  sent = result.sent;
  seen = (await fetch(servicesApi!).then((r) => r.json())) as Services;
  status = (await fetch(servicesApi!.replace('/api/services', '/api/status')).then((r) => r.json())) as typeof status;
}, 170_000);

afterAll(async () => {
  await run;
  await new Promise((r) => hook.close(r));
  rmSync(dir, { recursive: true, force: true });
});

describe('headroom run on a call graph (examples/graph-run.yaml)', () => {
  it('runs every service as processes behind its own balancer, and exits 0', async () => {
    const r = await run;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(sent).toBeGreaterThan(RATE * TRAFFIC_SECONDS * 0.8);
    expect(status?.service.name).toBe('gateway');
    const names = seen!.services.map((s) => s.service.name).sort();
    expect(names).toEqual(['cart', 'db', 'gateway', 'search']);
    for (const s of seen!.services) {
      expect(s.replicas.ready).toBeGreaterThanOrEqual(1);
      expect(s.instances.filter((i) => i.state === 'ready' && i.pid !== undefined)).toHaveLength(s.replicas.ready);
      // Every member served traffic: the callers reached their callees through the balancers.
      expect(s.traffic.stable?.arrivalRps ?? 0).toBeGreaterThan(RATE * 0.5);
    }
    const done = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as {
      type: string;
      services: Array<{ name: string; failed: number; requests: number }>;
    };
    expect(done.type).toBe('done');
    for (const s of done.services) expect(s.failed).toBe(0);
    // Every service's events, once each and named by service: its first instance Ready, and Stopped
    // when the run drained it.
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; service?: string; kind?: string; instance?: string; at?: string })
      .filter((o) => o.type === 'event');
    for (const name of names) {
      expect(events.some((e) => e.service === name && e.kind === 'Ready' && e.instance === 'i1')).toBe(true);
      expect(events.some((e) => e.service === name && e.kind === 'Stopped')).toBe(true);
    }
    expect(new Set(events.map((e) => `${e.service} ${e.kind} ${e.instance} ${e.at}`)).size).toBe(events.length);
    // Each tick says what its measured p99 rests on (fields added next to measuredMs): under
    // traffic, the requests answered in the entry's burst window and its seconds.
    const ticks = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((o) => o.type === 'tick');
    const measuredTicks = ticks.filter((t) => typeof t.measuredMs === 'number');
    expect(measuredTicks.length).toBeGreaterThan(0);
    for (const t of measuredTicks) {
      expect(t.measuredRequests).toBeGreaterThan(0);
      expect(t.measuredWindowSeconds).toBeGreaterThan(0);
    }
    for (const t of ticks.filter((x) => x.measuredMs === null)) expect(t.measuredRequests).toBe(null);
  });

  it("the graph in /api/services is `headroom plan --json`'s at the demand measured, and the counts follow it", async () => {
    const g = seen!.graphs[0]!;
    expect(g.entry).toBe('gateway');
    const entryDemand = g.nodes.find((n) => n.name === 'gateway')!.demandRps;
    expect(entryDemand).toBeGreaterThan(RATE * 0.8);
    expect(entryDemand).toBeLessThan(RATE * 1.2);
    const plan = await cli(['plan', SPEC, '--json', '--demand', String(entryDemand)]);
    expect(plan.code).toBe(0);
    const pg = (
      JSON.parse(plan.stdout) as { graph: { sloMs: number; services: Array<Record<string, number | string>> } }
    ).graph;
    expect(g.slo.latencyMs).toBe(pg.sloMs);
    for (const s of pg.services) {
      const node = g.nodes.find((n) => n.name === s.name)!;
      expect(node.demandRps).toBeCloseTo(s.demandRps as number, 2);
      expect(node.budgetMs).toBeCloseTo(s.budgetMs as number, 1);
      // The loops size each member for its budget at its own measured demand (noisy by a few %),
      // and scale down only after the stabilization window: the plan's count, or one more.
      const snap = seen!.services.find((x) => x.service.name === s.name)!;
      // On a miss, the member's decisions say why (a calibration read from noise once held db at 7).
      const why = `${s.name}: ${snap.events
        .filter((e) => e.type === 'Decision')
        .map((e) => e.message)
        .join(' | ')}`;
      expect(snap.replicas.desired, why).toBeGreaterThanOrEqual(s.replicas as number);
      expect(snap.replicas.desired, why).toBeLessThanOrEqual((s.replicas as number) + 1);
    }
  });

  it('the graph view predicts at the counts ready too: what the measured end-to-end is read against', () => {
    const loaded = loadRunOrGraph(SPEC);
    if (loaded.kind !== 'graph') throw new Error('not a graph');
    const g = seen!.graphs[0]!;
    const ready = Object.fromEntries(seen!.services.map((s) => [s.service.name, s.replicas.ready]));
    const demand = g.nodes.find((n) => n.name === 'gateway')!.demandRps;
    const p = predictGraph(loaded.cfg.models, ready, { entry: 'gateway', entryDemandRps: demand }).predictedMs;
    if (p === null) expect(g.predictedNowMs).toBeNull();
    else expect(g.predictedNowMs).toBeCloseTo(p, 6);
  });

  it("one alert engine serves every member: db's alert fires, is delivered, and shows on db only", () => {
    const db = seen!.services.find((s) => s.service.name === 'db')!;
    expect(db.alerts?.alerts.some((a) => a.rule === 'DbBusy' && a.state === 'firing')).toBe(true);
    expect(db.events.some((e) => e.type === 'Alert' && /DbBusy.*firing/.test(e.message))).toBe(true);
    for (const s of seen!.services.filter((x) => x.service.name !== 'db')) {
      expect(s.alerts?.alerts, s.service.name).toEqual([]);
    }
    const sent = hits.flatMap((h) => h.alerts ?? []).filter((a) => a.labels?.alertname === 'DbBusy');
    expect(sent.length).toBeGreaterThan(0);
    expect(sent.every((a) => a.labels?.service === 'db')).toBe(true);
  });

  it("callers are not checked against their own model (their balancer's latency includes their calls); a leaf is", () => {
    for (const name of ['gateway', 'cart']) {
      expect(seen!.services.find((s) => s.service.name === name)!.model, name).toBeUndefined();
    }
    // db (a leaf at ~60 rps: windows of enough requests to check) is compared with its model.
    const db = seen!.services.find((s) => s.service.name === 'db')!.model;
    expect(db?.predictedMs ?? 0).toBeGreaterThan(0);
    expect(db?.measuredMs ?? 0).toBeGreaterThan(0);
  });

  // The p99 of ~600 requests is the 594th: its 95 % range is ranks 589–599 (±1.96·√(600·0.99·0.01)),
  // i.e. the model's p98.2–p99.8 at the counts running. Contention only adds latency, so the lower
  // end holds on any machine; the upper one needs the machine to itself (bench/graph-local.ts
  // measured 1.7× the prediction at a load of 7–10 on 2 cores, docs/benchmarks.md).
  const band = (): { measured: number; lo: number; hi: number } => {
    const loaded = loadRunOrGraph(SPEC);
    if (loaded.kind !== 'graph') throw new Error('not a graph');
    const g = seen!.graphs[0]!;
    const counts = Object.fromEntries(seen!.services.map((s) => [s.service.name, s.replicas.ready]));
    const demand = g.nodes.find((n) => n.name === 'gateway')!.demandRps;
    const at = (pct: number): number => {
      const models = loaded.cfg.models.map((m) =>
        m.endToEndSlo ? { ...m, endToEndSlo: { ...m.endToEndSlo, percentile: pct } } : m,
      );
      return predictGraph(models, counts, { entry: 'gateway', entryDemandRps: demand }).predictedMs ?? Infinity;
    };
    const entry = seen!.services.find((s) => s.service.name === 'gateway')!;
    return { measured: entry.traffic.stable!.latencyMs!.p99, lo: at(98.2), hi: at(99.8) };
  };

  it('the entry measures its end-to-end p99 no faster than the plan predicts at the counts running', () => {
    const { measured, lo } = band();
    expect(measured).toBeGreaterThanOrEqual(lo * 0.95);
  });

  it.skipIf(loadPerCore > 1)('on a quiet machine, within the sampling range of the prediction (+20 %)', () => {
    const { measured, hi } = band();
    expect(measured).toBeLessThanOrEqual(hi * 1.2);
  });
});

describe("the README's graph demo", () => {
  it('is `run examples/graph-run.yaml --demo`; it runs all four services under traffic and exits 0 by itself', async () => {
    const readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8');
    const line = readme.split('\n').find((l) => l.includes('examples/graph-run.yaml'));
    expect(line).toMatch(/^npm run headroom -- run examples\/graph-run\.yaml --demo\b/);
    // The same command, shortened (the demo's own length is about three minutes), on free ports.
    const r = await cli(['run', SPEC, '--demo', '--duration', '8', '--port', '0', '--status-port', '0']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    for (const name of ['gateway', 'cart', 'search', 'db']) expect(r.stdout).toContain(name);
  });
});
