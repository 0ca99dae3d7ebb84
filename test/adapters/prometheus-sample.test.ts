// The instant-query client against a tiny local HTTP server answering crafted JSON: how several
// series become one value (a sum for a rate, an error for a latency), and what each kind of
// failure says (timeout, refused, DNS, TLS, an HTTP 5xx with Prometheus' own error, a cancel).
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { interpret, PrometheusSource } from '../../src/adapters/metrics/prometheus/index.ts';
import { freePort } from '../e2e/support/prometheus.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;
let handler: Handler = (_req, res) => res.end('{}');
let server: Server;
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => handler(req, res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const json =
  (status: number, body: unknown): Handler =>
  (_req, res) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };

const vector = (...series: Array<[Record<string, string>, string]>) => ({
  status: 'success',
  data: { resultType: 'vector', result: series.map(([metric, v]) => ({ metric, value: [1_796_000_000, v] })) },
});

const perPod = vector([{ pod: 'web-a' }, '0.03'], [{ pod: 'web-b' }, '0.03'], [{ pod: 'web-c' }, '0.03']);

describe('several series', () => {
  it('a rate (aggregate sum, the default) adds them up', async () => {
    handler = json(200, vector([{ code: '200' }, '40'], [{ code: '500' }, '2']));
    const s = await new PrometheusSource({ url }).sample('sum by (code) (rate(x[1m]))');
    expect(s).toEqual({ kind: 'ok', value: 42, at: 1_796_000_000, series: 2 });
  });

  it('a latency (aggregate single): three per-pod p99s of 30 ms are HR_PROMETHEUS_SERIES naming them, not 90 ms', async () => {
    handler = json(200, perPod);
    const s = await new PrometheusSource({ url }).sample('p99', { aggregate: 'single' });
    expect(s.kind).toBe('error');
    if (s.kind !== 'error') return;
    expect(s.code).toBe('HR_PROMETHEUS_SERIES');
    expect(s.reason).toContain(
      'HR_PROMETHEUS_SERIES: the query returned 3 series where one is needed: {pod="web-a"}, {pod="web-b"}, {pod="web-c"}',
    );
    // One series is its value, as before.
    handler = json(200, vector([{ pod: 'web-a' }, '0.03']));
    expect(await new PrometheusSource({ url }).sample('p99', { aggregate: 'single' })).toMatchObject({
      kind: 'ok',
      value: 0.03,
      series: 1,
    });
  });

  it('names the first five label sets and counts the rest', () => {
    const many = vector(...Array.from({ length: 8 }, (_, i): [Record<string, string>, string] => [{ i: `${i}` }, '1']));
    const s = interpret(many.data, 'single');
    expect(s.kind === 'error' && s.reason).toContain(
      '8 series where one is needed: {i="0"}, {i="1"}, {i="2"}, {i="3"}, {i="4"}, and 3 more',
    );
    expect(interpret(many.data, 'sum')).toMatchObject({ kind: 'ok', value: 8 });
  });
});

describe('what a failed query says', () => {
  it('a timeout: "did not answer within <the configured timeout> (timeout)", no stray number', async () => {
    handler = () => undefined; // never answers
    const s = await new PrometheusSource({ url, timeoutMs: 300 }).sample('up');
    expect(s).toEqual({ kind: 'error', reason: `Prometheus at ${url} did not answer within 0.3 s (timeout)` });
    const s2 = await new PrometheusSource({ url, timeoutMs: 1000 }).sample('up');
    expect(s2.kind === 'error' && s2.reason).toBe(`Prometheus at ${url} did not answer within 1 s (timeout)`);
  });

  it('connection refused: "unreachable: connection refused (ECONNREFUSED)"', async () => {
    const port = await freePort();
    const s = await new PrometheusSource({ url: `http://127.0.0.1:${port}` }).sample('up');
    expect(s).toEqual({
      kind: 'error',
      reason: `Prometheus at http://127.0.0.1:${port} unreachable: connection refused (ECONNREFUSED)`,
    });
  });

  it('an unknown host: "unreachable: host … not found (ENOTFOUND)"', async () => {
    const s = await new PrometheusSource({ url: 'http://no-such-host.invalid:9090' }).sample('up');
    expect(s.kind === 'error' && s.reason).toMatch(
      /^Prometheus at http:\/\/no-such-host\.invalid:9090 unreachable: (host no-such-host\.invalid not found \(ENOTFOUND\)|DNS lookup of no-such-host\.invalid failed \(EAI_AGAIN\))$/,
    );
  });

  it('a caller that cancels: "the query was cancelled (abort)"', async () => {
    handler = () => undefined;
    const ac = new AbortController();
    const p = new PrometheusSource({ url, timeoutMs: 5000 }).sample('up', { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    const s = await p;
    expect(s.kind === 'error' && s.reason).toBe(`Prometheus at ${url} not asked: the query was cancelled (abort)`);
  });

  it('TLS: "unreachable: TLS failed: <why> (<code>)"', async () => {
    // Plain HTTP spoken to an https:// URL: the handshake fails.
    const s = await new PrometheusSource({ url: url.replace('http:', 'https:') }).sample('up');
    expect(s.kind === 'error' && s.reason).toMatch(
      new RegExp(
        `^Prometheus at ${url.replace('http:', 'https:').replace(/\./g, '\\.')} unreachable: TLS failed: .+ \\((ERR_SSL_[A-Z_]+|EPROTO)\\)$`,
      ),
    );
    expect(s.kind === 'error' && s.reason).not.toMatch(/: \d+ /);
  });

  it("an HTTP 5xx with Prometheus' own error body; a proxy's HTML page; an empty JSON null", async () => {
    handler = json(503, { status: 'error', errorType: 'unavailable', error: 'TSDB not ready' });
    expect(await new PrometheusSource({ url }).sample('up')).toEqual({
      kind: 'error',
      status: 503,
      reason: 'HTTP 503 Service Unavailable: unavailable: TSDB not ready',
    });
    handler = json(422, {
      status: 'error',
      errorType: 'execution',
      error: 'query processing would load too many samples',
    });
    expect(await new PrometheusSource({ url }).sample('up')).toMatchObject({
      reason: 'HTTP 422 Unprocessable Entity: execution: query processing would load too many samples',
    });
    handler = (_req, res) => {
      res.writeHead(502, { 'content-type': 'text/html' });
      res.end('<html>\n<body>  Bad gateway </body></html>');
    };
    expect(await new PrometheusSource({ url }).sample('up')).toEqual({
      kind: 'error',
      status: 502,
      reason: 'HTTP 502 Bad Gateway: not a Prometheus API answer: <html> <body> Bad gateway </body></html>',
    });
    handler = json(200, null); // never a TypeError out of sample()
    expect(await new PrometheusSource({ url }).sample('up')).toMatchObject({
      kind: 'error',
      reason: 'HTTP 200 OK: not a Prometheus API answer: null',
    });
  });
});
