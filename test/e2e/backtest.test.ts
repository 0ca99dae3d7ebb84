// `headroom backtest` against a REAL Prometheus (Debian package) filled by
// `promtool tsdb create-blocks-from openmetrics` with docs/backtest.md's demo history, run as the
// quick start says. Every expected number is computed here from the OpenMetrics text the generator
// wrote, never from the code under test: the actual row's instance-seconds = Σ replicas × 60 over
// the replayed steps, the steps a scrape gap removes, the demand's peak, the measured violations.
// 8 days at 60 s is 11,520 steps: more than Prometheus' 11,000 points, so two range requests.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './support/cli.ts';
import { freePort, startPrometheus, type Prometheus } from './support/prometheus.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DOC = readFileSync(join(ROOT, 'docs/backtest.md'), 'utf8');
const QUICK = DOC.slice(DOC.indexOf('## Quick start'), DOC.indexOf('## Inputs'));
const END = Date.parse('2026-11-30T00:00:00Z') / 1000;
const STEPS = 8 * 1440;
const START = END - (STEPS - 1) * 60;

let dir: string;
let prom: Prometheus | undefined;
let history: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'headroom-backtest-'));
  // Step 1 as the quick start writes it.
  // Through the bootstrap, as written: `node X.ts` fails on the Node 20 the README allows.
  const gen = /^node (scripts\/bootstrap\.mjs examples\/backtest-history\.ts) (\S+) (\d+) > history\.om\.txt$/m.exec(
    QUICK,
  );
  expect(gen, 'the quick start generates the history').not.toBeNull();
  history = execFileSync(process.execPath, gen![1]!.split(' ').concat(gen![2]!, gen![3]!), {
    cwd: ROOT,
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
  });
  expect(QUICK).toContain('promtool tsdb create-blocks-from openmetrics history.om.txt data/');
  expect(QUICK).toContain('--storage.tsdb.retention.time=3650d');
  prom = await startPrometheus({}, '15s', [], [], { openMetrics: history });
}, 600_000);

afterAll(async () => {
  await prom?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** `name{labels}` → time → value, from the OpenMetrics text. */
function seriesOf(text: string, selector: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(selector)) continue;
    const [, v, t] = line.slice(selector.length).split(' ');
    out.set(Number(t), Number(v));
  }
  return out;
}

/** The quick start's backtest command, its `\` lines joined, split as a shell would ('…' quoted). */
function quickStartArgs(): string[] {
  const m = /npm run -s headroom -- (backtest(?:[^\n\\]|\\\n)*)/.exec(QUICK);
  expect(m, 'the quick start runs headroom backtest').not.toBeNull();
  const line = m![1]!.replace(/\\\n/g, ' ');
  return [...line.matchAll(/'([^']*)'|(\S+)/g)].map((x) => x[1] ?? x[2] ?? '');
}

/**
 * The readings Headroom's past before `start` holds: the 8 days' 60-s steps before it at which the
 * demand query has a rate (the same rule as the replayed steps in the first test), but those within
 * the query's rate window (2 minutes) of the first when the data begins inside the 8 days: rate()
 * reads a counter's first samples low (src/controller/history.ts).
 */
function pastReadings(start: number): number {
  const ok = seriesOf(history, 'http_requests_total{job="web",code="200"}');
  const err = seriesOf(history, 'http_requests_total{job="web",code="500"}');
  const leftOpen = promMajor() >= 3;
  const rated = (s: Map<number, number>, T: number): boolean =>
    [T - 120, T - 60, T].filter((t) => s.has(t) && (t > T - 120 || !leftOpen)).length >= 2;
  const steps: number[] = [];
  for (let T = start - 8 * 86400; T <= start - 60; T += 60) if (rated(ok, T) || rated(err, T)) steps.push(T);
  const first = steps[0];
  return first !== undefined && first > start - 8 * 86400 ? steps.filter((T) => T >= first + 120).length : steps.length;
}

function promMajor(): number {
  const r = spawnSync('prometheus', ['--version'], { encoding: 'utf8' });
  const major = /version (\d+)\./.exec(`${r.stdout}${r.stderr}`)?.[1];
  expect(major, 'prometheus --version names its version').toBeDefined();
  return Number(major);
}

