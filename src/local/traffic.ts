// The demo's built-in traffic: an open-loop generator (requests leave at the planned rate whatever
// the answers do) following a rate curve of phases — steps and a wave — bounded in time and in
// requests, so it always stops by itself.
//
// Sending: every 10 ms, send floor(∫rate dt) − sent requests. At 160 rps that is 1.6 requests per
// 10 ms tick: 1, 2, 2, 1, 2 … averaging 160/s. When `maxInFlight` requests are outstanding the
// due request is dropped and counted, never queued (k6's dropped_iterations).
import { Pool } from 'undici';

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

export function patternSeconds(phases: readonly TrafficPhase[]): number {
  return phases.reduce((s, p) => s + p.seconds, 0);
}

/** The phase at `t` seconds and the rate it asks for. */
export function phaseAt(
  phases: readonly TrafficPhase[],
  t: number,
): { phase: TrafficPhase; index: number; rps: number } | undefined {
  let start = 0;
  for (const [index, phase] of phases.entries()) {
    if (t < start + phase.seconds) return { phase, index, rps: Math.max(0, phase.rps(t - start)) };
    start += phase.seconds;
  }
  return undefined;
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
  let due = 0; // ∫ rate dt so far
  const t0 = performance.now();
  let last = t0;

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
      const at = phaseAt(phases, t);
      if (!at || t >= total || progress.sent >= maxRequests) return finish();
      progress.phase = at.phase.name;
      progress.rps = at.rps;
      due += (at.rps * (now - last)) / 1000;
      last = now;
      while (progress.sent + progress.dropped < Math.floor(due) && progress.sent < maxRequests) {
        if (inFlight >= maxInFlight) progress.dropped++;
        else send();
      }
    }, 10);
    opts.signal?.addEventListener('abort', finish);
  });
  return { progress, done };
}
