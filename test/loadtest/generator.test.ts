// The open-loop generator against an in-process node:http server on 127.0.0.1 (fast local I/O):
// exact send counts, drops at the in-flight bound, latency from the intended time, error kinds.
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { classifyError, createClient, probe, runStep, type RequestTemplate } from '../../src/loadtest/generator.ts';

let server: Server;
let base = '';
const held: ServerResponse[] = [];
let lastBody = '';
let lastHeaders: Record<string, unknown> = {};
/** Called for every request the server reads (a test's hook). */
let onRequest: (() => void) | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      lastBody = body;
      lastHeaders = req.headers;
      onRequest?.();
      if (req.url === '/hang') held.push(res);
      else if (req.url === '/fail') res.writeHead(503).end();
      else res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const r of held) r.destroy();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const tmpl = (path: string, extra: Partial<RequestTemplate> = {}): RequestTemplate => ({
  url: new URL(path, base),
  method: 'GET',
  headers: {},
  timeoutMs: 2000,
  ...extra,
});

const step = { warmupS: 0, maxInFlight: 100, lateThresholdMs: 10_000 };

describe('runStep', () => {
  it('sends exactly rate × hold requests, measured after the warm-up', async () => {
    const pool = createClient(new URL(base), { connections: 16 });
    const m = await runStep(pool, tmpl('/'), { ...step, rateRps: 200, warmupS: 0.25, holdS: 0.5 });
    await pool.destroy();
    expect(m.scheduled).toBe(100); // 200 rps × 0.5 s
    expect(m.sent).toBe(100);
    expect(m.totalSent).toBe(150); // warm-up included
    expect(m.completed).toBe(100);
    expect(m.errors).toBe(0);
    expect(m.histogram.totalCount).toBe(100);
    expect(m.statusCounts).toEqual({ '200': 100 });
  });

  it('drops due requests beyond --max-in-flight instead of queueing them', async () => {
    const pool = createClient(new URL(base), { connections: 8 });
    const m = await runStep(pool, tmpl('/hang', { timeoutMs: 600 }), {
      ...step,
      rateRps: 100,
      holdS: 0.3,
      maxInFlight: 5,
    });
    await pool.destroy();
    expect(m.scheduled).toBe(30);
    expect(m.sent).toBe(5);
    expect(m.dropped).toBe(25);
    // The 5 sent time out.
    expect(m.errorKinds.timeout).toBe(5);
  });

  it('measures latency from the intended send time: a 150 ms stall of the generator shows up', async () => {
    const pool = createClient(new URL(base), { connections: 16 });
    const running = runStep(pool, tmpl('/'), { ...step, rateRps: 200, holdS: 0.5, lateThresholdMs: 20 });
    // Block this event loop (the generator's) for 150 ms right after the start.
    await new Promise((r) => setTimeout(r, 50));
    const until = performance.now() + 150;
    while (performance.now() < until) {
      /* stall */
    }
    const m = await running;
    await pool.destroy();
    // The requests due during the stall were sent late, and their latency includes the wait.
    expect(m.late).toBeGreaterThanOrEqual(20);
    expect(m.histogram.maxValue / 1000).toBeGreaterThanOrEqual(120);
    expect(m.sent).toBe(100);
  });

  it('counts HTTP errors by status and kind; sends method, headers and body', async () => {
    const pool = createClient(new URL(base), { connections: 4 });
    const m = await runStep(
      pool,
      tmpl('/fail', { method: 'POST', headers: { 'x-test': 'yes', 'content-type': 'text/plain' }, body: 'hello' }),
      { ...step, rateRps: 50, holdS: 0.2 },
    );
    await pool.destroy();
    expect(m.statusCounts).toEqual({ '503': 10 });
    expect(m.errorKinds['http-5xx']).toBe(10);
    expect(lastBody).toBe('hello');
    expect(lastHeaders['x-test']).toBe('yes');
  });

  it('an aborted signal stops the step at once and cuts it', async () => {
    const pool = createClient(new URL(base), { connections: 4 });
    const ac = new AbortController();
    let seen = 0;
    onRequest = () => {
      if (++seen === 3) ac.abort(); // 3 of the 250 that 50 rps × 5 s would send
    };
    try {
      const m = await runStep(pool, tmpl('/'), { ...step, rateRps: 50, holdS: 5, signal: ac.signal });
      expect(m.cut).toBe('aborted');
      expect(m.sent).toBeGreaterThanOrEqual(3);
      expect(m.sent).toBeLessThan(20);
    } finally {
      onRequest = undefined;
      await pool.destroy();
    }
  });
});

