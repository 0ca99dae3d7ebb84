// The values alert rules read that need history: restart counters (their increase over a window)
// and SLO-bad fractions (burn rates over several windows), kept bounded by the longest window the
// rules ask for. engine.ts owns the alert state machine and asks this for each rule's value.
import type { AlertRule, InstanceSnapshot, ServiceSnapshot } from './types.ts';

/** A counter's samples, stored only when the value changes; the first may predate the window (baseline). */
interface CounterSeries {
  samples: Array<[t: number, v: number]>;
  lastSeen: number;
}

/**
 * SLO-bad fractions in time buckets with running (prefix) sums, so a burn rate over any window is a
 * binary search and a subtraction: O(log n) per tick whatever the window (6 h at 1 s ticks included).
 */
interface BurnSeries {
  /** Latest sample time in each bucket. */
  t: number[];
  /** Cumulative demand-weighted bad fraction and weight, bucket 0..i inclusive (+ base). */
  bad: number[];
  total: number[];
  baseBad: number;
  baseTotal: number;
  bucketStart: number;
  lastSeen: number;
}

/** The history the rules need, and each rule's value from a snapshot. */
export class AlertSeries {
  /** service\0instance → restart counter samples, for the increase over a window. */
  private readonly restarts = new Map<string, CounterSeries>();
  /** service → bucketed SLO-bad fractions, for burn rates. */
  private readonly sloBad = new Map<string, BurnSeries>();
  private readonly restartHorizon: number;
  private readonly burnHorizon: number;
  /** Bucket width: a 30th of the shortest burn window (5 m → 10 s), so a window edge is off ≤ 3 %. */
  private readonly burnBucket: number;
  constructor(rules: readonly AlertRule[]) {
    let restart = 0;
    let burn = 0;
    let shortest = Infinity;
    for (const r of rules) {
      if (r.metric === 'instance.restarts') restart = Math.max(restart, r.windowSeconds ?? 600);
      if (r.metric === 'service.burnRate') {
        for (const w of burnWindows(r)) {
          burn = Math.max(burn, w);
          shortest = Math.min(shortest, w);
        }
      }
    }
    this.restartHorizon = restart;
    this.burnHorizon = burn;
    this.burnBucket = Number.isFinite(shortest) ? shortest / 30 : 1;
  }

  record(snapshots: readonly ServiceSnapshot[], now: number): void {
    if (this.restartHorizon > 0) {
      const from = now - this.restartHorizon - 1;
      for (const snap of snapshots) {
        for (const i of snap.instances ?? []) {
          if (i.restarts === undefined) continue;
          const key = `${snap.service}\0${i.id}`;
          let c = this.restarts.get(key);
          if (!c) this.restarts.set(key, (c = { samples: [], lastSeen: now }));
          c.lastSeen = now;
          if (c.samples.at(-1)?.[1] !== i.restarts) c.samples.push([now, i.restarts]);
          // Keep one sample from before the window: the value the increase is counted from.
          while (c.samples.length > 1 && (c.samples[1]?.[0] ?? now) < from) c.samples.shift();
        }
      }
      // Forget instances that no longer report, so memory stays bounded.
      for (const [k, c] of this.restarts) if (c.lastSeen < from) this.restarts.delete(k);
    }
    if (this.burnHorizon > 0) {
      const from = now - this.burnHorizon - this.burnBucket;
      for (const snap of snapshots) {
        if (snap.sloBadFraction === undefined) continue;
        let b = this.sloBad.get(snap.service);
        if (!b) {
          b = { t: [], bad: [], total: [], baseBad: 0, baseTotal: 0, bucketStart: -Infinity, lastSeen: now };
          this.sloBad.set(snap.service, b);
        }
        b.lastSeen = now;
        const w = snap.demandRps ?? 1;
        const n = b.t.length;
        if (n > 0 && now - b.bucketStart < this.burnBucket) {
          b.t[n - 1] = now;
          b.bad[n - 1] = (b.bad[n - 1] ?? 0) + snap.sloBadFraction * w;
          b.total[n - 1] = (b.total[n - 1] ?? 0) + w;
        } else {
          b.t.push(now);
          b.bad.push((n ? (b.bad[n - 1] ?? 0) : b.baseBad) + snap.sloBadFraction * w);
          b.total.push((n ? (b.total[n - 1] ?? 0) : b.baseTotal) + w);
          b.bucketStart = now;
        }
        // Drop buckets older than the longest window, in batches (splice is O(n)).
        let d = 0;
        while (d < b.t.length - 1 && (b.t[d] ?? now) < from) d++;
        if (d >= 64 || (d > 0 && d * 4 >= b.t.length)) {
          b.baseBad = b.bad[d - 1] ?? 0;
          b.baseTotal = b.total[d - 1] ?? 0;
          b.t.splice(0, d);
          b.bad.splice(0, d);
          b.total.splice(0, d);
        }
      }
      for (const [k, b] of this.sloBad) if (b.lastSeen < from) this.sloBad.delete(k);
    }
  }

