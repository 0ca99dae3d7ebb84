// LocalGraph.start (src/local/graph.ts) with real processes: every fixed port is bound before any
// member's instance starts, so a busy port starts nothing; a member that fails names itself; and the
// end-to-end measurement says what it rests on.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { graphLines } from '../../src/cli/run-graph.ts';
import { HeadroomError } from '../../src/core/errors.ts';
import { loadRunOrGraph, type GraphRunConfig } from '../../src/local/graph-config.ts';
import { LocalGraph } from '../../src/local/graph.ts';
import { historyFrom } from '../../src/core/forecast.ts';
import { initialLoopState } from '../../src/loop/step.ts';
import { EXAMPLE_SERVICE } from './helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'headroom-graph-start-'));
const marker = join(dir, 'started');
// Every instance of every member appends its service's name to the marker, then runs the example.
const COMMAND = ['sh', '-c', 'echo "$SVC" >> "$MARKER"; exec "$NODE" --disable-warning=ExperimentalWarning "$SERVICE"'];

/** gateway → cart → db (start order db, cart, gateway); `run` adds to the run: section. */
function spec(name: string, run: Record<string, unknown> = {}, services: Record<string, unknown> = {}): GraphRunConfig {
  const env = { MARKER: marker, NODE: process.execPath, SERVICE: EXAMPLE_SERVICE, WORK_MODE: 'sleep', WORK_MS: '5' };
  const member = (svc: string): Record<string, unknown> => ({ env: { SVC: svc }, ...(services[svc] as object) });
  const text = `services:
  - name: gateway
    demand: { rps: 10 }
    instance: { serviceTimeMs: 5, concurrency: 4 }
    slo: { latencyMs: 500, percentile: 99, scope: endToEnd }
    replicas: { min: 1, max: 2 }
    calls: [{ service: cart, perRequest: 1 }]
  - name: cart
    instance: { serviceTimeMs: 5, concurrency: 4 }
    replicas: { min: 1, max: 2 }
    calls: [{ service: db, perRequest: 1 }]
  - name: db
    instance: { serviceTimeMs: 5, concurrency: 4 }
    replicas: { min: 1, max: 2 }
run: ${JSON.stringify({
    command: COMMAND,
    env,
    port: 0,
    statusPort: 0,
    startupTimeoutSeconds: 15,
    killGraceSeconds: 3,
    tickSeconds: 0.25,
    ...run,
    services: { gateway: member('gateway'), cart: member('cart'), db: member('db') },
  })}
`;
  const file = join(dir, name);
  writeFileSync(file, text);
  const r = loadRunOrGraph(file);
  if (r.kind !== 'graph') throw new Error('not a graph');
  return r.cfg;
}

const started = (): string[] => (existsSync(marker) ? readFileSync(marker, 'utf8').trim().split('\n') : []);

async function busyPort(): Promise<{ port: number; server: Server }> {
  const server = createServer();
  await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
  return { port: (server.address() as { port: number }).port, server };
}

