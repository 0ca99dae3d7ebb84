// Benchmark: a bad release against the loop that checks its own latency model (issue 13, item 5),
// at real time scale with a real `headroom run` process and real example-service instances.
//
// The service: WORK_MS=20 exponential, CONCURRENCY=1, sleep mode → 50 rps per instance, as the
// spec says (serviceTimeMs 20, concurrency 1). Demand is a steady open-loop 85 rps; SLO p99 ≤
// 300 ms; target utilization 0.7 → 3 instances (model p99 104 ms; a calibrated scale up to 1.24
// still gives 3). Instances started after the flag file exists take 40 ms ("the release"): 3 of
// them carry 75 rps < 85 rps, so the SLO breaks; 5–6 hold it (model p99 202 / 188 ms at 40 ms).
// The release is rolled out by SIGKILLing the running instances one at a time; the supervisor
// restarts each, and it comes back slow. Nobody else acts.
//
// Two runs, one after the other:
//   1. slowdown: the release at --slow-at seconds (default 180), --after seconds more (default 300);
//   2. baseline: --baseline seconds (default 600) with no slowdown; counts alert firings (expect 0).
// Both use the built-in HeadroomModelDrift rule (smoothed model error > 1.5 for 2 minutes).
// Prints a timeline every 10 s (t, demand, desired, ready, measured/predicted p99, calibrated
// scale, model error, alert state) and a summary: time to restore the SLO after the release, time
// to alert. Stops by itself (bounded in time and requests).
//
// Warm-up: the slowdown run first sends 25 rps for --warmup seconds (default 20), fewer than the
// 200 requests per 6-s window a calibration sample needs, so its timeline starts from warm
// instances and compares with the runs recorded in docs/benchmarks.md. A cold start no longer needs
// it: the first calibration sample only starts the clock (before that, a cold start's first window,
// p99 ~400 ms, set the scale to ~2.5 and the count to 8 with no release). The baseline runs cold by
// default (--baseline-warmup 0) to show it (scale 1.00–1.05); test/e2e/run-model-drift.test.ts
// starts cold too.
//
// Run: node --disable-warning=ExperimentalWarning bench/model-drift.ts [--baseline 600]
//      [--slow-at 180] [--after 300] [--rps 85] [--calibrate false] [--skip-baseline]
//      [--warmup 20] [--baseline-warmup 0] [--skip-release]
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { driveTraffic } from '../src/local/traffic.ts';
import type { LocalStatusSnapshot } from '../src/server/status.ts';
import { DRIFT_SLO_MS as SLO_MS, driftSpecYaml } from './support/drift-spec.ts';

const { values } = parseArgs({
  options: {
    baseline: { type: 'string', default: '600' },
    'slow-at': { type: 'string', default: '180' },
    after: { type: 'string', default: '300' },
    rps: { type: 'string', default: '85' },
    calibrate: { type: 'string', default: 'true' },
    warmup: { type: 'string', default: '20' },
    'baseline-warmup': { type: 'string', default: '0' },
    'skip-baseline': { type: 'boolean', default: false },
    'skip-release': { type: 'boolean', default: false },
  },
});
const BASELINE_S = Number(values.baseline);
const SLOW_AT_S = Number(values['slow-at']);
const AFTER_S = Number(values.after);
const RPS = Number(values.rps);
const CALIBRATE = values.calibrate !== 'false';
const WARMUP_S = Number(values.warmup);
const BASELINE_WARMUP_S = Number(values['baseline-warmup']);
/** Below the calibration's 200 requests per 6-s burst window (33 rps): warms the instances, no sample. */
const WARMUP_RPS = 25;
const DRIFT = 'HeadroomModelDrift';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const SERVICE = fileURLToPath(new URL('../examples/service.ts', import.meta.url));

/** The spec: `run.command` makes instances started while the flag file exists twice as slow. */
function writeSpec(dir: string, flag: string): string {
  const file = join(dir, 'drift.yaml');
  writeFileSync(file, driftSpecYaml({ flag, service: SERVICE, calibrate: CALIBRATE }));
  return file;
}

interface Point {
  t: number;
  demand: number | null;
  desired: number;
  ready: number;
  p99: number | null;
  predicted: number | null;
  scale: number | null;
  error: number | null;
  drift: string;
  calibrated: boolean;
}

interface RunResult {
  points: Point[];
  /** Alert firings seen (rule name and seconds into the run), from the Alert events. */
  firings: Array<{ rule: string; t: number }>;
  resolves: Array<{ rule: string; t: number }>;
  requests: { sent: number; ok: number; errors: number; dropped: number };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (x: number | null | undefined, d = 0): string => (x === null || x === undefined ? '—' : x.toFixed(d));

async function startHeadroom(spec: string): Promise<{ child: ChildProcess; base: string; output: () => string }> {
  const env = { ...process.env };
  delete env.HEADROOM_TOKEN;
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'run', spec, '--no-live'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  let out = '';
  child.stdout!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  child.stderr!.on('data', (c: Buffer) => (out = (out + c.toString()).slice(-20_000)));
  const base = await new Promise<string>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`headroom run did not start: ${out}`)), 60_000);
    const check = (): void => {
      const m = /status API\s+(\S+)\/api\/status/.exec(out);
      if (m?.[1]) {
        clearTimeout(t);
        res(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => rej(new Error(`headroom run exited with ${code}: ${out}`)));
  });
  return { child, base, output: () => out };
}