describe('probe', () => {
  it('measures the unloaded latency with sequential requests', async () => {
    const pool = createClient(new URL(base), { connections: 1 });
    const p = await probe(pool, tmpl('/'), { requests: 10, maxMs: 2000 });
    await pool.destroy();
    expect(p.samples).toBe(10);
    expect(p.meanMs).toBeGreaterThan(0);
    expect(p.meanMs).toBeLessThan(100);
    // Every timed latency is kept for the distribution; their mean is the probe's mean.
    expect(p.latenciesMs).toHaveLength(10);
    expect(p.latenciesMs.reduce((a, b) => a + b, 0) / 10).toBeCloseTo(p.meanMs!, 9);
  });

  it('stops at its request count or its time bound, whichever comes first', async () => {
    // A fake performance.now that the server moves 10 ms per request: the 200 ms bound is reached
    // after exactly 20 timed requests (the first, the connection check, is not timed).
    vi.useFakeTimers({ toFake: ['performance'] });
    onRequest = () => vi.advanceTimersByTime(10);
    const pool = createClient(new URL(base), { connections: 1 });
    try {
      const p = await probe(pool, tmpl('/'), { requests: 1_000_000, maxMs: 200 });
      expect(p.samples).toBe(20);
      expect(p.latenciesMs).toEqual(Array(20).fill(10));
      expect(p.meanMs).toBe(10);
      const q = await probe(pool, tmpl('/'), { requests: 5, maxMs: 200 });
      expect(q.samples).toBe(5);
    } finally {
      onRequest = undefined;
      vi.useRealTimers();
      await pool.destroy();
    }
  });

  it('--probe-requests 0: only the untimed connection check, so no mean (not the connect-laden first time)', async () => {
    const pool = createClient(new URL(base), { connections: 1 });
    const p = await probe(pool, tmpl('/'), { requests: 0, maxMs: 2000 });
    await pool.destroy();
    expect(p.samples).toBe(0);
    expect(p.firstMs).toBeGreaterThan(0);
    expect(p.meanMs).toBeUndefined();
  });

  it('keeps only successful latencies, and gives up after 20 failures with none succeeding', async () => {
    const pool = createClient(new URL(base), { connections: 1 });
    const p = await probe(pool, tmpl('/fail'), { requests: 2000, maxMs: 5000 });
    await pool.destroy();
    expect(p.statuses).toEqual({ '503': 21 }); // the connection check + 20 timed
    expect(p.samples).toBe(20);
    expect(p.latenciesMs).toHaveLength(0);
    expect(p.meanMs).toBeGreaterThan(0);
  });

  it('refused → HR_LOADTEST_TARGET naming the reason', async () => {
    const url = new URL('http://127.0.0.1:1/');
    const pool = createClient(url, { connections: 1 });
    const err = await probe(pool, { ...tmpl('/'), url }, { requests: 1, maxMs: 100 }).catch((e: unknown) => e);
    await pool.destroy();
    expect(err).toBeInstanceOf(HeadroomError);
    expect((err as HeadroomError).code).toBe('HR_LOADTEST_TARGET');
    expect((err as HeadroomError).message).toContain('connection refused');
  });
});

describe('classifyError', () => {
  it.each([
    [{ code: 'ECONNREFUSED' }, 'refused'],
    [{ code: 'ENOTFOUND' }, 'dns'],
    [{ code: 'HPE_INVALID_CONSTANT' }, 'not-http'],
    [{ name: 'HTTPParserError', message: 'Expected HTTP/' }, 'not-http'],
    [{ code: 'ERR_SSL_WRONG_VERSION_NUMBER' }, 'tls'],
    [{ code: 'EPROTO' }, 'tls'],
    [{ code: 'UND_ERR_HEADERS_TIMEOUT' }, 'timeout'],
    [{ code: 'UND_ERR_CONNECT_TIMEOUT' }, 'timeout'],
    [{ code: 'ECONNRESET' }, 'reset'],
    [{ code: 'UND_ERR_SOCKET' }, 'reset'],
    [{ message: 'x', cause: { code: 'ECONNREFUSED' } }, 'refused'],
    [{ code: 'EWHATEVER' }, 'other'],
  ])('%o → %s', (err, kind) => {
    expect(classifyError(err).kind).toBe(kind);
  });
});
