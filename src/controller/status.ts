// Status and events of a HeadroomPolicy from the outcome of one reconcile. Pure: the caller gives
// the time. Conditions follow the HPA's (AbleToScale, ScalingActive, ScalingLimited) plus Ready,
// MetricsAvailable and FallbackActive; lastTransitionTime only moves when a status flips, and
// each flip of Ready/MetricsAvailable/FallbackActive becomes one Kubernetes Event.
import { count } from '../core/plan-explain.ts';
import type { MetricSample } from '../ports/metrics.ts';
import type { ScaleOutcome, ScaleReading } from '../ports/actuator.ts';
import type { Hold, Pause } from './hold.ts';
import { PAUSE_ANNOTATION, pauseValue } from './hold.ts';
import { decisionView, type DecisionView } from '../server/status.ts';
import type { GraphShare } from './application-round.ts';
import type { HistoryOutcome } from './history.ts';
import type { ModelStatus, PolicyCondition, PolicyStatus } from './policy.ts';

export interface Outcome {
  generation: number;
  shadow: boolean;
  /** The round threw (e.g. on a saved state it could not read): nothing was decided. */
  failed?: string;
  /** Problems with the policy itself (schema-valid but inconsistent, e.g. min > max). */
  invalid?: string;
  /** Another writer (an HPA, an older policy) owns the target: why this policy yields (conflict.ts). */
  conflict?: string;
  /** The target has a controlling owner (a ReplicaSet's Deployment) that sets its replicas: why this policy does not act. */
  targetOwned?: string;
  targetError?: string;
  reading?: ScaleReading;
  demand?: MetricSample;
  /** spec.demand.pods: this round's burst reading from the pods. */
  podBurst?: MetricSample;
  /** A latency or service-time query answered several series where one is needed (HR_PROMETHEUS_SERIES). */
  severalSeries?: string;
  decision?: DecisionView;
  decideState?: unknown;
  /** The latency model against measured latency (spec.latency), with the calibrator's state. */
  model?: Omit<ModelStatus, 'measuredLatencyMs' | 'predictedLatencyMs' | 'calibratedLatencyMs'> & {
    measuredMs: number | null;
    predictedMs: number | null;
    calibratedMs: number | null;
  };
  scale?: ScaleOutcome;
  scaleError?: string;
  metricFailures: number;
  /** The policy's pause annotation (hold.ts). */
  pause?: Pause;
  /** Why the decided count was not written this round. */
  hold?: Hold;
  /** Another writer changed the count this controller last wrote (seen this round). */
  externalWrite?: { from: number; to: number; backoffSeconds: number };
  /** The count this controller last wrote and still expects to find; until when it backs off (ms). */
  applied?: number;
  /** The object `applied` and the back-off are about (hold.ts appliedTarget). */
  appliedTarget?: string;
  backoffUntilMs?: number;
  /** This round's share of a HeadroomApplication's end-to-end SLO. */
  graph?: GraphShare;
  /** The demand's past read for a policy with no history (history.ts): an Event says what it held. */
  history?: HistoryOutcome;
}

