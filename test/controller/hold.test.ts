// Pause annotations and the back-off after another writer (src/controller/hold.ts), and what
// status and events say about them (src/controller/status.ts).
import { describe, expect, it } from 'vitest';
import { externallyWritten, holdOf, pauseOf, PAUSE_ANNOTATION } from '../../src/controller/hold.ts';
import type { PolicyStatus } from '../../src/controller/policy.ts';
import type { DecisionView } from '../../src/server/status.ts';
import { nextStatus, type Outcome } from '../../src/controller/status.ts';

const NOW = Date.parse('2026-12-02T10:00:00Z');
const T = new Date(NOW).toISOString();

describe('pauseOf', () => {
  it.each([
    [undefined, {}],
    [{}, {}],
    [{ [PAUSE_ANNOTATION]: 'false' }, {}],
    [{ [PAUSE_ANNOTATION]: '' }, {}],
    [{ [PAUSE_ANNOTATION]: 'true' }, { pause: 'all' }],
    [{ [PAUSE_ANNOTATION]: 'up' }, { pause: 'up' }],
    [{ [PAUSE_ANNOTATION]: 'down' }, { pause: 'down' }],
  ])('%j → %j', (annotations, expected) => {
    expect(pauseOf(annotations)).toEqual(expected);
  });

  it('an unknown value is an error naming the annotation, the value and the allowed ones', () => {
    const r = pauseOf({ [PAUSE_ANNOTATION]: 'yes' });
    expect(r.pause).toBeUndefined();
    expect(r.error).toBe(
      'HR_SPEC_INVALID annotation headroom.dev/paused: "yes" is not one of "true", "false", "up", "down"',
    );
  });
});

describe('holdOf', () => {
  const at = (over: Partial<Parameters<typeof holdOf>[0]>) => holdOf({ nowMs: NOW, current: 3, desired: 5, ...over });

  it('nothing to hold: no pause, no back-off; or a directional pause with nothing to write', () => {
    expect(at({})).toBeUndefined();
    expect(at({ desired: 3, pause: 'up' })).toBeUndefined();
    // A back-off is shown for its whole length, also while the count needs no write.
    expect(at({ desired: 3, backoffUntilMs: NOW + 1000 })?.reason).toBe('BackingOff');
  });

  it('"true" holds every write, even one not needed yet', () => {
    expect(at({ pause: 'all' })?.message).toBe(
      'paused (headroom.dev/paused: "true"), the scale is not written: would scale 3 → 5',
    );
    expect(at({ pause: 'all', desired: 3 })?.reason).toBe('Paused');
  });

  it('"up" holds only scaling up, "down" only scaling down', () => {
    expect(at({ pause: 'up' })?.message).toBe('scaling up is paused (headroom.dev/paused: "up"): would scale 3 → 5');
    expect(at({ pause: 'up', desired: 2 })).toBeUndefined();
    expect(at({ pause: 'down', desired: 2 })?.reason).toBe('Paused');
    expect(at({ pause: 'down' })).toBeUndefined();
  });

  it('a back-off holds until its time, then lets the write through', () => {
    const h = at({ backoffUntilMs: NOW + 300_000 });
    expect(h?.reason).toBe('BackingOff');
    expect(h?.message).toContain('not writing them until 2026-12-02T10:05:00.000Z');
    expect(at({ backoffUntilMs: NOW })).toBeUndefined();
  });

  it('another writer: only a count different from the one this controller wrote', () => {
    expect(externallyWritten(5, 2)).toBe(true);
    expect(externallyWritten(5, 5)).toBe(false);
    expect(externallyWritten(undefined, 2)).toBe(false);
  });
});

describe('status and events', () => {
  const decision: DecisionView = {
    desired: 5,
    recommended: 5,
    valid: true,
    binding: 'utilization',
    mode: 'normal',
    reasons: [{ code: 'Sized', message: 'needs 5' }],
    warnings: [],
    predicted: { utilization: 0.5, latencyMs: 40 },
    at: '2026-12-01T10:00:00.000Z',
    sizedForRps: 100,
    applied: false,
  };
  const base: Outcome = {
    generation: 1,
    shadow: false,
    metricFailures: 0,
    reading: { specReplicas: 2, statusReplicas: 2, version: '1' },
    demand: { kind: 'ok', value: 100, at: 1, series: 1 },
    decision,
  };
  const able = (s: PolicyStatus) => s.conditions?.find((c) => c.type === 'AbleToScale');

  it('an external write: one Warning event, the back-off persisted, AbleToScale=False/BackingOff, nothing applied', () => {
    const { status, events } = nextStatus(
      undefined,
      {
        ...base,
        externalWrite: { from: 5, to: 2, backoffSeconds: 300 },
        backoffUntilMs: NOW + 300_000,
        hold: { reason: 'BackingOff', message: 'another writer set the replicas' },
      },
      T,
    );
    expect(events.filter((e) => e.reason === 'ExternalWrite')).toEqual([
      {
        type: 'Warning',
        reason: 'ExternalWrite',
        message:
          'replicas changed 5 → 2 by another writer (a GitOps sync? kubectl scale?): Headroom leaves them for 300 s (spec.externalWriteBackoffSeconds) instead of writing back every interval',
      },
    ]);
    expect(status.backoffUntil).toBe('2026-12-02T10:05:00.000Z');
    expect(status.appliedReplicas).toBeUndefined();
    expect(able(status)).toMatchObject({ status: 'False', reason: 'BackingOff' });
    expect(status.desiredReplicas).toBe(5);
  });

  it('a pause: status.paused, a Paused event once, and Resumed when lifted', () => {
    const hold = { reason: 'Paused' as const, message: 'scaling up is paused' };
    const first = nextStatus(undefined, { ...base, pause: 'up', hold }, T);
    expect(first.status.paused).toBe('up');
    expect(first.events.map((e) => e.reason)).toContain('Paused');
    const again = nextStatus(first.status, { ...base, pause: 'up', hold }, T);
    expect(again.events.map((e) => e.reason)).not.toContain('Paused');
    const lifted = nextStatus(
      again.status,
      { ...base, scale: { kind: 'scaled', from: 2, to: 5, attempts: 1 }, applied: 5 },
      T,
    );
    expect(lifted.status.paused).toBeUndefined();
    expect(lifted.status.appliedReplicas).toBe(5);
    expect(lifted.events.map((e) => e.reason)).toEqual(expect.arrayContaining(['Scaled', 'Resumed']));
    expect(able(lifted.status)).toMatchObject({ status: 'True', reason: 'SucceededRescale' });
  });
});
