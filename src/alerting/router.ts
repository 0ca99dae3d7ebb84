// Routing, grouping, de-duplication and repeats, with Alertmanager's semantics and no clock of its
// own (the caller passes `now`, seconds):
//   - an alert goes down the route tree: the deepest matching routes win; `continue` also tries siblings
//   - alerts with equal groupBy label values share a group; a new group waits groupWait (collects a
//     burst into one message), then is flushed at most every groupInterval
//   - a flush whose firing/resolved set equals the last one sent is skipped until repeatInterval
//   - resolved alerts go out once (when the receiver has sendResolved), then leave the group
// Stream receivers (Alertmanager) get each alert on its own, at once, re-sent every resendInterval.
import type { Matcher, Route } from './config.ts';
import type { Alert } from './types.ts';
import type { NotifiedAlert, Notification } from '../ports/notifier.ts';

export interface ReceiverTraits {
  sendResolved: boolean;
  /** Set for stream receivers. */
  resendIntervalSeconds?: number;
}

interface Group {
  key: string;
  receiver: string;
  groupLabels: Record<string, string>;
  alerts: Map<string, Alert>;
  nextFlush: number;
  interval: number;
  repeat: number;
  lastSentKey?: string;
  lastSentAt?: number;
  /** Fingerprints this receiver was told are firing: only those get a "resolved" (Alertmanager's dedup). */
  notified: Set<string>;
}

/** Compiled matcher regexes (every alert is matched every tick; config validation compiled them once). */
const regexes = new Map<string, RegExp>();
function anchored(re: string): RegExp {
  let r = regexes.get(re);
  if (!r) {
    if (regexes.size > 1000) regexes.clear();
    regexes.set(re, (r = new RegExp(`^(?:${re})$`)));
  }
  return r;
}

export function matches(m: Matcher, labels: Record<string, string>): boolean {
  const v = labels[m.name] ?? '';
  switch (m.op) {
    case '=':
      return v === m.value;
    case '!=':
      return v !== m.value;
    case '=~':
      return anchored(m.value).test(v);
    case '!~':
      return !anchored(m.value).test(v);
  }
}

/** Alertmanager's Route.Match: the deepest matching routes, first match only unless `continue`. */
export function matchRoutes(
  route: Route,
  labels: Record<string, string>,
  id = '0',
): Array<{ route: Route; id: string }> {
  if (!route.matchers.every((m) => matches(m, labels))) return [];
  const out: Array<{ route: Route; id: string }> = [];
  for (const [i, child] of route.routes.entries()) {
    const found = matchRoutes(child, labels, `${id}.${i}`);
    out.push(...found);
    if (found.length && !child.continue) break;
  }
  return out.length ? out : [{ route, id }];
}

export class Router {
  private readonly groups = new Map<string, Group>();
  private readonly route: Route;
  private readonly traits: ReadonlyMap<string, ReceiverTraits>;

  constructor(route: Route, traits: ReadonlyMap<string, ReceiverTraits>) {
    this.route = route;
    this.traits = traits;
  }

  /** Takes an evaluation's alerts (pending ones are ignored: they have not fired). */
  ingest(alerts: readonly Alert[], now: number): void {
    for (const a of alerts) {
      if (a.state === 'pending') continue;
      for (const { route, id } of matchRoutes(this.route, a.labels)) {
        const t = this.traits.get(route.receiver);
        const stream = t?.resendIntervalSeconds !== undefined;
        const groupBy = stream || route.groupBy.includes('...') ? Object.keys(a.labels) : route.groupBy;
        const groupLabels = Object.fromEntries(
          groupBy.filter((k) => a.labels[k] !== undefined).map((k) => [k, a.labels[k] ?? '']),
        );
        const key = `${id}:${route.receiver}:${JSON.stringify(groupLabels)}`;
        let g = this.groups.get(key);
        if (!g) {
          if (a.state === 'resolved') continue; // never notified as firing here: nothing to resolve
          const interval = stream ? (t?.resendIntervalSeconds ?? 60) : route.groupIntervalSeconds;
          g = {
            key,
            receiver: route.receiver,
            groupLabels,
            alerts: new Map(),
            nextFlush: now + (stream ? 0 : route.groupWaitSeconds),
            interval,
            repeat: stream ? interval : route.repeatIntervalSeconds,
            notified: new Set(),
          };
          this.groups.set(key, g);
        }
        const prev = g.alerts.get(a.fingerprint);
        // A resolved alert for one this group never held is ignored; a new state is due at the
        // group's next flush. Stream receivers hear about state changes at once.
        if (!prev && a.state === 'resolved') continue;
        g.alerts.set(a.fingerprint, a);
        if (stream && prev?.state !== a.state) g.nextFlush = Math.min(g.nextFlush, now);
      }
    }
  }

