// The Kubernetes controller: the composition root of cluster mode.
//
//   informer (list+watch HeadroomPolicies) ─▶ every tick, the policies that are due
//   ─▶ per policy: read the target's scale ─▶ query Prometheus (demand, burst, service time)
//   ─▶ decide() from src/core (the same pure function as `plan`, `run` and the simulator),
//      with the decide state persisted in status (a restart resumes stabilization, no flap)
//   ─▶ patch the scale only when the count changes (never in shadow mode)
//   ─▶ status (conditions, last decision with reasons) and Events on changes.
// Only the Lease holder acts when leader election is on; standbys keep a warm cache.
import { setHeaderOptions, type V1HorizontalPodAutoscaler } from '@kubernetes/client-node';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import * as M from '../alerting/metric-names.ts';
import type { Alerting } from '../alerting/runtime.ts';
import { initialDecideState, type DecideState, type Decision } from '../core/decide.ts';
import { restoreCalibration, step } from '../loop/step.ts';
import { HeadroomError, formatProblem } from '../core/errors.ts';
import type { ServiceModel } from '../core/model.ts';
import { KubernetesScaleActuator } from '../adapters/actuators/kubernetes/index.ts';
import { readyOf } from '../adapters/actuators/kubernetes/ready.ts';
import {
  messageOf,
  statusOf,
  withRetry,
  type KubeClients,
  type RetryOptions,
} from '../adapters/actuators/kubernetes/client.ts';
import type { Actuator, ScaleReading } from '../ports/actuator.ts';
import type { MetricsSource } from '../ports/metrics.ts';
import { GROUP, PLURAL, VERSION } from './crd.ts';
import { conflictOf } from './conflict.ts';
import { DEFAULT_EXTERNAL_WRITE_BACKOFF_SECONDS, externallyWritten, holdOf, pauseOf } from './hold.ts';
import { LeaderElector } from './leader.ts';
import { buildModel, demandQueries, targetOf, type HeadroomPolicy, type PolicyStatus } from './policy.ts';
import {
  decisionOf,
  policyAlertSnapshot,
  policyStatusSnapshot,
  serviceName,
  type Observed,
  type PolicyView,
} from './snapshot.ts';
import { needsWrite, nextStatus, persistedAt, type DecisionView, type Outcome, type PolicyEvent } from './status.ts';
import {
  keepDecision,
  type DecisionStatus,
  type HistoryPoint,
  type StatusEvent,
  type StatusSnapshot,
} from '../server/status.ts';
import { createAlertMetrics } from '../server/alert-metrics.ts';
import { Watch } from './watch.ts';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export interface ControllerOptions {
  clients: KubeClients;
  metrics: MetricsSource;
  actuator?: Actuator;
  /** Watch one namespace; undefined = all namespaces (ClusterRole). */
  namespace?: string;
  identity?: string;
  /** Lease-based leader election; false = act alone (development). */
  leaderElection?:
    | false
    | {
        namespace: string;
        name?: string;
        leaseDurationSeconds?: number;
        renewDeadlineSeconds?: number;
        retryPeriodSeconds?: number;
      };
  /** Policies reconciled at once (default 32). */
  concurrency?: number;
  /** How often due policies are looked for, ms (default 1000). */
  tickMs?: number;
  /** No tick loop: the caller drives rounds with reconcileAll (benchmarks). */
  manual?: boolean;
  retry?: RetryOptions;
  /** Longest time an unchanged status (only the decide state moved) goes unwritten, ms (default 60 000). */
  stateRefreshMs?: number;
  registry?: Registry;
  /** Ticked after every round with one snapshot per policy (leader only); closed by stop(). */
  alerting?: Alerting;
  /** Decisions kept per policy for the dashboard's charts (default 300). */
  historyPoints?: number;
  log?: Logger;
  /** Wall clock, ms (tests may pass a fake). */
  now?: () => number;
}

