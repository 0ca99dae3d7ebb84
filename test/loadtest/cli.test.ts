// `headroom loadtest` flag parsing and the probe's early failure (pure parts of src/cli/loadtest.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HeadroomError } from '../../src/core/errors.ts';
import { PROBE_MAX_MS, parseConfig, probeBounds, probeErrors } from '../../src/cli/loadtest.ts';

const defaults = {
  sloLatencyMs: '100',
  sloPercentile: '99',
  startRps: '10',
  factor: '1.5',
  maxRps: '10000',
  warmup: '2',
  hold: '5',
  refine: '3',
  cooldown: '0.5',
  maxErrorRate: '1',
  maxDuration: '300',
  maxRequests: '1000000',
  maxInFlight: '512',
  timeout: '5000',
  lateMs: '10',
  probeRequests: '20',
  method: 'get',
  header: [] as string[],
  progress: true,
};

function problems(
  fn: () => unknown,
): ReadonlyArray<{ code: string; path?: string; value?: unknown; message?: string; allowed?: string }> {
  try {
    fn();
  } catch (err) {
    if (err instanceof HeadroomError) return err.problems;
    throw err;
  }
  throw new Error('expected a HeadroomError');
}

describe('parseConfig', () => {
  it('turns the flags into a request template and a search plan', () => {
    const c = parseConfig('http://127.0.0.1:8080/work?x=1', {
      ...defaults,
      header: ['X-Token: a:b', 'accept:  text/plain '],
      body: '{}',
      maxErrorRate: '2.5',
    });
    expect(c.template.url.href).toBe('http://127.0.0.1:8080/work?x=1');
    expect(c.template.method).toBe('GET');
    // Header values keep their own colons; names are lower-cased, values trimmed.
    expect(c.template.headers).toEqual({ 'x-token': 'a:b', accept: 'text/plain' });
    expect(c.template.body).toBe('{}');
    expect(c.plan.errorRateLimit).toBeCloseTo(0.025, 12);
    expect(c.plan.slo).toEqual({ latencyMs: 100, percentile: 99 });
    expect(c.connections).toBe(512); // defaults to --max-in-flight
  });

  it('reports every bad flag at once, naming flag and value', () => {
    const ps = problems(() =>
      parseConfig('http://127.0.0.1/', {
        ...defaults,
        sloLatencyMs: '0',
        factor: '1',
        refine: '2.5',
        maxInFlight: 'NaN',
        header: ['no colon here'],
      }),
    );
    expect(ps.map((p) => p.path)).toEqual(['--slo-latency-ms', '--factor', '--refine', '--max-in-flight', '--header']);
    expect(ps.every((p) => p.code === 'HR_USAGE')).toBe(true);
    expect(ps[2]?.value).toBe('2.5');
  });

  it('--factor and --increment-rps are alternatives: both given is an error, neither is ×1.5', () => {
    const ps = problems(() => parseConfig('http://h/', { ...defaults, incrementRps: '50' }));
    expect(ps.map((p) => [p.code, p.path, p.value, p.message])).toEqual([
      [
        'HR_USAGE',
        '--increment-rps',
        '50',
        '--increment-rps with --factor: the steps are linear or geometric, not both',
      ],
    ]);
    const { factor: _f, ...plain } = defaults;
    expect(parseConfig('http://h/', plain).plan.factor).toBe(1.5);
    expect(parseConfig('http://h/', { ...plain, incrementRps: '50' }).plan.incrementRps).toBe(50);
  });

  it('rejects a header value with CR or LF (it would inject headers into the raw request)', () => {
    const ps = problems(() => parseConfig('http://h/', { ...defaults, header: ['x-a: 1\r\nx-injected: 2'] }));
    expect(ps.map((p) => [p.code, p.path])).toEqual([['HR_USAGE', '--header']]);
  });

  it('rejects --start-rps above --max-rps and non-HTTP URLs', () => {
    expect(problems(() => parseConfig('http://h/', { ...defaults, startRps: '500', maxRps: '100' }))[0]?.path).toBe(
      '--start-rps',
    );
    expect(problems(() => parseConfig('tcp://h:1', defaults))[0]?.code).toBe('HR_LOADTEST_TARGET');
    expect(problems(() => parseConfig('not a url', defaults))[0]?.code).toBe('HR_LOADTEST_TARGET');
  });
});

