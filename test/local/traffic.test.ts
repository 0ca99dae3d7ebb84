// Trace-driven traffic (`headroom run --traffic`): a trace becomes phases the open-loop generator
// follows, bounded by the trace's own request count; and bad traces or flags exit 2 before
// anything starts.
import { spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  driveTraffic,
  traceCap,
  patternSeconds,
  phaseAt,
  phaseCursor,
  tracePhases,
  traceRequests,
} from '../../src/local/traffic.ts';
import { parseTraceCsv, rescaleToPeak, traceFromSeconds } from '../../src/input/trace.ts';

describe('tracePhases', () => {
  it('one phase per CSV row, holding its rate for the row', () => {
    const trace = parseTraceCsv('t_seconds,rps\n0,100\n4,250\n8,0\n');
    const phases = tracePhases(trace);
    expect(phases.map((p) => [p.seconds, p.rps(0)])).toEqual([
      [4, 100],
      [4, 250],
      [4, 0],
    ]);
    expect(patternSeconds(phases)).toBe(trace.rps.length);
    expect(phases[1]?.name).toBe('trace 4 s: 250 rps');
    expect(phaseAt(phases, 5)?.rps).toBe(250);
    expect(phaseAt(phases, 12)).toBeUndefined();
  });

  it('joins equal neighbouring seconds and keeps rescaled rates', () => {
    const phases = tracePhases(rescaleToPeak(traceFromSeconds([1, 1, 2, 2, 2, 1]), 10));
    expect(phases.map((p) => [p.seconds, p.rps(0)])).toEqual([
      [2, 5],
      [3, 10],
      [1, 5],
    ]);
  });

  it('traceRequests is Σ rps over the first seconds (the run’s hard cap), whole requests', () => {
    const trace = traceFromSeconds([10.5, 20, 30]);
    expect(traceRequests(trace)).toBe(61);
    expect(traceRequests(trace, 2)).toBe(31);
    expect(traceRequests(trace, 100)).toBe(61);
  });

  it('phaseCursor agrees with phaseAt for growing times and restarts for earlier ones', () => {
    const phases = tracePhases(traceFromSeconds([1, 2, 2, 3, 4, 4, 4, 5]));
    const cur = phaseCursor(phases);
    for (let t = 0; t < 9; t += 0.25) expect(cur(t)?.index).toBe(phaseAt(phases, t)?.index);
    expect(cur(0.5)?.rps).toBe(1);
  });
});

describe('driveTraffic from a trace (real HTTP server)', () => {
  let server: Server;
  let url = '';
  let served = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      served++;
      res.end('ok');
    });
    await new Promise<void>((res) => server.listen(0, '127.0.0.1', res));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((res) => server.close(() => res())));

  it('sends what the trace asks for, then stops when it ends', async () => {
    const trace = parseTraceCsv('t_seconds,rps\n0,40\n1,120\n2,20\n');
    const before = served;
    const run = driveTraffic(url, tracePhases(trace), { maxRequests: traceRequests(trace) });
    // Paced, not sent at once: at no moment is more sent than the trace asked for by then,
    // ∫ rate dt = 40 t, then 40 + 120 (t − 1), then 160 + 20 (t − 2). A slow machine only lags.
    const due = (t: number): number =>
      t < 1 ? 40 * t : t < 2 ? 40 + 120 * (t - 1) : Math.min(180, 160 + 20 * (t - 2));
    const ahead: string[] = [];
    let samples = 0;
    const watch = setInterval(() => {
      const { sent, elapsed } = run.progress;
      samples++;
      if (sent > Math.floor(due(elapsed) + 1e-9)) ahead.push(`${sent} sent at ${elapsed.toFixed(3)} s`);
    }, 5);
    const r = await run.done.finally(() => clearInterval(watch));
    expect(ahead).toEqual([]);
    expect(samples).toBeGreaterThan(10);
    expect(r.sent).toBe(180);
    expect(r.ok).toBe(180);
    expect(r.errors + r.dropped).toBe(0);
    expect(served - before).toBe(180);
    // The 180th request is due only at 3 s, the trace's end.
    expect(r.seconds).toBeGreaterThanOrEqual(3);
  });

  it('the trace’s request count caps the run (maxRequests)', async () => {
    const trace = traceFromSeconds([50, 50]);
    const r = await driveTraffic(url, tracePhases(trace), { maxRequests: traceRequests(trace, 1) }).done;
    expect(r.sent).toBe(50);
  });

  it('quiet rows after the last request still run their time: the cap stops sending, not the clock', async () => {
    // 40 requests in the first second, then 1.5 s of 0 rps (a scale-down to watch): the run ends
    // with the trace at 2.5 s, not when its 40th request is sent (~1 s).
    const trace = parseTraceCsv('t_seconds,rps\n0,40\n1,0\n2,0\n');
    const r = await driveTraffic(url, tracePhases(trace).slice(), {
      maxRequests: traceCap(trace, undefined, 'even'),
      durationSeconds: 2.5,
    }).done;
    expect(r.sent).toBe(40);
    expect(r.seconds).toBeGreaterThanOrEqual(2.5);
  });

  it("a Poisson run's cap leaves room for its count's spread (6σ), an even run's is exact", () => {
    const trace = traceFromSeconds(Array.from({ length: 60 }, () => 130)); // 7,800 requests
    expect(traceCap(trace, undefined, 'even')).toBe(7800);
    expect(traceCap(trace, undefined, 'poisson')).toBe(Math.ceil(7800 + 6 * Math.sqrt(7800) + 10));
  });
});

