// The loop checks its model against measured latency and corrects it (issue 13: the model is exact
// only for the services it assumes).
//
// Each tick with enough requests, the measured latency percentile at the observed demand and ready
// count is compared with what the model predicts there. The correction is one number: a service-
// time scale s (every service time × s, so capacity ÷ s), the one that makes the model predict what
// was measured, found by bisection on ln s (the predicted percentile grows with s). It is smoothed
// over time (half-life 60 s unless the caller sets one; a quarter of it for a rise while the SLO is
// broken and the model does not explain why), needs 200 requests per observation, takes a reading
// only past the noise of its requests (CALIBRATION.noiseZ), and stays within [1, 4]: latency
// alone cannot tell a faster mean from a lighter tail, so it may make the model more careful, never
// less. A fixed-time service told "exponential" measures a lower p99 than predicted; scaling its
// service time down to match would overload it (the simulator measured 24 % of a day violating).
// That direction is reported (the error, and the drift alert) for a person to fix the spec.
//
// Where the balancer holds the queue it also measures each request's wait and its time at the
// instance apart (`split`): then the scale is the larger of the mean time at the instance ÷ the
// spec's and the scale at which the model's wait percentile reaches the measured one, and the shape
// of the time at the instance (quantiles ÷ mean, smoothed from the spec's) is sized with when its
// p99 is heavier than the spec's. A tail no count shortens is then not read as a slower service.
//
// Worked example: spec 20 ms, concurrency 4, 150 rps on 2 instances, exponential: the model says
// p99 = 94 ms. A release that doubles the service time measures ~200 ms; s = 2 reproduces it, so
// the loop sizes as if serviceTimeMs were 40 and 150 rps needs ≥ 2 × 1.5 = 3 instances more.
//
// `error` is the measured ÷ predicted percentile of the spec's own model (s = 1), smoothed alike:
// the `HeadroomModelDrift` alert fires when it stays away from 1, because a calibrated loop still
// means the spec (or the release) no longer describes the service.
import type { ServiceModel, ServiceTimeModel } from './model.ts';
import { poolShape } from './plan.ts';
import {
  histogramQuantileMs,
  latencyPercentileMs,
  poolDistribution,
  waitPercentileMs,
  type PoolShape,
} from './pool.ts';
import { impliedCv, minimumMeanMs, serviceQuantile } from './service-time.ts';

export interface CalibrationState {
  /** Smoothed ln of the service-time scale (0 = the spec's model). */
  logScale: number;
  /** Smoothed ln of measured ÷ predicted by the spec's model. */
  logError: number;
  /**
   * The same over the windows the spec's model predicts (not past its capacity, where `logError`
   * takes ln 4): the evidence a small scale is read from.
   */
  logFit?: number;
  /** Observations taken in. */
  samples: number;
  /** Time of the last one, seconds. */
  at?: number;
  /** Ready counts of recent samples, [time s, ready], as long as a measurement window reaches back. */
  readyLog?: Array<[number, number]>;
  /**
   * Smoothed ln(quantile ÷ mean) of the time at an instance at p50, p90, p99, p99.9, from the
   * spec's own shape on, and ln of its mean (ms), from the spec's (split samples only).
   */
  logShape?: number[];
  logAtMean?: number;
  /**
   * How many requests the smoothed shape and mean stand on: one window's, × (2 − a) ÷ a for a
   * window's weight a in the smoothing (the variance of a mean smoothed so is a ÷ (2 − a) of one
   * window's).
   */
  smoothedRequests?: number;
}