  /** Earliest time a group may flush (for the caller's timer), undefined with no groups. */
  nextFlushAt(): number | undefined {
    let t: number | undefined;
    for (const g of this.groups.values()) t = t === undefined ? g.nextFlush : Math.min(t, g.nextFlush);
    return t;
  }

  /** Notifications due at `now`; advances group timers and forgets resolved alerts once sent. */
  flush(now: number): Notification[] {
    const out: Notification[] = [];
    for (const g of [...this.groups.values()]) {
      if (now < g.nextFlush) continue;
      g.nextFlush = now + g.interval;
      const sendResolved = this.traits.get(g.receiver)?.sendResolved ?? true;
      const all = [...g.alerts.values()];
      // A resolved alert goes out only to a receiver that heard it fire: one that fired and resolved
      // within group_wait is never notified at all, as Alertmanager does.
      const toSend = all.filter((a) => a.state === 'firing' || (sendResolved && g.notified.has(a.fingerprint)));
      for (const a of all) if (a.state === 'resolved') g.alerts.delete(a.fingerprint);
      for (const fp of g.notified) if (!g.alerts.has(fp)) g.notified.delete(fp);
      if (g.alerts.size === 0) this.groups.delete(g.key);
      const key = toSend
        .map((a) => `${a.fingerprint}|${a.state}`)
        .sort()
        .join('\n');
      const firing = toSend.some((a) => a.state === 'firing');
      if (!toSend.length || (!firing && !sendResolved)) {
        g.lastSentKey = key;
        continue;
      }
      if (key === g.lastSentKey && g.lastSentAt !== undefined && now - g.lastSentAt < g.repeat) continue;
      g.lastSentKey = key;
      g.lastSentAt = now;
      for (const a of toSend) {
        if (a.state === 'firing') g.notified.add(a.fingerprint);
        else g.notified.delete(a.fingerprint);
      }
      out.push(toNotification(g, toSend, now));
    }
    return out;
  }

  /** Groups and their alerts (for the status API). */
  snapshot(): Array<{ key: string; receiver: string; groupLabels: Record<string, string>; alerts: number }> {
    return [...this.groups.values()].map((g) => ({
      key: g.key,
      receiver: g.receiver,
      groupLabels: g.groupLabels,
      alerts: g.alerts.size,
    }));
  }
}

function toNotification(g: Group, alerts: Alert[], now: number): Notification {
  const list: NotifiedAlert[] = alerts.map((a) => ({
    fingerprint: a.fingerprint,
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    labels: { ...a.labels },
    annotations: { ...a.annotations },
    startsAt: a.firedAt ?? a.activeAt,
    ...(a.resolvedAt === undefined ? {} : { endsAt: a.resolvedAt }),
    value: a.value,
  }));
  return {
    receiver: g.receiver,
    groupKey: g.key,
    status: list.some((a) => a.status === 'firing') ? 'firing' : 'resolved',
    groupLabels: { ...g.groupLabels },
    commonLabels: common(list.map((a) => a.labels)),
    commonAnnotations: common(list.map((a) => a.annotations)),
    alerts: list,
    time: now,
  };
}

function common(maps: Array<Record<string, string>>): Record<string, string> {
  const [first, ...rest] = maps;
  if (!first) return {};
  return Object.fromEntries(Object.entries(first).filter(([k, v]) => rest.every((m) => m[k] === v)));
}
