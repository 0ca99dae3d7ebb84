// The Kubernetes controller. src/cli/controller.ts builds it (the composition root); this class
// hands the adapters (Kubernetes clients, Prometheus, the scale actuator) to the jobs, each in its
// own file:
//
//   informers.ts  list+watch HeadroomPolicies, HeadroomApplications and HPAs
//   rounds.ts     every tick, the policies that are due, 32 at a time
//   applications.ts  before them, each HeadroomApplication's graph plan: its members' shares
//   reconcile.ts  one policy's round: read the scale ─▶ query ─▶ step() (src/loop/step.ts, the same
//                 step as `headroom run`) ─▶ hold? ─▶ write the scale ─▶ status and Events
//   views.ts      what the dashboard and alerts see; metrics.ts the Prometheus series
// Kubernetes writes go through src/adapters/actuators/kubernetes (the scale: index.ts; status,
// Events, ConfigMaps: objects.ts). Only the Lease holder acts when leader election is on;
// standbys keep a warm cache.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Registry } from 'prom-client';
import type { Alerting } from '../alerting/runtime.ts';
import type { ServiceModel } from '../core/model.ts';
import { KubernetesScaleActuator } from '../adapters/actuators/kubernetes/index.ts';
import { KubernetesObjects } from '../adapters/actuators/kubernetes/objects.ts';
import { kubernetesPodScraper } from '../adapters/metrics/pods/index.ts';
import { messageOf, type KubeClients, type RetryOptions } from '../adapters/kubernetes/client.ts';
import type { Actuator } from '../ports/actuator.ts';
import type { MetricsSource, PodRateSource, RangeSource } from '../ports/metrics.ts';
import type { GraphView } from '../server/graph-view.ts';
import type { StatusSnapshot } from '../server/status.ts';
import { APP_KIND, APP_PLURAL } from './application-crd.ts';
import type { HeadroomApplication } from './application.ts';
import { Applications, type ApplicationPorts, type MemberShare } from './applications.ts';
import { conflictOf } from './conflict.ts';
import { GROUP, KIND, PLURAL, VERSION } from './crd.ts';
import { makeInformers, startInformers, stopInformers, type Informers } from './informers.ts';
import { systemClock, type Clock } from '../ports/clock.ts';
import { shadowRow, type ShadowRow } from './shadow.ts';
import { LeaderElector } from './leader.ts';
import {
  clearPolicies,
  forgetPolicy,
  makeMetrics,
  recordFailedRound,
  recordReconcile,
  type ControllerMetrics,
} from './metrics.ts';
import { ModelCache } from './models.ts';
import type { HeadroomPolicy, PolicyStatus } from './policy.ts';
import {
  logProblem,
  reconcilePolicy,
  silent,
  type Logger,
  type PolicyMemory,
  type ReconcilePorts,
  type ReconcileResult,
} from './reconcile.ts';
import { duePolicies, runRound, Ticker, type RoundStats } from './rounds.ts';
import { policyAlertSnapshot, policyStatusSnapshot, serviceName, type PolicyView } from './snapshot.ts';
import { needsWrite, nextStatus, persistedAt, type PolicyEvent } from './status.ts';
import { PolicyViews } from './views.ts';

export type { Logger } from './reconcile.ts';
export type { RoundStats } from './rounds.ts';

export interface ControllerOptions {
  clients: KubeClients;
  metrics: MetricsSource;
  /** The demand's past (Prometheus query_range) for a policy's first round (history.ts); none: not read. */
  history?: RangeSource;
  actuator?: Actuator;
  /** Reads pods for spec.demand.pods (default: list through the apiserver, GET each ready pod). */
  pods?: PodRateSource;
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
  /** Write nothing (no scale, status or Event) and run every policy as shadow: `controller --shadow`. */
  dryRun?: boolean;
  /** The clock (src/ports/clock.ts; tests step it with vitest's fake timers). */
  clock?: Clock;
}