interface Row {
  policy: string;
  replicaSeconds: number;
  sloViolationSeconds: number;
  peakReplicas: number;
  measuredSloViolationSeconds?: number;
  money?: { total: number; perMonth: number };
}

describe('headroom backtest on a real Prometheus with backfilled history', () => {
  it('replays the quick start: actual row = Σ replicas × step, gaps skipped and named, table = JSON = HTML', async () => {
    const ok = seriesOf(history, 'http_requests_total{job="web",code="200"}');
    const err = seriesOf(history, 'http_requests_total{job="web",code="500"}');
    const replicas = seriesOf(history, 'kube_deployment_status_replicas{deployment="web",namespace="shop"}');
    const latency = seriesOf(history, 'job:http_request_duration_seconds:p99{job="web"}');
    // rate(x[2m]) at T needs two samples in its window: [T − 120, T] in Prometheus 2, (T − 120, T] from 3.
    const leftOpen = promMajor() >= 3;
    const samplesIn = (s: Map<number, number>, T: number): number =>
      [T - 120, T - 60, T].filter((t) => s.has(t) && (t > T - 120 || !leftOpen)).length;
    const missing: number[] = [];
    const kept: number[] = [];
    for (let i = 0; i < STEPS; i++) {
      const T = START + i * 60;
      if (samplesIn(ok, T) < 2 && samplesIn(err, T) < 2) missing.push(T);
      else kept.push(T);
    }
    expect(missing.length).toBeGreaterThan(30); // the demo's 37-minute gap
    let replicaSeconds = 0;
    let violatingSteps = 0;
    let unmeasured = 0;
    for (const T of kept) {
      replicaSeconds += replicas.get(T)! * 60;
      const l = latency.get(T);
      if (l === undefined) unmeasured++;
      else if (l > 0.2) violatingSteps++;
    }
    expect(violatingSteps).toBeGreaterThan(0);
    // The written rate of each minute (T − 60, T]: Δcounter ÷ 60, both codes.
    let peak = 0;
    for (const T of kept) {
      const r = (ok.get(T)! - ok.get(T - 60)!) / 60 + (err.get(T)! - err.get(T - 60)!) / 60;
      if (Number.isFinite(r) && r > peak) peak = r;
    }

    const args = quickStartArgs().map((a) => (a === 'http://127.0.0.1:9090' ? prom!.url : a));
    for (const flag of ['--prometheus', '--query', '--latency-query', '--spec', '--end', '--report']) {
      expect(args, `the quick start's command has ${flag}`).toContain(flag);
    }
    args[args.indexOf('--report') + 1] = join(dir, 'backtest.html');
    const json = await cli([...args, '--json'], undefined, 240_000);
    expect(json.code, json.stderr).toBe(0);
    const r = JSON.parse(json.stdout) as {
      trace: { seconds: number; peakRps: number };
      policies: Row[];
      backtest: {
        steps: number;
        replayedSteps: number;
        missing: Array<{ series: string; steps: number }>;
        measured: unknown;
        history: { readings: number; seconds: number; text: string };
      };
    };
    expect(r.backtest.steps).toBe(STEPS);
    expect(r.backtest.replayedSteps).toBe(kept.length);
    expect(r.trace.seconds).toBe(kept.length * 60);
    expect(r.backtest.missing.find((m) => m.series === 'demand')?.steps).toBe(missing.length);
    const iso = (t: number): string => new Date(t * 1000).toISOString().slice(0, 16);
    const first = missing[0]!;
    const last = missing[missing.length - 1]!;
    expect(last - first, 'one run of missing steps').toBe((missing.length - 1) * 60);
    expect(json.stderr).toContain(
      `HR_PROMETHEUS_GAPS --query: demand missing for ${missing.length} of 11,520 steps, ${iso(first)}–${iso(last).slice(11)}; those steps are skipped and counted`,
    );
    expect(r.trace.peakRps).toBeCloseTo(peak, 6);

    const actual = r.policies.find((p) => p.policy === 'actual')!;
    const headroom = r.policies.find((p) => p.policy === 'headroom')!;
    expect(actual.replicaSeconds).toBe(replicaSeconds);
    expect(actual.measuredSloViolationSeconds).toBe(violatingSteps * 60);
    expect(actual.peakReplicas).toBe(Math.max(...kept.map((T) => replicas.get(T)!)));
    // 0.05 USD an instance-hour (examples/backtest.yaml).
    expect(actual.money?.total).toBeCloseTo((replicaSeconds / 3600) * 0.05, 2);
    expect(headroom.replicaSeconds).toBeLessThan(actual.replicaSeconds);
    expect(r.backtest.measured).toEqual({
      violatingSeconds: violatingSteps * 60,
      measuredSteps: kept.length - unmeasured,
      unmeasuredSteps: unmeasured,
      sloMs: 200,
    });
    // The demo's history begins a few minutes before the range: all the past there is to read.
    const before = pastReadings(START);
    expect(before).toBeGreaterThan(0);
    expect(before).toBeLessThan(10);
    expect(r.backtest.history.readings).toBe(before);
    expect(r.backtest.history.text).toMatch(
      new RegExp(
        `^headroom started from ${before} min of demand history \\(${before} readings 60 s apart\\) before the range, as the controller does for a new policy: \\d+ minutes? scored \\(too few to calibrate the forecast\\), no period found$`,
      ),
    );

    // The table and the report say the same numbers.
    const text = await cli(args, undefined, 240_000);
    expect(text.code, text.stderr).toBe(0);
    const hours = (actual.replicaSeconds / 3600).toFixed(1);
    const month = actual.money!.perMonth.toFixed(2);
    expect(text.stdout).toMatch(new RegExp(`│ actual +│ ${hours} +│.*│ ${month} +│`));
    expect(text.stdout).toContain(`actual, measured: ${violatingSteps * 60} SLO-violating s`);
    const hrHours = (headroom.replicaSeconds / 3600).toFixed(1);
    expect(text.stdout).toMatch(new RegExp(`│ headroom +│ ${hrHours} +│`));
    const html = readFileSync(join(dir, 'backtest.html'), 'utf8');
    expect(html).toContain('<title>headroom backtest: web, 2026-11-22T00:01 to 2026-11-30T00:00 (UTC)</title>');
    expect(html).toMatch(new RegExp(`>actual</td><td>${hours}</td>.*<td>${month}</td>`));
    expect(html).toMatch(new RegExp(`>headroom</td><td>${hrHours}</td>`));
  }, 600_000);

  it("starts Headroom from the demand's past before the range, as the controller does: only its row moves", async () => {
    // The last 4 days, so the 4 before them are the past a new policy would read (8 days asked).
    const since4 = quickStartArgs()
      .map((a) => (a === 'http://127.0.0.1:9090' ? prom!.url : a === '8d' ? '4d' : a))
      .filter((a, i, all) => a !== '--report' && all[i - 1] !== '--report');
    expect(since4).toContain('4d');
    const expected = pastReadings(END - (4 * 1440 - 1) * 60);
    expect(expected).toBeGreaterThan(5000);

    type Out = { policies: Row[]; backtest: { history: { readings: number; seconds: number; text: string } } };
    const run = async (spec?: string): Promise<Out> => {
      const args = spec ? since4.map((a) => (a === 'examples/backtest.yaml' ? spec : a)) : since4;
      const out = await cli([...args, '--json'], undefined, 240_000);
      expect(out.code, out.stderr).toBe(0);
      return JSON.parse(out.stdout) as Out;
    };
    const warm = await run();
    expect(warm.backtest.history.readings).toBe(expected);
    expect(warm.backtest.history.text).toMatch(
      new RegExp(
        `^headroom started from 4 d of demand history \\(${expected.toLocaleString('en-US')} readings 60 s apart\\) before the range, as the controller does for a new policy: [\\d,]+ minutes scored \\(the forecast starts calibrated\\)`,
      ),
    );
    // The same spec with historySeconds 0: Headroom starts empty, every other row is the same.
    const spec0 = join(dir, 'no-history.yaml');
    writeFileSync(
      spec0,
      readFileSync(join(ROOT, 'examples/backtest.yaml'), 'utf8').replace(
        '    startupSeconds: 60\n',
        '    startupSeconds: 60\n    behavior: { forecast: { historySeconds: 0 } }\n',
      ),
    );
    const cold = await run(spec0);
    expect(cold.backtest.history).toEqual({
      readings: 0,
      seconds: 0,
      text: "headroom started with no history (the spec's forecast is off or its historySeconds 0)",
    });
    const row = (o: Out, name: string) => o.policies.find((p) => p.policy === name)!;
    expect(row(warm, 'headroom').replicaSeconds).not.toBe(row(cold, 'headroom').replicaSeconds);
    for (const p of warm.policies.filter((x) => x.policy !== 'headroom'))
      expect([p.replicaSeconds, p.sloViolationSeconds], p.policy).toEqual([
        row(cold, p.policy).replicaSeconds,
        row(cold, p.policy).sloViolationSeconds,
      ]);
  }, 600_000);

  it('bad input: unreachable, empty, several series, a PromQL error — each its code, exit 2, nothing on stdout', async () => {
    const base = ['backtest', '--spec', 'examples/backtest.yaml', '--since', '1d', '--end', '2026-11-30T00:00:00Z'];
    const port = await freePort();
    const down = await cli([...base, '--prometheus', `http://127.0.0.1:${port}`, '--query', 'up']);
    expect(down.code).toBe(2);
    expect(down.stdout).toBe('');
    expect(down.stderr).toContain(
      `HR_PROMETHEUS_UNREACHABLE --prometheus: Prometheus at http://127.0.0.1:${port} unreachable`,
    );
    expect(down.stderr).toContain('ECONNREFUSED');

    const empty = await cli([...base, '--prometheus', prom!.url, '--query', 'no_such_metric', '--deployment', 'web']);
    expect(empty.code).toBe(2);
    expect(empty.stdout).toBe('');
    expect(empty.stderr).toContain(
      'HR_PROMETHEUS_EMPTY --query: the demand query returned no data from 2026-11-29T00:01 to 2026-11-30T00:00 (UTC) at 60 s (value: "no_such_metric"',
    );

    const many = await cli([
      ...base,
      '--prometheus',
      prom!.url,
      '--query',
      'rate(http_requests_total{job="web"}[2m])',
      '--replicas-query',
      'kube_deployment_status_replicas',
    ]);
    expect(many.code).toBe(2);
    expect(many.stderr).toContain(
      'HR_PROMETHEUS_SERIES --query: the demand query returned 2 series where one is needed: {code="200", job="web"}, {code="500", job="web"}',
    );
    expect(many.stderr).toContain('e.g. sum(rate(http_requests_total{job="web"}[2m]))');

    const bad = await cli([...base, '--prometheus', prom!.url, '--query', 'sum(rate(x[2m])', '--deployment', 'web']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(
      /HR_PROMETHEUS_QUERY --query: Prometheus refused the demand query: HTTP 400 Bad Request: bad_data: .*parse error/,
    );

    // Flags that would be ignored or misread: refused before any query.
    const flags = ['--prometheus', prom!.url, '--query', 'up'];
    for (const [extra, message] of [
      [['--end', '-5'], 'HR_USAGE --end: not a time (value: "-5"'],
      [['--replicas-query', ' '], 'HR_USAGE --replicas-query: empty'],
      [['--replicas-query', 'x', '--deployment', 'web'], 'HR_USAGE --deployment: has no effect with --replicas-query'],
    ] as const) {
      const r = await cli([...base, ...flags, ...extra]);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(message);
    }

    // A replica count past what a spec allows is a wrong query (an Int32 would wrap it negative).
    const huge = await cli([
      ...base,
      '--prometheus',
      prom!.url,
      '--query',
      'sum(rate(http_requests_total{job="web"}[2m]))',
      '--replicas-query',
      'kube_deployment_status_replicas{deployment="web"} * 2147483648',
    ]);
    expect(huge.code).toBe(2);
    expect(huge.stdout).toBe('');
    expect(huge.stderr).toMatch(
      /^HR_PROMETHEUS_QUERY --replicas-query: the replicas query returned \d+ at 2026-11-\d\dT[\d:]+Z: not a count of instances \(value: .*; allowed: 0 to 100,000\)$/m,
    );

    // The counter itself where its rate belongs: refused, naming the fix.
    const counter = await cli([...base, '--prometheus', prom!.url, '--query', 'sum(http_requests_total{job="web"})']);
    expect(counter.code).toBe(2);
    expect(counter.stdout).toBe('');
    expect(counter.stderr).toMatch(
      /^HR_PROMETHEUS_QUERY --query: the demand query reads the counter http_requests_total as it is: its [\d,]+ values never decrease .*allowed: requests per second, e\.g\. sum\(rate\(http_requests_total\[2m\]\)\)\)$/m,
    );
  }, 120_000);
});
