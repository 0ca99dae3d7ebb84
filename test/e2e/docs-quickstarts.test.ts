// The quick starts of docs/loadtest.md, docs/local-cluster.md and docs/dashboard.md, run as written
// through the real CLI, the command text taken from the docs (a doc that drifts fails here).
//
// Deviations from "as written", each for CI:
//   - `headroom` is `node src/cli/main.ts` (the npm/bootstrap wrappers are test/e2e/wrapper.test.ts),
//     except `npm start`, which runs through npm;
//   - ports: the doc's fixed 8080/9470 would collide with other tests and services on the machine,
//     so every listener gets a free one (`--port 0 --status-port 0`, the example service `--port 0`
//     or a free port in its URL);
//   - time: `--duration 60`/`120` become a few seconds, a run "until Ctrl-C" gets SIGINT after its
//     checks, and the load test is compressed (`--warmup 0.5 --hold 1 --cooldown 0.2
//     --probe-requests 200`, bounded by `--max-duration 60 --max-requests 20000`);
//   - placeholders: `app.yaml` is examples/run.yaml, `day.csv` a three-row trace written here;
//   - `--host 0.0.0.0` stays on 127.0.0.1 (tests never listen off loopback; refusing 0.0.0.0
//     without a token is test/e2e/dashboard.test.ts), with the token the doc's
//     `$(openssl rand -hex 16)` makes (openssl when installed, else the same 16 random bytes in hex);
//   - `| jq …`: jq when installed, else the same filter in code (the headroom part runs as written).
// Every load is bounded in requests and time; everything listens on 127.0.0.1.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { alive } from '../local/helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const MAIN = join(ROOT, 'src/cli/main.ts');
const NODE_ARGS = ['--disable-warning=ExperimentalWarning'];
const read = (file: string): string => readFileSync(join(ROOT, file), 'utf8');
const blocks = (doc: string): Array<{ lang: string; text: string }> =>
  [...doc.matchAll(/```(\w*)\n([\s\S]*?)```/g)].map((m) => ({ lang: m[1]!, text: m[2]! }));
/** A shell block's commands: continuation lines joined, comments and blank lines dropped. */
const commands = (text: string): string[] =>
  text
    .replace(/\\\n\s*/g, '')
    .split('\n')
    .map((l) => l.replace(/(^|\s+)#.*$/, '').trim())
    .filter(Boolean);
const hasJq = spawnSync('sh', ['-c', 'command -v jq']).status === 0;
const hasOpenssl = spawnSync('sh', ['-c', 'command -v openssl']).status === 0;
const dir = mkdtempSync(join(tmpdir(), 'hr-docs-quickstarts-'));

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

interface Proc {
  child: ChildProcess;
  out: () => string;
  err: () => string;
  /** The exit code once every stdio pipe closed (the process and whatever shared them), or -1 on a signal. */
  exited: Promise<number | null>;
  /** The signal the process itself died of, if any. */
  signal: () => NodeJS.Signals | null;
  /** Resolves with the first match of re in stdout; rejects after ms. */
  waitFor: (re: RegExp, ms?: number) => Promise<RegExpExecArray>;
}
const started: Proc[] = [];

/** A process in its own group (as a shell job), killed after killMs so a hang fails the test, not CI. */
function start(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; killMs?: number } = {},
): Proc {
  const env = { ...process.env, ...opts.env };
  delete env.HEADROOM_TOKEN; // a token in the caller's environment would change what `run` requires
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const kill = setTimeout(() => signal(child, 'SIGKILL'), opts.killMs ?? 60_000);
  const exited = new Promise<number | null>((res) =>
    child.on('close', (code, sig) => {
      clearTimeout(kill);
      res(code ?? (sig ? -1 : null));
    }),
  );
  const waitFor = async (re: RegExp, ms = 30_000): Promise<RegExpExecArray> => {
    const until = Date.now() + ms;
    for (;;) {
      const m = re.exec(out);
      if (m) return m;
      if (child.exitCode !== null || Date.now() > until)
        throw new Error(`no ${String(re)} in stdout:\n${out}\nstderr:\n${err}`);
      await sleep(50);
    }
  };
  const p = { child, out: () => out, err: () => err, exited, waitFor, signal: () => child.signalCode };
  started.push(p);
  return p;
}

/** Ctrl-C's signal to the whole process group, as a terminal sends it. */
function signal(child: ChildProcess, sig: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, sig);
  } catch {
    // already gone
  }
}