export class Controller {
  readonly identity: string;
  readonly registry: Registry;
  readonly #o: ControllerOptions;
  readonly #k: KubeClients;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** Wall clock, ms. */
  readonly #now: () => number;
  readonly #leader: LeaderElector | undefined;
  readonly #ports: ReconcilePorts;
  readonly #memory = new Map<string, PolicyMemory>();
  readonly #inflight = new Set<string>();
  /** dryRun: each policy's last round, for shadowRound(). */
  readonly #shadow = new Map<string, { result: ReconcileResult; model?: ServiceModel }>();
  readonly #models: ModelCache;
  readonly #views: PolicyViews;
  readonly #apps = new Applications();
  readonly #appPorts: ApplicationPorts;
  readonly #ticker = new Ticker();
  readonly #startedAt: number;
  readonly #m: ControllerMetrics;
  #informers: Informers | undefined;
  #synced = false;
  #loop: Promise<void> | undefined;

  constructor(opts: ControllerOptions) {
    this.#o = opts;
    this.#k = opts.clients;
    this.#log = opts.log ?? silent;
    const clock = opts.clock ?? systemClock;
    this.#clock = clock;
    this.#now = () => clock.now() * 1000; // the rounds and the status keep ms
    this.identity = opts.identity ?? `${hostname()}_${randomBytes(4).toString('hex')}`;
    this.#startedAt = this.#now();
    const objects = new KubernetesObjects(opts.clients, {
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      kind: KIND,
      identity: this.identity,
      retry: opts.retry,
      log: this.#log,
    });
    this.#ports = {
      metrics: opts.metrics,
      ...(opts.history ? { history: opts.history } : {}),
      pods: opts.pods ?? kubernetesPodScraper(opts.clients),
      scale: opts.actuator ?? new KubernetesScaleActuator(opts.clients, opts.retry ? { retry: opts.retry } : {}),
      status: opts.dryRun ? { writeStatus: () => Promise.resolve(true) } : objects,
      events: opts.dryRun ? { recordEvent: () => Promise.resolve() } : objects,
      log: this.#log,
    };
    this.#models = new ModelCache((ns, name, key) => objects.readConfigMapKey(ns, name, key));
    const appObjects = new KubernetesObjects(opts.clients, {
      group: GROUP,
      version: VERSION,
      plural: APP_PLURAL,
      kind: APP_KIND,
      identity: this.identity,
      retry: opts.retry,
      log: this.#log,
    });
    this.#appPorts = {
      metrics: opts.metrics,
      status: opts.dryRun ? { writeStatus: () => Promise.resolve(true) } : appObjects,
      model: (p) => this.#models.get(p, p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`),
      memberStatus: (p) => (p.metadata.uid ? this.#memory.get(p.metadata.uid)?.status : undefined) ?? p.status,
      log: this.#log,
    };
    this.#views = new PolicyViews(opts.historyPoints);
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
        clock: this.#clock,
        ...(le.leaseDurationSeconds !== undefined ? { leaseDurationSeconds: le.leaseDurationSeconds } : {}),
        ...(le.renewDeadlineSeconds !== undefined ? { renewDeadlineSeconds: le.renewDeadlineSeconds } : {}),
        ...(le.retryPeriodSeconds !== undefined ? { retryPeriodSeconds: le.retryPeriodSeconds } : {}),
        log: (msg) => this.#log.info({ identity: this.identity }, msg),
        onStartedLeading: () => this.#ticker.wake(),
        // Another leader may have written status since: start again from what is persisted.
        onStoppedLeading: () => {
          this.#memory.clear();
          this.#views.clear();
          this.#apps.clear();
          // A former leader exports none of its per-policy series: they would be stale duplicates.
          clearPolicies(this.#m);
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
    return this.#loop === undefined || this.#now() - this.#ticker.lastTick < 30_000;
  }

  policies(): HeadroomPolicy[] {
    return this.#informers?.policies.list(this.#o.namespace) ?? [];
  }

  applications(): HeadroomApplication[] {
    return this.#informers?.applications.list(this.#o.namespace) ?? [];
  }

  /** The call graphs the dashboard draws: each application's last plan. */
  graphs(): GraphView[] {
    return this.#apps.views(this.applications());
  }

  async start(): Promise<void> {
    this.#informers = makeInformers(this.#k, {
      namespace: this.#o.namespace,
      log: this.#log,
      onPolicy: (p) => {
        const mem = p.metadata.uid ? this.#memory.get(p.metadata.uid) : undefined;
        // A spec change (new generation) is due at once; our own status writes are not.
        if (!mem || mem.generation !== (p.metadata.generation ?? 0)) this.#ticker.wake();
      },
      onApplication: () => this.#ticker.wake(),
      onPolicyDeleted: (p) => {
        if (p.metadata.uid) {
          this.#memory.delete(p.metadata.uid);
          this.#models.delete(p.metadata.uid);
          this.#views.delete(p.metadata.uid);
        }
        // Its /metrics series go with it (the service series at the next alert tick).
        forgetPolicy(this.#m, { namespace: p.metadata.namespace, policy: p.metadata.name });
      },
    });
    await startInformers(this.#informers);
    this.#synced = !this.#ticker.stopping;
    this.#leader?.start();
    if (!this.#o.manual) {
      this.#loop = this.#ticker.run(this.#o.tickMs ?? 1000, this.#now, async () => {
        // A standby (or a former leader) exports none: its last values would be stale duplicates.
        // Every tick, so a round that was in flight when the Lease moved leaves nothing behind.
        if (!this.isLeader) {
          clearPolicies(this.#m);
          return;
        }
        try {
          await this.reconcileDue();
        } catch (err) {
          this.#log.error({ err: messageOf(err) }, 'reconcile round failed');
        }
        // Only the leader evaluates and sends: standbys would page a second time.
        if (this.isLeader) this.tickAlerts();
        else clearPolicies(this.#m);
      });
    }
  }

  /** Reconcile the policies whose interval has passed (or whose spec changed). */
  async reconcileDue(): Promise<RoundStats> {
    const all = this.policies();
    const due = duePolicies(all, this.#memory, this.#inflight, this.#now());
    // A changed application makes all its members due (those not already in flight).
    const withApps = this.#apps.due(this.applications(), all, due);
    return this.reconcileAll(withApps.filter((p) => !this.#inflight.has(p.metadata.uid ?? '')));
  }

  /** One round over `policies` (default: all cached), `concurrency` at a time. */
  async reconcileAll(policies: HeadroomPolicy[] = this.policies()): Promise<RoundStats> {
    const t0 = this.#clock.monotonic();
    const req0 = this.#k.counter.total;
    // The graphs first: each member's share of its application's plan goes into its reconcile.
    let shares = new Map<string, MemberShare>();
    try {
      shares = await this.#apps.round(this.#appPorts, this.applications(), this.policies(), policies);
    } catch (err) {
      this.#log.error({ err: messageOf(err) }, 'application round failed');
    }
    const stats = await runRound(
      policies,
      this.#o.concurrency ?? 32,
      (p) => this.reconcile(p, shares.get(p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`)),
      () => this.#ticker.stopping,
    );
    // The applications' status after their members': which of them applied the plan.
    try {
      await this.#apps.settle(this.#appPorts, this.#now());
    } catch (err) {
      this.#log.error({ err: messageOf(err) }, 'application status failed');
    }
    return { ...stats, apiRequests: this.#k.counter.total - req0, ms: (this.#clock.monotonic() - t0) * 1000 };
  }

  /**
   * One dry-run round over every policy (`controller --shadow`, with `dryRun`): per target what
   * Headroom would set, why, and the money difference (shadow.ts). Nothing is written.
   */
  async shadowRound(): Promise<ShadowRow[]> {
    if (!this.#o.dryRun) throw new Error('shadowRound needs dryRun: it must not write');
    const policies = this.policies();
    await this.reconcileAll(policies);
    return policies
      .map((p) => {
        const uid = p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
        const last = this.#shadow.get(uid);
        return shadowRow(p, last?.result, last?.model);
      })
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.policy.localeCompare(b.policy));
  }

  /** One policy (reconcile.ts), with this controller's memory, models and views. Never throws. */
  async reconcile(
    policy: HeadroomPolicy,
    member?: MemberShare,
  ): Promise<{ scaled: boolean; statusWritten: boolean; error?: string }> {
    // A dry run decides every policy as shadow mode does: no write to its target.
    const p = this.#o.dryRun ? { ...policy, spec: { ...policy.spec, mode: 'shadow' as const } } : policy;
    const uid = p.metadata.uid ?? `${p.metadata.namespace}/${p.metadata.name}`;
    const id = { namespace: p.metadata.namespace, policy: p.metadata.name };
    this.#inflight.add(uid);
    const end = this.#m.duration.startTimer();
    try {
      const now = this.#now();
      // A graph member sizes with its graph model (the entry's SLO; 0.9 utilization unless its own).
      const model = member ? { model: member.model } : await this.#models.get(p, uid);
      // Who owns the target is the policy's own mode's question: an active policy that would yield
      // to an HPA or an older policy says so in a dry run too (shadow policies never yield).
      const conflict = conflictOf(policy, this.policies(), this.#informers?.hpas.list(this.#o.namespace) ?? []);
      const r = await reconcilePolicy(this.#ports, {
        policy: p,
        model,
        conflict,
        memory: this.#memory.get(uid),
        now,
        stateRefreshMs: this.#o.stateRefreshMs,
        ...(member ? { graph: member.share } : {}),
      });
      // Deleted while its round ran: what the round would record (series, view, memory) would stay
      // for a policy no one reconciles again (3 series of a deleted policy stayed in Prometheus).
      const gone = (q: HeadroomPolicy): boolean =>
        (q.metadata.uid ?? `${q.metadata.namespace}/${q.metadata.name}`) !== uid;
      if (this.#informers && this.policies().every(gone)) {
        forgetPolicy(this.#m, id);
        return { scaled: r.scaled, statusWritten: r.statusWritten };
      }
      recordReconcile(this.#m, id, r);
      if (this.#o.dryRun) this.#shadow.set(uid, { result: r, ...('model' in model ? { model: model.model } : {}) });
      this.#views.show(uid, now, r.status, r.observed, r.events);
      this.#memory.set(uid, r.memory);
      return { scaled: r.scaled, statusWritten: r.statusWritten, ...(r.error ? { error: r.error } : {}) };
    } catch (err) {
      recordFailedRound(this.#m, id);
      const statusWritten = await this.#failedRound(p, uid, `reconcile failed: ${messageOf(err)}`);
      return { scaled: false, statusWritten, error: messageOf(err) };
    } finally {
      end();
      this.#inflight.delete(uid);
    }
  }

  /**
   * A round that threw (reconcilePolicy rejects only when something broke its promises, e.g. a
   * saved state it cannot read): the status says so (Ready False, FailedReconcile, no counts), one
   * Warning Event when that starts, the log as logProblem's rule says (on start and change, then
   * every 5 min), and the next try at the policy's interval, not at the next tick.
   */
  async #failedRound(p: HeadroomPolicy, uid: string, message: string): Promise<boolean> {
    const mem = this.#memory.get(uid);
    const now = this.#now();
    const id = { namespace: p.metadata.namespace, policy: p.metadata.name };
    const generation = p.metadata.generation ?? 0;
    const { status, event } = failedRoundStatus(
      mem?.status ?? p.status,
      generation,
      message,
      new Date(now).toISOString(),
    );
    let written = mem ? mem.written : p.status;
    let writtenAt = mem ? mem.writtenAt : persistedAt(p.status);
    let statusWritten = false;
    try {
      if (needsWrite(written, status, writtenAt, now, this.#o.stateRefreshMs ?? 60_000)) {
        statusWritten = await this.#ports.status.writeStatus(p.metadata, status);
        if (statusWritten) {
          written = status;
          writtenAt = now;
        }
      }
      if (event) await this.#ports.events.recordEvent(p.metadata, event, now);
    } catch (err) {
      this.#log.error({ ...id, err: messageOf(err) }, 'writing the status of a failed round failed');
    }
    this.#views.show(uid, now, status, undefined, event ? [event] : []);
    const logged = logProblem(this.#log, id, 'reconcile', message, mem?.problem, now);
    this.#memory.set(uid, {
      status,
      generation,
      nextDue: now + (p.spec.intervalSeconds ?? 15) * 1000,
      written,
      writtenAt,
      ...(logged ? { problem: logged } : {}),
    });
    return statusWritten;
  }

  #policyViews(): PolicyView[] {
    return this.policies().map((p) => {
      const uid = p.metadata.uid ?? '';
      return this.#views.view(p, this.#memory.get(uid)?.status, this.#models.peek(uid));
    });
  }

  /** /api/status: one snapshot per policy, with its last decision and its alerts. */
  statusSnapshots(): StatusSnapshot[] {
    const now = this.#now();
    const all = this.#o.alerting?.status();
    // A standby (or a former leader) evaluates nothing: whatever its engine last held is stale.
    const alerts = all && !this.isLeader ? { ...all, alerts: [], groups: [] } : all;
    return this.#policyViews().map((v) => policyStatusSnapshot(v, now, this.#startedAt, alerts));
  }

  /** The policies' models under their service names (namespace/name), for the dashboard's what-if. */
  models(): ServiceModel[] {
    return this.#policyViews().flatMap((v) => (v.model ? [{ ...v.model, name: serviceName(v.policy) }] : []));
  }

  /** Evaluate alert rules over every policy reconciled so far (the run loop calls it after each round). */
  tickAlerts(): void {
    const alerting = this.#o.alerting;
    const now = this.#now() / 1000;
    // Only policies with a model: an invalid policy has nothing to measure (its condition says why).
    const snaps = this.#policyViews()
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

  /** Persist decide states not yet written (sameStatus skips those), so a successor resumes exactly. */
  async #flush(): Promise<void> {
    for (const p of this.policies()) {
      const mem = p.metadata.uid ? this.#memory.get(p.metadata.uid) : undefined;
      if (mem && mem.written !== mem.status) await this.#ports.status.writeStatus(p.metadata, mem.status);
    }
  }

  /** Graceful stop: finish in-flight reconciles, persist state, stop watching, release the lease. */
  async stop(): Promise<void> {
    this.#ticker.stop();
    await this.#loop;
    if (this.isLeader) await this.#flush();
    if (this.#informers) await stopInformers(this.#informers);
    await this.#leader?.stop();
    await this.#o.alerting?.close();
  }
}

/**
 * The status after a round that threw: Ready and ScalingActive False with reason FailedReconcile,
 * no counts (as for any round that does not decide), the rest (decideState, lastDecision, model)
 * kept; the Warning Event only when Ready turns to FailedReconcile (status.ts's nextStatus).
 */
export function failedRoundStatus(
  prev: PolicyStatus | undefined,
  generation: number,
  message: string,
  nowIso: string,
): { status: PolicyStatus; event?: PolicyEvent } {
  const metricFailures = prev?.consecutiveMetricFailures ?? 0;
  const { status, events } = nextStatus(prev, { generation, shadow: false, metricFailures, failed: message }, nowIso);
  return { status, ...(events[0] ? { event: events[0] } : {}) };
}
