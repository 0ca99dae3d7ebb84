// One HeadroomPolicy's round, over small ports so a unit test can drive it with fakes
// (test/controller/reconcile.test.ts); the controller (controller.ts) supplies the Kubernetes and
// Prometheus adapters and keeps the memory between rounds.
//
//   conflict / invalid? ─▶ read the target's scale ─▶ query demand, burst, service time, latency
//   ─▶ step() (calibrate, decide, guard: src/loop/step.ts) with the state persisted in status
//   ─▶ hold? (pause annotation, back-off after another writer: hold.ts) ─▶ write the scale if it changes
//   ─▶ status (only when it changed, or the decide state is older than stateRefreshMs) and Events.
//
// Never scales in shadow mode, never below the current count without valid metrics (the guard).
// Time is the `now` argument (ms); nothing here reads a clock.
import type { ServiceModel } from '../core/model.ts';
import { restoreCalibration, restoreState, step, type Measured } from '../loop/step.ts';
import type { Actuator, ScaleReading } from '../ports/actuator.ts';
import type {
  Aggregation,
  MetricSample,
  MetricsSource,
  PodCounter,
  PodRateSource,
  RangeSource,
} from '../ports/metrics.ts';
import { decisionView } from '../server/status.ts';
import { readyOf } from '../adapters/actuators/kubernetes/ready.ts';
import { DEFAULT_EXTERNAL_WRITE_BACKOFF_SECONDS, appliedTarget, externallyWritten, holdOf, pauseOf } from './hold.ts';
import { readHistory } from './history.ts';
import { demandQueries, targetOf, type HeadroomPolicy, type PolicyStatus } from './policy.ts';
import type { GraphShare } from './application-round.ts';
import type { Observed } from './snapshot.ts';
import { needsWrite, nextStatus, persistedAt, type Outcome, type PolicyEvent } from './status.ts';

export interface Logger {
  info(obj: object | string, msg?: string): void;
  warn(obj: object | string, msg?: string): void;
  error(obj: object | string, msg?: string): void;
  debug(obj: object | string, msg?: string): void;
}

export const silent: Logger = { info() {}, warn() {}, error() {}, debug() {} };

type PolicyRef = HeadroomPolicy['metadata'];

/** Writes a policy's status whole; false when it was not written (retried next round). Never rejects. */
export interface StatusWriter {
  writeStatus(policy: PolicyRef, status: PolicyStatus): Promise<boolean>;
}

/** Records a Kubernetes Event about a policy. Never rejects. */
export interface EventRecorder {
  recordEvent(policy: PolicyRef, event: PolicyEvent, nowMs: number): Promise<void>;
}

export interface ReconcilePorts {
  metrics: Pick<MetricsSource, 'sample'>;
  /** The demand's past (Prometheus query_range), read once for a policy with no history (history.ts). */
  history?: RangeSource;
  /** Reads the target's pods for spec.demand.pods (none: such a policy has no burst reading). */
  pods?: PodRateSource;
  /** Reads and writes the target's scale (the actuator port). */
  scale: Actuator;
  status: StatusWriter;
  events: EventRecorder;
  log?: Logger;
}

/** What the controller remembers of a policy between rounds. */
export interface PolicyMemory {
  status: PolicyStatus;
  generation: number;
  /** ms */
  nextDue: number;
  /** What was last written to the object, and when (ms). */
  written: PolicyStatus | undefined;
  writtenAt: number;
  /** The problem last logged, and when (ms): the same one is logged again only every PROBLEM_LOG_EVERY_MS. */
  problem?: LoggedProblem;
}

/** A problem that persists (an invalid policy, Prometheus down) is logged when it starts, changes, ends, and every 5 min. */
export const PROBLEM_LOG_EVERY_MS = 300_000;

/** The problem last logged and when (ms). */
export interface LoggedProblem {
  text: string;
  loggedAt: number;
}

