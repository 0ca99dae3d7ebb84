// backtest --query naming a counter without rate(): Prometheus answers a cumulative count, which the
// replay would read as demand rising to millions of rps. Refused with HR_PROMETHEUS_QUERY when both
// the query (a `_total`/`_count`/`_sum` outside rate/irate/increase) and the values (never falling
// over ≥ 20 steps, rising) say so; a rate, a counter inside rate(), or values that fall pass.
import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { counterOutsideRate, counterProblem } from '../../src/cli/backtest.ts';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const SPEC = fileURLToPath(new URL('../../examples/backtest.yaml', import.meta.url));
const END = 1_764_460_800; // 2025-11-30T00:00:00Z

/** `n` samples a minute apart, value v(i). */
const samples = (n: number, v: (i: number) => number): Array<[number, number]> =>
  Array.from({ length: n }, (_, i) => [END - (n - 1 - i) * 60, v(i)]);
const F = { flag: '--query', query: 'sum(http_requests_total{job="web"})' };

describe('counterOutsideRate', () => {
  it.each([
    ['sum(http_requests_total{job="web"})', 'http_requests_total'],
    ['http_request_duration_seconds_count', 'http_request_duration_seconds_count'],
    ['sum(rate(a_total[2m])) * on() group_left b_sum', 'b_sum'],
    ['sum(rate(http_requests_total{job="web"}[2m]))', undefined],
    ['sum(irate(x_total[1m]))', undefined],
    ['sum(increase(x_count[1m])) / 60', undefined],
    ['sum(rate(http_requests_total[2m])) + sum(deriv(http_requests_in_flight[2m]))', undefined],
    ['histogram_count(rate(h[5m]))', undefined],
    ['sum(web_rps{path="/a_total"})', undefined],
    ['job:http_requests_total:rate5m', undefined],
  ])('%s → %s', (q, name) => expect(counterOutsideRate(q)).toBe(name));
});

describe('counterProblem', () => {
  it('a counter, never falling over 60 steps: HR_PROMETHEUS_QUERY naming it, its values and rate() as the fix', () => {
    const p = counterProblem(
      F,
      samples(60, (i) => 1e6 + i * 5200),
    );
    expect(p).toMatchObject({ code: 'HR_PROMETHEUS_QUERY', path: '--query', value: F.query });
    expect(p?.message).toBe(
      'the demand query reads the counter http_requests_total as it is: its 60 values never decrease (1000000 to 1306800), a cumulative count, not requests per second; the replay would read it as an ever-rising rate',
    );
    expect(p?.allowed).toBe('requests per second, e.g. sum(rate(http_requests_total[2m]))');
    // Gaps (NaN) do not break the run of values.
    expect(
      counterProblem(
        F,
        samples(60, (i) => (i % 10 === 5 ? Number.NaN : i * 5200)),
      ),
    ).toBeDefined();
  });

  it('passes: a reset (a restart), fewer than 20 values, a flat line, a rate query', () => {
    expect(
      counterProblem(
        F,
        samples(60, (i) => (i < 30 ? i * 5200 : (i - 30) * 5200)),
      ),
    ).toBeUndefined();
    expect(
      counterProblem(
        F,
        samples(19, (i) => i * 5200),
      ),
    ).toBeUndefined();
    expect(
      counterProblem(
        F,
        samples(60, () => 5000),
      ),
    ).toBeUndefined();
    const rate = { flag: '--query', query: 'sum(rate(http_requests_total{job="web"}[2m]))' };
    expect(
      counterProblem(
        rate,
        samples(60, (i) => 100 + i),
      ),
    ).toBeUndefined();
  });
});

// The real CLI against a stand-in Prometheus (query_range only): a counter, a rate of it, replicas.
describe('headroom backtest --query COUNTER (CLI)', { timeout: 120_000 }, () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      const q = u.searchParams.get('query') ?? '';
      const start = Number(u.searchParams.get('start'));
      const end = Number(u.searchParams.get('end'));
      const step = Number(u.searchParams.get('step'));
      const values: Array<[number, string]> = [];
      for (let t = start, i = 0; t <= end; t += step, i++) {
        // The counter from the time, not the request: 14 days come in two requests (11,000 points each at most).
        const count = (q.includes('huge') ? 2e9 : 1e6) + ((t - (END - 14 * 86400 + 60)) / 60) * 5200;
        const v = q.startsWith('kube_') ? 3 : q.includes('rate(') ? 80 + (i % 7) * 10 : count;
        values.push([t, String(v)]);
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values }] } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  // Async: the stand-in Prometheus answers from this process's event loop.
  const backtest = (query: string, since = '2h'): Promise<{ code: number | null; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const args = ['--disable-warning=ExperimentalWarning', MAIN, 'backtest', '--prometheus', url, '--query', query];
      args.push('--spec', SPEC, '--since', since, '--end', String(END), '--policy', 'headroom');
      const child = spawn(process.execPath, args);
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });

  it('refuses the counter over 14 days (two requests): exit 2, nothing on stdout, the fix named', async () => {
    const r = await backtest('sum(http_requests_total{job="web"})', '14d');
    expect(r.stdout).toBe('');
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'HR_PROMETHEUS_QUERY --query: the demand query reads the counter http_requests_total as it is: its 20,160 values never decrease (1000000 to 105826800), a cumulative count, not requests per second; the replay would read it as an ever-rising rate (value: "sum(http_requests_total{job=\\"web\\"})"; allowed: requests per second, e.g. sum(rate(http_requests_total[2m])))\n',
    );
  });

  it('a counter past 1e9 is named as a counter, not only as too large', async () => {
    const r = await backtest('sum(huge_requests_total)');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^HR_PROMETHEUS_QUERY --query: the demand query reads the counter huge_requests_total as it is/,
    );
  });

  it('replays its rate', async () => {
    const r = await backtest('sum(rate(http_requests_total{job="web"}[2m]))');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('120 replayed');
  });
});
