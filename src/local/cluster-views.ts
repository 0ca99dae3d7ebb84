// What one local service shows: GET /api/status and the alert engine's snapshot, read from the parts
// of a LocalCluster (cluster.ts keeps the parts and the lifecycle; this file only reads them).
import { alertStatusOf, type Alerting } from '../alerting/runtime.ts';
import type { ServiceSnapshot } from '../alerting/types.ts';
import type { HostResources, ProcessUsage } from '../adapters/metrics/process/proc.ts';
import { measuredAt, type RequestWindows } from '../adapters/metrics/proxy/windows.ts';
import type { Calibration } from '../core/calibrate.ts';
import type { ServiceModel } from '../core/model.ts';
import {
  STATUS_KIND,
  decisionView,
  demandTrend,
  type DecisionView,
  type HistoryPoint,
  type LocalStatusSnapshot,
  type StatusEvent,
} from '../server/status.ts';
import type { LoadBalancer } from './balancer.ts';
import type { RunConfig } from './config.ts';
import type { ControlLoop, TickRecord } from './loop.ts';
import type { Supervisor, SupervisorEvent } from './supervisor.ts';
import { windowStatus } from './window-status.ts';

type WindowsSnapshot = ReturnType<RequestWindows['snapshot']>;

export interface ClusterView {
  model: ServiceModel;
  run: RunConfig['run'];
  capacitySource: RunConfig['capacitySource'];
  learned: { serviceTimeMs: number; concurrency: number } | undefined;
  url: string;
  nowSeconds: number;
  uptimeSeconds: number;
  loop: ControlLoop;
  supervisor: Supervisor;
  balancer: LoadBalancer;
  windows: RequestWindows;
  usage: ReadonlyMap<number, ProcessUsage>;
  calibration: Calibration | undefined;
  decisions: readonly DecisionView[];
  history: readonly HistoryPoint[];
  fitLimit: number | undefined;
  host: HostResources;
  alerting: Alerting | undefined;
}

/**
 * What the alert engine sees this tick. Unknown values are left out (no data ≠ zero). `done`/`bad`:
 * requests finished since the last tick, and how many broke the SLO or failed.
 */
export function alertSnapshotOf(
  v: ClusterView,
  rec: TickRecord,
  snap: WindowsSnapshot,
  done: number,
  bad: number,
): ServiceSnapshot {
  const m = v.model;
  const burst = snap.burst;
  const lat = burst?.latency;
  const pct = m.slo?.percentile ?? 99;
  const latencyMs = lat ? measuredAt(lat, pct).ms : undefined;
  // Before the max and host caps: needed > max means "capped", needed > fit means "does not fit".
  const needed = rec.paused || !rec.decision.valid ? undefined : rec.decision.plan?.needed;
  // Slope of the stable-window demand over the last 5 min (as the controller does): without it
  // HeadroomAtMaxReplicas ("at max while demand grows") could never fire locally.
  const trend = demandTrend([...v.history]);
  return {
    service: m.name,
    time: rec.at,
    instances: v.supervisor.list().map((i) => {
      const u = i.pid !== undefined ? v.usage.get(i.pid) : undefined;
      return {
        id: i.id,
        restarts: i.restarts,
        ...(u && m.instance.cpuMillis ? { cpuUtilization: u.cpuCores / (m.instance.cpuMillis / 1000) } : {}),
        ...(u && m.instance.memoryBytes ? { memoryUtilization: u.memoryBytes / m.instance.memoryBytes } : {}),
      };
    }),
    desired: v.supervisor.desired,
    current: v.supervisor.running,
    ready: v.supervisor.ready,
    min: m.replicas.min,
    max: m.replicas.max,
    ...(needed !== undefined ? { needed } : {}),
    ...(needed !== undefined && v.fitLimit !== undefined ? { fits: needed <= v.fitLimit } : {}),
    ...(snap.stable ? { demandRps: snap.stable.arrivalRps } : {}),
    ...(trend !== undefined ? { demandTrendRpsPerSec: trend } : {}),
    ...(latencyMs !== undefined ? { latencyMs } : {}),
    ...(m.slo ? { slo: { ...m.slo } } : {}),
    ...(done > 0 ? { sloBadFraction: bad / done } : {}),
    ...(burst && burst.completionRps > 0 ? { errorRate: burst.errorRatio } : {}),
    ...(v.calibration && v.calibration.samples > 0
      ? { modelErrorFactor: Math.max(v.calibration.error, 1 / v.calibration.error) }
      : {}),
  };
}