afterAll(async () => {
  for (const p of started) if (p.child.exitCode === null && p.child.signalCode === null) signal(p.child, 'SIGKILL');
  await Promise.all(started.map((p) => p.exited));
});

/** `headroom ARGS` on the repository's CLI entry. */
const headroom = (args: string[], opts: { cwd?: string; killMs?: number } = {}): Proc =>
  start(process.execPath, [...NODE_ARGS, MAIN, ...args], opts);

/** A `headroom run` that stops by itself: exit code and its output. */
async function runToEnd(
  args: string[],
  killMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = headroom(args, { killMs });
  const code = await p.exited;
  return { code, stdout: p.out(), stderr: p.err() };
}

/** The plain (non-TTY) output's printed addresses. */
async function addresses(p: Proc): Promise<{ url: string; dashboard: string; status: string }> {
  const url = (await p.waitFor(/send requests to\s+(http:\/\/127\.0\.0\.1:\d+)\n/))[1]!;
  const dashboard = (await p.waitFor(/dashboard\s+(http:\/\/127\.0\.0\.1:\d+\/)(?: |\n)/))[1]!;
  const status = (await p.waitFor(/status API\s+(http:\/\/127\.0\.0\.1:\d+\/api\/status)\n/))[1]!;
  return { url, dashboard, status };
}

/** n requests to url, all at once; the statuses. */
const burst = (url: string, n: number): Promise<number[]> =>
  Promise.all(
    Array.from({ length: n }, () =>
      fetch(url)
        .then(async (r) => (await r.arrayBuffer(), r.status))
        .catch(() => 0),
    ),
  );

/** The summary line `run` ends with. */
function done(stdout: string): { requests: number; failed: number; maxReady: number; applied: number } {
  const m =
    /done after \d+ s: (\d+) requests through the balancer, (\d+) failed; up to (\d+) ready instances?; (\d+) scaling decisions? applied/.exec(
      stdout,
    );
  expect(m, `no summary line in:\n${stdout}`).not.toBeNull();
  return { requests: Number(m![1]), failed: Number(m![2]), maxReady: Number(m![3]), applied: Number(m![4]) };
}