export interface RoundStats {
  policies: number;
  scaled: number;
  statusWrites: number;
  errors: number;
  apiRequests: number;
  ms: number;
}

const JSON_PATCH = setHeaderOptions('Content-Type', 'application/json-patch+json');
const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

interface Memory {
  status: PolicyStatus;
  generation: number;
  nextDue: number;
  /** What was last written to the object, and when (ms). */
  written: PolicyStatus | undefined;
  writtenAt: number;
}

/** What the status API shows beyond the persisted status: the leader's last observations. */
interface Shown {
  observed?: Observed;
  history: HistoryPoint[];
  events: StatusEvent[];
  decisions: DecisionStatus[];
}

const EVENTS_KEPT = 50;

export class Controller {
  readonly identity: string;
  readonly registry: Registry;
  readonly #o: ControllerOptions;
  readonly #k: KubeClients;
  readonly #actuator: Actuator;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #leader: LeaderElector | undefined;
  readonly #memory = new Map<string, Memory>();
  readonly #inflight = new Set<string>();
  readonly #models = new Map<string, { key: string; model?: ServiceModel; error?: string }>();
  readonly #shown = new Map<string, Shown>();
  readonly #startedAt: number;
  #informer: Watch<HeadroomPolicy> | undefined;
  #hpas: Watch<V1HorizontalPodAutoscaler> | undefined;
  #synced = false;
  #stopping = false;
  #loop: Promise<void> | undefined;
  #wake = new AbortController();
  #lastTick = 0;
  readonly #m: ReturnType<typeof makeMetrics>;