/**
 * Log `problem` (undefined: none now) as PROBLEM_LOG_EVERY_MS says, `${what} problem` at warn and
 * `${what} problem resolved` at info; returns what to remember for the next call.
 */
export function logProblem(
  log: Logger,
  id: object,
  what: string,
  problem: string | undefined,
  last: LoggedProblem | undefined,
  now: number,
): LoggedProblem | undefined {
  if (problem !== undefined && (problem !== last?.text || now - last.loggedAt >= PROBLEM_LOG_EVERY_MS)) {
    log.warn({ ...id, err: problem }, `${what} problem`);
    return { text: problem, loggedAt: now };
  }
  if (problem === undefined && last) {
    log.info({ ...id, was: last.text }, `${what} problem resolved`);
    return undefined;
  }
  return last;
}

export interface ReconcileInput {
  policy: HeadroomPolicy;
  /** The policy's model, or why it has none (policy.ts buildModel; the controller caches it). */
  model: { model: ServiceModel } | { error: string };
  /** Another writer owns the target (conflict.ts): this policy yields. */
  conflict?: { message: string } | undefined;
  /** Last round's memory; undefined after a start or a change of leader (status is read back). */
  memory?: PolicyMemory | undefined;
  /** ms since the epoch. */
  now: number;
  /** Longest time an unchanged status (only the decide state moved) goes unwritten, ms (default 60 000). */
  stateRefreshMs?: number | undefined;
  /** The policy is a member of a HeadroomApplication: its share of this round's graph plan (application-round.ts). */
  graph?: GraphShare | undefined;
}

export interface ReconcileResult {
  result: 'ok' | 'error' | 'invalid' | 'conflict';
  outcome: Outcome;
  status: PolicyStatus;
  events: PolicyEvent[];
  /** What was observed this round (absent when the target was not read). */
  observed?: Observed;
  memory: PolicyMemory;
  scaled: boolean;
  statusWritten: boolean;
  error?: string;
}

const message = (err: unknown): string => (err instanceof Error ? err.message : String(err));

