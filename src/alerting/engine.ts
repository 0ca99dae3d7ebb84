// Rule evaluation. Deterministic: the caller passes the snapshots and `now` (seconds); the engine
// never reads a clock or does I/O, so `headroom run`, the controller and tests run the same code.
//
// Each alert (rule + labels) moves inactive → pending → firing → resolved, like Prometheus:
//   - true for the first time                     → pending (activeAt = now); `for: 0` fires at once
//   - pending and true for `for` seconds           → firing
//   - pending and false                            → inactive (dropped, never notified)
//   - firing and false                             → resolved, unless `keepFiringFor` holds it
//   - no data (field missing, service absent)      → unchanged: neither fires nor resolves
//   - instance gone from its service's list        → resolved (the pod/process no longer exists)
// Hysteresis: an active alert is compared with `clearThreshold` (e.g. fire > 0.90, clear ≤ 0.85).
// The values of rules over a window (restart increases, burn rates) come from series.ts.
import { AlertSeries } from './series.ts';
import { renderTemplate } from './template.ts';
import type {
  Alert,
  AlertRule,
  AlertState,
  Comparison,
  Evaluation,
  MetricName,
  ServiceSnapshot,
  Transition,
} from './types.ts';

/** Metrics whose rules produce one alert per instance. */
export function isInstanceMetric(m: MetricName): boolean {
  return m.startsWith('instance.');
}

export function compare(op: Comparison, a: number, b: number): boolean {
  switch (op) {
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '==':
      return a === b;
    case '!=':
      return a !== b;
  }
}

/** Hysteresis: staying active needs the value on the alerting side of clearThreshold. */
function stillTrue(rule: AlertRule, v: number): boolean {
  if (rule.clearThreshold === undefined) return compare(rule.op, v, rule.threshold);
  // ">" with clear 0.85: stays active while v > 0.85. "<" with clear 0.2: while v < 0.2.
  const op: Comparison = rule.op === '>=' ? '>' : rule.op === '<=' ? '<' : rule.op;
  return compare(op, v, rule.clearThreshold);
}

interface Active {
  alert: Alert;
  /** The evaluation that last produced this alert (absent from one = gone or no data). */
  seen: number;
}

export class AlertEngine {
  readonly rules: readonly AlertRule[];
  /**
   * service\0instance (service\0 for service rules) → alerts by rule index. A cheap key built once
   * per instance per evaluation; the fingerprint is built once per alert.
   */
  private readonly active = new Map<string, Array<Active | undefined>>();
  private epoch = 0;
  /** Restart counters and burn-rate buckets: what rules over a window read. */
  private readonly series: AlertSeries;

  constructor(rules: readonly AlertRule[]) {
    this.rules = rules;
    this.series = new AlertSeries(rules);
  }

  /** Pending and firing alerts right now (for the status API). */
  current(): Alert[] {
    return this.activeAlerts().map((a) => ({
      ...a,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
    }));
  }

  evaluate(snapshots: readonly ServiceSnapshot[], now: number): Evaluation {
    this.series.record(snapshots, now);
    const epoch = ++this.epoch;
    const bySvc = new Map(snapshots.map((s) => [s.service, s]));
    const out = { transitions: [] as Transition[], resolved: [] as Alert[] };
    const rules = this.rules.map((rule, ri) => ({ rule, ri, instance: isInstanceMetric(rule.metric) }));
    const serviceRules = rules.filter((r) => !r.instance);
    const instanceRules = rules.filter((r) => r.instance);

    for (const snap of snapshots) {
      const applies = (rule: AlertRule): boolean => !rule.services || rule.services.includes(snap.service);
      const svcKey = `${snap.service}\0`;
      for (const { rule, ri } of serviceRules) {
        if (!applies(rule)) continue;
        this.step(
          svcKey,
          ri,
          rule,
          snap.service,
          undefined,
          this.series.serviceValue(rule, snap, now),
          now,
          epoch,
          out,
        );
      }
      if (!instanceRules.some(({ rule }) => applies(rule))) continue;
      for (const i of snap.instances ?? []) {
        const key = svcKey + i.id;
        for (const { rule, ri } of instanceRules) {
          if (!applies(rule)) continue;
          this.step(key, ri, rule, snap.service, i.id, this.series.instanceValue(rule, key, i, now), now, epoch, out);
        }
      }
    }

    // Alerts not produced this time: an instance gone from a listed service resolves (or, when only
    // pending, goes inactive); a service absent from the snapshots is "no data" and holds.
    for (const [key, list] of this.active) {
      list.forEach((entry, ri) => {
        if (!entry || entry.seen === epoch) return;
        const a = entry.alert;
        const snap = bySvc.get(a.labels.service ?? '');
        const gone = snap !== undefined && (a.labels.instance === undefined || snap.instances !== undefined);
        if (!gone) return;
        if (a.state === 'pending') {
          this.drop(key, ri);
          out.transitions.push(tr(a, 'pending', 'inactive', now));
        } else {
          out.resolved.push(this.resolve(key, ri, a, now, out.transitions));
        }
      });
    }

    const alerts = [...this.activeAlerts(), ...out.resolved].map((a) => ({
      ...a,
      labels: { ...a.labels },
      annotations: { ...a.annotations },
    }));
    return { alerts, transitions: out.transitions };
  }