describe('docs/loadtest.md', () => {
  const doc = read('docs/loadtest.md');
  const docBlocks = blocks(doc);

  it('quick start: the example service, `headroom loadtest … --profile --report`, then `headroom plan spec.yaml` on the profile', async () => {
    const [serve, loadtest] = commands(docBlocks[0]!.text);
    expect(serve).toBe('WORK_MS=20 CONCURRENCY=4 PORT=8080 node scripts/bootstrap.mjs examples/service.ts &');
    // The service as written (env settings, through the bootstrap), on a free port instead of 8080.
    const port = await freePort();
    const words = serve!.replace(/\s*&$/, '').split(/\s+/);
    const env = Object.fromEntries(
      words.filter((w) => /^[A-Z_]+=/.test(w)).map((w) => w.split('=') as [string, string]),
    );
    expect(env).toEqual({ WORK_MS: '20', CONCURRENCY: '4', PORT: '8080' });
    env.PORT = String(port);
    const argv = words.filter((w) => !/^[A-Z_]+=/.test(w));
    expect(argv[0]).toBe('node');
    const service = start(process.execPath, argv.slice(1), { env, killMs: 90_000 });
    const listening = JSON.parse((await service.waitFor(/^\{.*"listening".*\}$/m))[0]) as Record<string, unknown>;
    expect(listening).toMatchObject({ port, workMs: 20, concurrency: 4, capacityRps: 200 });

    // headroom loadtest as written, in a scratch folder (it writes work.profile.json and work.html),
    // time-compressed and bounded.
    expect(loadtest).toBe(
      'headroom loadtest http://127.0.0.1:8080/work --slo-latency-ms 150 --slo-percentile 95 --start-rps 100 --factor 1.25 --profile work.profile.json --report work.html',
    );
    const args = loadtest!
      .split(/\s+/)
      .slice(1)
      .map((a) => a.replace('127.0.0.1:8080', `127.0.0.1:${port}`));
    const compress = ['--warmup', '0.5', '--hold', '1', '--cooldown', '0.2', '--probe-requests', '200'];
    const bounds = ['--max-duration', '60', '--max-requests', '20000', '--no-progress'];
    const lt = headroom([...args, ...compress, ...bounds], { cwd: dir, killMs: 90_000 });
    const code = await lt.exited;
    expect(code, lt.err()).toBe(0);
    // The knee of 20 ms × 4 slots: 200 rps in theory (±30 % for a 1 s hold on a shared machine).
    const knee = /^knee: ([\d.]+) rps/m.exec(lt.out());
    expect(knee, lt.out()).not.toBeNull();
    expect(Number(knee![1])).toBeGreaterThan(140);
    expect(Number(knee![1])).toBeLessThan(260);
    const profile = JSON.parse(readFileSync(join(dir, 'work.profile.json'), 'utf8')) as {
      kind: string;
      slo: unknown;
      serviceTimeMs: number;
      concurrency: number;
      kneeRps: number;
    };
    expect(profile.kind).toBe('headroom.dev/capacity-profile/v1');
    expect(profile.slo).toEqual({ latencyMs: 150, percentile: 95 });
    expect(profile.kneeRps).toBeCloseTo(Number(knee![1]), 1);
    expect(profile.concurrency).toBe(4);
    expect(profile.serviceTimeMs).toBeGreaterThan(18);
    expect(profile.serviceTimeMs).toBeLessThan(30);
    expect(readFileSync(join(dir, 'work.html'), 'utf8')).toMatch(/^<!doctype html>/i);

    // The spec.yaml block next to it, planned with `headroom plan spec.yaml`: the fitted numbers.
    const spec = docBlocks.find((b) => b.lang === 'yaml' && b.text.startsWith('# spec.yaml'));
    expect(spec).toBeDefined();
    expect(doc).toContain('`headroom plan spec.yaml` then sizes `work` with the fitted numbers');
    writeFileSync(join(dir, 'spec.yaml'), spec!.text);
    const plan = headroom(['plan', 'spec.yaml', '--json'], { cwd: dir });
    expect(await plan.exited, plan.err()).toBe(0);
    const svc = (JSON.parse(plan.out()) as { services: Array<{ name: string; constraints: { utilization: number } }> })
      .services[0]!;
    expect(svc.name).toBe('work');
    // 1000 rps ÷ (c · 1000 / s rps per instance × 0.9, the target with an SLO)
    const perInstance = (profile.concurrency * 1000) / profile.serviceTimeMs;
    expect(svc.constraints.utilization).toBe(Math.ceil(1000 / (perInstance * 0.9) - 1e-9));

    signal(service.child, 'SIGTERM');
    expect(await service.exited).toBe(0);
  });

  it('"The example service": `node scripts/bootstrap.mjs examples/service.ts --port 8080 --work-ms 20 --concurrency 4`', async () => {
    const section = doc.slice(doc.indexOf('## The example service'));
    const [line] = commands(blocks(section)[0]!.text);
    expect(line).toBe('node scripts/bootstrap.mjs examples/service.ts --port 8080 --work-ms 20 --concurrency 4');
    expect(section).toMatch(/\(8080; 0 = free\s+port\)/);
    const argv = line!.split(/\s+/).slice(1);
    argv[argv.indexOf('--port') + 1] = '0';
    const service = start(process.execPath, argv);
    const listening = JSON.parse((await service.waitFor(/^\{.*"listening".*\}$/m))[0]) as {
      url: string;
      port: number;
    };
    expect(listening).toMatchObject({ workMs: 20, concurrency: 4, workMode: 'sleep', capacityRps: 200 });
    expect(listening.port).toBeGreaterThan(0);
    // `GET /healthz` answers at once; a request takes the 20 ms of work.
    expect((await fetch(`${listening.url}/healthz`)).status).toBe(200);
    const t0 = performance.now();
    expect((await fetch(`${listening.url}/work`)).status).toBe(200);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(19);
    // SIGTERM drains and exits.
    signal(service.child, 'SIGTERM');
    expect(await service.exited).toBe(0);
  });
});