async function stopHeadroom(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const hard = setTimeout(() => child.kill('SIGKILL'), 40_000);
  await exited;
  clearTimeout(hard);
}

async function status(base: string): Promise<LocalStatusSnapshot> {
  const r = await fetch(`${base}/api/status`, { signal: AbortSignal.timeout(5000) });
  return (await r.json()) as LocalStatusSnapshot;
}

/** The release: SIGKILL each instance started before it, one at a time, waiting for its slow successor. */
async function rollOut(base: string, flag: string, log: (s: string) => void): Promise<void> {
  writeFileSync(flag, 'slow\n');
  const before = (await status(base)).instances.filter((i) => i.pid !== undefined);
  for (const inst of before) {
    try {
      process.kill(inst.pid!, 'SIGKILL');
    } catch {
      continue; // already gone
    }
    log(`  release: killed ${inst.id} (pid ${inst.pid})`);
    const end = performance.now() + 30_000;
    while (performance.now() < end) {
      await sleep(250);
      const now = (await status(base)).instances.find((i) => i.id === inst.id);
      if (!now || (now.state === 'ready' && now.pid !== inst.pid)) break;
    }
  }
}

async function scenario(
  label: string,
  seconds: number,
  slowAt: number | undefined,
  warmup: number,
): Promise<RunResult> {
  const dir = mkdtempSync(join(tmpdir(), 'headroom-drift-'));
  const flag = join(dir, 'slow');
  const spec = writeSpec(dir, flag);
  const { child, base, output } = await startHeadroom(spec);
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  log(
    `\n## ${label}: ${seconds} s at ${RPS} rps${slowAt !== undefined ? `, release (2× slower) at t = ${slowAt} s` : ''}` +
      `${warmup > 0 ? `, after a ${warmup}-s warm-up` : ', cold start (no warm-up)'}`,
  );
  log(`   headroom run ${spec} (status ${base}/api/status), calibrate: ${CALIBRATE}\n`);
  log('    t   demand desired ready  p99 meas  p99 model  scale  error  drift alert');
  const points: Point[] = [];
  const firings: RunResult['firings'] = [];
  const resolves: RunResult['resolves'] = [];
  const seen = new Set<string>();
  try {
    // Let the 3 instances become ready before the clock starts.
    for (let i = 0; i < 120; i++) {
      const s = await status(base);
      if (s.replicas.ready >= 3) break;
      await sleep(500);
    }
    const url = (await status(base)).service.url ?? '';
    if (warmup > 0) {
      log(`   warm-up: ${WARMUP_RPS} rps for ${warmup} s (too few requests for a calibration sample)`);
      const w = driveTraffic(url, [{ name: 'warm-up', seconds: warmup, rps: () => WARMUP_RPS }], {
        maxRequests: Math.ceil(WARMUP_RPS * warmup * 1.05),
      });
      await w.done;
      const s1 = await status(base);
      log(`   after warm-up: calibration samples ${s1.model?.samples ?? 0}, desired ${s1.replicas.desired}\n`);
    }
    const t0 = performance.now();
    const run = driveTraffic(url, [{ name: 'steady', seconds, rps: () => RPS }], {
      durationSeconds: seconds,
      maxRequests: Math.ceil(RPS * seconds * 1.05),
      timeoutMs: 30_000,
    });
    let released: Promise<void> | undefined;
    let nextPrint = 0;
    while (true) {
      const t = (performance.now() - t0) / 1000;
      if (t >= seconds) break;
      if (slowAt !== undefined && t >= slowAt && !released) {
        released = rollOut(base, flag, log).catch((e: unknown) => log(`  release failed: ${String(e)}`));
      }
      let s: LocalStatusSnapshot;
      try {
        s = await status(base);
      } catch (e) {
        log(`  status failed at ${t.toFixed(0)} s: ${String(e)}`);
        await sleep(1000);
        continue;
      }
      for (const e of s.events) {
        const key = `${e.at} ${e.message}`;
        if (e.type !== 'Alert' || seen.has(key)) continue;
        seen.add(key);
        const m = /^(\w+)(?: \([^)]*\))? (firing|resolved)/.exec(e.message);
        if (m) (m[2] === 'firing' ? firings : resolves).push({ rule: m[1]!, t: Number(t.toFixed(1)) });
      }
      const drift = s.alerts?.alerts.find((a) => a.rule === DRIFT);
      const p: Point = {
        t,
        demand: s.traffic.stable?.arrivalRps ?? null,
        desired: s.replicas.desired,
        ready: s.replicas.ready,
        p99: s.traffic.burst?.latencyMs?.p99 ?? null,
        predicted: s.model?.predictedMs ?? null,
        scale: s.model?.scale ?? null,
        error: s.model?.error ?? null,
        drift: drift ? drift.state : '-',
        calibrated: s.decision?.reasons.some((r) => r.code === 'Calibrated') ?? false,
      };
      points.push(p);
      if (t >= nextPrint) {
        nextPrint += 10;
        log(
          `${f(t).padStart(5)} ${f(p.demand).padStart(7)} ${String(p.desired).padStart(7)} ${String(p.ready).padStart(5)} ` +
            `${f(p.p99).padStart(9)} ${f(p.predicted).padStart(10)} ${f(p.scale, 2).padStart(6)} ${f(p.error, 2).padStart(6)}  ${p.drift}`,
        );
      }
      await sleep(1000 - (((performance.now() - t0) / 1000) % 1) * 1000);
    }
    const result = await run.done;
    await released;
    return { points, firings, resolves, requests: result };
  } catch (e) {
    log(output());
    throw e;
  } finally {
    await stopHeadroom(child);
    rmSync(dir, { recursive: true, force: true });
  }
}