export interface LatencySample {
  /** Demand over the window the latency was measured in, rps. */
  demandRps: number;
  /** Ready instances that served it. */
  ready: number;
  /** Measured response time at the SLO percentile, ms. */
  measuredMs: number;
  /** Requests behind the measurement. */
  requests: number;
  /** The percentile measured (the SLO's by default): a balancer may only keep p50/p90/p99. */
  percentile?: number;
  /** Requests completed per second over the same window (when known). */
  completionRps?: number;
  /**
   * How far back the measurement reaches, s (the balancer's 6-s burst window, the histogram's 1m).
   * The window's requests were served by the fewest instances ready in it, not by the count now.
   */
  windowSeconds?: number;
  /**
   * Where the queue is the balancer's own (local mode, leastRequests), each request split in two:
   * its wait before dispatch (at `percentile`) and the time it held an instance's slot (dispatch to
   * answer). When present the model is corrected from these, not from the response: see below.
   */
  split?: { waitMs: number; atInstance: AtInstance };
  /**
   * The measurement is Prometheus' histogram_quantile over buckets with these bounds (ms, ascending):
   * the model's percentile is read the same way before the two are compared (pool.ts
   * histogramQuantileMs). Interpolating inside a bucket is not the model's error: an exact M/M/c
   * pool read through the default bounds measures its p99 5 % high, which the 2 % rule would size.
   */
  histogramBoundsMs?: readonly number[];
}

/** The time from dispatch to answer over a window, ms. */
export interface AtInstance {
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
}

export interface Calibration {
  /** Service-time scale in use (1 = the spec). */
  scale: number;
  /** The spec's model at the observed load and count, ms; the calibrated one; and what was measured. */
  predictedMs: number | null;
  calibratedMs: number | null;
  measuredMs: number | null;
  /** The percentile measured and predicted (a balancer keeping p50/p90/p99 reports p99 for a p99.9 SLO). */
  percentile: number;
  /** Smoothed measured ÷ spec-model prediction (1 = the model is right). */
  error: number;
  /** Observations taken in so far. */
  samples: number;
  /**
   * Read from whole responses only (a histogram's percentile; no balancer splitting each request's
   * wait from its time at the instance): decide() then sizes with a scale within 5 % where the
   * smoothed error agrees (src/core/decide.ts sizingCapacity).
   */
  wholeResponse?: boolean;
  /** predictedMs and calibratedMs are the model read through the histogram's buckets, as measuredMs was. */
  histogram?: boolean;
  /**
   * With `histogram`: how far the read moves for a move of the service time, d ln(read) ÷ d ln(scale)
   * at this load and count. Interpolating inside a wide bucket compresses it: through the default
   * bounds, at 1,750 rps on 10 pools of 20 ms × 4, 0.36: a service 3 % slower reads 1.0 % over
   * the model where its true p99 is 3 % or more over. decide() reads `error` and a window's
   * measured ÷ predicted as the scales they imply (ratio^(1/sensitivity)) before it compares them
   * with 2 %.
   */
  sensitivity?: number;
  /** With `histogram`: the bucket the last read fell in, [lower bound, upper bound] ms (0 under the first). */
  bucketMs?: [number, number];
  /**
   * The shape of the time at an instance sized with, as measured at the balancer, when it is
   * heavier than the spec's (at the calibrated mean, spec × scale).
   */
  serviceTime?: ServiceTimeModel;
}

export const CALIBRATION = {
  minRequests: 200,
  halfLifeSeconds: 60,
  minScale: 1,
  maxScale: 4,
  /**
   * A wait at the balancer shorter than this is no queue: the event loop's own turn on a busy host.
   * Matched as it is, a p99 wait of 0.06 ms at 7 instances (28 slots, ρ 0.4, where the model's is
   * 0) found the scale at which the model's first passes 0, 1.7, and held the count at 7 where 4–5
   * had carried the load.
   */
  waitFloorMs: 1,
  /**
   * A window's mean, wait or tail counts as evidence only past this many standard errors of the
   * requests behind it; within them it reads as the spec's. The scale may only rise (see above),
   * so noise taken in would only ever push it up: a call graph's db (20 ms, exponential, ~360
   * requests a window) read p99 94.5 ms against the spec's 92.1 and a mean 3 % long, both within
   * their noise, and with its budget at 94.5 ms sized 7 instances where 4 meet it.
   */
  noiseZ: 2,
  /**
   * A smoothed error within this is the spec's: a queue's responses bunch in busy spells, so their
   * p99 strays more than the requests' count says (windows of 10,000 at ρ 0.86 read 89–105 ms
   * around the model's 96), and a pool that is what its spec says read a scale of up to 1.014 over
   * 9 seeds (test/core/calibrate-des.test.ts). Within it decide() counts the model confirmed
   * (MODEL_CONFIRMED) and does not size with a scale its responses do not also show.
   */
  tolerance: 1.02,
} as const;