  private activeAlerts(): Alert[] {
    const out: Alert[] = [];
    for (const list of this.active.values()) for (const e of list) if (e) out.push(e.alert);
    return out;
  }

  private drop(key: string, ri: number): void {
    const list = this.active.get(key);
    if (!list) return;
    list[ri] = undefined;
    if (list.every((e) => e === undefined)) this.active.delete(key);
  }

  /** One alert's state machine for one evaluation. */
  private step(
    key: string,
    ri: number,
    rule: AlertRule,
    service: string,
    instance: string | undefined,
    value: number | undefined,
    now: number,
    epoch: number,
    out: { transitions: Transition[]; resolved: Alert[] },
  ): void {
    const entry = this.active.get(key)?.[ri];
    if (entry) entry.seen = epoch;
    if (value === undefined) return; // no data: keep whatever state it has
    const prev = entry?.alert;
    if (!prev) {
      if (!compare(rule.op, value, rule.threshold)) return;
      const labels = orderedLabels({
        alertname: rule.name,
        severity: rule.severity,
        service,
        ...(instance === undefined ? {} : { instance }),
        ...rule.labels,
      });
      const a: Alert = {
        fingerprint: fingerprint(labels),
        rule: rule.name,
        state: 'pending',
        labels,
        annotations: renderAnnotations(rule, labels, value),
        value,
        activeAt: now,
        lastTrueAt: now,
      };
      let list = this.active.get(key);
      if (!list) this.active.set(key, (list = []));
      list[ri] = { alert: a, seen: epoch };
      out.transitions.push(tr(a, 'inactive', 'pending', now));
      if (rule.forSeconds <= 0) this.fire(a, now, out.transitions);
      return;
    }
    if (prev.value !== value) {
      prev.value = value;
      prev.annotations = renderAnnotations(rule, prev.labels, value);
    }
    if (stillTrue(rule, value)) {
      prev.lastTrueAt = now;
      if (prev.state === 'pending' && now - prev.activeAt >= rule.forSeconds) this.fire(prev, now, out.transitions);
    } else if (prev.state === 'pending') {
      this.drop(key, ri);
      out.transitions.push(tr(prev, 'pending', 'inactive', now));
    } else if (now - prev.lastTrueAt >= rule.keepFiringForSeconds) {
      out.resolved.push(this.resolve(key, ri, prev, now, out.transitions));
    }
  }

  private fire(a: Alert, now: number, out: Transition[]): void {
    a.state = 'firing';
    a.firedAt = now;
    out.push(tr(a, 'pending', 'firing', now));
  }

  private resolve(key: string, ri: number, a: Alert, now: number, out: Transition[]): Alert {
    this.drop(key, ri);
    a.state = 'resolved';
    a.resolvedAt = now;
    out.push(tr(a, 'firing', 'resolved', now));
    return a;
  }
}

function tr(a: Alert, from: Transition['from'], to: Transition['to'], at: number): Transition {
  return {
    fingerprint: a.fingerprint,
    from,
    to,
    at,
    alert: { ...a, labels: { ...a.labels }, annotations: { ...a.annotations } },
  };
}

function renderAnnotations(rule: AlertRule, labels: Record<string, string>, value: number): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, t] of Object.entries(rule.annotations))
    out[k] = renderTemplate(t, {
      labels,
      value,
      threshold: rule.threshold,
      forSeconds: rule.forSeconds,
      ...(rule.windowSeconds !== undefined ? { windowSeconds: rule.windowSeconds } : {}),
    });
  return out;
}

function orderedLabels(l: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(l).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Stable id: the sorted labels (alertname included), as Alertmanager fingerprints alerts. */
export function fingerprint(labels: Record<string, string>): string {
  return Object.entries(labels)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(',');
}

export type { AlertState };
