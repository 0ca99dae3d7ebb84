// A new policy's first round reads the demand query's past (src/controller/history.ts) through a
// fake range source answering from a day of readings: 20 rps, and 100 rps for 10 minutes every 2
// hours. 40 ms per request, one at a time, utilization 0.5: 12.5 rps per instance, so the quiet
// level needs 2 and a spike 8. The real Prometheus read is test/e2e/controller-history.test.ts.
import { describe, expect, it } from 'vitest';
import { rateWindowOf, readDemandPast, spanText } from '../../src/controller/history.ts';
import { buildModel, type HeadroomPolicy, type PolicyStatus } from '../../src/controller/policy.ts';
import { reconcilePolicy, type PolicyMemory, type ReconcilePorts } from '../../src/controller/reconcile.ts';
import type { PolicyEvent } from '../../src/controller/status.ts';
import type { ScaleOutcome, ScaleReading } from '../../src/ports/actuator.ts';
import type { MetricSample, RangeAnswer } from '../../src/ports/metrics.ts';

const DEMAND = 'sum(rate(http_requests_total[1m]))';
const PERIOD = 7200;
// 90 s before a spike starts: the startup horizon (60 s + 60 s) reaches into it.
const NOW_S = Math.floor(Date.parse('2026-12-02T10:00:00Z') / 1000 / PERIOD) * PERIOD + PERIOD - 90;
const NOW = NOW_S * 1000;
const needed = (rps: number): number => Math.ceil(rps / (0.5 / 0.04));

/** The demand at t: 100 rps in the first 10 minutes of each 2-h period, else 20, ±5 % (deterministic). */
const demandAt = (t: number): number => (t % PERIOD < 600 ? 100 : 20) * (1 + 0.05 * Math.sin(t / 97));

function policy(forecast: Record<string, unknown> = {}): HeadroomPolicy {
  return {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1', generation: 1 },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: {
        instance: { serviceTimeMs: 40, concurrency: 1 },
        targetUtilization: 0.5,
        replicas: { min: 1, max: 20 },
        // Act at once: each count below is the sizing rule's, not a rate limit's.
        behavior: { forecast, scaleUp: { policies: [{ type: 'Pods', value: 100, periodSeconds: 1 }] } },
      },
      demand: { query: DEMAND },
    },
  };
}

/** A range source answering from `demandAt` over the last `days` days before NOW, or failing. */
function history(days: number, fail?: string) {
  const calls: Array<{ query: string; start: number; end: number; step: number }> = [];
  const source = {
    range: (query: string, r: { start: number; end: number; step: number }): Promise<RangeAnswer> => {
      calls.push({ query, ...r });
      if (fail) return Promise.resolve({ kind: 'error', reason: fail });
      const values: Array<[number, number]> = [];
      for (let t = r.start; t <= r.end; t += r.step) if (t >= NOW_S - days * 86400) values.push([t, demandAt(t)]);
      return Promise.resolve({ kind: 'ok', series: values.length ? [{ labels: {}, values }] : [] });
    },
  };
  return { source, calls };
}

async function round(pol: HeadroomPolicy, h: ReturnType<typeof history> | undefined, memory?: PolicyMemory) {
  const events: PolicyEvent[] = [];
  let replicas = 2;
  const ports: ReconcilePorts = {
    metrics: {
      sample: (q) =>
        Promise.resolve<MetricSample>(
          q === DEMAND ? { kind: 'ok', value: demandAt(NOW_S), at: NOW_S, series: 1 } : { kind: 'no-data', reason: '' },
        ),
    },
    ...(h ? { history: h.source } : {}),
    scale: {
      read: () => Promise.resolve<ScaleReading>({ specReplicas: replicas, statusReplicas: replicas, version: '1' }),
      scale: (_t, n) => {
        const from = replicas;
        replicas = n;
        return Promise.resolve<ScaleOutcome>({ kind: 'scaled', from, to: n, attempts: 1 });
      },
    },
    status: { writeStatus: (_r, _s: PolicyStatus) => Promise.resolve(true) },
    events: {
      recordEvent: (_r, e) => {
        events.push(e);
        return Promise.resolve();
      },
    },
  };
  const r = await reconcilePolicy(ports, { policy: pol, model: { model: buildModel(pol) }, memory, now: NOW });
  return { r, events, replicas };
}