function summarize(r: RunResult, slowAt: number | undefined): void {
  const log = (s: string): void => void process.stdout.write(`${s}\n`);
  const pts = r.points;
  log(
    `\n  requests: sent ${r.requests.sent}, ok ${r.requests.ok}, errors ${r.requests.errors}, dropped ${r.requests.dropped}`,
  );
  log(
    `  alert firings: ${r.firings.length ? r.firings.map((x) => `${x.rule} at ${x.t} s`).join(', ') : 'none'}` +
      `${r.resolves.length ? `; resolved: ${r.resolves.map((x) => `${x.rule} at ${x.t} s`).join(', ')}` : ''}`,
  );
  const errs = pts.map((p) => p.error).filter((x): x is number => x !== null);
  if (errs.length)
    log(`  model error factor: min ${Math.min(...errs).toFixed(2)}, max ${Math.max(...errs).toFixed(2)}`);
  const scales = pts.map((p) => p.scale).filter((x): x is number => x !== null);
  if (scales.length)
    log(`  calibrated scale: min ${Math.min(...scales).toFixed(2)}, max ${Math.max(...scales).toFixed(2)}`);
  if (slowAt === undefined) {
    const over = pts.filter((p) => p.p99 !== null && p.p99 > SLO_MS).length;
    log(`  seconds with burst-window p99 > ${SLO_MS} ms: ${over} of ${pts.length}`);
    log(`  desired: ${Math.min(...pts.map((p) => p.desired))}–${Math.max(...pts.map((p) => p.desired))}`);
    return;
  }
  const after = pts.filter((p) => p.t >= slowAt);
  const breach = after.find((p) => p.p99 !== null && p.p99 > SLO_MS);
  const lastOver = [...after].reverse().find((p) => p.p99 !== null && p.p99 > SLO_MS);
  const firstUnder = breach ? after.find((p) => p.t > breach.t && p.p99 !== null && p.p99 <= SLO_MS) : undefined;
  const restored = lastOver ? after.find((p) => p.t > lastOver.t) : undefined;
  const firstCal = after.find((p) => p.calibrated);
  const drift = r.firings.find((x) => x.rule === DRIFT);
  const readyBefore = pts.filter((p) => p.t < slowAt).at(-1)?.ready;
  log(`  ready before the release: ${readyBefore}; max desired after: ${Math.max(...after.map((p) => p.desired))}`);
  log(
    `  SLO first broken: ${breach ? `T + ${(breach.t - slowAt).toFixed(0)} s (p99 ${breach.p99!.toFixed(0)} ms)` : 'never'}`,
  );
  log(`  first Calibrated decision: ${firstCal ? `T + ${(firstCal.t - slowAt).toFixed(0)} s` : 'never'}`);
  log(`  p99 first back under the SLO: ${firstUnder ? `T + ${(firstUnder.t - slowAt).toFixed(0)} s` : 'never'}`);
  log(
    `  SLO restored for good (p99 ≤ ${SLO_MS} ms every second to the end): ${
      restored ? `T + ${(restored.t - slowAt).toFixed(0)} s` : 'never'
    }${lastOver && !restored ? ' (still over at the end)' : ''}`,
  );
  log(`  ${DRIFT} fired: ${drift ? `T + ${(drift.t - slowAt).toFixed(0)} s` : 'never'}`);
}

const started = new Date();
process.stdout.write(
  `# model-drift bench, ${started.toISOString()}, Node ${process.version}, ${RPS} rps, SLO p99 ≤ ${SLO_MS} ms\n`,
);
if (!values['skip-release']) {
  const slow = await scenario('bad release', SLOW_AT_S + AFTER_S, SLOW_AT_S, WARMUP_S);
  summarize(slow, SLOW_AT_S);
}
if (!values['skip-baseline']) {
  const base = await scenario('baseline (no release)', BASELINE_S, undefined, BASELINE_WARMUP_S);
  summarize(base, undefined);
}
process.stdout.write(`\ndone in ${((Date.now() - started.getTime()) / 1000).toFixed(0)} s\n`);