  constructor(opts: ControllerOptions) {
    this.#o = opts;
    this.#k = opts.clients;
    this.#log = opts.log ?? silent;
    this.#now = opts.now ?? Date.now;
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.#startedAt = this.#now();
    this.#actuator =
      opts.actuator ?? new KubernetesScaleActuator(opts.clients, opts.retry ? { retry: opts.retry } : {});
    this.registry = opts.registry ?? new Registry();
    this.#m = makeMetrics(
      this.registry,
      () => this.#k.counter.total,
      () => this.isLeader,
    );
    if (opts.leaderElection) {
      const le = opts.leaderElection;
      this.#leader = new LeaderElector(opts.clients, {
        namespace: le.namespace,
        name: le.name ?? 'headroom-controller',
        identity: this.identity,
        ...(le.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: le.leaseDurationSeconds } : {}),
        ...(le.renewDeadlineSeconds !== undefined ? { renewDeadlineSeconds: le.renewDeadlineSeconds } : {}),
        ...(le.retryPeriodSeconds !== undefined ? { retryPeriodSeconds: le.retryPeriodSeconds } : {}),
        log: (msg) => this.#log.info({ identity: this.identity }, msg),
        onStartedLeading: () => this.#wake.abort(),
        // Another leader may have written status since: start again from what is persisted.
        onStoppedLeading: () => {
          this.#memory.clear();
          this.#shown.clear();
        },
      });
    }
  }

  get isLeader(): boolean {
    return this.#leader ? this.#leader.isLeader : true;
  }

  /** The informer has listed the policies once: /readyz. */
  get ready(): boolean {
    return this.#synced;
  }

  /** The tick loop ran within the last 30 s (or has not started): /healthz. */
  get healthy(): boolean {
    return this.#loop === undefined || this.#now() - this.#lastTick < 30_000;
  }

  policies(): HeadroomPolicy[] {
    return this.#informer?.list(this.#o.namespace) ?? [];
  }

  async start(): Promise<void> {
    await this.#startInformer();
    this.#leader?.start();
    if (!this.#o.manual) this.#loop = this.#run();
  }

  async #startInformer(): Promise<void> {
    const ns = this.#o.namespace;
    const k = this.#k;
    const poke = (p: HeadroomPolicy): void => {
      const mem = p.metadata.uid ? this.#memory.get(p.metadata.uid) : undefined;
      // A spec change (new generation) is due at once; our own status writes are not.
      if (!mem || mem.generation !== (p.metadata.generation ?? 0)) this.#wake.abort();
    };
    this.#informer = new Watch<HeadroomPolicy>({
      kc: k.kc,
      path: ns ? `/apis/${GROUP}/${VERSION}/namespaces/${ns}/${PLURAL}` : `/apis/${GROUP}/${VERSION}/${PLURAL}`,
      list: () =>
        (ns
          ? k.custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, namespace: ns, plural: PLURAL })
          : k.custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })) as Promise<{
          items: HeadroomPolicy[];
        }>,
      what: 'HeadroomPolicy',
      log: this.#log,
      onAdd: poke,
      onUpdate: poke,
      onDelete: (p) => {
        if (p.metadata.uid) {
          this.#memory.delete(p.metadata.uid);
          this.#models.delete(p.metadata.uid);
          this.#shown.delete(p.metadata.uid);
        }
      },
    });
    // HPAs on the same targets as policies (conflict.ts); autoscaling/v1 shows those made with v2 too.
    this.#hpas = new Watch<V1HorizontalPodAutoscaler>({
      kc: k.kc,
      path: ns
        ? `/apis/autoscaling/v1/namespaces/${ns}/horizontalpodautoscalers`
        : '/apis/autoscaling/v1/horizontalpodautoscalers',
      list: () =>
        ns
          ? k.autoscaling.listNamespacedHorizontalPodAutoscaler({ namespace: ns })
          : k.autoscaling.listHorizontalPodAutoscalerForAllNamespaces(),
      what: 'HorizontalPodAutoscaler',
      log: this.#log,
    });
    // Both listed before the first round: a policy must not write a target an HPA already owns.
    await Promise.all([this.#informer.start(), this.#hpas.start()]);
    this.#synced = !this.#stopping;
  }

  async #run(): Promise<void> {
    const tick = this.#o.tickMs ?? 1000;
    while (!this.#stopping) {
      this.#lastTick = this.#now();
      if (this.isLeader) {
        try {
          await this.reconcileDue();
        } catch (err) {
          this.#log.error({ err: messageOf(err) }, 'reconcile round failed');
        }
        // Only the leader evaluates and sends: standbys would page a second time.
        if (this.isLeader) this.tickAlerts();
        // A standby (or a former leader) exports none: its last values would be stale duplicates.
        else this.#m.alerts.update([]);
      }
      this.#wake = new AbortController();
      await sleep(tick, undefined, { signal: this.#wake.signal }).catch(() => undefined);
    }
  }

  /** Reconcile the policies whose interval has passed (or whose spec changed). */
  async reconcileDue(): Promise<RoundStats> {
    const now = this.#now();
    const due = this.policies().filter((p) => {
      const uid = p.metadata.uid ?? '';
      if (this.#inflight.has(uid)) return false;
      const mem = this.#memory.get(uid);
      return !mem || mem.generation !== (p.metadata.generation ?? 0) || mem.nextDue <= now;
    });
    return this.reconcileAll(due);
  }

  /** One round over `policies` (default: all cached), `concurrency` at a time. */
  async reconcileAll(policies: HeadroomPolicy[] = this.policies()): Promise<RoundStats> {
    const t0 = performance.now();
    const req0 = this.#k.counter.total;
    const stats: RoundStats = {
      policies: policies.length,
      scaled: 0,
      statusWrites: 0,
      errors: 0,
      apiRequests: 0,
      ms: 0,
    };
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < policies.length && !this.#stopping) {
        const p = policies[next++];
        if (!p) break;
        const r = await this.reconcile(p);
        if (r.scaled) stats.scaled++;
        if (r.statusWritten) stats.statusWrites++;
        if (r.error) stats.errors++;
      }
    };
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(this.#o.concurrency ?? 32, policies.length)) }, worker),
    );
    stats.apiRequests = this.#k.counter.total - req0;
    stats.ms = performance.now() - t0;
    return stats;
  }

  /** One policy: read, measure, decide, act, report. Never throws. */
  async reconcile(p: HeadroomPolicy): Promise<{ scaled: boolean; statusWritten: boolean; error?: string }> {
    const uid = p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
    const id = { namespace: p.metadata.namespace, policy: p.metadata.name };
    this.#inflight.add(uid);
    const end = this.#m.duration.startTimer();
    try {
      const mem = this.#memory.get(uid);
      const prev = mem?.status ?? p.status;
      const generation = p.metadata.generation ?? 0;
      const shadow = p.spec.mode === 'shadow';
      const nowMs = this.#now();
      const outcome: Outcome = { generation, shadow, metricFailures: prev?.consecutiveMetricFailures ?? 0 };
      let scaled = false;
      let error: string | undefined;
      let observed: Observed | undefined;

      const model = await this.#model(p, uid);
      const conflict = conflictOf(p, this.policies(), this.#hpas?.list(this.#o.namespace) ?? []);
      const pause = pauseOf(p.metadata.annotations);
      if ('error' in model || pause.error !== undefined) {
        outcome.invalid = 'error' in model ? model.error : pause.error;
        error = outcome.invalid;
        this.#m.reconciles.inc({ result: 'invalid' });
      } else if (conflict) {
        // Another writer owns the target: no read, no query, no write; status and an Event say who.
        outcome.conflict = conflict.message;
        this.#m.reconciles.inc({ result: 'conflict' });
      } else {
        let reading: ScaleReading | undefined;
        try {
          reading = await this.#actuator.read(targetOf(p));
        } catch (err) {
          outcome.targetError = err instanceof Error ? err.message : String(err);
          error = outcome.targetError;
        }
        if (reading) {
          outcome.reading = reading;
          const pct = model.model.slo?.percentile ?? 99;
          const q = demandQueries(p.spec, pct);
          const sample = (query: string | undefined) => (query ? this.#o.metrics.sample(query) : undefined);
          const [demand, burst, serviceTime, latency, latencyRequests, completions] = await Promise.all([
            this.#o.metrics.sample(q.demand),
            sample(q.burst),
            sample(q.serviceTime),
            sample(q.latency),
            sample(q.latencyRequests),
            sample(q.completions),
          ]);
          outcome.demand = demand;
          if (demand.kind !== 'ok') this.#m.metricFailures.inc({ kind: demand.kind });
          const state = {
            decide: restoreState(prev?.decideState),
            calibration: restoreCalibration(prev?.model?.state),
          };
          const obs = {
            ...(demand.kind === 'ok' ? { demandRps: demand.value } : {}),
            ...(burst?.kind === 'ok'
              ? {
                  burstDemandRps: burst.value,
                  ...(q.burstWindowSeconds !== undefined ? { burstWindowSeconds: q.burstWindowSeconds } : {}),
                }
              : {}),
            // Ready pods only: created-but-not-ready pods are not capacity.
            readyReplicas: readyOf(reading),
            currentReplicas: reading.specReplicas,
            ...(serviceTime?.kind === 'ok' && serviceTime.value > 0
              ? { capacity: { serviceTimeMs: serviceTime.value, concurrency: model.model.instance.concurrency } }
              : {}),
          };
          // The latency the service measured, at the demand and ready count of this round.
          const measured = q.latency
            ? {
                sample:
                  latency?.kind === 'ok' && latencyRequests?.kind === 'ok' && demand.kind === 'ok'
                    ? {
                        demandRps: demand.value,
                        ready: obs.readyReplicas,
                        measuredMs: latency.value * (q.latencyUnit === 'ms' ? 1 : 1000),
                        requests: latencyRequests.value,
                        percentile: pct,
                        ...(completions?.kind === 'ok' ? { completionRps: completions.value } : {}),
                        ...(q.latencyWindowSeconds !== undefined ? { windowSeconds: q.latencyWindowSeconds } : {}),
                      }
                    : undefined,
                // Learned capacity already follows the service; calibrating on top would count it twice.
                correct: p.spec.latency?.calibrate !== false && !obs.capacity,
                ...(p.spec.latency?.halfLifeSeconds ? { halfLifeSeconds: p.spec.latency.halfLifeSeconds } : {}),
              }
            : undefined;
          const r = step(model.model, state, obs, nowMs / 1000, measured);
          const decision = r.decision;
          if (r.calibration && measured) {
            outcome.model = {
              percentile: pct,
              ...r.calibration,
              calibrating: measured.correct,
              state: r.state.calibration,
            };
          }
          observed = {
            at: nowMs,
            specReplicas: reading.specReplicas,
            statusReplicas: reading.statusReplicas,
            readyReplicas: obs.readyReplicas,
            ...(demand.kind === 'ok' ? { demandRps: demand.value } : {}),
            ...(burst?.kind === 'ok' ? { burstRps: burst.value } : {}),
            ...(obs.capacity ? { serviceTimeMs: obs.capacity.serviceTimeMs } : {}),
            ...(measured?.sample ? { latencyMs: measured.sample.measuredMs } : {}),
            ...(r.calibration?.predictedMs != null ? { predictedLatencyMs: r.calibration.predictedMs } : {}),
            ...(decision.valid && decision.plan ? { needed: decision.plan.needed } : {}),
            ...(decision.sizedForRps !== undefined ? { sizedForRps: decision.sizedForRps } : {}),
            applied: false,
          };
          outcome.decision = view(decision);
          outcome.decideState = r.state.decide;
          outcome.metricFailures = r.state.decide.failures;
          this.#m.desired.set(id, decision.desired);
          this.#m.current.set(id, reading.specReplicas);
          if (demand.kind === 'ok') this.#m.demand.set(id, demand.value);
          // Hold back what a pause or another writer asks (hold.ts); remember what was written.
          if (!shadow) {
            const backoffS = p.spec.externalWriteBackoffSeconds ?? DEFAULT_EXTERNAL_WRITE_BACKOFF_SECONDS;
            // A setting lowered since (to 0: write back now) shortens a back-off already running.
            const until = Math.min(Date.parse(prev?.backoffUntil ?? ''), nowMs + backoffS * 1000);
            let backoffUntilMs = Number.isFinite(until) && until > nowMs ? until : undefined;
            outcome.applied = prev?.appliedReplicas;
            if (externallyWritten(prev?.appliedReplicas, reading.specReplicas)) {
              outcome.externalWrite = {
                from: prev?.appliedReplicas ?? 0,
                to: reading.specReplicas,
                backoffSeconds: backoffS,
              };
              outcome.applied = undefined;
              backoffUntilMs = backoffS > 0 ? nowMs + backoffS * 1000 : undefined;
              this.#m.externalWrites.inc();
              this.#log.warn({ ...id, ...outcome.externalWrite }, 'replicas changed by another writer');
            }
            if (backoffUntilMs !== undefined) outcome.backoffUntilMs = backoffUntilMs;
            if (pause.pause) outcome.pause = pause.pause;
            const hold = holdOf({
              pause: pause.pause,
              backoffUntilMs,
              nowMs,
              current: reading.specReplicas,
              desired: decision.desired,
            });
            if (hold) outcome.hold = hold;
          }
          if (!shadow && !outcome.hold && decision.desired !== reading.specReplicas) {
            try {
              const res = await this.#actuator.scale(targetOf(p), decision.desired, reading);
              outcome.scale = res;
              if (res.kind === 'scaled') {
                outcome.applied = res.to;
                scaled = true;
                observed = { ...observed, specReplicas: res.to, applied: true };
                this.#m.scaleWrites.inc();
                this.#m.current.set(id, res.to);
                this.#log.info(
                  { ...id, from: res.from, to: res.to, reasons: decision.reasons.map((x) => x.code) },
                  'scaled',
                );
              }
            } catch (err) {
              outcome.scaleError = err instanceof Error ? err.message : String(err);
              error = outcome.scaleError;
            }
          }
        }
        this.#m.reconciles.inc({ result: error ? 'error' : 'ok' });
      }

      const { status, events } = nextStatus(prev, outcome, new Date(nowMs).toISOString());
      let statusWritten = false;
      let written = mem ? mem.written : p.status;
      let writtenAt = mem ? mem.writtenAt : persistedAt(p.status);
      if (needsWrite(written, status, writtenAt, nowMs, this.#o.stateRefreshMs ?? 60_000)) {
        statusWritten = await this.#writeStatus(p, status);
        if (statusWritten) {
          written = status;
          writtenAt = nowMs;
        }
      }
      for (const e of events) await this.#event(p, e);
      this.#show(uid, nowMs, status, observed, events);
      const interval = (p.spec.intervalSeconds ?? 15) * 1000;
      // A failed round retries sooner: a third of the interval, at least 1 s.
      const delay = error && !outcome.invalid ? Math.max(1000, interval / 3) : interval;
      this.#memory.set(uid, { status, generation, nextDue: nowMs + delay, written, writtenAt });
      if (error) this.#log.warn({ ...id, err: error }, 'reconcile problem');
      return { scaled, statusWritten, ...(error ? { error } : {}) };
    } catch (err) {
      this.#m.reconciles.inc({ result: 'error' });
      this.#log.error({ ...id, err: messageOf(err) }, 'reconcile failed');
      this.#memory.delete(uid);
      return { scaled: false, statusWritten: false, error: messageOf(err) };
    } finally {
      end();
      this.#inflight.delete(uid);
    }
  }

  #show(uid: string, nowMs: number, status: PolicyStatus, observed: Observed | undefined, events: PolicyEvent[]): void {
    const s = this.#shown.get(uid) ?? { history: [], events: [], decisions: [] };
    if (observed && status.lastDecision) keepDecision(s.decisions, decisionOf(status.lastDecision, observed));
    if (observed) s.observed = observed;
    else delete s.observed;
    const at = new Date(nowMs).toISOString();
    for (const e of events) s.events.push({ at, type: e.reason, message: e.message, warning: e.type === 'Warning' });
    if (s.events.length > EVENTS_KEPT) s.events.splice(0, s.events.length - EVENTS_KEPT);
    if (observed && status.desiredReplicas !== undefined) {
      s.history.push({
        t: nowMs / 1000,
        demandRps: observed.demandRps ?? null,
        burstRps: observed.burstRps ?? null,
        p99Ms: observed.latencyMs ?? null,
        ...(observed.predictedLatencyMs !== undefined ? { predictedP99Ms: observed.predictedLatencyMs } : {}),
        desired: status.desiredReplicas,
        current: observed.specReplicas,
        ready: observed.readyReplicas ?? observed.statusReplicas,
      });
      const keep = this.#o.historyPoints ?? 300;
      if (s.history.length > keep) s.history.splice(0, s.history.length - keep);
    }
    this.#shown.set(uid, s);
  }

  #views(): PolicyView[] {
    return this.policies().map((p) => {
      const uid = p.metadata.uid ?? '';
      const shown = this.#shown.get(uid);
      const model = this.#models.get(uid)?.model;
      return {
        policy: p,
        status: this.#memory.get(uid)?.status ?? p.status,
        model,
        observed: shown?.observed,
        history: shown?.history ?? [],
        events: shown?.events ?? [],
        decisions: shown?.decisions ?? [],
      };
    });
  }

  /** /api/status: one snapshot per policy, with its last decision and its alerts. */
  statusSnapshots(): StatusSnapshot[] {
    const now = this.#now();
    const all = this.#o.alerting?.status();
    // A standby (or a former leader) evaluates nothing: whatever its engine last held is stale.
    const alerts = all && !this.isLeader ? { ...all, alerts: [], groups: [] } : all;
    return this.#views().map((v) => policyStatusSnapshot(v, now, this.#startedAt, alerts));
  }

  /** The policies' models under their service names (namespace/name), for the dashboard's what-if. */
  models(): ServiceModel[] {
    return this.#views().flatMap((v) => (v.model ? [{ ...v.model, name: serviceName(v.policy) }] : []));
  }

  /** Evaluate alert rules over every policy reconciled so far (the run loop calls it after each round). */
  tickAlerts(): void {
    const alerting = this.#o.alerting;
    const now = this.#now() / 1000;
    // Only policies with a model: an invalid policy has nothing to measure (its condition says why).
    const snaps = this.#views()
      .filter((v) => v.model)
      .map((v) => policyAlertSnapshot(v, now));
    this.#m.alerts.update(snaps);
    if (!alerting) return;
    try {
      alerting.tick(snaps, now);
    } catch (err) {
      this.#log.error({ err: messageOf(err) }, 'alert evaluation failed');
    }
  }

  async #model(p: HeadroomPolicy, uid: string): Promise<{ model: ServiceModel } | { error: string }> {
    let profile: string | undefined;
    const ref = p.spec.capacity?.profile?.configMapKeyRef;
    if (ref) {
      try {
        const cm = await withRetry(
          () => this.#k.core.readNamespacedConfigMap({ name: ref.name, namespace: p.metadata.namespace }),
          this.#o.retry,
        );
        profile = cm.data?.[ref.key];
      } catch (err) {
        if (statusOf(err) !== 404) return { error: `reading ConfigMap ${ref.name}: ${messageOf(err)}` };
      }
    }
    const key = `${p.metadata.generation ?? 0}|${profile ?? ''}`;
    const cached = this.#models.get(uid);
    if (cached?.key === key) return cached.model ? { model: cached.model } : { error: cached.error ?? 'invalid' };
    try {
      const model = buildModel(p, profile);
      this.#models.set(uid, { key, model });
      return { model };
    } catch (err) {
      const msg =
        err instanceof HeadroomError
          ? err.problems.map(formatProblem).join('; ')
          : err instanceof Error
            ? err.message
            : String(err);
      this.#models.set(uid, { key, error: msg });
      return { error: msg };
    }
  }

  async #writeStatus(p: HeadroomPolicy, status: PolicyStatus): Promise<boolean> {
    try {
      await withRetry(
        () =>
          this.#k.custom.patchNamespacedCustomObjectStatus(
            {
              group: GROUP,
              version: VERSION,
              namespace: p.metadata.namespace,
              plural: PLURAL,
              name: p.metadata.name,
              // `add` on /status replaces it whole (a merge patch would keep stale keys).
              body: [{ op: 'add', path: '/status', value: status }],
              fieldManager: 'headroom',
            },
            JSON_PATCH,
          ),
        this.#o.retry,
      );
      return true;
    } catch (err) {
      if (statusOf(err) !== 404)
        this.#log.warn({ policy: p.metadata.name, err: messageOf(err) }, 'status write failed');
      return false;
    }
  }

  async #event(p: HeadroomPolicy, e: PolicyEvent): Promise<void> {
    const now = new Date(this.#now());
    try {
      await this.#k.core.createNamespacedEvent({
        namespace: p.metadata.namespace,
        body: {
          metadata: {
            name: `${p.metadata.name}.${now.getTime().toString(16)}${randomBytes(3).toString('hex')}`,
            namespace: p.metadata.namespace,
          },
          involvedObject: {
            apiVersion: `${GROUP}/${VERSION}`,
            kind: 'HeadroomPolicy',
            name: p.metadata.name,
            namespace: p.metadata.namespace,
            ...(p.metadata.uid ? { uid: p.metadata.uid } : {}),
          },
          type: e.type,
          reason: e.reason,
          message: e.message.slice(0, 1000),
          source: { component: 'headroom-controller' },
          reportingComponent: 'headroom.dev/controller',
          reportingInstance: this.identity,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.#log.debug({ err: messageOf(err) }, 'event not recorded');
    }
  }

  /** Persist decide states not yet written (sameStatus skips those), so a successor resumes exactly. */
  async #flush(): Promise<void> {
    for (const p of this.policies()) {
      const mem = p.metadata.uid ? this.#memory.get(p.metadata.uid) : undefined;
      if (mem && mem.written !== mem.status) await this.#writeStatus(p, mem.status);
    }
  }

  /** Graceful stop: finish in-flight reconciles, persist state, stop watching, release the lease. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake.abort();
    await this.#loop;
    if (this.isLeader) await this.#flush();
    await this.#informer?.stop();
    await this.#hpas?.stop();
    await this.#leader?.stop();
    await this.#o.alerting?.close();
  }
}

function view(d: Decision): DecisionView {
  const u = d.predicted.utilization;
  return {
    desired: d.desired,
    recommended: d.recommended,
    valid: d.valid,
    binding: d.binding,
    mode: d.mode,
    reasons: d.reasons,
    predicted: { utilization: u === null || !Number.isFinite(u) ? null : u, latencyMs: d.predicted.latencyMs },
  };
}

/** The persisted state, or a fresh one when it is missing or from an incompatible version. */
export function restoreState(saved: unknown): DecideState {
  const s = saved as Partial<DecideState> | undefined;
  if (s && Array.isArray(s.recommendations) && Array.isArray(s.events) && typeof s.failures === 'number' && s.demand) {
    return s as DecideState;
  }
  return initialDecideState();
}

