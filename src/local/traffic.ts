// The demo's built-in traffic: an open-loop generator (requests leave at the planned rate whatever
// the answers do) following a rate curve of phases — steps and a wave — bounded in time and in
// requests, so it always stops by itself.
//
// Sending: every 10 ms, send floor(∫rate dt) − sent requests. At 160 rps that is 1.6 requests per
// 10 ms tick: 1, 2, 2, 1, 2 … averaging 160/s. When `maxInFlight` requests are outstanding the
// due request is dropped and counted, never queued (k6's dropped_iterations).
//
// `headroom run --traffic TRACE.csv` replaces the demo pattern with a trace: one phase per run of
// equal per-second rates (a CSV row, as the simulator expands it), so the same file drives both.
import { mulberry32 } from '../simulator/synthetic.ts';
import { Pool } from 'undici';
import type { Trace } from '../input/trace.ts';

export interface TrafficPhase {
  name: string;
  seconds: number;
  /** Rate at `t` seconds into the phase, requests per second. */
  rps: (t: number) => number;
}

/**
 * Steps and a wave around `base` rps, ~3 minutes: base → 4× step → base → wave up to 6× → quiet.
 * E.g. base 40: 40, 160, 40, 40…240…40, 20 rps.
 */
export function demoPattern(base = 40): TrafficPhase[] {
  return [
    { name: `steady ${base} rps`, seconds: 20, rps: () => base },
    { name: `step ×4: ${4 * base} rps`, seconds: 40, rps: () => 4 * base },
    { name: `back to ${base} rps`, seconds: 30, rps: () => base },
    {
      name: `wave ${base}…${6 * base} rps`,
      seconds: 60,
      rps: (t) => base + 2.5 * base * (1 - Math.cos((2 * Math.PI * t) / 60)),
    },
    { name: `quiet ${base / 2} rps`, seconds: 30, rps: () => base / 2 },
  ];
}

/**
 * A trace as phases: one per run of equal per-second rates (normally one per CSV row), e.g. rows
 * 0 → 100 rps, 4 → 250 rps with 4-s rows: [0, 4) at 100, [4, 8) at 250. Bounded by the trace's length.
 */
export function tracePhases(trace: Trace): TrafficPhase[] {
  const phases: TrafficPhase[] = [];
  const rps = trace.rps;
  let from = 0;
  for (let t = 1; t <= rps.length; t++) {
    if (t < rps.length && rps[t] === rps[from]) continue;
    const rate = Math.max(0, rps[from] ?? 0);
    phases.push({
      name: `trace ${from} s: ${rate.toFixed(rate < 10 ? 1 : 0)} rps`,
      seconds: t - from,
      rps: () => rate,
    });
    from = t;
  }
  return phases;
}

/** Requests a trace asks for in its first `seconds`: Σ rps (a hard cap for a run driven by it). */
export function traceRequests(trace: Trace, seconds = Infinity): number {
  let total = 0;
  const end = Math.min(trace.rps.length, seconds);
  for (let t = 0; t < end; t++) total += Math.max(0, trace.rps[t] ?? 0);
  // A fractional last second counts in full, so the cap never cuts the trace short.
  return Math.ceil(total);
}

/**
 * The hard cap on what a trace sends: Σ rps, exactly, with even spacing; a Poisson count varies
 * around it (σ = √mean: 7,800 ± 88), so 6σ more, or the cap would cut the trace's end short by
 * chance in half the runs.
 */
export function traceCap(trace: Trace, seconds: number | undefined, arrivals: Arrivals | undefined): number {
  const n = traceRequests(trace, seconds);
  return arrivals === 'even' ? n : Math.ceil(n + 6 * Math.sqrt(n) + 10);
}

export function patternSeconds(phases: readonly TrafficPhase[]): number {
  return phases.reduce((s, p) => s + p.seconds, 0);
}

/** The phase at `t` seconds and the rate it asks for. */
export function phaseAt(
  phases: readonly TrafficPhase[],
  t: number,
): { phase: TrafficPhase; index: number; rps: number } | undefined {
  return phaseCursor(phases)(t);
}

/**
 * phaseAt for times that only grow: it resumes from the last phase, so a week-long trace of
 * 10,080 phases costs O(1) per 10-ms tick instead of a scan. An earlier time restarts the scan.
 */
export function phaseCursor(
  phases: readonly TrafficPhase[],
): (t: number) => { phase: TrafficPhase; index: number; rps: number } | undefined {
  let index = 0;
  let start = 0;
  return (t) => {
    if (t < start) {
      index = 0;
      start = 0;
    }
    for (; index < phases.length; index++) {
      const phase = phases[index]!;
      if (t < start + phase.seconds) return { phase, index, rps: Math.max(0, phase.rps(t - start)) };
      start += phase.seconds;
    }
    return undefined;
  };
}

export interface TrafficResult {
  sent: number;
  ok: number;
  /** Non-2xx/3xx answers and transport errors. */
  errors: number;
  dropped: number;
  seconds: number;
}

export interface TrafficOptions {
  /** Stop after this many seconds even if the pattern is longer. */
  durationSeconds?: number;
  maxInFlight?: number;
  /** Hard cap on requests sent. */
  maxRequests?: number;
  path?: string;
  signal?: AbortSignal;
  /** Per-request timeout, ms. */
  timeoutMs?: number;
  /**
   * Poisson arrivals (exponential gaps at the pattern's rate, seeded), each sent at its own time,
   * as queueing models assume (M/G/c); default: evenly spread, the pattern's integral per 10 ms.
   */
  poisson?: { seed: number };
}

/** How `headroom run` spaces the requests of --traffic and --demo (the first is the default). */
export const ARRIVALS = ['poisson', 'even'] as const;
export type Arrivals = (typeof ARRIVALS)[number];

