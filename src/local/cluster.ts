// One local service: N processes, one load balancer, one control loop (src/cli/run.ts composes it;
// a graph run, src/local/graph.ts, one per service). What it shows is in cluster-views.ts.
//
//   clients ──▶ LoadBalancer (run.port) ──▶ instance i1 … iN   (Supervisor: spawn, ready, drain)
//                    │ RequestWindows (1 s buckets)                     ▲
//                    ▼                                                  │ LocalActuator.scale
//   ControlLoop: observe(rate:stable, rate:burst, ready, fit) ──▶ decide() ──▶ desired
//   status server (run.statusPort): /api/status, /metrics, dashboard plugins
//
// Start order makes failures clean: balancer port, status port (listen), then instances
// (startInstances); if any step fails, everything already started is stopped before the error is
// thrown (nothing half-started).
import type { FastifyPluginAsync } from 'fastify';
import type { Alerting } from '../alerting/runtime.ts';
import type { ServiceSnapshot } from '../alerting/types.ts';
import { LocalActuator } from '../adapters/actuators/local/actuator.ts';
import {
  hostResources,
  ProcessSampler,
  type HostResources,
  type ProcessUsage,
} from '../adapters/metrics/process/proc.ts';
import { ProxyMetricsSource } from '../adapters/metrics/proxy/source.ts';
import { measuredAt, RequestWindows } from '../adapters/metrics/proxy/windows.ts';
import type { Calibration, LatencySample } from '../core/calibrate.ts';
import type { ServiceModel } from '../core/model.ts';
import type { EndToEndBudget } from '../core/plan.ts';
import { createServiceMetrics, type ServiceMetrics } from '../server/prometheus.ts';
import { startStatusServer, type StatusServer } from '../server/server.ts';
import {
  decisionView,
  keepDecision,
  type DecisionView,
  type HistoryPoint,
  type LocalStatusSnapshot,
} from '../server/status.ts';
import { LoadBalancer } from './balancer.ts';
import { hostFitLimit } from './capacity.ts';
import type { RunConfig } from './config.ts';
import type { LoopState } from '../loop/step.ts';
import { ControlLoop, type Observed, type TickRecord } from './loop.ts';
import { Supervisor } from './supervisor.ts';
import { alertSnapshotOf, clusterStatus, type ClusterView } from './cluster-views.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import type { MetricsSource } from '../ports/metrics.ts';

export interface LocalClusterOptions {
  model: ServiceModel;
  run: RunConfig['run'];
  capacitySource: RunConfig['capacitySource'];
  /** Extra routes on the status server (the dashboard); a function gets the cluster for its callbacks. */
  plugins?: FastifyPluginAsync[] | ((cluster: LocalCluster) => FastifyPluginAsync[]);
  /** Alert engine ticked every loop tick with this service's snapshot; the cluster closes it on stop. */
  alerting?: Alerting;
  /** Host resources (tests pin them); default: this machine. */
  host?: HostResources;
  onTick?: (r: TickRecord) => void;
  /** Default: systemClock. */
  clock?: Clock;
  /** A graph member's share of the end-to-end SLO, from the latest graph plan (src/local/graph.ts). */
  budget?: () => EndToEndBudget | undefined;
  /** The loop's state from before a restart (run.stateFile, src/local/state-file.ts). */
  initialState?: LoopState;
}

const HISTORY_POINTS = 900;

/**
 * Whether requests wait at the balancer for a free slot: leastRequests, unless run.queue says
 * instances (loadRunConfig fills its default; unset here means balancer). Not for a service that
 * calls others: its requests stay in flight through their calls with the slot already released
 * (examples/service.ts), so a cap would idle it.
 */
export function holdsAtBalancer(model: ServiceModel, run: RunConfig['run']): boolean {
  return run.queue !== 'instances' && model.loadBalancing === 'leastRequests' && (model.calls?.length ?? 0) === 0;
}

export class LocalCluster {
  readonly model: ServiceModel;
  readonly supervisor: Supervisor;
  readonly balancer: LoadBalancer;
  readonly windows: RequestWindows;
  readonly loop: ControlLoop;
  readonly metrics: ServiceMetrics;
  /** Where clients send requests. */
  url = '';
  /** Where /api/status and /metrics are. */
  statusUrl = '';
  private readonly opts: LocalClusterOptions;
  private readonly host: HostResources;
  private readonly fitLimit: number | undefined;
  /** The balancer's burst window (the Burst reason names it). */
  private readonly burstWindowSeconds: number;
  private readonly source: MetricsSource;
  private readonly sampler = new ProcessSampler();
  private usage = new Map<number, ProcessUsage>();
  private server?: StatusServer;
  private readonly history: HistoryPoint[] = [];
  private readonly decisions: DecisionView[] = [];
  private readonly clock: Clock;
  /** Seconds, clock.monotonic(). */
  private readonly startedAt: number;
  private learned?: { serviceTimeMs: number; concurrency: number };
  private stopping?: Promise<void>;
  // Requests finished since the last tick, and how many of them broke the SLO or failed (burn rate).
  private tickDone = 0;
  private tickBad = 0;

