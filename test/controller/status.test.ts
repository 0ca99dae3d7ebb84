// Pure status/condition/event logic of the controller (src/controller/status.ts).
import { describe, expect, it } from 'vitest';
import {
  needsWrite,
  nextStatus,
  persistedAt,
  round,
  sameStatus,
  viewOfStored,
  type Outcome,
} from '../../src/controller/status.ts';
import type { PolicyStatus } from '../../src/controller/policy.ts';
import type { DecisionView } from '../../src/server/status.ts';

const T0 = '2026-12-01T10:00:00.000Z';
const T1 = '2026-12-01T10:00:15.000Z';
const reading = { specReplicas: 2, statusReplicas: 2, version: '7' };

function decision(over: Partial<DecisionView> = {}): DecisionView {
  return {
    desired: 4,
    recommended: 4,
    valid: true,
    binding: 'utilization',
    mode: 'normal',
    reasons: [{ code: 'Sized', message: 'utilization 0.5 needs 4' }],
    warnings: [],
    predicted: { utilization: 0.4567891, latencyMs: 41.23456 },
    at: '2026-12-01T10:00:00.000Z',
    sizedForRps: 100,
    applied: false,
    ...over,
  };
}

const ok = (value: number) => ({ kind: 'ok' as const, value, at: 1, series: 1 });
const cond = (s: PolicyStatus, type: string) => s.conditions?.find((c) => c.type === type);

