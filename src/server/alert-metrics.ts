// The series the exported alerting rules query (src/alerting/export.ts), registered under the names
// in src/alerting/metric-names.ts and set from the same ServiceSnapshot the built-in engine
// evaluates every tick. `headroom run` and the controller both use it, so `alerts export` rules
// loaded into the user's Prometheus fire on what Headroom's own engine fires on.
//
// No data stays no data: a field missing from the snapshot removes its series (the rule sees
// nothing, neither fires nor resolves), it is never exported as 0.
import { Counter, Gauge, type Registry } from 'prom-client';
import * as M from '../alerting/metric-names.ts';
import type { ServiceSnapshot } from '../alerting/types.ts';

export interface AlertMetrics {
  /**
   * One finished request (exact counts, `headroom run`): failed = 5xx or no answer; sloBad = failed
   * or slower than the SLO latency.
   */
  countRequest(service: string, failed: boolean, sloBad: boolean): void;
  /** Set the gauges from this tick's snapshots (every service the exporter knows, each tick). */
  update(snapshots: readonly ServiceSnapshot[]): void;
}

export interface AlertMetricsOptions {
  /**
   * The controller sees rates, not requests: integrate the request counters from the snapshots
   * (requests += demandRps·Δt, bad += sloBadFraction·demandRps·Δt, errors += errorRate·demandRps·Δt),
   * the same demand-weighted average the engine takes for burn rates. Δt is capped at 60 s so a
   * gap after a lost lease does not add a burst.
   */
  integrateCounts?: boolean;
  /**
   * A service missing from a tick's snapshots is gone (a deleted or invalid policy, or every
   * service on a standby's empty tick): its counters are removed, not kept at their last value.
   * `headroom run` counts every request of its one service and keeps them for the process's life.
   */
  forgetMissing?: boolean;
}

