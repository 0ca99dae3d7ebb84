// The open-loop, constant-arrival-rate generator (the k6 constant-arrival-rate / wrk2 / Vegeta model).
//
// Request i of a step is due at the intended time t0 + i/rate whatever the responses do, and its
// latency is measured from that intended time, not from when it actually left: if the generator or
// the target stalls, the stall shows up in the latency (no coordinated omission). Sends that leave
// more than `lateThresholdMs` after their intended time are counted as late. When `maxInFlight`
// requests are outstanding a due request is dropped, not queued, and counted (k6's
// dropped_iterations); the search counts drops as failures.
//
// E.g. 200 rps → one request every 5 ms. A 40 ms GC pause at t = 1.000 s sends the 8 requests due
// at 1.000…1.035 s together at 1.040 s; each is recorded with latency (response − its due time), so
// the pause adds 40, 35, …, 5 ms to those samples instead of vanishing.
//
// performance.now() here, not the Clock port: these are latency measurements in µs, and a port
// (seconds, possibly faked) would only add a conversion on the hot path; tests fake `performance`.
//
// Requests go through a raw-socket HTTP/1.1 keep-alive pool (http1-client.ts): the request bytes
// are built once per step and each response is parsed in place, the body skipped. With undici's
// dispatch API the generator topped out at 10.6k rps against a no-work target where autocannon
// reached 19.2k (0.55×); with the raw client it reaches 1.22× autocannon (21.8k vs 17.9k rps, same
// run) at ~32 vs ~52 µs of CPU per request (docs/benchmarks.md#loadtest).
import * as hdr from 'hdr-histogram-js';
import { classifyError, type ClassifiedError, type ErrorKind } from './errors.ts';
import { Http1Client, prepareRequest, type ResponseHandler } from './http1-client.ts';

// Moved out (errors.ts, probe.ts); re-exported for the many importers.
export { classifyError, describeKind, targetError, type ClassifiedError, type ErrorKind } from './errors.ts';
export { PROBE_CHECK_REQUESTS, probe, type ProbeResult } from './probe.ts';

export interface RequestTemplate {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
  /** Per-request timeout: connect, headers and body must all complete within this many ms. */
  timeoutMs: number;
}

/** Latencies are recorded in microseconds, 3 significant digits, up to one hour. */
export function newHistogram(): hdr.Histogram {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 3_600_000_000,
    numberOfSignificantValueDigits: 3,
    useWebAssembly: false,
  });
}

const MAX_US = 3_600_000_000;

export interface ClientOptions {
  /** Sockets to open at most (each carries one request at a time). */
  connections: number;
}

/** A keep-alive pool for one origin; the same pool serves every step so connections stay warm. */
export function createClient(url: URL, opts: ClientOptions): Http1Client {
  return new Http1Client(url, opts);
}

export interface StepOptions {
  rateRps: number;
  /** Seconds at the rate before measuring (samples discarded). */
  warmupS: number;
  /** Seconds measured. */
  holdS: number;
  maxInFlight: number;
  lateThresholdMs: number;
  /** Stop sending after this many requests (warm-up included); the step is then truncated. */
  maxSends?: number;
  /** Absolute performance.now() after which everything stops (the global --max-duration). */
  deadline?: number;
  signal?: AbortSignal;
  /** Called about every 250 ms while the step runs. */
  onTick?: (p: { elapsedS: number; totalS: number; sent: number; completed: number; errors: number }) => void;
}

export interface StepMeasurement {
  targetRps: number;
  warmupS: number;
  holdS: number;
  /** Requests due in the hold window. */
  scheduled: number;
  /** Of those, sent (the rest were dropped or not reached because the step was cut short). */
  sent: number;
  /** Responses (any status) to requests sent in the hold window. */
  completed: number;
  /** Non-2xx/3xx responses plus transport failures (timeouts, resets…). */
  errors: number;
  dropped: number;
  late: number;
  /** Requests sent in the whole step, warm-up included (what the --max-requests budget counts). */
  totalSent: number;
  /** Completions inside the hold window per second: the throughput the target delivered. */
  achievedRps: number;
  sentRps: number;
  /** Latency from intended send time to response end, µs, every HTTP response of the hold window. */
  histogram: hdr.Histogram;
  errorKinds: Partial<Record<ErrorKind, number>>;
  statusCounts: Record<string, number>;
  firstError?: ClassifiedError;
  /** Why the step ended early, if it did. */
  cut?: 'aborted' | 'deadline' | 'max-requests';
}

/**
 * Run one step: warm-up then hold at `rateRps`, open loop. Resolves after every request sent has
 * finished (each is bounded by the request timeout), or at once when aborted or past the deadline.
 */