/**
 * The traffic options for `arrivals`: Poisson (seeded, so two runs send the same schedule) by
 * default, as M/G/c assumes; evenly spread arrivals queue less than the model says (a fixed 20-ms
 * service at ρ 0.58 on 4 instances measured p99 29.5 ms evenly spread, 41.4 ms Poisson, predicted 39.8).
 */
export function arrivalOptions(arrivals: Arrivals | undefined): Pick<TrafficOptions, 'poisson'> {
  return arrivals === 'even' ? {} : { poisson: { seed: 1 } };
}

export interface TrafficRun {
  /** Live counters (updated as requests finish). */
  readonly progress: TrafficResult & { elapsed: number; phase?: string; rps: number };
  done: Promise<TrafficResult>;
}

export function driveTraffic(url: string, phases: readonly TrafficPhase[], opts: TrafficOptions = {}): TrafficRun {
  const maxInFlight = opts.maxInFlight ?? 512;
  const maxRequests = opts.maxRequests ?? 1_000_000;
  const total = Math.min(patternSeconds(phases), opts.durationSeconds ?? Infinity);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const pool = new Pool(url, { connections: maxInFlight, pipelining: 1, keepAliveTimeout: 30_000 });
  const progress = {
    sent: 0,
    ok: 0,
    errors: 0,
    dropped: 0,
    seconds: 0,
    elapsed: 0,
    rps: 0,
  } as TrafficRun['progress'] & {
    phase?: string;
  };
  let inFlight = 0;
  const at = phaseCursor(phases);
  const t0 = performance.now();
  // due = ∫ rate dt over [0, upTo], phase by phase (the midpoint rate of each piece: exact for a
  // trace's constant rows), so a run sends what its pattern asks for, e.g. 180 for 40+120+20 rps.
  let due = 0;
  let upTo = 0;
  let k = 0;
  let kStart = 0;
  const integrate = (to: number): void => {
    while (upTo < to && k < phases.length) {
      const phase = phases[k]!;
      const end = Math.min(to, kStart + phase.seconds);
      if (end > upTo) due += Math.max(0, phase.rps((upTo + end) / 2 - kStart)) * (end - upTo);
      upTo = Math.max(upTo, end);
      if (upTo >= kStart + phase.seconds) {
        kStart += phase.seconds;
        k++;
      }
    }
  };

  // Poisson: arrival times drawn ahead, each sent by its own timer (cleared when the run ends).
  const rng = opts.poisson ? mulberry32(opts.poisson.seed) : undefined;
  const arrivalCursor = phaseCursor(phases);
  const timers = new Set<NodeJS.Timeout>();
  let nextAt = 0;
  const gap = (from: number): number => {
    const rate = arrivalCursor(from)?.rps ?? 0;
    // A quiet phase (0 rps) is stepped over 10 ms at a time.
    return rate > 0 ? -Math.log(1 - (rng as () => number)()) / rate : 0.01;
  };
  if (rng) nextAt = gap(0);
  const schedule = (t: number): void => {
    while (rng && nextAt < Math.min(t + 0.01, total) && progress.sent + progress.dropped + timers.size < maxRequests) {
      const rate = arrivalCursor(nextAt)?.rps ?? 0;
      if (rate > 0) {
        const timer = setTimeout(
          () => {
            timers.delete(timer);
            if (inFlight >= maxInFlight) progress.dropped++;
            else send();
          },
          Math.max(0, (nextAt - t) * 1000),
        );
        timers.add(timer);
      }
      nextAt += gap(nextAt);
    }
  };

  const send = (): void => {
    inFlight++;
    progress.sent++;
    pool
      .request({ path: opts.path ?? '/', method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
      .then(async (r) => {
        await r.body.dump();
        if (r.statusCode < 400) progress.ok++;
        else progress.errors++;
      })
      .catch(() => {
        progress.errors++;
      })
      .finally(() => {
        inFlight--;
      });
  };

  const done = new Promise<TrafficResult>((resolve) => {
    const finish = (): void => {
      clearInterval(timer);
      for (const x of timers) clearTimeout(x);
      timers.clear();
      opts.signal?.removeEventListener('abort', finish);
      progress.seconds = (performance.now() - t0) / 1000;
      // Let outstanding requests end (each is bounded by the timeout), then close.
      const wait = setInterval(() => {
        if (inFlight > 0 && performance.now() - t0 < (total + timeoutMs / 1000) * 1000) return;
        clearInterval(wait);
        void pool.destroy().then(() =>
          resolve({
            sent: progress.sent,
            ok: progress.ok,
            errors: progress.errors,
            dropped: progress.dropped,
            seconds: progress.seconds,
          }),
        );
      }, 20);
    };
    const timer = setInterval(() => {
      const now = performance.now();
      const t = (now - t0) / 1000;
      progress.elapsed = t;
      // Up to the end: the last tick sends what the final few ms asked for.
      if (rng) schedule(t);
      else integrate(Math.min(t, total));
      while (!rng && progress.sent + progress.dropped < Math.floor(due + 1e-9) && progress.sent < maxRequests) {
        if (inFlight >= maxInFlight) progress.dropped++;
        else send();
      }
      const cur = at(t);
      // The cap stops the sending, not the clock: a trace's quiet rows after its last request still
      // run their time (a run that ended when the count was sent cut off the scale-down to watch).
      if (!cur || t >= total) {
        // Poisson: the last arrivals already drawn go out before the run ends.
        if (rng && timers.size > 0 && t < total + 0.05 && progress.sent < maxRequests) return;
        return finish();
      }
      progress.phase = cur.phase.name;
      progress.rps = cur.rps;
    }, 10);
    opts.signal?.addEventListener('abort', finish);
  });
  return { progress, done };
}