/** One policy: read, measure, decide, act, report. Rejects only if a port breaks its promise not to. */
export async function reconcilePolicy(ports: ReconcilePorts, input: ReconcileInput): Promise<ReconcileResult> {
  const { policy: p, model, memory: mem, now } = input;
  const log = ports.log ?? silent;
  const id = { namespace: p.metadata.namespace, policy: p.metadata.name };
  const prev = mem?.status ?? p.status;
  const generation = p.metadata.generation ?? 0;
  const shadow = p.spec.mode === 'shadow';
  const outcome: Outcome = { generation, shadow, metricFailures: prev?.consecutiveMetricFailures ?? 0 };
  let result: ReconcileResult['result'] = 'ok';
  let scaled = false;
  let error: string | undefined;
  let observed: Observed | undefined;

  const pause = pauseOf(p.metadata.annotations);
  if ('error' in model || pause.error !== undefined) {
    outcome.invalid = 'error' in model ? model.error : pause.error;
    error = outcome.invalid;
    result = 'invalid';
  } else if (input.conflict) {
    // Another writer owns the target: no read, no query, no write; status and an Event say who.
    outcome.conflict = input.conflict.message;
    result = 'conflict';
  } else {
    let reading: ScaleReading | undefined;
    try {
      reading = await ports.scale.read(targetOf(p));
    } catch (err) {
      outcome.targetError = message(err);
      error = outcome.targetError;
    }
    if (reading?.owner && ownerSetsReplicas(targetOf(p))) {
      // Its owner sets its replicas (a Deployment its ReplicaSet's): writing them starts a fight.
      outcome.targetOwned = ownedMessage(targetOf(p), reading.owner);
      result = 'conflict';
    } else if (reading) {
      outcome.reading = reading;
      const seen = await observe(ports, p, model.model, reading, input.graph, now);
      const { demand, burst, obs, measured } = seen;
      outcome.demand = demand;
      if (seen.severalSeries) outcome.severalSeries = seen.severalSeries;
      // A pod read that failed leaves the burst path without data (never a scale-down): say why.
      if (p.spec.demand.pods && burst) outcome.podBurst = burst;
      if (input.graph) outcome.graph = input.graph;
      // Shadow mode decides as if its counts had been written: from the count it last decided, not
      // the target's. Else each round's scale-up limit counts its own unwritten step (4 → 8) against
      // the target still at 4 and allows nothing more (8, 4, 8, …), never what active mode would do.
      const current = shadow && prev?.desiredReplicas !== undefined ? prev.desiredReplicas : obs.currentReplicas;
      let state = { decide: restoreState(prev?.decideState), calibration: restoreCalibration(prev?.model?.state) };
      // No demand history yet (a new policy, a status reset): the demand's past from Prometheus.
      if (demand.kind === 'ok') {
        const h = await readHistory(ports.history, seen.demandQuery, model.model, state, {
          nowMs: now,
          stepSeconds: p.spec.intervalSeconds ?? 15,
        });
        state = h.state;
        if (h.outcome) outcome.history = h.outcome;
      }
      const r = step(model.model, state, { ...obs, currentReplicas: current }, now / 1000, measured);
      const decision = r.decision;
      if (r.calibration && measured) {
        outcome.model = {
          ...r.calibration,
          calibrating: measured.correct,
          state: r.state.calibration,
        };
      }
      observed = {
        at: now,
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
      outcome.decision = decisionView(decision, now, false);
      outcome.decideState = r.state.decide;
      outcome.metricFailures = r.state.decide.failures;
      if (!shadow) hold(outcome, p, prev, pause.pause, reading, decision.desired, now, log, model.model.replicas.min);
      if (!shadow && !outcome.hold && decision.desired !== reading.specReplicas) {
        try {
          const res = await ports.scale.scale(targetOf(p), decision.desired, reading);
          outcome.scale = res;
          if (res.kind === 'scaled') {
            outcome.applied = res.to;
            outcome.decision.applied = true;
            scaled = true;
            observed = { ...observed, specReplicas: res.to, applied: true };
            log.info({ ...id, from: res.from, to: res.to, reasons: decision.reasons.map((x) => x.code) }, 'scaled');
          }
        } catch (err) {
          outcome.scaleError = message(err);
          error = outcome.scaleError;
        }
      }
    }
    if (error) result = 'error';
  }

  const { status, events } = nextStatus(prev, outcome, new Date(now).toISOString());
  let statusWritten = false;
  let written = mem ? mem.written : p.status;
  let writtenAt = mem ? mem.writtenAt : persistedAt(p.status);
  if (needsWrite(written, status, writtenAt, now, input.stateRefreshMs ?? 60_000)) {
    statusWritten = await ports.status.writeStatus(p.metadata, status);
    if (statusWritten) {
      written = status;
      writtenAt = now;
    }
  }
  for (const e of events) await ports.events.recordEvent(p.metadata, e, now);
  const interval = (p.spec.intervalSeconds ?? 15) * 1000;
  // A failed round retries sooner: a third of the interval, at least 1 s (15 s → 5 s).
  const delay = error && !outcome.invalid ? Math.max(1000, interval / 3) : interval;
  // Metrics that fail are held on, not an error of the round, but an operator wants them in the log.
  const d = outcome.demand;
  const pb = outcome.podBurst;
  const problem =
    error ??
    (d && d.kind !== 'ok' ? `demand ${d.kind === 'no-data' ? 'no data' : 'query failed'}: ${d.reason}` : undefined) ??
    (pb?.kind === 'error' ? `pod burst read failed: ${pb.reason}` : undefined) ??
    outcome.severalSeries;
  const logged = logProblem(log, id, 'reconcile', problem, mem?.problem, now);
  return {
    result,
    outcome,
    status,
    events,
    ...(observed ? { observed } : {}),
    memory: { status, generation, nextDue: now + delay, written, writtenAt, ...(logged ? { problem: logged } : {}) },
    scaled,
    statusWritten,
    ...(error ? { error } : {}),
  };
}

/**
 * Does the controlling owner set the target's replicas? A ReplicaSet's controller always does (a
 * Deployment, an Argo Rollout: each sync puts its count back). A Deployment or StatefulSet an
 * operator owns may leave them to an autoscaler (as an HPA on Flagger's primary Deployment): it is
 * scaled, and if the owner puts them back, the ExternalWrite Event names it.
 */
export function ownerSetsReplicas(t: { kind: string }): boolean {
  return t.kind === 'ReplicaSet';
}

/** Why a policy leaves a target its owner scales: `ReplicaSet web-96d5df5c8 is managed by Deployment web (…): target the Deployment …`. */
export function ownedMessage(t: { kind: string; name: string }, owner: { kind: string; name: string }): string {
  return (
    `${t.kind} ${t.name} is managed by ${owner.kind} ${owner.name} (its controller ownerReference), which sets its ` +
    `replicas: target the ${owner.kind} (spec.scaleTargetRef); Headroom does not scale it, to not fight the owner`
  );
}

/**
 * The histogram's finite bucket bounds (its `le` labels), ms, ascending, read at now: the
 * calibrator reads the model through them as histogram_quantile read the measurement. Unread (no
 * range port, an error, no series): none, and the model's own percentile is compared, as before.
 */
export async function bucketBoundsMs(
  source: RangeSource | undefined,
  query: string,
  unit: 's' | 'ms' | undefined,
  nowMs: number,
): Promise<number[] | undefined> {
  if (!source) return undefined;
  const t = Math.floor(nowMs / 1000);
  const answer = await source.range(query, { start: t, end: t, step: 60 });
  if (answer.kind !== 'ok') return undefined;
  const scale = unit === 'ms' ? 1 : 1000;
  const les = answer.series
    .map((s) => Number(s.labels.le))
    .filter((le) => Number.isFinite(le) && le > 0)
    .map((le) => le * scale);
  return [...new Set(les)].sort((a, b) => a - b);
}

/** The round's queries (all at once) and the observation decide() gets from them. */
async function observe(
  ports: ReconcilePorts,
  p: HeadroomPolicy,
  model: ServiceModel,
  reading: ScaleReading,
  graph: GraphShare | undefined,
  nowMs: number,
) {
  const { metrics } = ports;
  const pct = model.slo?.percentile ?? 99;
  const q = demandQueries(p.spec, pct);
  // Rates and counts add up over series; a latency or a mean service time per series does not
  // (three pods' p99 of 30 ms is no 90 ms): several series there are an error (HR_PROMETHEUS_SERIES).
  const sample = (query: string | undefined, aggregate: Aggregation = 'sum'): Promise<MetricSample> | undefined =>
    query ? metrics.sample(query, { aggregate }) : undefined;
  const [own, burst, serviceTime, latency, latencyRequests, completions, bounds] = await Promise.all([
    metrics.sample(q.demand),
    q.pods ? podBurst(ports.pods, p, q.pods, reading, model, nowMs) : sample(q.burst),
    sample(q.serviceTime, 'single'),
    sample(q.latency, 'single'),
    sample(q.latencyRequests),
    sample(q.completions),
    q.latencyBuckets ? bucketBoundsMs(ports.history, q.latencyBuckets, q.latencyUnit, nowMs) : undefined,
  ]);
  // No plan for the graph (its entry's demand is missing): this member's demand counts as missing
  // too, so the guard holds its count instead of sizing it without its share of the SLO.
  const demand: MetricSample = graph?.missing ? { kind: 'no-data', reason: graph.missing } : own;
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
      ? { capacity: { serviceTimeMs: serviceTime.value, concurrency: model.instance.concurrency } }
      : {}),
    ...(graph?.budget ? { budget: graph.budget } : {}),
  };
  // The latency the service measured, at the demand and ready count of this round.
  const measured: Measured | undefined = q.latency
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
                ...(bounds && bounds.length > 0 ? { histogramBoundsMs: bounds } : {}),
              }
            : undefined,
        // Learned capacity already follows the service; calibrating on top would count it twice.
        correct: p.spec.latency?.calibrate !== false && !obs.capacity,
        ...(p.spec.latency?.halfLifeSeconds ? { halfLifeSeconds: p.spec.latency.halfLifeSeconds } : {}),
      }
    : undefined;
  // Not a silent "no latency this round": the user must change the query (status, an Event).
  const severalSeries = [
    { what: 'the service-time query (spec.capacity.learned.serviceTimeQuery)', query: q.serviceTime, s: serviceTime },
    { what: 'the latency query (spec.latency)', query: q.latency, s: latency },
  ]
    .filter((x) => x.s?.kind === 'error' && x.s.code === 'HR_PROMETHEUS_SERIES')
    .map((x) => `${x.what} ${x.query ?? ''}: ${x.s?.kind === 'error' ? x.s.reason : ''}`)
    .join('; ');
  return { demand, demandQuery: q.demand, burst, obs, measured, ...(severalSeries ? { severalSeries } : {}) };
}