  /** key: service\0instance. */
  instanceValue(rule: AlertRule, key: string, i: InstanceSnapshot, now: number): number | undefined {
    switch (rule.metric) {
      case 'instance.cpuUtilization':
        return i.cpuUtilization;
      case 'instance.memoryUtilization':
        return i.memoryUtilization;
      case 'instance.restarts': {
        if (i.restarts === undefined) return undefined;
        const c = this.restarts.get(key);
        return c ? counterIncrease(c.samples, now - (rule.windowSeconds ?? 600)) : 0;
      }
      default:
        return undefined;
    }
  }

  serviceValue(rule: AlertRule, s: ServiceSnapshot, now: number): number | undefined {
    switch (rule.metric) {
      case 'service.cpuUtilization':
        return mean((s.instances ?? []).map((i) => i.cpuUtilization));
      case 'service.memoryUtilization':
        return mean((s.instances ?? []).map((i) => i.memoryUtilization));
      case 'service.latencyMs':
        return s.latencyMs;
      case 'service.latencyRatio':
        return s.latencyMs === undefined || !s.slo ? undefined : s.latencyMs / s.slo.latencyMs;
      case 'service.burnRate':
        return this.burnRateValue(rule, s, now);
      case 'service.errorRate':
        return s.errorRate;
      case 'service.desired':
        return s.desired;
      case 'service.current':
        return s.current;
      case 'service.ready':
        return s.ready;
      case 'service.unready':
        return s.current === undefined || s.ready === undefined ? undefined : s.current - s.ready;
      case 'service.needed':
        return s.needed;
      case 'service.fits':
        return s.fits === undefined ? undefined : s.fits ? 1 : 0;
      case 'service.demandRps':
        return s.demandRps;
      case 'service.demandTrend':
        return s.demandTrendRpsPerSec;
      case 'service.modelError':
        return s.modelErrorFactor;
      case 'service.atMaxWhileGrowing': {
        const atMax =
          s.max !== undefined &&
          ((s.desired !== undefined && s.desired >= s.max) || (s.needed !== undefined && s.needed > s.max));
        if (
          s.max === undefined ||
          (s.desired === undefined && s.needed === undefined) ||
          s.demandTrendRpsPerSec === undefined
        )
          return undefined;
        return atMax && s.demandTrendRpsPerSec > 0 ? 1 : 0;
      }
      default:
        return undefined;
    }
  }

  /**
   * Burn rate over each window = weighted mean bad fraction / error budget. p99 → budget 0.01, so
   * 14.4 % bad requests over both 5 m and 1 h is a 14.4× burn: 2 % of a 30-day budget per hour.
   * The alert's value is the weakest window (the min for `>`): every window must pass.
   */
  private burnRateValue(rule: AlertRule, s: ServiceSnapshot, now: number): number | undefined {
    if (!s.slo || s.sloBadFraction === undefined) return undefined;
    const budget = 1 - s.slo.percentile / 100;
    if (budget <= 0) return undefined;
    const b = this.sloBad.get(s.service);
    const burns = burnWindows(rule).map((w) => {
      if (!b || b.t.length === 0) return 0;
      // First bucket whose latest sample is inside (now − w, now].
      let lo = 0;
      let hi = b.t.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((b.t[mid] ?? 0) > now - w) hi = mid;
        else lo = mid + 1;
      }
      if (lo >= b.t.length) return 0;
      const last = b.t.length - 1;
      const bad = (b.bad[last] ?? 0) - (lo === 0 ? b.baseBad : (b.bad[lo - 1] ?? 0));
      const total = (b.total[last] ?? 0) - (lo === 0 ? b.baseTotal : (b.total[lo - 1] ?? 0));
      return total > 0 ? Math.max(0, bad) / total / budget : 0;
    });
    // Report the weakest window, so "every window passes" is exactly compare(value, threshold).
    return rule.op === '<' || rule.op === '<=' ? Math.max(...burns) : Math.min(...burns);
  }
}

function burnWindows(rule: AlertRule): number[] {
  return rule.windowsSeconds ?? [rule.windowSeconds ?? 300];
}

function counterIncrease(list: ReadonlyArray<readonly [number, number]>, from: number): number {
  let inc = 0;
  let prev: number | undefined;
  for (const [t, v] of list) {
    if (t < from) {
      prev = v;
      continue;
    }
    if (prev !== undefined) inc += v >= prev ? v - prev : v; // a drop is a counter reset
    prev = v;
  }
  return inc;
}

function mean(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : undefined;
}
