// Headroom: the same pure decide() (src/core/decide.ts) that `headroom run` and the Kubernetes
// controller call — imported, not copied — fed the way the controller feeds it: the request rate
// over the stable window (60 s) and the burst window, from the same 15-s scrape one interval late
// as the HPA sees, plus the ready and asked-for counts. Its state (stabilization, forecast history)
// lives between ticks exactly as the controller persists it.
//
// With `podBurst` (the controller's `spec.demand.pods`) it ticks every `intervalSeconds` and reads
// the burst over the behaviour's window (6 s) from pod counters scraped every second, one second
// late, as Knative's KPA reads queue-proxy stats; the stable demand is still what the Prometheus
// pipeline shows at that moment (the same value the 15-s Headroom reads at a shared tick).
//
// `headroom+calibrated` also checks its latency model each tick as the local loop does (src/core/
// calibrate.ts): the latency it "measures" over the burst window is what the simulation's TRUE
// service-time model predicts at that window's demand and the ready count (the simulator has no
// per-request samples), behind demand × tick-length requests; decide() then sizes with the
// calibrated service-time scale.
import { calibrate, initialCalibration, CALIBRATION, type Calibration } from '../../core/calibrate.ts';
import { decide, initialDecideState, type Decision, type DecideState, type Observation } from '../../core/decide.ts';
import type { MetricsView, Pipeline } from '../metrics.ts';
import type { OnlinePolicy, PolicyOptions } from './types.ts';

export const HEADROOM_STABLE_WINDOW_SECONDS = 60;

export interface HeadroomReplayPolicy extends OnlinePolicy {
  /** The last decision (tests, reports). */
  readonly last: Decision | undefined;
  readonly state: DecideState;
}

/**
 * The latency percentile (ms, the SLO's) a pool of `ready` instances shows at `demandRps`, measured
 * over `requests`. With `boundsMs`, read as histogram_quantile reads a histogram with those bounds.
 */
export type LatencyMeter = ((demandRps: number, ready: number, requests: number) => number) & {
  readonly boundsMs?: readonly number[];
};

/** The pod counters' pipeline under `podBurst`: scraped by the controller every second, 1 s late. */
export const POD_PIPELINE: Pipeline = { scrapeSeconds: 1, delaySeconds: 1 };

/**
 * The window Headroom's burst reading spans: the behaviour's (6 s) from pod counters, else at least
 * one Prometheus scrape (rate() cannot see less).
 */
export function headroomBurstWindow(opts: PolicyOptions): number {
  const w = opts.model.behavior.burst.windowSeconds;
  return opts.podBurst ? w : Math.max(w, opts.scrapeSeconds);
}

export function headroomPolicy(opts: PolicyOptions, meter?: LatencyMeter): HeadroomReplayPolicy {
  const model = opts.model;
  const burstWindow = headroomBurstWindow(opts);
  const prometheus: Pipeline = { scrapeSeconds: opts.scrapeSeconds, delaySeconds: opts.scrapeSeconds };
  const tickSeconds = opts.podBurst?.intervalSeconds ?? opts.scrapeSeconds;
  // With a history read before the trace, the policy's clock runs from its end (the trace's t = 0).
  const clock = opts.history?.traceStartSeconds ?? 0;
  let state: DecideState = {
    ...initialDecideState(),
    ...(opts.history ? { demand: opts.history.demand } : {}),
    ...(opts.history?.bursts ? { bursts: opts.history.bursts } : {}),
  };
  let calState = initialCalibration();
  let calibration: Calibration | undefined;
  let last: Decision | undefined;
  return {
    kind: 'online',
    name: 'headroom',
    label:
      (meter ? `headroom+calibrated${meter.boundsMs ? ' (histogram)' : ''}` : 'headroom') +
      (opts.reads === 'answers' ? ' (answers)' : ''),
    tickSeconds,
    pipeline: opts.podBurst ? POD_PIPELINE : prometheus,
    get last() {
      return last;
    },
    get state() {
      return state;
    },
    tick(view: MetricsView): number {
      const obs: Observation = {
        readyReplicas: view.readyReplicas,
        currentReplicas: view.currentReplicas,
      };
      const stable = opts.podBurst ? view.through(prometheus) : view;
      const demand = stable.requestRate(HEADROOM_STABLE_WINDOW_SECONDS, stable.latest, opts.reads);
      const burst = view.requestRate(burstWindow, view.latest, opts.reads);
      if (demand !== undefined) obs.demandRps = demand;
      if (burst !== undefined) obs.burstDemandRps = burst;
      if (burstWindow !== model.behavior.burst.windowSeconds) obs.burstWindowSeconds = burstWindow;
      if (meter) {
        const requests = (burst ?? 0) * tickSeconds;
        const ready = view.readyReplicas;
        if (burst !== undefined && burst > 0 && ready >= 1 && requests >= CALIBRATION.minRequests) {
          const sample = {
            demandRps: burst,
            ready,
            measuredMs: meter(burst, ready, requests),
            requests,
            ...(meter.boundsMs ? { histogramBoundsMs: meter.boundsMs } : {}),
          };
          const r = calibrate(model, calState, sample, view.now + clock);
          calState = r.state;
          calibration = r.calibration;
        }
        if (calibration) obs.calibration = calibration;
      }
      const r = decide(model, state, obs, view.now + clock);
      state = r.state;
      last = r.decision;
      return r.decision.desired;
    },
  };
}