/** spec.demand.pods: the burst over the behaviour's window, read from the target's ready pods. */
function podBurst(
  pods: PodRateSource | undefined,
  p: HeadroomPolicy,
  counter: PodCounter,
  reading: ScaleReading,
  model: ServiceModel,
  nowMs: number,
): Promise<MetricSample> {
  if (!pods) return Promise.resolve({ kind: 'no-data', reason: 'this controller reads no pods (no pod source)' });
  if (reading.selector === undefined)
    return Promise.resolve({ kind: 'no-data', reason: 'the target publishes no pod selector' });
  return pods.rate({
    key: `${p.metadata.namespace}/${p.metadata.name}`,
    namespace: p.metadata.namespace,
    selector: reading.selector,
    counter,
    windowSeconds: model.behavior.burst.windowSeconds,
    nowMs,
  });
}

/** Hold back what a pause or another writer asks (hold.ts); remember what was written. */
function hold(
  outcome: Outcome,
  p: HeadroomPolicy,
  prev: PolicyStatus | undefined,
  pause: ReturnType<typeof pauseOf>['pause'],
  reading: ScaleReading,
  desired: number,
  now: number,
  log: Logger,
  minReplicas: number,
): void {
  const backoffS = p.spec.externalWriteBackoffSeconds ?? DEFAULT_EXTERNAL_WRITE_BACKOFF_SECONDS;
  // What was written counts on the object it was written to: a target deleted and created again
  // (a new uid) or a policy pointed at another one starts afresh, no "another writer", no back-off.
  const target = appliedTarget(targetOf(p), reading);
  const same = prev?.appliedTarget === undefined || prev.appliedTarget === target;
  // A setting lowered since (to 0: write back now) shortens a back-off already running.
  const until = same ? Math.min(Date.parse(prev?.backoffUntil ?? ''), now + backoffS * 1000) : NaN;
  let backoffUntilMs = Number.isFinite(until) && until > now ? until : undefined;
  const applied = same ? prev?.appliedReplicas : undefined;
  outcome.applied = applied;
  outcome.appliedTarget = target;
  if (externallyWritten(applied, reading.specReplicas)) {
    outcome.externalWrite = { from: applied ?? 0, to: reading.specReplicas, backoffSeconds: backoffS };
    outcome.applied = undefined;
    backoffUntilMs = backoffS > 0 ? now + backoffS * 1000 : undefined;
    log.warn(
      { namespace: p.metadata.namespace, policy: p.metadata.name, ...outcome.externalWrite },
      'replicas changed by another writer',
    );
  }
  if (backoffUntilMs !== undefined) outcome.backoffUntilMs = backoffUntilMs;
  if (pause) outcome.pause = pause;
  const h = holdOf({ pause, backoffUntilMs, nowMs: now, current: reading.specReplicas, desired, minReplicas });
  if (h) outcome.hold = h;
}