function makeMetrics(reg: Registry, apiRequests: () => number, leader: () => boolean) {
  const labelNames = ['namespace', 'policy'] as const;
  return {
    reconciles: new Counter({
      name: M.CONTROLLER_RECONCILES_TOTAL,
      help: 'Policy reconciles by result',
      labelNames: ['result'],
      registers: [reg],
    }),
    duration: new Histogram({
      name: M.CONTROLLER_RECONCILE_DURATION_SECONDS,
      help: 'Time for one policy reconcile',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers: [reg],
    }),
    scaleWrites: new Counter({
      name: M.CONTROLLER_SCALE_WRITES_TOTAL,
      help: 'Scale subresource writes',
      registers: [reg],
    }),
    externalWrites: new Counter({
      name: M.CONTROLLER_EXTERNAL_WRITES_TOTAL,
      help: 'Times another writer changed replicas this controller had written (each starts a back-off)',
      registers: [reg],
    }),
    metricFailures: new Counter({
      name: M.CONTROLLER_METRIC_FAILURES_TOTAL,
      help: 'Demand queries without a value',
      labelNames: ['kind'],
      registers: [reg],
    }),
    desired: new Gauge({
      name: M.POLICY_DESIRED_REPLICAS,
      help: 'Desired replicas per policy',
      labelNames,
      registers: [reg],
    }),
    current: new Gauge({
      name: M.POLICY_CURRENT_REPLICAS,
      help: 'Current replicas per policy',
      labelNames,
      registers: [reg],
    }),
    demand: new Gauge({
      name: M.POLICY_DEMAND_RPS,
      help: 'Measured demand per policy',
      labelNames,
      registers: [reg],
    }),
    api: new Gauge({
      name: M.CONTROLLER_API_REQUESTS,
      help: 'Kubernetes API requests sent since start',
      registers: [reg],
      collect() {
        this.set(apiRequests());
      },
    }),
    // The series the exported alert rules query, from the same snapshots the engine gets.
    alerts: createAlertMetrics(reg, { integrateCounts: true }),
    leader: new Gauge({
      name: M.CONTROLLER_LEADER,
      help: '1 when this instance holds the lease',
      registers: [reg],
      collect() {
        this.set(leader() ? 1 : 0);
      },
    }),
  };
}
