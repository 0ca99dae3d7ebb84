// `headroom loadtest` against bad targets: each gives a clear message with a stable code, a
// non-zero exit and no hang. And the example service's own contract (healthz, SIGTERM drain).
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startService, type Service } from './support/loadtest.ts';

const servers: Array<Server | HttpServer> = [];
const sockets: Socket[] = [];
const services: Service[] = [];

function listen<T extends Server | HttpServer>(s: T): Promise<number> {
  servers.push(s);
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
}

let refusedPort = 0;
let garbagePort = 0;
let silentPort = 0;
let notFoundPort = 0;
let stormUrl = '';

beforeAll(async () => {
  // A port nobody listens on: listen, note the port, close.
  const tmp = createServer();
  refusedPort = await new Promise<number>((resolve) =>
    tmp.listen(0, '127.0.0.1', () => resolve((tmp.address() as AddressInfo).port)),
  );
  await new Promise((r) => tmp.close(r));
  // An SSH-like server: writes its banner and garbage, not HTTP.
  garbagePort = await listen(
    createServer((sock) => {
      sockets.push(sock);
      sock.on('error', () => undefined);
      sock.write('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n\x00\x00\x01\x14\x0a\x14garbage');
    }),
  );
  // Accepts, reads, never answers.
  silentPort = await listen(
    createHttpServer((req) => {
      req.resume();
      sockets.push(req.socket);
    }),
  );
  // Answers 404 to everything: a wrong path.
  notFoundPort = await listen(
    createHttpServer((req, res) => {
      req.resume();
      res.writeHead(404).end('not found');
    }),
  );
  // Half the work requests fail: the probe gets some 200s, the first step a storm of 500s.
  const storm = await startService({ WORK_MS: '1', CONCURRENCY: '4', FAIL_RATE: '0.5' });
  services.push(storm);
  stormUrl = storm.url;
});

afterAll(async () => {
  for (const s of sockets) s.destroy();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await Promise.all(services.map((s) => s.stop()));
});

// A 20-request probe (the default is 2,000 or 2 s here): these runs are about failing fast.
const SHORT = [
  '--slo-latency-ms',
  '100',
  '--start-rps',
  '20',
  '--warmup',
  '0',
  '--hold',
  '1',
  '--max-duration',
  '20',
  '--probe-requests',
  '20',
];

describe('bad targets', () => {
  it.each([
    {
      name: 'refused (nothing listens)',
      url: () => `http://127.0.0.1:${refusedPort}/`,
      code: 'HR_LOADTEST_TARGET',
      text: 'connection refused',
      extra: [],
    },
    {
      name: 'not HTTP (SSH-like banner)',
      url: () => `http://127.0.0.1:${garbagePort}/`,
      code: 'HR_LOADTEST_TARGET',
      text: 'not with HTTP',
      extra: [],
    },
    {
      name: 'TLS to a plain-HTTP port',
      url: () => `${stormUrl.replace('http:', 'https:')}/`,
      code: 'HR_LOADTEST_TARGET',
      text: 'TLS handshake failed',
      extra: [],
    },
    {
      name: 'no response (timeout)',
      url: () => `http://127.0.0.1:${silentPort}/`,
      code: 'HR_LOADTEST_TIMEOUT',
      text: 'no response within the request timeout (700 ms)',
      extra: ['--timeout', '700'],
    },
    {
      name: '5xx storm (error-rate limit at the first step)',
      url: () => `${stormUrl}/`,
      code: 'HR_LOADTEST_ERROR_RATE',
      text: 'http-5xx',
      extra: [],
    },
    {
      name: 'every probe answered 404 (wrong path)',
      url: () => `http://127.0.0.1:${notFoundPort}/nope`,
      code: 'HR_LOADTEST_ERROR_RATE',
      text: 'every probe request failed before any step ran (HTTP 404: 21)',
      extra: [],
    },
    {
      name: 'not a URL',
      url: () => 'ftp://127.0.0.1/x',
      code: 'HR_LOADTEST_TARGET',
      text: 'not an http:// or https:// URL',
      extra: [],
    },
  ])('$name → $code, exit 2', async ({ url, code, text, extra }) => {
    const run = await runCli([url(), ...SHORT, ...extra]);
    expect(run.code, run.stderr).toBe(2);
    expect(run.stderr).toContain(code);
    expect(run.stderr).toContain(text);
    expect(run.ms).toBeLessThan(10_000);
  });

  it('bad flags → HR_USAGE naming the flag, value and range', async () => {
    const run = await runCli(['http://127.0.0.1:1/', '--slo-latency-ms', '100', '--slo-percentile', '100']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/HR_USAGE --slo-percentile: .*value: "100"; allowed: 50..99.9999/);
  });

  it('timeouts during the steps count as errors: a service slower than --timeout has no knee', async () => {
    const slow = await startService({ WORK_MS: '400', CONCURRENCY: '1' });
    services.push(slow);
    // The probe (one request at a time) answers in 400 ms < 1500 ms, the 20 rps step queues past it.
    const run = await runCli([`${slow.url}/`, ...SHORT, '--timeout', '1500', '--slo-latency-ms', '5000']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('HR_LOADTEST_ERROR_RATE');
    expect(run.stderr).toMatch(/timeout: \d+/);
    expect(run.ms).toBeLessThan(15_000);
  });
});

describe('example service', () => {
  it('answers /healthz at once while the work queue is full, and drains in-flight work on SIGTERM', async () => {
    const svc = await startService({ WORK_MS: '300', CONCURRENCY: '1' });
    services.push(svc);
    // Order, not time: queued behind the work (300 ms each, one at a time), /healthz would come 4th.
    const order: string[] = [];
    const track = (name: string, r: Promise<Response>) => r.then((x) => (order.push(name), x));
    const work = ['a', 'b', 'c'].map((n) => track(n, fetch(`${svc.url}/${n}`)));
    await new Promise((r) => setTimeout(r, 50));
    const h = await track('healthz', fetch(`${svc.url}/healthz`));
    expect(h.status).toBe(200);
    expect(order.indexOf('healthz')).toBeLessThanOrEqual(1); // before /b at the latest
    const code = svc.stop();
    const done = await Promise.all(work);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(await code).toBe(0);
    expect(svc.stdout()).toContain('"msg":"stopped"');
  });
});