async function startError(cfg: GraphRunConfig): Promise<HeadroomError> {
  const err = await LocalGraph.start(cfg).then(
    async (g) => {
      await g.stop();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(HeadroomError);
  return err as HeadroomError;
}

afterEach(() => rmSync(marker, { force: true }));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('LocalGraph.start: a busy fixed port starts nothing', () => {
  it("the entry's run.port: HR_PORT_IN_USE at run.port, no instance of any member spawned", async () => {
    const { port, server } = await busyPort();
    try {
      const err = await startError(spec('entry-busy.yaml', { port }));
      expect(err.code).toBe('HR_PORT_IN_USE');
      expect(err.problems[0]?.path).toBe('run.port');
      expect(err.message).toContain(`127.0.0.1:${port}`);
      expect(started()).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('the status port: HR_PORT_IN_USE at run.statusPort, nothing spawned', async () => {
    const { port, server } = await busyPort();
    try {
      const err = await startError(spec('status-busy.yaml', { statusPort: port }));
      expect(err.code).toBe('HR_PORT_IN_USE');
      expect(err.problems[0]?.path).toBe('run.statusPort');
      expect(started()).toEqual([]);
    } finally {
      server.close();
    }
  });

  it("a callee's run.services.NAME.port (cart, after db in the start order): named so, nothing spawned", async () => {
    const { port, server } = await busyPort();
    try {
      const err = await startError(spec('callee-busy.yaml', {}, { cart: { port } }));
      expect(err.code).toBe('HR_PORT_IN_USE');
      expect(err.problems[0]?.path).toBe('run.services.cart.port');
      expect(err.problems[0]?.message).toMatch(/^service cart: /);
      expect(started()).toEqual([]);
    } finally {
      server.close();
    }
  });
});

describe('LocalGraph.start: a member that fails names itself', () => {
  it('db exits before it is ready: HR_HEALTH_CHECK_FAILED at run.services.db.command, its last output, no caller started', async () => {
    const crash = [process.execPath, '-e', "console.error('db: cannot open /var/db'); process.exit(3)"];
    const err = await startError(spec('db-crash.yaml', {}, { db: { command: crash } }));
    expect(err.code).toBe('HR_HEALTH_CHECK_FAILED');
    expect(err.problems[0]?.path).toBe('run.services.db.command');
    expect(err.problems[0]?.message).toMatch(
      /^service db: .*exited with code 3; last output: db: cannot open \/var\/db/,
    );
    // db's own command writes no marker, and the callers never started.
    expect(started()).toEqual([]);
  });

  it('with the shared command: the key stays run.command, the message names the service', async () => {
    const err = await startError(
      spec('shared-crash.yaml', {}, { cart: { env: { SVC: 'cart', SERVICE: join(dir, 'no-such-service.ts') } } }),
    );
    expect(err.code).toBe('HR_HEALTH_CHECK_FAILED');
    expect(err.problems[0]?.path).toBe('run.command');
    expect(err.problems[0]?.message).toMatch(/^service cart: .*exited with code 1/);
    expect(started()).toEqual(['db', 'cart']);
  });
});

describe('LocalGraph: the end-to-end measurement', () => {
  it('says its window and how many requests it rests on (text line and measured())', async () => {
    const g = await LocalGraph.start(spec('ok.yaml'));
    try {
      expect(started().sort()).toEqual(['cart', 'db', 'gateway']);
      // At once, so all 30 land in the 6-s burst window on a loaded machine too: one after another
      // through three services they can take longer (this failed once with an e2e file beside it).
      const answers = await Promise.all(Array.from({ length: 30 }, () => fetch(`${g.entry.url}/`)));
      expect(answers.map((r) => r.status)).toEqual(Array.from({ length: 30 }, () => 200));
      const m = g.measured();
      expect(m?.requests).toBe(30);
      expect(m?.ms).toBe(g.measuredMs());
      expect(graphLines(g)[0]).toMatch(
        new RegExp(`p99 measured [0-9.]+ ms over the last ${m?.windowSeconds.toFixed(0)} s \\(30 requests\\)`),
      );
    } finally {
      await g.stop();
    }
  }, 30_000);
});

describe('LocalGraph: each member carries on from the state file', () => {
  it("each member's loop starts from its own saved state (run.stateFile), the others fresh", async () => {
    const cfg = spec('state.yaml', { stateFile: 'graph-state.json' });
    expect(cfg.run.stateFile).toBe(join(dir, 'graph-state.json'));
    // cart's forecast history: the hour up to 10 minutes ago at 40 rps.
    const now = Math.floor(Date.now() / 1000);
    const readings: Array<[number, number]> = [];
    for (let t = now - 4200; t < now - 600; t += 15) readings.push([t, 40]);
    const cart = { ...initialLoopState() };
    cart.decide = { ...cart.decide, demand: historyFrom(readings, 60) };
    const g = await LocalGraph.start(cfg, { states: new Map([['cart', cart]]) });
    try {
      const values = (name: string) => g.clusters.get(name)?.loop.decideState.demand.values ?? [];
      // cart's 5-minute means from before, then the gap and what this run recorded (≥ 12 buckets);
      // db's only this run's (1–2 buckets).
      expect(values('cart').slice(0, 12)).toEqual(cart.decide.demand.values.slice(0, 12));
      expect(values('cart').length).toBeGreaterThanOrEqual(12);
      expect(values('db').length).toBeLessThanOrEqual(2);
    } finally {
      await g.stop();
    }
  }, 30_000);
});