export function createAlertMetrics(registry: Registry, opts: AlertMetricsOptions = {}): AlertMetrics {
  const reg = [registry];
  const g = (name: string, help: string, labelNames: string[] = []): Gauge =>
    new Gauge({ name, help, labelNames: ['service', ...labelNames], registers: reg });
  const c = (name: string, help: string, labelNames: string[] = []): Counter =>
    new Counter({ name, help, labelNames: ['service', ...labelNames], registers: reg });
  const cpu = g(M.INSTANCE_CPU_UTILIZATION, 'CPU used ÷ CPU request of an instance, 0..1', ['instance']);
  const mem = g(M.INSTANCE_MEMORY_UTILIZATION, 'Memory used ÷ memory limit (or request) of an instance, 0..1', [
    'instance',
  ]);
  const restarts = c(M.INSTANCE_RESTARTS_TOTAL, 'Restarts of an instance', ['instance']);
  const desired = g(M.SERVICE_REPLICAS_DESIRED, 'Replicas the autoscaler wants');
  const current = g(M.SERVICE_REPLICAS_CURRENT, 'Replicas that exist');
  const ready = g(M.SERVICE_REPLICAS_READY, 'Replicas that are ready');
  const min = g(M.SERVICE_REPLICAS_MIN, 'replicas.min');
  const max = g(M.SERVICE_REPLICAS_MAX, 'replicas.max');
  const needed = g(M.SERVICE_REPLICAS_NEEDED, 'Replicas the model needs before replicas.max');
  const fits = g(M.SERVICE_FITS, '1 when the cluster (or host) can place the needed replicas, else 0');
  const demand = g(M.SERVICE_DEMAND_RPS, 'Observed demand, requests per second');
  const trend = g(M.SERVICE_DEMAND_TREND, 'Demand trend, rps per second (positive = growing)');
  const latency = g(M.SERVICE_LATENCY_SECONDS, 'Measured latency at the SLO percentile, seconds', ['quantile']);
  const sloLatency = g(M.SERVICE_SLO_LATENCY_SECONDS, 'The latency SLO, seconds', ['quantile']);
  const objective = g(M.SERVICE_SLO_OBJECTIVE, 'The SLO objective, e.g. 0.99 for p99');
  const errorRatio = g(M.SERVICE_ERROR_RATIO, 'Failed ÷ all requests over the burst window');
  const modelError = g(M.MODEL_ERROR_FACTOR, 'How far the latency model is off: measured vs predicted, a factor ≥ 1');
  const requests = c(M.SERVICE_REQUESTS_TOTAL, 'Requests answered (or failed)');
  const errors = c(M.SERVICE_ERRORS_TOTAL, 'Requests that failed (5xx or no answer)');
  const sloBad = c(M.SERVICE_SLO_BAD_REQUESTS_TOTAL, 'Requests that broke the SLO (failed or slower than it)');
  const gauges = [cpu, mem, desired, current, ready, min, max, needed, fits, demand, trend, latency, sloLatency];
  gauges.push(objective, errorRatio, modelError);

  const seen = new Set<string>();
  const lastRestarts = new Map<string, number>();
  const lastTime = new Map<string, number>();
  // Counters exported at 0 from the first tick: an idle service has a rate of 0, not "no data".
  const touch = (service: string): void => {
    if (seen.has(service)) return;
    seen.add(service);
    for (const k of [requests, errors, sloBad]) k.inc({ service }, 0);
  };
  // Integrated from rates (the controller): a counter only once its rate has been measured. The
  // controller measures demand but neither errors nor SLO-bad requests, so those two stay absent
  // and the burn-rate rule has no data (not a burn rate of 0) for its services.
  const started = new Map<Counter, Set<string>>([
    [requests, new Set()],
    [errors, new Set()],
    [sloBad, new Set()],
  ]);
  const start = (k: Counter, service: string): void => {
    const s = started.get(k);
    if (!s || s.has(service)) return;
    s.add(service);
    k.inc({ service }, 0);
  };
  const forget = (service: string): void => {
    seen.delete(service);
    lastTime.delete(service);
    for (const [k, s] of started) {
      k.remove({ service });
      s.delete(service);
    }
    for (const key of [...lastRestarts.keys()]) {
      const [svc = '', instance = ''] = key.split('\u0000');
      if (svc !== service) continue;
      restarts.remove({ service, instance });
      lastRestarts.delete(key);
    }
  };
  const set = (gauge: Gauge, labels: Record<string, string>, v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) gauge.set(labels, v);
  };

  return {
    countRequest(service, failed, bad) {
      touch(service);
      requests.inc({ service });
      if (failed) errors.inc({ service });
      if (bad) sloBad.inc({ service });
    },
    update(snaps) {
      for (const gauge of gauges) gauge.reset();
      const live = new Set<string>();
      for (const s of snaps) {
        const service = s.service;
        const l = { service };
        if (!opts.integrateCounts) touch(service);
        for (const i of s.instances ?? []) {
          const il = { service, instance: i.id };
          set(cpu, il, i.cpuUtilization);
          set(mem, il, i.memoryUtilization);
          const key = `${service}\u0000${i.id}`;
          live.add(key);
          if (i.restarts !== undefined) {
            // A restart count only grows while the instance id lives; inc by the growth.
            const prev = lastRestarts.get(key);
            restarts.inc(il, prev === undefined ? i.restarts : Math.max(0, i.restarts - prev));
            lastRestarts.set(key, i.restarts);
          }
        }
        set(desired, l, s.desired);
        set(current, l, s.current);
        set(ready, l, s.ready);
        set(min, l, s.min);
        set(max, l, s.max);
        set(needed, l, s.needed);
        if (s.fits !== undefined) fits.set(l, s.fits ? 1 : 0);
        set(demand, l, s.demandRps);
        set(trend, l, s.demandTrendRpsPerSec);
        set(errorRatio, l, s.errorRate);
        set(modelError, l, s.modelErrorFactor);
        if (s.slo) {
          // quantile as Prometheus writes it: p99 → "0.99", p99.9 → "0.999".
          const quantile = String(s.slo.percentile / 100);
          set(sloLatency, { service, quantile }, s.slo.latencyMs / 1000);
          set(objective, l, s.slo.percentile / 100);
          if (s.latencyMs !== undefined) set(latency, { service, quantile }, s.latencyMs / 1000);
        }
        if (opts.integrateCounts) {
          const prev = lastTime.get(service);
          lastTime.set(service, s.time);
          const dt = prev === undefined ? 0 : Math.min(60, Math.max(0, s.time - prev));
          const n = s.demandRps !== undefined && Number.isFinite(s.demandRps) ? s.demandRps * dt : 0;
          if (s.demandRps !== undefined) start(requests, service);
          if (s.errorRate !== undefined) start(errors, service);
          if (s.sloBadFraction !== undefined) start(sloBad, service);
          if (n > 0) {
            requests.inc(l, n);
            if (s.errorRate !== undefined) errors.inc(l, n * s.errorRate);
            if (s.sloBadFraction !== undefined) sloBad.inc(l, n * s.sloBadFraction);
          }
        }
      }
      if (opts.forgetMissing) {
        const now = new Set(snaps.map((s) => s.service));
        const known = new Set([...seen, ...lastTime.keys(), ...[...started.values()].flatMap((x) => [...x])]);
        for (const key of lastRestarts.keys()) known.add(key.split('\u0000')[0] ?? '');
        for (const service of known) if (!now.has(service)) forget(service);
      }
      // Instances that are gone: drop their counters (a new id starts its own series).
      for (const key of [...lastRestarts.keys()]) {
        if (live.has(key)) continue;
        const [service = '', instance = ''] = key.split('\u0000');
        if (!snaps.some((s) => s.service === service && s.instances)) continue;
        restarts.remove({ service, instance });
        lastRestarts.delete(key);
      }
    },
  };
}