describe('--slo-percentile is a percent (50 ≤ P < 100)', () => {
  it('refuses 0.99 with the hint that it looks like a fraction, and anything below 50', () => {
    const ps = problems(() => parseConfig('http://h/', { ...defaults, sloPercentile: '0.99' }));
    expect(ps.map((p) => [p.code, p.path, p.value, p.allowed])).toEqual([
      ['HR_USAGE', '--slo-percentile', '0.99', '50..99.9999'],
    ]);
    expect(ps[0]?.message).toBe('out of range; 0.99 looks like a fraction: the percentile is a percent, 99 for p99');
    const p30 = problems(() => parseConfig('http://h/', { ...defaults, sloPercentile: '30' }));
    expect(p30.map((p) => [p.code, p.path, p.message])).toEqual([['HR_USAGE', '--slo-percentile', 'out of range']]);
    expect(problems(() => parseConfig('http://h/', { ...defaults, sloPercentile: '1' }))[0]?.message).toContain(
      '1 looks like a fraction',
    );
    expect(parseConfig('http://h/', { ...defaults, sloPercentile: '50' }).plan.slo.percentile).toBe(50);
    expect(parseConfig('http://h/', { ...defaults, sloPercentile: '99.9' }).plan.slo.percentile).toBe(99.9);
  });
});

describe('the target URL', () => {
  it('a bad port is named as such, with its value and the allowed range', () => {
    for (const [url, port] of [
      ['http://127.0.0.1:99999/work', '99999'],
      ['http://127.0.0.1:1808l/work', '1808l'],
      ['http://127.0.0.1:0/', '0'],
      ['https://[::1]:65536/', '65536'],
    ]) {
      const ps = problems(() => parseConfig(url!, defaults));
      expect(
        ps.map((p) => [p.code, p.message, p.value, p.allowed]),
        url,
      ).toEqual([['HR_LOADTEST_TARGET', `the port of ${url} is invalid`, port, '1–65535']]);
    }
    expect(parseConfig('http://127.0.0.1:65535/', defaults).template.url.port).toBe('65535');
    expect(parseConfig('http://127.0.0.1/', defaults).template.url.port).toBe('');
    expect(problems(() => parseConfig('htp://127.0.0.1:99999/', defaults))[0]?.message).toBe(
      'the target is not an http:// or https:// URL',
    );
  });
});

describe('probeErrors', () => {
  const probe = (statuses: Record<string, number>) => ({
    meanMs: 1,
    samples: 20,
    firstMs: 2,
    statuses,
    latenciesMs: [],
  });

  it('fails fast when every probe response is an HTTP error', () => {
    const e404 = probeErrors(probe({ '404': 21 }), 0.01);
    expect(e404?.code).toBe('HR_LOADTEST_ERROR_RATE');
    expect(e404?.message).toContain('HTTP 404: 21');
    expect(e404?.message).toContain('check the URL');
    const e5xx = probeErrors(probe({ '500': 20, '404': 1 }), 0.01);
    expect(e5xx?.message).toContain('http-5xx');
  });

  it('lets the run go on when some probe response succeeded, or errors are allowed', () => {
    expect(probeErrors(probe({ '500': 20, '200': 1 }), 0.01)).toBeUndefined();
    expect(probeErrors(probe({ '503': 21 }), 1)).toBeUndefined();
    expect(probeErrors(probe({ '302': 21 }), 0.01)).toBeUndefined();
  });
});

describe('probeBounds', () => {
  it('gives the probe its requests, at most 20 s, and at most 10 % of --max-duration and --max-requests', () => {
    const cfg = (o: Partial<typeof defaults>) => parseConfig('http://127.0.0.1:8080/', { ...defaults, ...o });
    expect(probeBounds(cfg({ probeRequests: '2000' }))).toEqual({ requests: 2000, maxMs: PROBE_MAX_MS });
    expect(probeBounds(cfg({ probeRequests: '2000', maxDuration: '60' }))).toEqual({ requests: 2000, maxMs: 6000 });
    expect(probeBounds(cfg({ probeRequests: '2000', maxRequests: '700' })).requests).toBe(70);
    expect(probeBounds(cfg({ probeRequests: '0' })).requests).toBe(0);
  });
});