describe('nextStatus', () => {
  it('an invalid policy: Ready=False/InvalidPolicy with one Warning event, not repeated while unchanged', () => {
    const o: Outcome = {
      generation: 3,
      shadow: false,
      metricFailures: 0,
      invalid: 'HR_SPEC_INVALID spec.service.replicas.min',
    };
    const a = nextStatus(undefined, o, T0);
    expect(cond(a.status, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'InvalidPolicy',
      lastTransitionTime: T0,
      observedGeneration: 3,
    });
    expect(cond(a.status, 'ScalingActive')?.status).toBe('False');
    expect(a.events).toEqual([{ type: 'Warning', reason: 'InvalidPolicy', message: o.invalid }]);
    expect(a.status.desiredReplicas).toBeUndefined();
    const b = nextStatus(a.status, o, T1);
    expect(b.events).toEqual([]);
    expect(cond(b.status, 'Ready')?.lastTransitionTime).toBe(T0); // no flip, no new transition time
  });

  it('a yielding policy: Ready=False/Conflict naming the winner, one Warning event, back to Active after', () => {
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      conflict: 'HeadroomPolicy web-a also scales Deployment web and is older: this policy yields',
    };
    const a = nextStatus(undefined, o, T0);
    expect(cond(a.status, 'Ready')).toMatchObject({ status: 'False', reason: 'Conflict', message: o.conflict });
    expect(cond(a.status, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(cond(a.status, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'Conflict' });
    expect(a.events).toEqual([{ type: 'Warning', reason: 'Conflict', message: o.conflict }]);
    expect(a.status.currentReplicas).toBeUndefined();
    expect(nextStatus(a.status, o, T1).events).toEqual([]);
    const freed = nextStatus(
      a.status,
      { generation: 1, shadow: false, metricFailures: 0, reading, demand: ok(10), decision: decision() },
      T1,
    );
    expect(cond(freed.status, 'Ready')).toMatchObject({ status: 'True', reason: 'Active', lastTransitionTime: T1 });
    expect(cond(freed.status, 'AbleToScale')?.status).toBe('True');
  });

  it('a scale: current follows the write, lastScaleTime, a Scaled event with the reasons', () => {
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      reading,
      demand: ok(123.456),
      decision: decision(),
      decideState: { failures: 0 },
      scale: { kind: 'scaled', from: 2, to: 4, attempts: 1 },
    };
    const { status, events } = nextStatus(undefined, o, T0);
    expect(status).toMatchObject({
      currentReplicas: 4,
      desiredReplicas: 4,
      binding: 'utilization',
      demand: '123 rps',
      lastScaleTime: T0,
    });
    expect(status.lastDecision).toMatchObject({
      demandRps: 123,
      predictedUtilization: 0.457,
      predictedLatencyMs: 41.2,
      valid: true,
    });
    expect(status.decideState).toEqual({ failures: 0 });
    expect(cond(status, 'AbleToScale')).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
    expect(cond(status, 'Ready')).toMatchObject({ status: 'True', reason: 'Active' });
    expect(cond(status, 'ScalingLimited')).toMatchObject({ status: 'False' });
    expect(events.map((e) => e.reason)).toEqual(['Scaled']); // the first metrics answer is no event
    // The next quiet round at the new count changes nothing but times: no status write.
    const { scale: _scale, ...noScale } = o;
    const quiet = nextStatus(status, { ...noScale, reading: { ...reading, specReplicas: 4 } }, T1);
    expect(sameStatus(status, quiet.status)).toBe(true);
    expect(quiet.events).toEqual([]);
    const scaled = events.find((e) => e.reason === 'Scaled');
    expect(scaled?.message).toContain('2 → 4');
    expect(scaled?.message).toContain('utilization 0.5 needs 4');
    // Conditions in a stable order, each type once.
    expect(status.conditions?.map((c) => c.type)).toEqual([
      'Ready',
      'AbleToScale',
      'ScalingActive',
      'ScalingLimited',
      'MetricsAvailable',
      'FallbackActive',
    ]);
  });

  it('metrics failing: MetricsAvailable=False/QueryFailed with the count, ScalingActive=False', () => {
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 2,
      reading,
      demand: { kind: 'error', reason: 'ECONNREFUSED' },
      decision: decision({
        desired: 2,
        recommended: 2,
        valid: false,
        mode: 'hold',
        binding: 'none',
        reasons: [{ code: 'NoMetrics', message: 'holding 2' }],
      }),
    };
    const { status, events } = nextStatus(undefined, o, T0);
    expect(cond(status, 'MetricsAvailable')).toMatchObject({ status: 'False', reason: 'QueryFailed' });
    expect(cond(status, 'MetricsAvailable')?.message).toContain('2 in a row');
    expect(cond(status, 'ScalingActive')).toMatchObject({ status: 'False', reason: 'NoMetrics' });
    expect(status.demand).toBe('error');
    expect(status.consecutiveMetricFailures).toBe(2);
    expect(events.map((e) => e.reason)).toContain('MetricsUnavailable');
  });

  it('fallback: FallbackActive=True with a Warning, then FallbackEnded when metrics return', () => {
    const down: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 6,
      reading,
      demand: { kind: 'error', reason: 'down' },
      decision: decision({
        desired: 5,
        valid: false,
        mode: 'fallback',
        binding: 'none',
        reasons: [{ code: 'Fallback', message: 'fallback 5' }],
      }),
    };
    const a = nextStatus(undefined, down, T0);
    expect(cond(a.status, 'FallbackActive')).toMatchObject({ status: 'True', reason: 'Fallback' });
    expect(a.events.some((e) => e.reason === 'FallbackActive' && e.type === 'Warning')).toBe(true);
    const up: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      reading,
      demand: ok(10),
      decision: decision(),
    };
    const b = nextStatus(a.status, up, T1);
    expect(cond(b.status, 'FallbackActive')).toMatchObject({ status: 'False', lastTransitionTime: T1 });
    expect(b.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['FallbackEnded', 'MetricsAvailable']));
  });

  it('shadow mode: current stays the read count, a WouldScale event, Ready reason Shadow', () => {
    const o: Outcome = {
      generation: 1,
      shadow: true,
      metricFailures: 0,
      reading,
      demand: ok(50),
      decision: decision(),
    };
    const { status, events } = nextStatus(undefined, o, T0);
    expect(status.currentReplicas).toBe(2);
    expect(status.desiredReplicas).toBe(4);
    expect(status.lastScaleTime).toBeUndefined();
    expect(cond(status, 'Ready')?.reason).toBe('Shadow');
    expect(events.find((e) => e.reason === 'WouldScale')?.message).toContain('2 → 4');
  });

  it('an unreadable target: FailedGetScale, nothing else decided', () => {
    const o: Outcome = { generation: 1, shadow: false, metricFailures: 0, targetError: 'Deployment ns/x not found' };
    const { status, events } = nextStatus(undefined, o, T0);
    expect(cond(status, 'AbleToScale')).toMatchObject({ status: 'False', reason: 'FailedGetScale' });
    expect(status.desiredReplicas).toBeUndefined();
    expect(events).toEqual([{ type: 'Warning', reason: 'FailedGetScale', message: 'Deployment ns/x not found' }]);
  });

  it('limited at max: ScalingLimited=True/TooManyReplicas', () => {
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      reading,
      demand: ok(500),
      decision: decision({ desired: 10, recommended: 10, binding: 'maxReplicas' }),
    };
    expect(cond(nextStatus(undefined, o, T0).status, 'ScalingLimited')).toMatchObject({
      status: 'True',
      reason: 'TooManyReplicas',
    });
  });

  it("the plan's warnings are stored with the decision, read back by a standby, and a new one is a write", () => {
    const warning = 'replicas.max caps the count at 10, below the 13 needed';
    const base: Outcome = { generation: 1, shadow: false, metricFailures: 0, reading, demand: ok(500) };
    const warned = nextStatus(undefined, { ...base, decision: decision({ warnings: [warning] }) }, T0).status;
    expect(warned.lastDecision?.warnings).toEqual([warning]);
    expect(viewOfStored(warned.lastDecision!).warnings).toEqual([warning]);
    // None: no key at all (status stays as it was before warnings existed), and the view says [].
    const calm = nextStatus(undefined, { ...base, decision: decision() }, T0).status;
    expect(calm.lastDecision).not.toHaveProperty('warnings');
    expect(viewOfStored(calm.lastDecision!).warnings).toEqual([]);
    expect(sameStatus(calm, warned)).toBe(false);
  });
});