/** While the SLO is broken, a larger scale is taken this many times faster than the half-life says. */
export const UP_SPEEDUP = 4;
/**
 * ...once the smoothed error says the model has been off for a while (1.5×, the drift alert's
 * threshold): a burst's few slow windows on a ramp (the fidelity trace) do not get there, a bad
 * release (17× at once) does within ~15 s.
 */
const SUSTAINED_LOG_ERROR = Math.log(1.5);

export function initialCalibration(): CalibrationState {
  return { logScale: 0, logError: 0, samples: 0 };
}

const percentileOf = (model: ServiceModel): number => model.slo?.percentile ?? 99;

/**
 * ln s within the bounds at which `at(s)` (rising in s) reaches `measuredMs`: bisection on ln s.
 * The lower bound when the spec's model already predicts as much, the upper when even 4× does not.
 */
function invertScale(at: (scale: number) => number, measuredMs: number): number {
  let lo = Math.log(CALIBRATION.minScale);
  let hi = Math.log(CALIBRATION.maxScale);
  if (at(Math.exp(lo)) >= measuredMs) return lo;
  if (at(Math.exp(hi)) <= measuredMs) return hi;
  for (let i = 0; i < 40 && hi - lo > 1e-5; i++) {
    const mid = (lo + hi) / 2;
    if (at(Math.exp(mid)) < measuredMs) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/**
 * The level whose quantile, in the model that is being checked, a p-quantile measured over n
 * requests must pass to show that model too light: about k = n·(1 − p) requests lie past the
 * measured one, and a model putting t of them past it expects n·t ± √(n·t). It is too light when
 * n·t + z·√(n·t) < k, so the level is 1 − t at equality. E.g. p99 over 360 requests (k 3.6, z 2):
 * 99.64 %, which for an exponential service is a p99 22 % above the spec's; over 1,800: 99.37 %, 10 %.
 */
function evidenceLevel(p: number, n: number, z: number = CALIBRATION.noiseZ): number {
  const k = n * (1 - p);
  const u = (-z + Math.sqrt(z * z + 4 * k)) / 2;
  return 1 - (u * u) / n;
}

/**
 * Whether a mean time at the instance over n requests is past the spec's by more than its noise:
 * the spec's mean × (1 + z·CV/√n), e.g. 20 ms, CV 1, 360 requests: 22.1 ms; the smoothed mean of
 * such windows (~10,400 requests at a 60-s half-life): 20.4 ms.
 */
function slowerThanSpec(model: ServiceModel, meanMs: number, n: number): boolean {
  const d = poolDistribution(model.instance);
  return meanMs > model.instance.serviceTimeMs * (1 + (CALIBRATION.noiseZ * d.cv) / Math.sqrt(n));
}

const SHAPE_LEVELS = [0.5, 0.9, 0.99, 0.999] as const;

/** ln(quantile ÷ mean) of the spec's service time at SHAPE_LEVELS: where a measured shape starts. */
function specLogShape(model: ServiceModel): number[] {
  const d = poolDistribution(model.instance);
  return SHAPE_LEVELS.map((p) => Math.log(serviceQuantile(d, p) / d.mean));
}

/**
 * ln(p99 ÷ mean) the smoothed shape must pass to be heavier than the spec's: the spec's quantile
 * at the evidence level of the requests it stands on (before any window: its own p99). E.g. 20 ms
 * exponential, 360 requests a 6-s window, half-life 60 s (10,400 requests): 4.2 % past its p99.
 */
function shapeFloor(model: ServiceModel, requests: number | undefined): number {
  const d = poolDistribution(model.instance);
  return Math.log(serviceQuantile(d, requests === undefined ? 0.99 : evidenceLevel(0.99, requests)) / d.mean);
}

/**
 * The measured shape for a model of mean `meanMs`, when it is heavier than the spec's at p99 (a
 * lighter one is left to the spec: latency may make the model more careful, never less); else
 * undefined. Its quantiles are the ones measured, not stretched when the waits ask for a larger
 * scale than the time at the instance does: the mean above theirs goes to the tail past p99.9,
 * which lengthens the model's waits (E[S], E[S³]) and leaves its p50–p99.9 as measured. Read
 * stretched, a wait-driven 1.33 made a measured p99 of 40 ms 49 in the model.
 */
function measuredShape(
  floor: number,
  s: Pick<CalibrationState, 'logShape' | 'logAtMean'>,
  meanMs: number,
): ServiceTimeModel | undefined {
  const logShape = s.logShape;
  if (!logShape || !(logShape[2]! > floor + 1e-9)) return undefined;
  const base = Math.min(meanMs, s.logAtMean === undefined ? meanMs : Math.exp(s.logAtMean));
  const [p50, p90, p99, p999] = logShape.map((l) => base * Math.exp(l)) as [number, number, number, number];
  // Smoothed apart, the four may ask for more mean than there is: shrink them to fit it.
  const k = Math.min(1, meanMs / minimumMeanMs({ p50, p90, p99, p999 }));
  const quantilesMs = { p50: p50 * k, p90: p90 * k, p99: p99 * k, p999: p999 * k };
  return { cv: impliedCv(meanMs, quantilesMs), quantilesMs, source: 'balancer' };
}

/**
 * Take in one latency sample. Samples with too few requests, no ready instance or no demand change
 * nothing (no data is not evidence). Returns the new state and what the loop shows.
 */
export function calibrate(
  model: ServiceModel,
  state: CalibrationState,
  sample: LatencySample | undefined,
  now: number,
  /** How fast measurements move the scale (default CALIBRATION.halfLifeSeconds). */
  halfLifeSeconds: number = CALIBRATION.halfLifeSeconds,
): { state: CalibrationState; calibration: Calibration } {
  const pct = sample?.percentile ?? percentileOf(model);
  const view = (
    s: CalibrationState,
    predictedMs: number | null,
    calibratedMs: number | null,
    measuredMs: number | null,
    sensitivity?: number,
  ) => {
    const bounds = sample?.histogramBoundsMs;
    const upper = bounds && measuredMs !== null ? bounds.findIndex((b) => b >= measuredMs) : -1;
    const bucketMs: [number, number] | undefined =
      bounds && upper >= 0 ? [upper > 0 ? bounds[upper - 1]! : 0, bounds[upper]!] : undefined;
    const floor = shapeFloor(model, s.smoothedRequests);
    const serviceTime = measuredShape(floor, s, model.instance.serviceTimeMs * Math.exp(s.logScale));
    return {
      state: s,
      calibration: {
        scale: Math.exp(s.logScale),
        predictedMs,
        calibratedMs,
        measuredMs,
        percentile: pct,
        error: Math.exp(s.logError),
        samples: s.samples,
        ...(s.logAtMean === undefined ? { wholeResponse: true } : {}),
        ...(sample?.histogramBoundsMs?.length ? { histogram: true } : {}),
        ...(sensitivity !== undefined ? { sensitivity } : {}),
        ...(bucketMs ? { bucketMs } : {}),
        ...(serviceTime ? { serviceTime } : {}),
      },
    };
  };
  // A window that straddles a change of the ready count is no evidence: just after a scale-up from
  // 3 to 4, a 6-s window still holds the backlog 3 built, and read against 4 it looks like a slower
  // service (with the fast rise below, the fidelity trace went to 5 instances on that where 4 carry
  // its peak). Such a sample only extends the log of counts; the next whole window counts. Every
  // sample's count is logged, evidence or not: an instance that hung left 0 ready for 12 s, too few
  // requests to be a sample, and the first windows after its replacement (10-s waits at 1 ready)
  // were read as a service 4× slower than it is.
  const windowS = sample?.windowSeconds ?? 0;
  const logged = sample !== undefined && windowS > 0;
  const readyLog = logged ? (state.readyLog ?? []).filter(([t]) => t > now - windowS && t <= now) : [];
  const straddles = logged && readyLog.some(([, r]) => r !== sample.ready);
  if (logged) readyLog.push([now, sample.ready]);
  const ok =
    sample !== undefined &&
    sample.requests >= CALIBRATION.minRequests &&
    sample.ready >= 1 &&
    sample.demandRps > 0 &&
    Number.isFinite(sample.measuredMs) &&
    sample.measuredMs > 0;
  const measuredMs = sample && Number.isFinite(sample.measuredMs) ? sample.measuredMs : null;
  if (!ok) return view(logged ? { ...state, readyLog } : state, null, null, measuredMs);
  if (straddles) return view({ ...state, readyLog }, null, null, sample.measuredMs);
  const ready = sample.ready;
  // The model's percentile as the measurement reads it: through the histogram's buckets, if any.
  const bounds = sample.histogramBoundsMs;
  const readAs = (shape: PoolShape, n: number, p: number): number =>
    bounds && bounds.length > 0 ? histogramQuantileMs(shape, n, p, bounds) : latencyPercentileMs(shape, n, p);
  const predicted = readAs(poolShape(model, { demandRps: sample.demandRps }), ready, pct);
  // Weighted by elapsed time since the last sample (half-life), so a slow tick rate does not slow the
  // correction and a fast one does not speed it. The first sample only starts the clock: a cold
  // start's first window (JIT, new connections) must not set the scale on its own.
  const dt = state.at === undefined ? 0 : Math.max(0, now - state.at);
  const a = 1 - 0.5 ** (dt / halfLifeSeconds);
  const split = sample.split;
  const at = split?.atInstance;
  const measured =
    split !== undefined && Number.isFinite(split.waitMs) && split.waitMs >= 0 && at !== undefined && at.meanMs > 0;
  // The shape of the time at an instance, smoothed from the spec's towards what was measured.
  let logShape = state.logShape;
  let logAtMean = state.logAtMean;
  let smoothedRequests = state.smoothedRequests;
  // Windows overlap when ticks come faster than a window: one window's weight is that of its span.
  const aWindow = 1 - 0.5 ** (Math.max(windowS, dt) / halfLifeSeconds);
  if (measured) {
    const was = logShape ?? specLogShape(model);
    const seen = [at.p50Ms, at.p90Ms, at.p99Ms, at.p999Ms].map((q) => Math.log(Math.max(q, 1e-3) / at.meanMs));
    logShape = was.map((l, i) => l + a * (seen[i]! - l));
    const wasMean = logAtMean ?? Math.log(model.instance.serviceTimeMs);
    logAtMean = wasMean + a * (Math.log(at.meanMs) - wasMean);
    if (aWindow > 0) smoothedRequests = (sample.requests * (2 - aWindow)) / aWindow;
  }
  const shaped = { logShape, logAtMean };
  // Once: the bisections below ask for the model at ~80 scales.
  const floor = shapeFloor(model, smoothedRequests);
  // The model at scale s: service times × s, in the measured shape where it is heavier.
  const modelAt = (s: number): PoolShape => {
    const meanMs = model.instance.serviceTimeMs * s;
    const serviceTime = measuredShape(floor, shaped, meanMs);
    return poolShape(model, {
      demandRps: sample.demandRps,
      capacity: {
        serviceTimeMs: meanMs,
        concurrency: model.instance.concurrency,
        ...(serviceTime ? { serviceTime } : {}),
      },
    });
  };
  // The scale that reproduces the measurement. Where the balancer splits each request into its wait
  // and its time at the instance, each is read for what it is: the mean time at the instance is how
  // long a slot is held (capacity, as Little's law reads it), its quantiles the service's shape
  // (the hop, the host's scheduling, a tail heavier than the spec's: no count shortens them, the
  // model adds its waits to them), and the wait is the queue that count and that time make (a
  // longer one than the model's asks for a larger scale). Read from the whole response instead, a
  // tight SLO on 2 cores (20 ms × 4 at 500 rps, p99 ≤ 40 ms, 36 ms measured where the model said
  // 24 at the same mean) took the scale to 2.25 and the count 4 → 8 in 100 s, past the scale (1.79)
  // at which the model finds no count for 40 ms: each instance added shrank the model's waits, so
  // the same tail was read as a slower service still.
  // Each reading counts only past the noise of the window's requests (CALIBRATION.noiseZ); within
  // it the window reads as the spec's. A queue is read as longer than the model's only where the
  // responses are too: a window's few waits bunch in one busy spell (4 requests waiting 48 ms where
  // the model's p99 wait is 10 ms, once in 40 windows at ρ 0.3), which does not move the response
  // past its noise.
  const level = evidenceLevel(pct / 100, sample.requests) * 100;
  const longer = sample.measuredMs > readAs(modelAt(1), ready, level);
  const logSpecMs = Math.log(model.instance.serviceTimeMs);
  // The mean over n requests, as ln of the scale it reads, or 0 within its noise.
  const byMean = (logMeanMs: number, n: number): number =>
    slowerThanSpec(model, Math.exp(logMeanMs), n) ? logMeanMs - logSpecMs : 0;
  const byWait = (waitMs: number): number =>
    waitMs <= CALIBRATION.waitFloorMs || !longer || waitMs <= waitPercentileMs(modelAt(1), ready, level)
      ? 0
      : invertScale((s) => waitPercentileMs(modelAt(s), ready, pct), waitMs);
  // A shift too small for one window shows in the smoothed error, which stands on the requests of
  // every window it weighs: read back at this window's load (the spec's prediction × that error), it
  // counts past the noise of those (× (2 − a) ÷ a for a window's weight a; ~11.6 windows at 15-s
  // ticks and a 60-s half-life) and past CALIBRATION.tolerance. A service 3 % slower than its spec
  // at ~670 rps on 4 instances: its windows of 10,000 requests each need 4.3 % over the spec's p99
  // to count, so few did and the scale stayed near 1; the smoothed error over ~116,000 requests
  // counts past 2 % (its noise: 1.3 %). The error smoothed for it, logFit, keeps only the windows
  // the spec's model predicts: logError takes ln 4 past its capacity, and a cold start's overloaded
  // first windows read an exact model 1.16× slow.
  const byResponse = (ms: number): number => invertScale((s) => readAs(modelAt(s), ready, pct), ms);
  // Past 2 % on the read, or on the scale it implies: a histogram's read moves less than the service
  // (sensitivity below), so a service 3 % slower reads 1.0 % over the model through default bounds.
  const bySmoothedError = (logErr: number): number => {
    if (measured || !(aWindow > 0) || !Number.isFinite(predicted)) return 0;
    const ms = predicted * Math.exp(logErr);
    const n = (sample.requests * (2 - aWindow)) / aWindow;
    const noise = readAs(modelAt(1), ready, evidenceLevel(pct / 100, n) * 100);
    if (!(ms > noise)) return 0;
    if (ms > predicted * CALIBRATION.tolerance) return byResponse(ms);
    const implied = bounds && bounds.length > 0 ? byResponse(ms) : 0;
    return implied > Math.log(CALIBRATION.tolerance) ? implied : 0;
  };
  // How far the histogram's read of the model moves for 2 % on the service time, per unit of ln.
  const base = bounds && bounds.length > 0 ? readAs(modelAt(1), ready, pct) : NaN;
  const moved = Number.isFinite(base) ? readAs(modelAt(CALIBRATION.tolerance), ready, pct) : NaN;
  const sensitivity =
    Number.isFinite(moved) && base > 0 && moved > base
      ? Math.log(moved / base) / Math.log(CALIBRATION.tolerance)
      : undefined;
  const logError = Number.isFinite(predicted)
    ? Math.log(sample.measuredMs / predicted)
    : Math.log(CALIBRATION.maxScale);
  const nextLogError = state.logError + a * (logError - state.logError);
  const wasFit = state.logFit ?? 0;
  const nextLogFit = Number.isFinite(predicted) ? wasFit + a * (logError - wasFit) : state.logFit;
  let observed = measured
    ? Math.max(
        byMean(Math.log(at.meanMs), sample.requests),
        // A shift too small for one window shows in the smoothed mean, which stands on more.
        logAtMean !== undefined && smoothedRequests !== undefined ? byMean(logAtMean, smoothedRequests) : 0,
        byWait(split.waitMs),
      )
    : Math.max(longer ? byResponse(sample.measuredMs) : 0, bySmoothedError(nextLogFit ?? 0));
  observed = Math.min(Math.log(CALIBRATION.maxScale), Math.max(Math.log(CALIBRATION.minScale), observed));
  // Saturated (work piling up: fewer completions than arrivals): a queue growing without bound
  // has no steady-state percentile to invert, and the bisection stops below the scale at which
  // the model itself saturates (3 instances × 50 rps at 85 rps: 1.76 even for a 2.07× release).
  // Then throughput says it: ready·c busy servers completing completionRps take ready·c/completionRps
  // each, e.g. 3 × 1 / 73 rps = 41 ms for a 20-ms spec: 2.05.
  // Only with the SLO broken: on a ramp, completions trail arrivals by the growing in-flight work
  // (545 rps arriving, 530 completing at ρ 0.9) though nothing is saturated, and the formula, which
  // takes every server as busy, read that as a 13 % slower service.
  const done = sample.completionRps;
  const broken = model.slo === undefined || sample.measuredMs > model.slo.latencyMs;
  const saturated = done !== undefined && done > 0 && sample.demandRps > done * 1.02 && broken;
  if (saturated) {
    const perServerMs = (ready * model.instance.concurrency * 1000) / done;
    const byThroughput = Math.log(perServerMs / model.instance.serviceTimeMs);
    observed = Math.min(Math.log(CALIBRATION.maxScale), Math.max(observed, byThroughput));
  }
  // Up fast while the SLO is broken in a way the model in use cannot explain, as the HPA scales up
  // without waiting and down after a window: a window over the SLO where the model at the current
  // scale predicts the SLO met moves the scale up with a quarter of the half-life, once the
  // smoothed error passes 1.5. A bad release: 85 rps on 3 instances, the model says p99 104 ms
  // ≤ 300, measured 1,800 ms → fast from ~15 s on, until the scale explains it. Not on a breach the
  // model explains (demand past what the count carries, on a ramp the loop is already scaling
  // for: the fidelity trace went to 5 instances where 4 carry its peak), and not under the SLO:
  // fast-up-slow-down on every window would ratchet the scale up on noise. docs/benchmarks.md:
  // SLO back for good at T + 81 s after a bad release, was T + 147 s with 60 s both ways.
  const slo = model.slo;
  const unexplained =
    slo !== undefined &&
    pct <= slo.percentile &&
    sample.measuredMs > slo.latencyMs &&
    nextLogError > SUSTAINED_LOG_ERROR &&
    latencyPercentileMs(modelAt(Math.exp(state.logScale)), ready, pct) <= slo.latencyMs;
  const up = unexplained && observed > state.logScale ? 1 - 0.5 ** ((dt * UP_SPEEDUP) / halfLifeSeconds) : a;
  const next: CalibrationState = {
    logScale: state.logScale + up * (observed - state.logScale),
    logError: nextLogError,
    ...(nextLogFit !== undefined ? { logFit: nextLogFit } : {}),
    samples: state.samples + 1,
    at: now,
    ...(windowS > 0 ? { readyLog } : {}),
    ...(logShape ? { logShape } : {}),
    ...(logAtMean !== undefined ? { logAtMean } : {}),
    ...(smoothedRequests !== undefined ? { smoothedRequests } : {}),
  };
  const calibrated = readAs(modelAt(Math.exp(next.logScale)), ready, pct);
  return view(
    next,
    Number.isFinite(predicted) ? predicted : null,
    Number.isFinite(calibrated) ? calibrated : null,
    sample.measuredMs,
    sensitivity,
  );
}