  private constructor(opts: LocalClusterOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? systemClock;
    this.startedAt = this.clock.monotonic();
    this.model = opts.model;
    const r = opts.run;
    this.host = opts.host ?? hostResources();
    this.fitLimit = hostFitLimit(this.host, opts.model.instance);
    // A monotonic ms clock on the epoch scale, so 1 s buckets line up with wall-clock seconds.
    const origin = this.clock.now() - this.clock.monotonic();
    this.burstWindowSeconds = Math.min(r.stableWindowSeconds, opts.model.behavior.burst.windowSeconds);
    this.windows = new RequestWindows(
      {
        stableSeconds: r.stableWindowSeconds,
        burstSeconds: this.burstWindowSeconds,
      },
      () => (origin + this.clock.monotonic()) * 1000,
    );
    this.source = new ProxyMetricsSource(this.windows, this.clock);
    this.metrics = createServiceMetrics(opts.model.name);
    this.supervisor = new Supervisor({
      command: r.command,
      cwd: r.cwd,
      ...(r.env ? { env: r.env } : {}),
      healthPath: r.healthPath,
      startupTimeoutMs: r.startupTimeoutSeconds * 1000,
      drainTimeoutMs: r.drainTimeoutSeconds * 1000,
      killGraceMs: r.killGraceSeconds * 1000,
      unreadyTimeoutMs: r.unreadyTimeoutSeconds * 1000,
      ...(r.restartBackoff
        ? {
            backoff: {
              initialMs: r.restartBackoff.initialSeconds * 1000,
              maxMs: r.restartBackoff.maxSeconds * 1000,
              resetAfterMs: 60_000,
            },
          }
        : {}),
      inheritOutput: r.logs === 'inherit',
      clock: this.clock,
    });
    this.balancer = new LoadBalancer({
      host: r.host,
      port: r.port,
      mode: opts.model.loadBalancing,
      targets: this.supervisor,
      windows: this.windows,
      queueTimeoutMs: r.queueTimeoutSeconds * 1000,
      ...(holdsAtBalancer(opts.model, r) ? { slots: opts.model.instance.concurrency } : {}),
      onComplete: (ms, status) => {
        this.metrics.observeRequest(ms / 1000, status);
        this.tickDone++;
        const slo = opts.model.slo;
        const failed = status === 0 || status >= 500;
        const bad = failed || (slo !== undefined && ms > slo.latencyMs);
        if (bad) this.tickBad++;
        this.metrics.alerts.countRequest(opts.model.name, failed, bad);
      },
    });
    this.supervisor.setInFlightSource(this.balancer.inFlight);
    const actuator = new LocalActuator(this.supervisor, opts.model.name);
    this.loop = new ControlLoop({
      model: opts.model,
      tickMs: r.tickSeconds * 1000,
      shadow: r.shadow,
      observe: () => this.observe(),
      actuator,
      target: actuator.target(),
      clock: this.clock,
      onTick: (rec) => {
        this.record(rec);
        opts.onTick?.(rec);
      },
      ...(opts.initialState ? { initialState: opts.initialState } : {}),
    });
  }

  /** Start everything; on failure stop what was started and rethrow (HR_PORT_IN_USE, ...). */
  static async start(opts: LocalClusterOptions): Promise<LocalCluster> {
    const c = await LocalCluster.listen(opts);
    await c.startInstances();
    return c;
  }