describe('docs/local-cluster.md "Usage" and docs/dashboard.md', () => {
  const doc = read('docs/local-cluster.md');
  const usage = commands(blocks(doc.slice(doc.indexOf('## Usage')))[0]!.text);
  const runYaml = parse(read('examples/run.yaml')) as { run: { port: number; statusPort: number } };
  const day = join(dir, 'day.csv');
  // 600 rps for 1 s, then quiet until t = 2 s: the trace ends, the run exits (≤ 600 requests).
  writeFileSync(day, 't_seconds,rps\n0,1\n1,0\n2,0\n');
  const token = hasOpenssl
    ? execFileSync('openssl', ['rand', '-hex', '16'], { encoding: 'utf8' }).trim()
    : randomBytes(16).toString('hex');

  const placeholders: Record<string, string> = {
    'app.yaml': 'examples/run.yaml',
    'day.csv': day,
    '0.0.0.0': '127.0.0.1',
  };

  /** A Usage line → argv for `headroom`: placeholders filled, free ports, durations compressed. */
  function argvOf(line: string, seconds?: number): string[] {
    expect(line.startsWith('headroom run ')).toBe(true);
    const words = line
      .replace('"$(openssl rand -hex 16)"', token)
      .split(/\s+/)
      .slice(1)
      .map((w) => placeholders[w] ?? w);
    if (!words.includes('--port')) words.push('--port', '0');
    if (!words.includes('--status-port')) words.push('--status-port', '0');
    const d = words.indexOf('--duration');
    if (seconds !== undefined) {
      if (d >= 0) words[d + 1] = String(seconds);
      else words.push('--duration', String(seconds));
    }
    return words;
  }

  /** Each Usage line is run by exactly one of these. */
  const checks: Array<[string, () => Promise<void>]> = [
    [
      'npm start',
      async () => {
        // = headroom run --demo: package.json says so; run through npm as written, free ports.
        const pkg = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
        expect(pkg.scripts.start).toMatch(/src\/cli\/main\.ts run --demo$/);
        const p = start('npm', ['start', '--', '--port', '0', '--status-port', '0']);
        const { dashboard, status } = await addresses(p);
        // The demo drives traffic: within a few seconds the status API has a ready instance.
        let body: { replicas: { ready: number }; instances: Array<{ pid?: number }> } | undefined;
        for (let i = 0; i < 100 && !(body && body.replicas.ready >= 1); i++) {
          body = (await fetch(status).then((r) => r.json())) as typeof body;
          await sleep(100);
        }
        expect(body!.replicas.ready).toBeGreaterThanOrEqual(1);
        const pids = body!.instances.flatMap((x) => (x.pid ? [x.pid] : []));
        expect(pids.length).toBeGreaterThan(0);
        expect((await fetch(dashboard)).headers.get('content-type')).toMatch(/^text\/html/);
        // Ctrl-C: the terminal signals the whole group (npm, sh, bootstrap, headroom). npm itself
        // dies of it (its own convention, 130 in a shell); headroom stops the traffic, drains,
        // prints its summary and exits, and no instance is left.
        signal(p.child, 'SIGINT');
        const code = await p.exited;
        expect(code === 0 || p.signal() === 'SIGINT', `npm: exit ${code}, ${p.err()}`).toBe(true);
        expect(p.out()).toContain('stopping: draining instances');
        done(p.out());
        expect(pids.filter(alive)).toEqual([]);
      },
    ],
    [
      'headroom run --demo --duration 60 --rate 20',
      async () => {
        // Shorter and gentler: stops by itself (here after 4 s, not 60) and exits 0.
        const r = await runToEnd(argvOf('headroom run --demo --duration 60 --rate 20', 4));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/done after [34] s/);
        const d = done(r.stdout);
        expect(d.requests).toBeGreaterThan(20); // ~20 rps for the seconds an instance was ready
        expect(d.requests).toBeLessThan(200);
        expect(d.failed).toBe(0);
      },
    ],
    [
      'headroom run examples/run.yaml',
      async () => {
        // Until Ctrl-C; requests go to run.port. Also docs/dashboard.md's quick start: it prints the
        // dashboard URL (the default status port, 9470, here a free one), which serves the page.
        const dash = commands(blocks(read('docs/dashboard.md'))[0]!.text)[0];
        expect(read('docs/dashboard.md')).toContain(
          `headroom run examples/run.yaml      # prints: dashboard  http://127.0.0.1:${runYaml.run.statusPort}/`,
        );
        expect(dash).toBe('headroom run examples/run.yaml');
        expect(runYaml.run).toMatchObject({ port: 8080, statusPort: 9470 });
        const p = headroom(argvOf('headroom run examples/run.yaml'));
        const { url, dashboard } = await addresses(p);
        expect(p.out()).toMatch(/^ {2}dashboard {9}http:\/\/127\.0\.0\.1:\d+\/$/m);
        const page = await fetch(dashboard);
        expect(page.status).toBe(200);
        expect(await page.text()).toMatch(/<title>[^<]*Headroom/i);
        await p.waitFor(/Ready i1 /);
        expect((await burst(`${url}/work`, 20)).every((s) => s === 200)).toBe(true);
        signal(p.child, 'SIGINT');
        expect(await p.exited, p.err()).toBe(0);
        expect(done(p.out())).toMatchObject({ requests: 20, failed: 0 });
      },
    ],
    [
      'headroom run app.yaml --shadow',
      async () => {
        // Decide and report, never scale: a burst that needs more instances leaves it at one.
        const p = headroom([...argvOf('headroom run app.yaml --shadow', 6), '--json']);
        const startedLine = JSON.parse((await p.waitFor(/^\{"type":"started".*\}$/m))[0]) as {
          url: string;
          statusApi: string;
        };
        await p.waitFor(/"kind":"Ready"/);
        const status = (await fetch(startedLine.statusApi).then((r) => r.json())) as { shadow: boolean };
        expect(status.shadow).toBe(true);
        // 400 requests over 1 s (40 every 100 ms): a load that needs 2–4 instances of 80 rps.
        const sent: Array<Promise<number[]>> = [];
        for (let i = 0; i < 10; i++) {
          sent.push(burst(`${startedLine.url}/work`, 40));
          await sleep(100);
        }
        await Promise.all(sent);
        expect(await p.exited, p.err()).toBe(0);
        const lines = p
          .out()
          .trim()
          .split('\n')
          .map(
            (l) =>
              JSON.parse(l) as {
                type: string;
                current?: number;
                decision?: { desired: number };
                maxReady?: number;
                decisionsApplied?: number;
              },
          );
        const ticks = lines.filter((l) => l.type === 'tick');
        expect(
          ticks.some((t) => t.decision!.desired > 1),
          'the loop decided more than one',
        ).toBe(true);
        expect(ticks.every((t) => t.current === 1)).toBe(true);
        expect(lines.at(-1)).toMatchObject({ type: 'done', maxReady: 1, decisionsApplied: 0 });
      },
    ],
    [
      'headroom run app.yaml --port 0 --status-port 0',
      async () => {
        const p = headroom(argvOf('headroom run app.yaml --port 0 --status-port 0'));
        const { url, dashboard } = await addresses(p);
        for (const u of [url, dashboard]) expect(u).not.toMatch(/:(8080|9470)\b/);
        expect((await fetch(`${dashboard}healthz`)).status).toBe(200);
        signal(p.child, 'SIGINT');
        expect(await p.exited, p.err()).toBe(0);
      },
    ],
    [
      'headroom run app.yaml --host 0.0.0.0 --token "$(openssl rand -hex 16)"',
      async () => {
        const p = headroom(argvOf('headroom run app.yaml --host 0.0.0.0 --token "$(openssl rand -hex 16)"'));
        const { status } = await addresses(p);
        expect(token).toMatch(/^[0-9a-f]{32}$/);
        expect((await fetch(status)).status).toBe(401);
        const ok = await fetch(status, { headers: { authorization: `Bearer ${token}` } });
        expect(ok.status).toBe(200);
        signal(p.child, 'SIGINT');
        expect(await p.exited, p.err()).toBe(0);
      },
    ],
    [
      'headroom run app.yaml --allow-write',
      async () => {
        // The dashboard's actions (pause, shadow) are allowed: its API takes them.
        const p = headroom(argvOf('headroom run app.yaml --allow-write'));
        const { dashboard, status } = await addresses(p);
        const post = (path: string, body: unknown): Promise<Response> =>
          fetch(`${dashboard}api/actions/${path}`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify(body),
          });
        expect((await post('pause', { paused: true })).status).toBe(200);
        expect((await post('shadow', { shadow: true })).status).toBe(200);
        const body = (await fetch(status).then((r) => r.json())) as { shadow: boolean; paused?: boolean };
        expect(body).toMatchObject({ shadow: true, paused: true });
        signal(p.child, 'SIGINT');
        expect(await p.exited, p.err()).toBe(0);
      },
    ],
    [
      'headroom run app.yaml --traffic day.csv --peak 600',
      async () => {
        // Replays the trace at it, then exits by itself (no --duration).
        const r = await runToEnd(argvOf('headroom run app.yaml --traffic day.csv --peak 600'));
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/traffic +trace .*day\.csv.*peak 600\.0 rps/);
        const sent = /traffic sent (\d+), ok (\d+)/.exec(r.stdout);
        expect(sent, r.stdout).not.toBeNull();
        // 600 rps for 1 s, Poisson: about 600, never far above.
        expect(Number(sent![1])).toBeGreaterThan(400);
        expect(Number(sent![1])).toBeLessThanOrEqual(600 + 6 * Math.sqrt(600));
        expect(done(r.stdout).maxReady).toBeGreaterThan(1); // the burst scaled it up
      },
    ],
    [
      'headroom run --demo --traffic traces/worldcup98_may25_week.csv --peak 300 --duration 120',
      async () => {
        expect(existsSync(join(ROOT, 'traces/worldcup98_may25_week.csv'))).toBe(true);
        const r = await runToEnd(
          argvOf('headroom run --demo --traffic traces/worldcup98_may25_week.csv --peak 300 --duration 120', 3),
        );
        expect(r.code, r.stderr).toBe(0);
        expect(r.stdout).toMatch(/traffic +trace traces\/worldcup98_may25_week\.csv: 604800 s .*peak 300\.0 rps/);
        expect(r.stdout).toMatch(/stop after 3 s/);
        expect(done(r.stdout).requests).toBeGreaterThan(0);
      },
    ],
  ];

  it('every Usage line has its check here, and every check its line', () => {
    expect(usage).toEqual(checks.map(([line]) => line));
  });

  for (const [line, check] of checks) it(line, check, 90_000);

  it('`headroom run examples/run.yaml --duration 60 --json | jq -c \'select(.type == "event")\'` prints the events', async () => {
    const line = commands(blocks(doc.slice(doc.indexOf('For scripts, `--json`')))[0]!.text)[0]!;
    expect(line).toBe(`headroom run examples/run.yaml --duration 60 --json | jq -c 'select(.type == "event")'`);
    const [cmd, pipe] = line.split(' | ');
    const filter = /^jq -c '(.*)'$/.exec(pipe!)![1]!;
    // 60 s → 3 s; free ports.
    const r = await runToEnd(argvOf(cmd!, 3));
    expect(r.code, r.stderr).toBe(0);
    const out = hasJq
      ? execFileSync('jq', ['-c', filter], { input: r.stdout, encoding: 'utf8' })
      : r.stdout
          .split('\n')
          .filter((l) => l && (JSON.parse(l) as { type: string }).type === 'event')
          .map((l) => `${JSON.stringify(JSON.parse(l))}\n`)
          .join('');
    const events = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; kind: string; instance?: string; message: string });
    expect(events.every((e) => e.type === 'event' && typeof e.message === 'string')).toBe(true);
    const kinds = events.map((e) => `${e.kind} ${e.instance ?? ''}`.trim());
    expect(kinds).toEqual(expect.arrayContaining(['Started i1', 'Ready i1', 'Stopped i1']));
    expect(kinds.indexOf('Ready i1')).toBeLessThan(kinds.indexOf('Stopped i1'));
  });
});