export interface PolicyEvent {
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function nextStatus(
  prev: PolicyStatus | undefined,
  o: Outcome,
  nowIso: string,
): { status: PolicyStatus; events: PolicyEvent[] } {
  const conds = new Map<string, PolicyCondition>((prev?.conditions ?? []).map((c) => [c.type, c]));
  const events: PolicyEvent[] = [];
  // Once: the round after a read has history of its own.
  if (o.history)
    events.push(
      o.history.read
        ? { type: 'Normal', reason: 'HistoryRead', message: o.history.message }
        : { type: 'Warning', reason: 'HistoryNotRead', message: o.history.message },
    );
  const set = (type: string, status: boolean, reason: string, message: string, event?: PolicyEvent): void => {
    const s = status ? 'True' : 'False';
    const old = conds.get(type);
    const flipped = old?.status !== s;
    conds.set(type, {
      type,
      status: s,
      reason,
      message,
      lastTransitionTime: flipped || !old?.lastTransitionTime ? nowIso : old.lastTransitionTime,
      observedGeneration: o.generation,
    });
    if (event && (flipped || old?.reason !== reason)) events.push(event);
  };

  const status: PolicyStatus = {
    ...prev,
    observedGeneration: o.generation,
    consecutiveMetricFailures: o.metricFailures,
  };

  // A policy that does not decide this round (invalid, yielding, its target unreadable) shows no
  // counts: last round's would read as current (docs/controller.md, `kubectl get hrp`).
  const undecided = (): PolicyStatus => {
    for (const k of ['currentReplicas', 'desiredReplicas', 'recommendedReplicas', 'binding', 'demand'] as const)
      delete status[k];
    return finish(status, conds);
  };
  if (o.failed !== undefined) {
    set('Ready', false, 'FailedReconcile', o.failed, { type: 'Warning', reason: 'FailedReconcile', message: o.failed });
    set('ScalingActive', false, 'FailedReconcile', 'the round failed; nothing is scaled');
    return { status: undecided(), events };
  }
  if (o.invalid !== undefined) {
    set('Ready', false, 'InvalidPolicy', o.invalid, { type: 'Warning', reason: 'InvalidPolicy', message: o.invalid });
    set('ScalingActive', false, 'InvalidPolicy', 'the policy is not valid; nothing is scaled');
    return { status: undecided(), events };
  }
  if (o.conflict !== undefined) {
    set('Ready', false, 'Conflict', o.conflict, { type: 'Warning', reason: 'Conflict', message: o.conflict });
    set('AbleToScale', false, 'Conflict', o.conflict);
    set('ScalingActive', false, 'Conflict', 'another autoscaler owns the target; nothing is scaled');
    return { status: undecided(), events };
  }
  if (o.targetOwned !== undefined) {
    const m = o.targetOwned;
    set('Ready', false, 'TargetOwned', m, { type: 'Warning', reason: 'TargetOwned', message: m });
    set('AbleToScale', false, 'TargetOwned', m);
    set('ScalingActive', false, 'TargetOwned', 'the target is managed by its owner; nothing is scaled');
    return { status: undecided(), events };
  }
  if (o.targetError !== undefined || !o.reading) {
    const msg = o.targetError ?? 'the scale target could not be read';
    set('Ready', false, 'FailedGetScale', msg, { type: 'Warning', reason: 'FailedGetScale', message: msg });
    set('AbleToScale', false, 'FailedGetScale', msg);
    set('ScalingActive', false, 'FailedGetScale', 'the scale target cannot be read; nothing is scaled');
    return { status: undecided(), events };
  }

  const current = o.scale?.kind === 'scaled' ? o.scale.to : o.reading.specReplicas;
  status.currentReplicas = current;
  // Persisted so that a restart or a new leader still knows what it wrote and honours a back-off.
  if (o.applied !== undefined) status.appliedReplicas = o.applied;
  else delete status.appliedReplicas;
  if (o.appliedTarget !== undefined) status.appliedTarget = o.appliedTarget;
  if (o.backoffUntilMs !== undefined) status.backoffUntil = new Date(o.backoffUntilMs).toISOString();
  else delete status.backoffUntil;
  if (o.pause) status.paused = pauseValue(o.pause);
  else delete status.paused;
  const x = o.externalWrite;
  if (x) {
    events.push({
      type: 'Warning',
      reason: 'ExternalWrite',
      message:
        `replicas changed ${x.from} → ${x.to} by ${
          o.reading.owner
            ? `another writer (${o.reading.owner.kind} ${o.reading.owner.name} controls this target: target it instead)`
            : 'another writer (a GitOps sync? kubectl scale?)'
        }: ` +
        (x.backoffSeconds > 0
          ? `Headroom leaves them for ${x.backoffSeconds} s (spec.externalWriteBackoffSeconds) instead of writing back every interval`
          : 'Headroom writes its count back (spec.externalWriteBackoffSeconds: 0)'),
    });
  }
  const g = o.graph;
  if (g) {
    status.graph = {
      application: g.application,
      entry: g.entry,
      budgetMs: g.budgetMs === null ? null : round(g.budgetMs),
    };
  } else delete status.graph;
  const d = o.demand;
  const several = o.severalSeries;
  if (d?.kind === 'ok' && several !== undefined) {
    // Demand sizes as usual; the latency check (or learned service time) waits for a query that
    // answers one series, and says so: never a sum of per-series latencies.
    status.demand = `${round(d.value)} rps`;
    set('MetricsAvailable', false, 'SeveralSeries', several, {
      type: 'Warning',
      reason: 'MetricsUnavailable',
      message: several,
    });
  } else if (d?.kind === 'ok') {
    status.demand = `${round(d.value)} rps`;
    // An event only when metrics come back, not on the first answer.
    const was = conds.get('MetricsAvailable');
    const again =
      was?.reason === 'SeveralSeries'
        ? `every query answers one series again: demand ${round(d.value)} rps`
        : `demand query answers again: ${round(d.value)} rps`;
    set(
      'MetricsAvailable',
      true,
      'QuerySucceeded',
      `demand ${round(d.value)} rps`,
      was?.status === 'False' ? { type: 'Normal', reason: 'MetricsAvailable', message: again } : undefined,
    );
  } else if (d) {
    const reason = d.kind === 'no-data' ? 'NoData' : 'QueryFailed';
    const msg =
      `${d.kind === 'no-data' ? 'no data' : 'query failed'}: ${d.reason} (${o.metricFailures} in a row)` +
      (several !== undefined ? `; ${several}` : '');
    status.demand = d.kind === 'no-data' ? 'no data' : 'error';
    set('MetricsAvailable', false, reason, msg, { type: 'Warning', reason: 'MetricsUnavailable', message: msg });
  }
  const pb = o.podBurst;
  if (pb?.kind === 'ok')
    set('PodMetricsAvailable', true, 'PodsRead', `the burst is read from ${count(pb.series, 'ready pod')}`);
  else if (pb) {
    const failed = pb.kind === 'error';
    const msg = failed ? `the burst cannot be read from the pods: ${pb.reason}` : pb.reason;
    // A first reading or no ready pod is no failure; a pod that does not answer is (NetworkPolicy? port?).
    set(
      'PodMetricsAvailable',
      false,
      failed ? 'PodReadFailed' : 'NoPodData',
      msg,
      failed ? { type: 'Warning', reason: 'PodReadFailed', message: msg } : undefined,
    );
  } else conds.delete('PodMetricsAvailable');

  const dec = o.decision;
  if (dec) {
    status.desiredReplicas = dec.desired;
    status.recommendedReplicas = dec.recommended;
    status.binding = dec.binding;
    status.lastDecision = storedDecision(dec, nowIso, d?.kind === 'ok' ? d.value : null);
    if (o.decideState !== undefined) status.decideState = o.decideState;
    const m = o.model;
    if (m) {
      const r = (x: number | null): number | null => (x === null ? null : round(x));
      status.model = {
        percentile: m.percentile,
        scale: round(m.scale),
        error: round(m.error),
        calibrating: m.calibrating,
        measuredLatencyMs: r(m.measuredMs),
        predictedLatencyMs: r(m.predictedMs),
        calibratedLatencyMs: r(m.calibratedMs),
        samples: m.samples,
        ...(m.sensitivity !== undefined ? { sensitivity: round(m.sensitivity) } : {}),
        state: m.state,
      };
    }
    const why = dec.reasons.map((r) => r.message).join('; ');
    set(
      'ScalingActive',
      dec.valid,
      dec.valid ? 'ValidMetric' : (dec.reasons[0]?.code ?? 'NoMetrics'),
      dec.valid ? `sized by ${dec.binding}: ${dec.recommended} recommended` : why || 'metrics missing: holding',
    );
    const limited = dec.desired !== dec.recommended || dec.binding === 'minReplicas' || dec.binding === 'maxReplicas';
    const limitReason = limitCode(dec);
    set(
      'ScalingLimited',
      limited,
      limited ? limitReason : 'DesiredWithinRange',
      limited ? why || limitReason : 'the recommendation is applied as is',
    );
    const fallback = dec.mode === 'fallback';
    set(
      'FallbackActive',
      fallback,
      fallback ? 'Fallback' : 'MetricsHealthy',
      fallback
        ? `metrics failed ${o.metricFailures} times in a row: fallback to ${dec.desired} replicas`
        : 'not in fallback',
      fallback
        ? {
            type: 'Warning',
            reason: 'FallbackActive',
            message: `metrics failed ${o.metricFailures} times in a row: fallback to ${dec.desired} replicas`,
          }
        : prev?.conditions?.some((c) => c.type === 'FallbackActive' && c.status === 'True')
          ? { type: 'Normal', reason: 'FallbackEnded', message: 'metrics are back: sizing from demand again' }
          : undefined,
    );
    // Once per count it would move to, not every round: a shadow policy compared with an HPA for
    // days made an Event every interval (240 an hour) while the target stayed where the HPA put it.
    if (o.shadow && dec.desired !== current && dec.desired !== prev?.desiredReplicas) {
      events.push({
        type: 'Normal',
        reason: 'WouldScale',
        message: `shadow mode: would scale ${current} → ${dec.desired}: ${why}`,
      });
    }
  }
  const wasPaused = conds.get('AbleToScale')?.reason === 'Paused';
  if (o.hold) {
    set(
      'AbleToScale',
      false,
      o.hold.reason,
      o.hold.message,
      o.hold.reason !== 'BackingOff' ? { type: 'Normal', reason: o.hold.reason, message: o.hold.message } : undefined,
    );
  } else if (o.scale?.kind === 'scaled') {
    status.lastScaleTime = nowIso;
    const why = dec?.reasons.map((r) => r.message).join('; ') ?? '';
    events.push({
      type: 'Normal',
      reason: 'Scaled',
      message: `scaled ${o.scale.from} → ${o.scale.to} (${dec?.binding ?? ''}${why ? `: ${why}` : ''})`,
    });
    set('AbleToScale', true, 'SucceededRescale', `scaled ${o.scale.from} → ${o.scale.to}`);
  } else if (o.scaleError !== undefined) {
    set('AbleToScale', false, 'FailedUpdateScale', o.scaleError, {
      type: 'Warning',
      reason: 'FailedRescale',
      message: o.scaleError,
    });
  } else if (!(conds.get('AbleToScale')?.reason === 'SucceededRescale' && !o.shadow)) {
    // The last successful scale stays the reason until something else happens: flipping it to
    // ReadyForNewScale on the next quiet round would cost one status write per scale.
    set(
      'AbleToScale',
      true,
      'ReadyForNewScale',
      o.shadow ? 'shadow mode: the scale is never written' : 'the scale can be read and written',
    );
  }
  if (wasPaused && !o.hold) {
    events.push({ type: 'Normal', reason: 'Resumed', message: `${PAUSE_ANNOTATION} lifted: scaling again` });
  }
  set(
    'Ready',
    true,
    o.shadow ? 'Shadow' : 'Active',
    o.shadow ? 'shadow mode: deciding and reporting, never writing the scale' : 'deciding and scaling',
  );
  return { status: finish(status, conds), events };
}

type StoredDecision = NonNullable<PolicyStatus['lastDecision']>;

/**
 * A decision view as status.lastDecision stores it (the CRD's schema, src/controller/crd.ts), with
 * 3 significant digits so that a status write is not due every round: 41.666 rps → 41.7.
 */
export function storedDecision(v: DecisionView, nowIso: string, demandRps: number | null): StoredDecision {
  return {
    time: nowIso,
    desired: v.desired,
    recommended: v.recommended,
    valid: v.valid,
    binding: v.binding,
    mode: v.mode,
    demandRps: demandRps === null ? null : round(demandRps),
    predictedUtilization: v.predicted.utilization === null ? null : round(v.predicted.utilization),
    predictedLatencyMs: v.predicted.latencyMs === null ? null : round(v.predicted.latencyMs),
    reasons: v.reasons.map((r) => ({ code: r.code, message: r.message })),
    ...(v.warnings.length > 0 ? { warnings: v.warnings } : {}),
  };
}

/**
 * The stored decision read back as a view (a standby shows what the leader stored). The leader
 * adds what it saw this round: the demand it sized for and whether it wrote the scale.
 */
export function viewOfStored(d: StoredDecision, seen?: { sizedForRps?: number; applied: boolean }): DecisionView {
  const sizedForRps = seen?.sizedForRps ?? d.demandRps;
  const fields = {
    ...d,
    predicted: { utilization: d.predictedUtilization, latencyMs: d.predictedLatencyMs },
    ...(sizedForRps !== null ? { sizedForRps } : {}),
  };
  return decisionView(fields, d.time, seen?.applied ?? false);
}

const ORDER = ['Ready', 'AbleToScale', 'ScalingActive', 'ScalingLimited', 'MetricsAvailable', 'FallbackActive'];

function finish(status: PolicyStatus, conds: Map<string, PolicyCondition>): PolicyStatus {
  status.conditions = [...conds.values()].sort((a, b) => rank(a.type) - rank(b.type));
  return status;
}

function rank(t: string): number {
  const i = ORDER.indexOf(t);
  return i < 0 ? ORDER.length : i;
}

function limitCode(d: DecisionView): string {
  if (d.binding === 'maxReplicas') return 'TooManyReplicas';
  if (d.binding === 'minReplicas') return 'TooFewReplicas';
  const first = d.reasons.find((r) => /Limit|Stabiliz|Tolerance|Hold|NoMetrics|Fallback/.test(r.code));
  return first?.code ?? 'Limited';
}

/** 3 significant digits: enough for status, and it keeps status writes from changing every round. */
export function round(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  return Number(x.toPrecision(3));
}

/** 2 significant digits: what of the model's scale and error asks for a status write. */
const round2 = (x: number): number => (Number.isFinite(x) && x !== 0 ? Number(x.toPrecision(2)) : x);

/**
 * Status equal apart from lastDecision.time, the decider's state and the model's per-round
 * measurements (only its scale, error and mode count): no write needed. The state
 * gains a timestamped entry every round; persisting it every round would cost one write per policy
 * per interval. It is written with every real change and refreshed by `needsWrite` at least every
 * `refreshMs`, so a restart loses at most that much of an unchanged recommendation history.
 */
export function sameStatus(a: PolicyStatus | undefined, b: PolicyStatus): boolean {
  if (!a) return false;
  const strip = (s: PolicyStatus): string =>
    JSON.stringify({
      ...s,
      decideState: undefined,
      lastDecision: s.lastDecision ? { ...s.lastDecision, time: '' } : undefined,
      // 3 digits shown (a scale of 1.028 is sized with: 1.03, not 1.0), 2 compared: a third digit
      // that wanders with each window's noise is refreshed with the state, not written every round.
      model: s.model
        ? { scale: round2(s.model.scale), error: round2(s.model.error), calibrating: s.model.calibrating }
        : undefined,
    });
  return strip(a) === strip(b);
}

/** Write when status changed, or when the persisted decide state is older than refreshMs. */
export function needsWrite(
  persisted: PolicyStatus | undefined,
  next: PolicyStatus,
  persistedAtMs: number,
  nowMs: number,
  refreshMs: number,
): boolean {
  if (!sameStatus(persisted, next)) return true;
  return next.decideState !== undefined && !(nowMs - persistedAtMs < refreshMs);
}

/** When a status was last written, from its own decision time (NaN-safe: unknown = long ago). */
export function persistedAt(s: PolicyStatus | undefined): number {
  const t = Date.parse(s?.lastDecision?.time ?? '');
  return Number.isFinite(t) ? t : 0;
}