  /**
   * The first half of start: the balancer and the status server listen (HR_PORT_IN_USE when a
   * port is taken); no instance is started yet. A graph run binds every member's ports this way
   * before it starts any member's instances, so a busy port starts nothing. On failure everything
   * already listening is closed before the error is thrown.
   */
  static async listen(opts: LocalClusterOptions): Promise<LocalCluster> {
    const c = new LocalCluster(opts);
    try {
      const lb = await c.balancer.listen();
      c.url = lb.url;
      c.server = await startStatusServer({
        host: opts.run.host,
        port: opts.run.statusPort,
        status: () => c.status(),
        metrics: c.metrics,
        plugins: typeof opts.plugins === 'function' ? opts.plugins(c) : (opts.plugins ?? []),
        portKey: 'run.statusPort',
        hostKey: 'run.host',
      });
      c.statusUrl = c.server.url;
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  /**
   * The second half of start (after listen): the instances, waiting until one is ready, then the
   * control loop. On failure (HR_COMMAND_NOT_FOUND, HR_HEALTH_CHECK_FAILED) the cluster is stopped
   * before the error is thrown.
   */
  async startInstances(): Promise<void> {
    const opts = this.opts;
    try {
      const initial = opts.run.initialReplicas ?? Math.max(1, opts.model.replicas.min);
      await this.supervisor.start(Math.min(initial, opts.model.replicas.max));
    } catch (err) {
      await this.stop();
      throw err;
    }
    this.loop.start();
  }

  /** Stop the loop, the balancer (answering in-flight requests), the instances and the server. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.loop.stop();
      await this.balancer.close();
      await this.supervisor.stop();
      await this.server?.close();
      await this.opts.alerting?.close();
    })();
    return this.stopping;
  }

  /** Shadow: decide and report, do not scale (dashboard action). */
  setShadow(on: boolean): void {
    if (this.loop.shadow === on) return;
    this.loop.shadow = on;
    this.supervisor.note('Decision', on ? 'shadow mode on: deciding, not scaling' : 'shadow mode off: scaling');
  }

  /** Paused: the loop neither decides nor acts; instances keep running (dashboard action). */
  setPaused(on: boolean): void {
    if (this.loop.paused === on) return;
    this.loop.paused = on;
    this.supervisor.note('Decision', on ? 'control loop paused' : 'control loop resumed');
  }

  /** The latency model against measured latency, as of the last tick. */
  get calibration(): Calibration | undefined {
    return this.loop.last?.calibration;
  }

  /** Through the MetricsSource port, as the controller observes Prometheus. */
  private async observe(): Promise<Observed> {
    const pids = this.supervisor
      .list()
      .map((i) => i.pid)
      .filter((p): p is number => p !== undefined);
    this.usage = this.sampler.sample(pids);
    const [stable, burst] = await Promise.all([this.source.sample('rate:stable'), this.source.sample('rate:burst')]);
    const capacity = this.opts.capacitySource === 'learned' ? this.learn() : undefined;
    const budget = this.opts.budget?.();
    return {
      observation: {
        ...(stable.kind === 'ok' ? { demandRps: stable.value } : {}),
        ...(burst.kind === 'ok' ? { burstDemandRps: burst.value, burstWindowSeconds: this.burstWindowSeconds } : {}),
        readyReplicas: this.supervisor.ready,
        currentReplicas: this.supervisor.desired,
        ...(this.fitLimit !== undefined ? { fitLimit: this.fitLimit } : {}),
        ...(capacity ? { capacity } : {}),
        ...(budget ? { budget } : {}),
      },
      // A graph member that calls others: its balancer's latency includes the calls, its model
      // predicts its own work only, so the two are not compared (no model error, no drift alert).
      ...((this.model.calls?.length ?? 0) > 0
        ? {}
        : {
            measured: {
              sample: this.latencySample(),
              correct: this.opts.run.calibrate,
              halfLifeSeconds: this.opts.run.calibrateHalfLifeSeconds,
            },
          }),
    };
  }

  /**
   * What the balancer measured over the burst window, for the model check (requests at the SLO
   * percentile, at the demand and ready count of that window): see src/core/calibrate.ts.
   */
  private latencySample(): LatencySample | undefined {
    const w = this.windows.burst();
    const pct = this.model.slo?.percentile ?? 99;
    const lat = w?.latency;
    if (!w) return undefined;
    const window = { demandRps: w.arrivalRps, ready: this.supervisor.ready, windowSeconds: this.burstWindowSeconds };
    // No answer in the window (every instance hung): no latency, but the ready count is still logged.
    if (!lat) return { ...window, measuredMs: NaN, requests: 0 };
    const measured = measuredAt(lat, pct);
    // Where requests queue here (not in the instances), the wait and the time at the instance are
    // apart: the scale is read from what more instances change (src/core/calibrate.ts).
    const wait = holdsAtBalancer(this.model, this.opts.run) ? w.wait : null;
    return {
      ...window,
      measuredMs: measured.ms,
      requests: lat.count,
      completionRps: w.completionRps,
      percentile: measured.percentile,
      ...(wait ? { split: { waitMs: measuredAt(wait, pct).ms, atInstance: wait.atInstance } } : {}),
    };
  }

  /**
   * Learned capacity: by Little's law the mean time a request spends in an instance is
   * W = L / λ (mean in flight / completions per second): 6 in flight at 60 rps → 100 ms. That is
   * the service time only while requests do not queue inside the instances, so it is learned when
   * the in-flight count per instance is below its concurrency, and smoothed (EWMA, α = 0.2).
   */
  private learn(): { serviceTimeMs: number; concurrency: number } | undefined {
    const w = this.windows.burst();
    const c = this.model.instance.concurrency;
    const ready = this.supervisor.ready;
    if (w && ready > 0 && w.completionRps >= 1 && w.meanConcurrency / ready < c) {
      const ms = (w.meanConcurrency / w.completionRps) * 1000;
      const prev = this.learned?.serviceTimeMs ?? ms;
      this.learned = { serviceTimeMs: 0.8 * prev + 0.2 * ms, concurrency: c };
    }
    return this.learned;
  }

  private record(rec: TickRecord): void {
    if (rec.applied || rec.error) {
      const d = rec.decision;
      const why = d.reasons.map((x) => `${x.code}: ${x.message}`).join('; ');
      this.supervisor.note(
        'Decision',
        rec.error
          ? `scaling to ${d.desired} failed: ${rec.error}`
          : `desired ${rec.observation.currentReplicas} → ${d.desired} (${d.mode}): ${why}`,
        rec.error !== undefined,
      );
    }
    const snap = this.windows.snapshot();
    this.history.push({
      t: rec.at,
      demandRps: snap.stable?.arrivalRps ?? null,
      burstRps: snap.burst?.arrivalRps ?? null,
      p99Ms: snap.burst?.latency?.p99Ms ?? null,
      predictedP99Ms: this.calibration?.predictedMs ?? null,
      desired: this.supervisor.desired,
      current: this.supervisor.running,
      ready: this.supervisor.ready,
      ...this.meanUsage(),
    });
    keepDecision(this.decisions, decisionView(rec.decision, rec.at * 1000, rec.applied));
    if (this.history.length > HISTORY_POINTS) this.history.splice(0, this.history.length - HISTORY_POINTS);
    // Built every tick, with or without an engine: /metrics exports it for the exported rules.
    const alertSnap = this.alertSnapshot(rec, snap);
    this.metrics.alerts.update([alertSnap]);
    if (this.opts.alerting) {
      try {
        const ev = this.opts.alerting.tick([alertSnap], rec.at);
        for (const t of ev.transitions) {
          if (t.to !== 'firing' && t.to !== 'resolved') continue;
          const a = t.alert;
          const summary = a.annotations.summary ? `: ${a.annotations.summary}` : '';
          const inst = a.labels.instance !== undefined ? ` (${a.labels.instance})` : '';
          this.supervisor.note('Alert', `${a.rule}${inst} ${t.to}${summary}`, t.to === 'firing');
        }
      } catch (err) {
        this.supervisor.note('Decision', `alert evaluation failed: ${String(err)}`, true);
      }
    }
  }

  /** Mean CPU (cores) and memory (bytes) per running instance from this tick's /proc sample. */
  private meanUsage(): { cpuCores: number | null; memoryBytes: number | null } {
    let cpu = 0;
    let mem = 0;
    let n = 0;
    for (const i of this.supervisor.list()) {
      const u = i.pid !== undefined ? this.usage.get(i.pid) : undefined;
      if (!u) continue;
      cpu += u.cpuCores;
      mem += u.memoryBytes;
      n++;
    }
    return n > 0 ? { cpuCores: cpu / n, memoryBytes: mem / n } : { cpuCores: null, memoryBytes: null };
  }

  /** What the alert engine sees this tick (cluster-views.ts); resets the per-tick request counts. */
  alertSnapshot(rec: TickRecord, snap = this.windows.snapshot()): ServiceSnapshot {
    const [done, bad] = [this.tickDone, this.tickBad];
    this.tickDone = 0;
    this.tickBad = 0;
    return alertSnapshotOf(this.view(), rec, snap, done, bad);
  }

  status(): LocalStatusSnapshot {
    return clusterStatus(this.view());
  }

  private view(): ClusterView {
    return {
      model: this.model,
      run: this.opts.run,
      capacitySource: this.opts.capacitySource,
      learned: this.learned,
      url: this.url,
      nowSeconds: this.clock.now(),
      uptimeSeconds: this.clock.monotonic() - this.startedAt,
      loop: this.loop,
      supervisor: this.supervisor,
      balancer: this.balancer,
      windows: this.windows,
      usage: this.usage,
      calibration: this.calibration,
      decisions: this.decisions,
      history: this.history,
      fitLimit: this.fitLimit,
      host: this.host,
      alerting: this.opts.alerting,
    };
  }
}