describe('sameStatus / round', () => {
  it('ignores the decision time and the decide state, nothing else', () => {
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      reading,
      demand: ok(10),
      decision: decision(),
    };
    const a = nextStatus(undefined, o, T0).status;
    const b = nextStatus(a, o, T1).status;
    expect(sameStatus(a, b)).toBe(true);
    const c = nextStatus(a, { ...o, demand: ok(20) }, T1).status;
    expect(sameStatus(a, c)).toBe(false);
    expect(sameStatus(undefined, a)).toBe(false);
  });

  it('reports the latency model in status.model; a new measurement alone needs no write, a new scale does', () => {
    const model = (scale: number, measuredMs: number): NonNullable<Outcome['model']> => ({
      percentile: 99,
      scale,
      error: 2.04,
      calibrating: true,
      measuredMs,
      predictedMs: 235.123,
      calibratedMs: 470.1,
      samples: 5,
      state: { logScale: Math.log(scale), logError: 0.71, samples: 5, at: 100 },
    });
    const o: Outcome = {
      generation: 1,
      shadow: false,
      metricFailures: 0,
      reading,
      demand: ok(60),
      decision: decision(),
    };
    const a = nextStatus(undefined, { ...o, model: model(2.01, 480.44) }, T0).status;
    // 3 significant digits shown; a move in the third alone asks for no write (below).
    expect(a.model).toMatchObject({
      scale: 2.01,
      error: 2.04,
      measuredLatencyMs: 480,
      predictedLatencyMs: 235,
      calibrating: true,
      samples: 5,
    });
    expect((a.model?.state as { logError: number }).logError).toBe(0.71);
    expect(sameStatus(a, nextStatus(a, { ...o, model: model(2.02, 455) }, T1).status)).toBe(true);
    expect(sameStatus(a, nextStatus(a, { ...o, model: model(2.6, 455) }, T1).status)).toBe(false);
  });

  it('rounds to 3 significant digits and keeps 0 and non-finite values', () => {
    expect(round(123.456)).toBe(123);
    expect(round(0.0012345)).toBe(0.00123);
    expect(round(0)).toBe(0);
    expect(Number.isNaN(round(Number.NaN))).toBe(true);
  });
});

describe('needsWrite / persistedAt', () => {
  const o: Outcome = {
    generation: 1,
    shadow: false,
    metricFailures: 0,
    reading,
    demand: ok(10),
    decision: decision(),
    decideState: { n: 1 },
  };
  const a = nextStatus(undefined, o, T0).status;
  const t0 = Date.parse(T0);

  it('a status that only moved the decide state is refreshed after refreshMs, not before', () => {
    const b = nextStatus(a, { ...o, decideState: { n: 2 } }, T1).status;
    expect(needsWrite(a, b, t0, t0 + 29_999, 30_000)).toBe(false);
    expect(needsWrite(a, b, t0, t0 + 30_000, 30_000)).toBe(true);
    expect(needsWrite(undefined, b, t0, t0, 30_000)).toBe(true);
    const c = nextStatus(a, { ...o, demand: ok(99) }, T1).status;
    expect(needsWrite(a, c, t0, t0 + 1, 30_000)).toBe(true);
  });

  it('reads the persisted time from the last decision; unknown is long ago', () => {
    expect(persistedAt(a)).toBe(t0);
    expect(persistedAt(undefined)).toBe(0);
    expect(persistedAt({ lastDecision: { ...a.lastDecision!, time: 'garbage' } })).toBe(0);
  });
});
