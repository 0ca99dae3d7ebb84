// `headroom run` wiring of the other areas, as a user runs it: the spec's alerts: section fires and
// is delivered to a real webhook, the dashboard and status API are behind the token, and the
// dashboard's write actions (allowed with --allow-write) pause the loop and switch shadow mode.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXAMPLE_SERVICE, sleep } from '../local/helpers.ts';
import { cli } from './support/cli.ts';

const TOKEN = 'test-token-0123456789abcdef';

let hook: Server;
let hookUrl = '';
const hits: Array<{ auth?: string; body: { alerts?: Array<{ labels?: Record<string, string> }> } }> = [];
beforeAll(async () => {
  hook = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      hits.push({ ...(req.headers.authorization ? { auth: req.headers.authorization } : {}), body: JSON.parse(data) });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const a = hook.address();
  hookUrl = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}/hook`;
});
afterAll(() => new Promise<void>((r) => hook.close(() => r())));

async function until<T>(what: () => Promise<T | undefined>, ms: number): Promise<T | undefined> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const v = await what().catch(() => undefined);
    if (v !== undefined) return v;
    await sleep(200);
  }
  return undefined;
}

interface Status {
  paused?: boolean;
  shadow: boolean;
  decision: { reasons: Array<{ code: string }> } | null;
  alerts?: { alerts: Array<{ rule: string; state: string }> };
  events: Array<{ type: string; message: string }>;
}

describe('headroom run: alerts, dashboard, token and write actions', () => {
  it('delivers the spec’s alert to a webhook, guards every route with the token, and pauses on request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'headroom-run-int-'));
    const spec = join(dir, 'spec.yaml');
    writeFileSync(
      spec,
      [
        'services:',
        '  - name: web',
        '    instance: { serviceTimeMs: 20, concurrency: 4 }',
        '    replicas: { min: 1, max: 3 }',
        'run:',
        `  command: [node, ${JSON.stringify(EXAMPLE_SERVICE)}]`,
        '  port: 0',
        '  statusPort: 0',
        '  tickSeconds: 0.5',
        'alerts:',
        '  rules:',
        '    - { name: FewReady, metric: service.ready, op: "<", threshold: 5, for: 0s, severity: critical }',
        '  receivers:',
        `    - { name: hook, webhook: { url: ${JSON.stringify(hookUrl)} } }`,
        '  route: { receiver: hook, groupWait: 0s }',
        '',
      ].join('\n'),
    );
    let base: string | undefined;
    let checks: Promise<Record<string, unknown>> | undefined;
    const auth = { authorization: `Bearer ${TOKEN}` };
    const get = (path: string, headers: Record<string, string> = auth) => fetch(`${base}${path}`, { headers });
    const post = (path: string, body: unknown) =>
      fetch(`${base}${path}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const run = async (): Promise<Record<string, unknown>> => {
      const open = await get('/api/status', {});
      const page = await get('/');
      const firing = await until(async () => {
        const s = (await (await get('/api/status')).json()) as Status;
        return s.alerts?.alerts.some((a) => a.rule === 'FewReady' && a.state === 'firing') ? s : undefined;
      }, 10_000);
      const delivered = await until(
        async () => hits.find((h) => h.body.alerts?.some((a) => a.labels?.alertname === 'FewReady')),
        10_000,
      );
      // A page elsewhere cannot write, even with the token; JSON is never sniffed.
      const cross = await fetch(`${base}/api/actions/pause`, {
        method: 'POST',
        headers: { ...auth, 'content-type': 'application/json', origin: 'http://evil.example' },
        body: JSON.stringify({ paused: true }),
      });
      const crossBody = (await cross.json()) as { error?: string };
      const statusRes = await get('/api/status');
      await statusRes.body?.cancel();
      const paused = await post('/api/actions/pause', { paused: true });
      const pausedStatus = await until(async () => {
        const s = (await (await get('/api/status')).json()) as Status;
        return s.paused && s.decision?.reasons.some((r) => r.code === 'Paused') ? s : undefined;
      }, 5000);
      const shadow = await post('/api/actions/shadow', { shadow: true });
      const after = (await (await get('/api/status')).json()) as Status;
      return {
        cross: cross.status,
        crossError: crossBody.error,
        nosniff: statusRes.headers.get('x-content-type-options'),
        open: open.status,
        page: page.status,
        pageType: page.headers.get('content-type'),
        firing,
        delivered,
        paused: paused.status,
        pausedStatus,
        shadow: shadow.status,
        after,
      };
    };
    const r = await cli(['run', spec, '--duration', '14', '--token', TOKEN, '--allow-write', '--no-live'], (out) => {
      const m = /status API\s+(\S+)\/api\/status/.exec(out);
      if (m && !base) {
        base = m[1];
        checks = run();
      }
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('(token required)');
    const c = await checks!;
    expect(c.cross).toBe(403);
    expect(c.crossError).toBe('forbidden');
    expect(c.nosniff).toBe('nosniff');
    expect(c.open).toBe(401);
    expect(c.page).toBe(200);
    expect(c.pageType).toMatch(/^text\/html/);
    expect(c.firing).toBeDefined();
    expect(c.delivered).toBeDefined();
    expect(c.paused).toBe(200);
    expect(c.pausedStatus).toBeDefined();
    expect(c.shadow).toBe(200);
    const after = c.after as Status;
    expect(after.shadow).toBe(true);
    expect(after.events.some((e) => e.type === 'Alert' && e.message.startsWith('FewReady firing'))).toBe(true);
    expect(after.events.some((e) => e.type === 'Alert' && e.message === 'alert notification sent (hook)')).toBe(true);
    expect(after.events.some((e) => e.message === 'control loop paused')).toBe(true);
  });

  it('read-only by default: the write actions answer 403 and change nothing', async () => {
    let base: string | undefined;
    let checks: Promise<{ action: number; status: Status }> | undefined;
    const r = await cli(
      ['run', '--demo', '--duration', '5', '--port', '0', '--status-port', '0', '--rate', '10'],
      (out) => {
        const m = /status API\s+(\S+)\/api\/status/.exec(out);
        if (m && !base) {
          base = m[1];
          checks = (async () => {
            const action = await fetch(`${base}/api/actions/pause`, {
              method: 'POST',
              headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ paused: true }),
            });
            const status = (await (await fetch(`${base}/api/status`)).json()) as Status;
            return { action: action.status, status };
          })();
        }
      },
    );
    expect(r.code).toBe(0);
    const c = await checks!;
    expect(c.action).toBe(403);
    expect(c.status.paused).toBe(false);
    // Built-in rules apply without an alerts: section.
    expect(Array.isArray(c.status.alerts?.alerts)).toBe(true);
  });

  it('a token of 16 spaces: HR_TOKEN_REQUIRED, exit 2, nothing started', async () => {
    const r = await cli(['run', '--demo', '--port', '0', '--status-port', '0', '--token', ' '.repeat(16)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HR_TOKEN_REQUIRED .*blank/);
    expect(r.stdout).toBe('');
  });

  it('listening off loopback without a token: HR_TOKEN_REQUIRED, exit 2, nothing started', async () => {
    const r = await cli(['run', '--demo', '--host', '0.0.0.0', '--port', '0', '--status-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HR_TOKEN_REQUIRED /);
    expect(r.stdout).toBe('');
  });
});