describe('a new policy reads its demand history', () => {
  it("leaves out the first rate window of data that begins inside the range (rate() reads a counter's first samples low)", async () => {
    const model = buildModel(policy({ historySeconds: 3600 }));
    const at = { beforeMs: NOW, stepSeconds: 15 };
    // Data from 30 minutes ago, its first minute of readings at 0.6× (what a real Prometheus's
    // rate() gave over a counter's first 2–4 samples), then 100 rps; [2m] in the query: 2 minutes.
    const begins = NOW_S - 1800;
    const source = (from: number) => ({
      range: (_q: string, r: { start: number; end: number; step: number }): Promise<RangeAnswer> => {
        const values: Array<[number, number]> = [];
        for (let t = r.start; t <= r.end; t += r.step) if (t >= from) values.push([t, t < from + 60 ? 60 : 100]);
        return Promise.resolve({ kind: 'ok', series: [{ labels: {}, values }] });
      },
    });
    const query = 'sum(rate(http_requests_total[2m]))';
    const past = await readDemandPast(source(begins), query, model, at);
    const read = past.kind === 'read' ? past.readings : [];
    expect(read[0]?.[0]).toBe(begins + 120);
    expect(Math.min(...read.map(([, v]) => v))).toBe(100);
    // Data older than the range: nothing is left out (its first reading is a whole window's).
    const whole = await readDemandPast(source(0), query, model, at);
    expect(whole.kind === 'read' && whole.readings[0]?.[0]).toBe(NOW_S - 3600);
  });

  it('says how much it read to the minute, in days from 2 days', () => {
    expect([691_185, 172_800, 172_000, 5_400, 3_599.8, 240].map(spanText)).toEqual([
      '8 d',
      '2 d',
      '47 h 47 min',
      '1 h 30 min',
      '1 h',
      '4 min',
    ]);
  });

  it("reads the demand query's rate window, for scoring the bursts in what it read", () => {
    expect(rateWindowOf(DEMAND)).toBe(60);
    expect(rateWindowOf('sum(rate(http_requests_total{job="web"}[2m]))')).toBe(120);
    expect(rateWindowOf('sum(rate(a[1h30m])) + sum(deriv(b[1h30m]))')).toBe(5400);
    expect(rateWindowOf('sum(rate(a[30s]))')).toBe(30);
    // None, several that differ, or a subquery: the default template's minute.
    expect(rateWindowOf('sum(http_requests_per_second)')).toBe(60);
    expect(rateWindowOf('sum(rate(a[30s])) + sum(rate(b[5m]))')).toBe(60);
    expect(rateWindowOf('max_over_time(sum(rate(a[1m]))[5m:1m])')).toBe(60);
  });

  it('reads the last 8 days once at the interval and sizes the coming spike from them', async () => {
    const h = history(2);
    const warm = await round(policy(), h);
    expect(h.calls).toEqual([{ query: DEMAND, start: NOW_S - 8 * 86400, end: NOW_S - 15, step: 15 }]);
    const read = warm.events.find((e) => e.reason === 'HistoryRead');
    expect(read?.type).toBe('Normal');
    // 2 days of data inside an 8-day range: its first rate window (a minute) is left out.
    expect(read?.message).toMatch(
      /^read 47 h 59 min of demand history \(11,516 readings 15 s apart\) from Prometheus: [\d,]+ minutes scored \(the forecast starts calibrated\), a period of 2 h found$/,
    );
    // The spike 90 s ahead is sized now, by the detected period, not after it came.
    const d = warm.r.status.lastDecision!;
    expect(d.reasons.map((x) => x.code)).toContain('ForecastPeriodic');
    expect(d.reasons.find((x) => x.code === 'ForecastPeriodic')?.message).toMatch(/period 2 h/);
    expect(warm.replicas).toBeGreaterThanOrEqual(needed(100));

    // Without the history the same round sees only 20 rps.
    const cold = await round(policy(), undefined);
    expect(cold.replicas).toBe(needed(demandAt(NOW_S)));
    expect(cold.r.status.lastDecision!.reasons.map((x) => x.code)).not.toContain('ForecastPeriodic');
    expect(cold.events.map((e) => e.reason)).not.toContain('HistoryRead');

    // The next round has history of its own: nothing is read again.
    const next = await round(policy(), h, warm.r.memory);
    expect(h.calls).toHaveLength(1);
    expect(next.events.map((e) => e.reason)).not.toContain('HistoryRead');
  });

  it('a failed read says why in a Warning and the round decides from now, as before', async () => {
    const h = history(1, 'HTTP 503 from Prometheus');
    const r = await round(policy(), h);
    expect(r.events.find((e) => e.reason === 'HistoryNotRead')).toEqual({
      type: 'Warning',
      reason: 'HistoryNotRead',
      message:
        "the demand's last 8 d were not read from Prometheus (HTTP 503 from Prometheus): the forecast learns from now",
    });
    expect(r.replicas).toBe(needed(demandAt(NOW_S)));
    expect(r.r.result).toBe('ok');
  });

  it('no data in the range is said too; historySeconds 0 or the forecast off reads nothing', async () => {
    const empty = history(0);
    // A 1-s round still reads the past 15 s apart (8 days at 1 s would be 691,200 points).
    const fast = { ...policy({ historySeconds: 3600 }) };
    fast.spec = { ...fast.spec, intervalSeconds: 1 };
    const r = await round(fast, empty);
    expect(empty.calls[0]).toMatchObject({ start: NOW_S - 3600, end: NOW_S - 15, step: 15 });
    expect(r.events.find((e) => e.reason === 'HistoryNotRead')?.message).toBe(
      'the demand query had no data in the last 1 h: the forecast learns from now',
    );
    for (const forecast of [{ historySeconds: 0 }, { enabled: false }]) {
      const h = history(1);
      const x = await round(policy(forecast), h);
      expect(h.calls, JSON.stringify(forecast)).toHaveLength(0);
      expect(x.events.map((e) => e.reason)).not.toContain('HistoryRead');
    }
  });
});
