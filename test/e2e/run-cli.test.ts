// `headroom run` as a user runs it: the demo exits 0 by itself, the status API answers while it
// runs, and bad input exits 2 with a coded message.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { alive, EXAMPLE_SERVICE } from '../local/helpers.ts';
import { cli } from './support/cli.ts';

const DEMO_SPEC = fileURLToPath(new URL('../../examples/run.yaml', import.meta.url));

describe('headroom run (CLI)', () => {
  it('--demo runs the example under traffic, serves /api/status, logs its events, stops by itself and exits 0', async () => {
    let statusUrl: string | undefined;
    let status: Promise<unknown> | undefined;
    const r = await cli(
      ['run', '--demo', '--duration', '8', '--port', '0', '--status-port', '0', '--rate', '20'],
      (out) => {
        const m = /status API\s+(\S+)/.exec(out);
        if (m && !statusUrl) {
          statusUrl = m[1];
          // 2.5 s in, once the status shows a ready instance (a slow machine may take longer):
          // kill it (the log must say so, and its restart must serve what it refused).
          status = (async () => {
            await new Promise((res) => setTimeout(res, 2500));
            for (let i = 0; ; i++) {
              const body = (await fetch(statusUrl!).then((x) => x.json())) as {
                instances: Array<{ pid?: number; state: string }>;
              };
              const inst = body.instances[0];
              if ((inst?.state === 'ready' && inst.pid) || i >= 20) {
                if (inst?.pid) process.kill(inst.pid, 'SIGKILL');
                return body;
              }
              await new Promise((res) => setTimeout(res, 100));
            }
          })();
        }
      },
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/status$/);
    const body = (await status) as {
      kind: string;
      service: { name: string };
      replicas: { ready: number };
      instances: unknown[];
    };
    expect(body.kind).toBe('headroom.dev/status/v1');
    expect(body.service.name).toBe('web');
    expect(body.replicas.ready).toBeGreaterThanOrEqual(1);
    expect(r.stdout).toMatch(/send requests to\s+http:\/\/127\.0\.0\.1:\d+/);
    // examples/run.yaml states concurrency 4: requests wait at the balancer for a free slot.
    expect(r.stdout).toContain('requests wait at  the balancer for a free slot (≤ 4 per instance)');
    // Not a TTY: plain periodic lines with demand and counts.
    expect(r.stdout).toMatch(/demand [\d.–]+ rps over [\d–]+ s, [\d.–]+ rps over [\d–]+ s/);
    // … and every event as a line when it happens: the first instance ready, the kill ("!": a
    // warning) and its replacement, the drain at the end.
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d {3}Ready i1 /m);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d ! Crashed i1 killed by SIGKILL while ready/m);
    expect(r.stdout).toMatch(/^\d\d:\d\d:\d\d {3}Stopped i\d+ /m);
    expect(r.stdout.indexOf(' Crashed i1 ')).toBeLessThan(r.stdout.indexOf('stopping: draining'));
    const done = /done after \d+ s: (\d+) requests through the balancer, (\d+) failed/.exec(r.stdout);
    expect(done).not.toBeNull();
    expect(Number(done![1])).toBeGreaterThan(50); // ~20 rps for 6 s
    // Only what the killed instance held can fail (≤ its 4 slots: a request on a fresh connection
    // answers 502; one on a reused keep-alive socket is retried on another instance).
    expect(Number(done![2])).toBeLessThanOrEqual(4);
  });

  it('--json: one JSON object per line — started, traffic, ticks, events, stopping, done — and nothing else', async () => {
    const r = await cli([
      'run',
      '--demo',
      '--duration',
      '5',
      '--port',
      '0',
      '--status-port',
      '0',
      '--rate',
      '20',
      '--json',
    ]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    const objs = lines.map((l) => JSON.parse(l) as { type: string } & Record<string, unknown>);
    const types = objs.map((o) => o.type);
    expect(types[0]).toBe('started');
    expect(types[1]).toBe('traffic');
    expect(types.at(-1)).toBe('done');
    // The draining instances' events come after `stopping`, still before `done`.
    const stopping = types.indexOf('stopping');
    expect(types.lastIndexOf('tick')).toBeLessThan(stopping);
    expect(objs.slice(stopping).some((o) => o.type === 'event' && o.kind === 'Stopped')).toBe(true);
    expect(new Set(types)).toEqual(new Set(['started', 'traffic', 'tick', 'event', 'stopping', 'done']));
    // Poisson arrivals unless --arrivals even: what the queueing model assumes.
    expect(objs[1]?.arrivals).toBe('poisson');
    const started = objs[0] as unknown as { statusApi: string; url: string; queue: string };
    expect(started.statusApi).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/status$/);
    expect(started.queue).toBe('balancer');
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const ticks = objs.filter((o) => o.type === 'tick') as unknown as Array<{ elapsed: number; ready: number }>;
    expect(ticks.length).toBeGreaterThanOrEqual(4); // one a second for 5 s
    expect(ticks.every((t, i) => i === 0 || t.elapsed > ticks[i - 1]!.elapsed)).toBe(true);
    expect(ticks.at(-1)!.ready).toBeGreaterThanOrEqual(1);
    // Every event once: an instance is Started and Ready once each, and Stopped at the end.
    const events = objs.filter((o) => o.type === 'event') as unknown as Array<{
      kind: string;
      instance?: string;
      at: string;
    }>;
    const key = (e: { kind: string; instance?: string; at: string }) => `${e.kind} ${e.instance ?? ''} ${e.at}`;
    expect(new Set(events.map(key)).size).toBe(events.length);
    expect(events.some((e) => e.kind === 'Ready' && e.instance === 'i1')).toBe(true);
    const done = objs.at(-1) as unknown as { requests: number; failed: number; traffic: { sent: number; ok: number } };
    expect(done.requests).toBeGreaterThan(40); // ~20 rps for 5 s
    expect(done.failed).toBe(0);
    expect(done.traffic.ok).toBe(done.traffic.sent);
  });

  it.runIf(process.platform === 'linux')(
    'SIGKILL of headroom run: its instances get SIGTERM from the kernel and exit (no orphans)',
    async () => {
      const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
      const child = spawn(
        process.execPath,
        ['--disable-warning=ExperimentalWarning', main, 'run', '--demo', '--duration', '60', '--port', '0'],
        { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, HEADROOM_TOKEN: '' } },
      );
      try {
        let out = '';
        const statusUrl = await new Promise<string>((res, rej) => {
          const t = setTimeout(() => rej(new Error(`no status URL in: ${out}`)), 30_000);
          child.stdout.on('data', (c: Buffer) => {
            out += c.toString();
            const m = /status API\s+(\S+)/.exec(out);
            if (m?.[1]) {
              clearTimeout(t);
              res(m[1]);
            }
          });
        });
        // Wait for an instance with a pid.
        let pids: number[] = [];
        for (let i = 0; i < 100 && pids.length === 0; i++) {
          const body = (await fetch(statusUrl).then((x) => x.json())) as { instances: Array<{ pid?: number }> };
          pids = body.instances.flatMap((x) => (x.pid ? [x.pid] : []));
          if (pids.length === 0) await new Promise((r) => setTimeout(r, 200));
        }
        expect(pids.length).toBeGreaterThan(0);
        expect(pids.every(alive)).toBe(true);
        child.kill('SIGKILL');
        for (let i = 0; i < 100 && pids.some(alive); i++) await new Promise((r) => setTimeout(r, 100));
        expect(pids.filter(alive)).toEqual([]);
      } finally {
        child.kill('SIGKILL');
      }
    },
    60_000,
  );

  it('no spec and no --demo: HR_USAGE, exit 2', async () => {
    const r = await cli(['run']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('HR_USAGE');
  });

  it('--arrivals: even is reported on the traffic line; a bad kind, or no traffic to space, is HR_USAGE, exit 2', async () => {
    const even = await cli([
      'run',
      '--demo',
      '--duration',
      '2',
      '--port',
      '0',
      '--status-port',
      '0',
      '--arrivals',
      'even',
    ]);
    expect(even.code, even.stderr).toBe(0);
    expect(even.stdout).toMatch(/^ {2}traffic {11}.*, evenly spread$/m);
    const bad = await cli(['run', '--demo', '--arrivals', 'bursty']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^HR_USAGE .*--arrivals.*bursty.*poisson, even/);
    const alone = await cli(['run', DEMO_SPEC, '--arrivals', 'even']);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toMatch(/^HR_USAGE --arrivals: .*needs --traffic FILE or --demo/);
    expect(alone.stdout).toBe('');
  });

  it('the balancer port in use: HR_PORT_IN_USE, exit 2, nothing started', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'headroom-run-cli-'));
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      `services:\n  - name: web\n    instance: { serviceTimeMs: 20 }\nrun:\n  command: [node, ${JSON.stringify(EXAMPLE_SERVICE)}]\n  port: ${port}\n  statusPort: 0\n`,
    );
    try {
      const r = await cli(['run', spec]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^HR_PORT_IN_USE .*run\\.port: .*127\\.0\\.0\\.1:${port}`));
      expect(r.stdout).toBe('');
    } finally {
      blocker.close();
    }
  });

  it('a call graph whose entry port is in use: HR_PORT_IN_USE at run.port, exit 2, no service of the graph started', async () => {
    const blocker = createServer();
    await new Promise<void>((res) => blocker.listen(0, '127.0.0.1', res));
    const port = (blocker.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'headroom-run-cli-'));
    const spec = join(dir, 'graph.yaml');
    // Every instance of every service would leave a line in the marker if it were ever started.
    const marker = join(dir, 'started');
    const command = [
      'sh',
      '-c',
      `echo started >> ${JSON.stringify(marker)}; exec "$0" "$1"`,
      process.execPath,
      EXAMPLE_SERVICE,
    ];
    writeFileSync(
      spec,
      [
        'services:',
        '  - name: gateway',
        '    instance: { serviceTimeMs: 20 }',
        '    slo: { latencyMs: 500, percentile: 99, scope: endToEnd }',
        '    calls: [{ service: db, perRequest: 1 }]',
        '  - name: db',
        '    instance: { serviceTimeMs: 20 }',
        'run:',
        `  command: ${JSON.stringify(command)}`,
        `  port: ${port}`,
        '  statusPort: 0',
        '',
      ].join('\n'),
    );
    try {
      const r = await cli(['run', spec, '--json']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^HR_PORT_IN_USE run\\.port: .*127\\.0\\.0\\.1:${port}`));
      expect(r.stdout).toBe('');
      expect(existsSync(marker)).toBe(false);
    } finally {
      blocker.close();
    }
  });

  it('three mistakes in three sections (services, run, alerts): all listed with line:column, exit 2, nothing started', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-run-cli-'));
    const spec = join(dir, 'bad.yaml');
    // The command would leave a marker if it were ever started.
    const marker = join(dir, 'started');
    writeFileSync(
      join(dir, 'svc.mjs'),
      `import { writeFileSync } from 'node:fs'; writeFileSync(${JSON.stringify(marker)}, 'x');\n`,
    );
    writeFileSync(
      spec,
      [
        'services:',
        '  - name: web',
        '    instance: { serviceTimeMs: -5 }',
        'run: { command: [node, svc.mjs], tickSeconds: 3 }',
        'alerts:',
        '  rules:',
        '    - { name: Hot, expr: "instance.cpuUtilization > 90%", for: soon }',
        '',
      ].join('\n'),
    );
    const lines = readFileSync(spec, 'utf8').split('\n');
    const at = (line: number, s: string): string => `${line}:${(lines[line - 1] ?? '').indexOf(s) + 1}`;
    const r = await cli(['run', spec]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toEqual([
      `HR_SPEC_INVALID ${spec}:${at(3, '-5')}: services[0].instance.serviceTimeMs: too small (value: -5; allowed: >= 0.001)`,
      `HR_SPEC_INVALID ${spec}:${at(4, '3 }')}: run.tickSeconds: too large (value: 3; allowed: <= 1)`,
      `HR_ALERT_RULE_INVALID ${spec}:${at(7, 'soon')}: alerts.rules[0].for: must be a duration like 30s, 5m, 1h30m (value: "soon")`,
    ]);
    expect(existsSync(marker)).toBe(false);
  });
});