describe('headroom run --traffic: bad input exits 2 before anything starts', { timeout: 60_000 }, () => {
  const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'headroom-traffic-'));
  const good = join(dir, 'good.csv');
  writeFileSync(good, 't_seconds,rps\n0,10\n');
  const run = (args: string[]): { code: number | null; stdout: string; stderr: string } => {
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'run', ...args], {
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('a missing file: HR_FILE_READ naming it', () => {
    const missing = join(dir, 'nope.csv');
    const r = run(['--demo', '--traffic', missing, '--port', '0', '--status-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HR_FILE_READ /);
    expect(r.stderr).toContain(missing);
    expect(r.stdout).toBe('');
  });

  it('a bad CSV: HR_TRACE_INVALID with the file, line and column', () => {
    const bad = join(dir, 'bad.csv');
    writeFileSync(bad, 't_seconds,rps\n0,10\n5,-3\n');
    const r = run(['--demo', '--traffic', bad, '--port', '0', '--status-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HR_TRACE_INVALID .*bad\.csv:3:3: rps: rps must be a decimal number ≥ 0/);
    expect(r.stdout).toBe('');
  });

  it('one port for the balancer and the status server, given by flags: HR_USAGE, as the file check says it', () => {
    const r = run(['--demo', '--port', '9472', '--status-port', '9472']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^HR_USAGE --status-port: the same port as --port \(value: "9472"/);
    expect(r.stdout).toBe('');
  });

  it('--peak without --traffic, --rate with --traffic, and a zero --peak: HR_USAGE', () => {
    for (const args of [
      ['--demo', '--peak', '100'],
      ['--demo', '--traffic', good, '--rate', '10'],
      ['--demo', '--traffic', good, '--peak', '0'],
    ]) {
      const r = run(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^HR_USAGE /);
      expect(r.stdout).toBe('');
    }
  });
});

describe('driveTraffic: Poisson arrivals (the graph run and its bench)', () => {
  let server: Server;
  let url = '';
  const arrivals: number[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      arrivals.push(performance.now());
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends about rate × seconds requests with exponential gaps (not evenly spread)', async () => {
    const r = await driveTraffic(url, [{ name: 'p', seconds: 3, rps: () => 200 }], {
      poisson: { seed: 5 },
      maxRequests: 2000,
    }).done;
    // 600 expected; Poisson σ = √600 ≈ 24.5: ±5σ.
    expect(r.sent).toBeGreaterThan(600 - 125);
    expect(r.sent).toBeLessThan(600 + 125);
    expect(r.ok).toBe(r.sent);
    const gaps = arrivals.slice(1).map((t, i) => t - (arrivals[i] as number));
    // Exponential gaps at 200 rps: P(gap > 15 ms) = e^−3 ≈ 5 % (~30 of 600, σ ≈ 5.4). Evenly spread
    // (one or two per 10-ms tick) no gap exceeds ~10 ms plus timer lag.
    const long = gaps.filter((g) => g > 15).length / gaps.length;
    expect(long).toBeGreaterThan(0.02);
    expect(long).toBeLessThan(0.2); // loose: the sender and this server share one event loop
  });

  it('stops at maxRequests', async () => {
    const r = await driveTraffic(url, [{ name: 'p', seconds: 3, rps: () => 200 }], {
      poisson: { seed: 6 },
      maxRequests: 50,
    }).done;
    expect(r.sent).toBe(50);
  });
});