/** GET /api/status of one local service. */
export function clusterStatus(v: ClusterView): LocalStatusSnapshot {
  const snap = v.windows.snapshot();
  const last = v.loop.last;
  const r = v.run;
  const m = v.model;
  const capacity =
    v.capacitySource === 'learned' && v.learned
      ? { ...v.learned, source: 'learned' as const }
      : {
          serviceTimeMs: m.instance.serviceTimeMs,
          concurrency: m.instance.concurrency,
          source: v.capacitySource === 'profile' ? ('profile' as const) : ('spec' as const),
        };
  const iso = (ms: number | undefined): string | undefined =>
    ms !== undefined ? new Date(ms).toISOString() : undefined;
  return {
    kind: STATUS_KIND,
    mode: 'local',
    time: new Date(v.nowSeconds * 1000).toISOString(),
    uptimeSeconds: v.uptimeSeconds,
    service: {
      name: m.name,
      url: v.url,
      command: [...r.command],
      loadBalancing: m.loadBalancing,
      queue: v.balancer.queue,
      // A graph's entry has no SLO of its own but the end-to-end one, which its balancer measures.
      ...(m.slo
        ? { slo: { ...m.slo } }
        : m.endToEndSlo
          ? { slo: { ...m.endToEndSlo, scope: 'endToEnd' as const } }
          : {}),
      capacity,
    },
    shadow: v.loop.shadow,
    paused: v.loop.paused,
    replicas: {
      desired: v.supervisor.desired,
      current: v.supervisor.running,
      ready: v.supervisor.ready,
      min: m.replicas.min,
      max: m.replicas.max,
      fitLimit: v.fitLimit ?? null,
    },
    ...(v.calibration
      ? {
          model: {
            ...v.calibration, // its percentile is the one measured (the balancer keeps p50/p90/p99)
            calibrating: v.run.calibrate && v.capacitySource !== 'learned',
          },
        }
      : {}),
    decision: last ? decisionView(last.decision, last.at * 1000, last.applied) : null,
    decisions: [...v.decisions],
    traffic: {
      inFlight: snap.inFlight,
      queued: v.balancer.queued(),
      stable: windowStatus(snap.stable, r.stableWindowSeconds),
      burst: windowStatus(snap.burst, v.windows.config.burstSeconds),
      totals: { requests: snap.totals.arrivals, errors: snap.totals.errors },
    },
    instances: v.supervisor.list().map((i) => {
      const t = v.balancer.trafficOf(i.id);
      const u = i.pid !== undefined ? v.usage.get(i.pid) : undefined;
      const startedAt = iso(i.startedAt);
      const readySince = iso(i.readySince);
      return {
        id: i.id,
        state: i.state,
        ...(i.pid !== undefined ? { pid: i.pid } : {}),
        ...(i.port !== undefined ? { port: i.port } : {}),
        restarts: i.restarts,
        ...(startedAt ? { startedAt } : {}),
        ...(readySince ? { readySince } : {}),
        ...(i.lastExit ? { lastExit: i.lastExit } : {}),
        inFlight: t.inFlight,
        requests: t.requests,
        errors: t.errors,
        cpuCores: u ? u.cpuCores : null,
        memoryBytes: u ? u.memoryBytes : null,
      };
    }),
    host: {
      cores: v.host.cores,
      memoryBytes: v.host.memoryBytes,
      cpuMillisPerInstance: m.instance.cpuMillis ?? null,
      memoryBytesPerInstance: m.instance.memoryBytes ?? null,
    },
    events: v.supervisor.events(50).map(statusEvent),
    history: [...v.history],
    ...(v.alerting ? { alerts: alertStatusOf(v.alerting.status(), v.model.name) } : {}),
  };
}

/** A supervisor's event as the status API shows it (an ISO time). */
export function statusEvent(e: SupervisorEvent): StatusEvent {
  return {
    at: new Date(e.at).toISOString(),
    type: e.type,
    ...(e.instance !== undefined ? { instance: e.instance } : {}),
    message: e.message,
    warning: e.warning,
  };
}

/**
 * Follows the event logs of one or more supervisors (a graph run's services): each event once, the
 * oldest first, with its service when there are several. For the JSON lines and plain log of
 * `headroom run`.
 */
export class EventFollower {
  readonly #sources: ReadonlyArray<{ service?: string; supervisor: Supervisor }>;
  readonly #seen = new Map<Supervisor, number>();

  constructor(sources: ReadonlyArray<{ service?: string; supervisor: Supervisor }>) {
    this.#sources = sources;
  }

  next(): Array<{ service?: string; event: StatusEvent }> {
    const out: Array<{ service?: string; event: StatusEvent }> = [];
    for (const { service, supervisor } of this.#sources) {
      const next = supervisor.eventsSince(this.#seen.get(supervisor) ?? 0);
      this.#seen.set(supervisor, next.seen);
      for (const e of next.events) out.push({ ...(service !== undefined ? { service } : {}), event: statusEvent(e) });
    }
    // ISO times of one clock: the string order is the time order (stable within a supervisor).
    return out.sort((a, b) => (a.event.at < b.event.at ? -1 : a.event.at > b.event.at ? 1 : 0));
  }
}

/** An event as `headroom run --json` prints it: `kind` is its type (`type` is the line's). */
export function eventJson(e: StatusEvent, service?: string): Record<string, unknown> {
  const { type: kind, at, ...rest } = e;
  return { type: 'event', ...(service !== undefined ? { service } : {}), at, kind, ...rest };
}