describe('headroom loadtest: outputs checked before any load', () => {
  it('a --profile or --report in a directory that does not exist: HR_FILE_WRITE at once, not after the run', () => {
    const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
    for (const flag of ['--profile', '--report']) {
      // Port 9 answers nothing: had the load started, this would be HR_LOADTEST_TARGET instead.
      const r = spawnSync(
        process.execPath,
        [
          '--disable-warning=ExperimentalWarning',
          main,
          'loadtest',
          'http://127.0.0.1:9/',
          '--slo-latency-ms',
          '100',
          flag,
          '/nonexistent-dir/x',
        ],
        { encoding: 'utf8', timeout: 60_000 },
      );
      expect(r.status, flag).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`^HR_FILE_WRITE ${flag}: the directory /nonexistent-dir does not exist`));
      expect(r.stdout).toBe('');
    }
  });
});

/** The real CLI, spawned without blocking this process (the target below runs in it). */
function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const main = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', main, 'loadtest', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('headroom loadtest: runs that end before any load step (a local target, a few requests)', () => {
  let server: Server;
  let url = '';
  let requests = 0;
  const dir = mkdtempSync(join(tmpdir(), 'headroom-lt-'));
  beforeAll(async () => {
    server = createServer((req, res) => {
      requests++;
      res.statusCode = req.url === '/missing' ? 404 : 200;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it('no step fits in --max-duration and no probe request is timed: no knee, no fit, no profile, exit 3', async () => {
    const profile = join(dir, 'p.json');
    // 5 s leaves no room for a 2-s warm-up + half a 5-s hold after the probe.
    const noStep = [
      `${url}/`,
      '--slo-latency-ms',
      '100',
      '--max-duration',
      '5',
      '--probe-requests',
      '0',
      '--no-progress',
    ];
    const r = await runCli([...noStep, '--profile', profile]);
    expect(r.code, r.stderr).toBe(3);
    // Not "knee: 0.0 rps … PARTIAL: the knee is a lower bound", not a fit from the untimed request.
    expect(r.stdout).toBe(
      'SLO: p99 <= 100 ms, errors <= 1.0%\nknee: none: no load step ran (stopped by max-duration)\n',
    );
    expect(r.stderr).toMatch(
      /^HR_LOADTEST_ABORTED stopped by max-duration before any load step: no step fit in --max-duration 5 s: a step takes its --warmup 2 s \+ at least 2\.5 s of its 5 s --hold \+ 0\.5 s to drain = 5 s, and 4\.\d\d s were left after the probe; raise --max-duration or shorten --warmup\/--hold; no knee and no fit$/m,
    );
    expect(r.stderr).toContain(`no capacity profile written to ${profile}: no load step completed`);
    expect(existsSync(profile)).toBe(false);
    const j = await runCli([...noStep, '--json']);
    expect(j.code).toBe(3);
    const res = JSON.parse(j.stdout) as Record<string, unknown>;
    expect([res.serviceTimeMs, res.concurrency, res.predictedKneeRps, res.fitMethod, res.probe]).toEqual([
      null,
      null,
      null,
      null,
      null,
    ]);
    expect([res.partial, res.stopReason, res.steps]).toEqual([true, 'max-duration', []]);
  });

  it('--json when every probe request failed: the result JSON on stdout, as for the other failures', async () => {
    const before = requests;
    const r = await runCli([`${url}/missing`, '--slo-latency-ms', '100', '--no-progress', '--json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('HR_LOADTEST_ERROR_RATE every probe request failed before any step ran (HTTP 404: 21)');
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    expect([res.kneeRps, res.serviceTimeMs, res.stopReason, res.steps, res.requestsSent]).toEqual([
      0,
      null,
      'error-rate',
      [],
      21,
    ]);
    expect(requests - before).toBe(21); // the connection check + 20: no step ran
  });
});