export function runStep(pool: Http1Client, req: RequestTemplate, opts: StepOptions): Promise<StepMeasurement> {
  const interval = 1000 / opts.rateRps;
  const warmupEnd = opts.warmupS * 1000;
  const holdEnd = warmupEnd + opts.holdS * 1000;
  const total = Math.ceil((holdEnd * opts.rateRps) / 1000 - 1e-9);
  const firstMeasured = Math.ceil((warmupEnd * opts.rateRps) / 1000 - 1e-9);
  const histogram = newHistogram();
  const m: StepMeasurement = {
    targetRps: opts.rateRps,
    warmupS: opts.warmupS,
    holdS: opts.holdS,
    scheduled: total - firstMeasured,
    sent: 0,
    completed: 0,
    errors: 0,
    dropped: 0,
    late: 0,
    totalSent: 0,
    achievedRps: 0,
    sentRps: 0,
    histogram,
    errorKinds: {},
    statusCounts: {},
  };
  const prepared = prepareRequest(req.url, req);
  let inFlight = 0;
  let next = 0;
  let windowCompletions = 0;
  let totalSends = 0;
  let t0 = 0;
  let timer: NodeJS.Timeout | undefined;
  let ticker: NodeJS.Timeout | undefined;
  let finished = false;
  let schedulingDone = false;

  return new Promise<StepMeasurement>((resolve) => {
    const finish = (): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      clearInterval(ticker);
      opts.signal?.removeEventListener('abort', onAbort);
      m.totalSent = totalSends;
      for (const [st, n] of statuses) m.statusCounts[String(st)] = n;
      m.achievedRps = opts.holdS > 0 ? windowCompletions / opts.holdS : 0;
      m.sentRps = opts.holdS > 0 ? m.sent / opts.holdS : 0;
      resolve(m);
    };
    const stopAll = (why: 'aborted' | 'deadline'): void => {
      if (finished) return;
      m.cut ??= why;
      schedulingDone = true;
      finish();
      // After finish(): the aborted requests' handlers see `finished` and leave `m` alone.
      pool.abortAll();
    };
    const onAbort = (): void => stopAll('aborted');
    if (opts.signal?.aborted) {
      m.cut = 'aborted';
      finish();
      return;
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true });

    const countError = (ce: ClassifiedError, measured: boolean): void => {
      if (!measured) return;
      m.errors++;
      m.errorKinds[ce.kind] = (m.errorKinds[ce.kind] ?? 0) + 1;
      m.firstError ??= ce;
    };

    const done = (): void => {
      if (schedulingDone && inFlight === 0) finish();
    };

    const statuses = new Map<number, number>();
    let pumping = false;

    // Per request: one small object the client calls once (no closures, no promise, no stream).
    class Request implements ResponseHandler {
      readonly intended: number;
      readonly measured: boolean;
      constructor(intended: number, measured: boolean) {
        this.intended = intended;
        this.measured = measured;
      }
      onResponse(st: number): void {
        if (finished) return;
        inFlight--;
        if (this.measured) {
          const now = performance.now();
          m.completed++;
          if (now - t0 <= holdEnd) windowCompletions++;
          histogram.recordValue(Math.min(MAX_US, Math.max(1, Math.round((now - this.intended) * 1000))));
          statuses.set(st, (statuses.get(st) ?? 0) + 1);
          if (st >= 400) {
            const kind: ErrorKind = st >= 500 ? 'http-5xx' : 'http-4xx';
            countError({ kind, code: `HTTP_${st}`, message: `HTTP ${st}` }, true);
          }
        }
        freed();
      }
      onError(err: Error): void {
        if (finished) return;
        inFlight--;
        countError(classifyError(err), this.measured);
        freed();
      }
    }

    const send = (intended: number, measured: boolean): void => {
      inFlight++;
      totalSends++;
      if (measured) m.sent++;
      pool.dispatch(prepared, new Request(intended, measured));
    };

    // Send every request due by now; when the in-flight bound is reached, the due ones are dropped.
    const pump = (now: number): void => {
      if (pumping) return;
      pumping = true;
      const due = Math.min(total, Math.floor(((now - t0) * opts.rateRps) / 1000) + 1);
      while (next < due) {
        if (opts.maxSends !== undefined && totalSends >= opts.maxSends) {
          m.cut = 'max-requests';
          next = total;
          break;
        }
        const intended = t0 + next * interval;
        const measured = next >= firstMeasured;
        if (inFlight >= opts.maxInFlight) {
          // Everything due now is dropped at once: only the measured ones count.
          m.dropped += Math.max(0, due - Math.max(next, firstMeasured));
          next = due;
          break;
        }
        if (measured && now - intended > opts.lateThresholdMs) m.late++;
        send(intended, measured);
        next++;
      }
      pumping = false;
    };

    // A slot came free: fill it at once with a request that is due (rather than at the next timer
    // tick, ~1 ms away), then finish the step if nothing is left.
    const freed = (): void => {
      if (!schedulingDone && next < total) pump(performance.now());
      done();
    };

    const tick = (): void => {
      if (finished || schedulingDone) return;
      const now = performance.now();
      if (opts.deadline !== undefined && now >= opts.deadline) {
        stopAll('deadline');
        return;
      }
      pump(now);
      if (next >= total) {
        schedulingDone = true;
        // The deadline still bounds the drain: no request outlives --max-duration.
        if (opts.deadline !== undefined) {
          timer = setTimeout(() => stopAll('deadline'), Math.max(0, opts.deadline - performance.now()));
          timer.unref();
        }
        done();
        return;
      }
      const wait = t0 + next * interval - performance.now();
      timer = setTimeout(tick, Math.max(0, wait));
    };

    if (opts.onTick) {
      const totalS = opts.warmupS + opts.holdS;
      ticker = setInterval(() => {
        opts.onTick?.({
          elapsedS: Math.min(totalS, (performance.now() - t0) / 1000),
          totalS,
          sent: m.sent,
          completed: m.completed,
          errors: m.errors,
        });
      }, 250);
      ticker.unref();
    }

    t0 = performance.now();
    if (total === 0) {
      schedulingDone = true;
      finish();
      return;
    }
    tick();
  });
}
