// What the dashboard and the alert engine see beyond the persisted status: the leader's last
// observations per policy, its recent decisions, Events and a history for the charts. Cleared when
// leadership is lost (a standby shows the persisted status only).
import type { ServiceModel } from '../core/model.ts';
import { keepDecision, type DecisionView, type HistoryPoint, type StatusEvent } from '../server/status.ts';
import type { HeadroomPolicy, PolicyStatus } from './policy.ts';
import type { Observed, PolicyView } from './snapshot.ts';
import { viewOfStored, type PolicyEvent } from './status.ts';

interface Shown {
  observed?: Observed;
  history: HistoryPoint[];
  events: StatusEvent[];
  decisions: DecisionView[];
}

const EVENTS_KEPT = 50;

export class PolicyViews {
  readonly #shown = new Map<string, Shown>();
  readonly #historyPoints: number;

  /** `historyPoints`: decisions kept per policy for the charts (300 at a 15-s interval = 75 min). */
  constructor(historyPoints = 300) {
    this.#historyPoints = historyPoints;
  }

  /** Remember one round of a policy: its observation, its decision if new, its Events. */
  show(uid: string, nowMs: number, status: PolicyStatus, observed: Observed | undefined, events: PolicyEvent[]): void {
    const s = this.#shown.get(uid) ?? { history: [], events: [], decisions: [] };
    if (observed && status.lastDecision) keepDecision(s.decisions, viewOfStored(status.lastDecision, observed));
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
      if (s.history.length > this.#historyPoints) s.history.splice(0, s.history.length - this.#historyPoints);
    }
    this.#shown.set(uid, s);
  }

  delete(uid: string): void {
    this.#shown.delete(uid);
  }

  clear(): void {
    this.#shown.clear();
  }

  /** A policy with its newest status (in memory on the leader, else the persisted one) and model. */
  view(policy: HeadroomPolicy, status: PolicyStatus | undefined, model: ServiceModel | undefined): PolicyView {
    const shown = this.#shown.get(policy.metadata.uid ?? '');
    return {
      policy,
      status: status ?? policy.status,
      model,
      observed: shown?.observed,
      history: shown?.history ?? [],
      events: shown?.events ?? [],
      decisions: shown?.decisions ?? [],
    };
  }
}
