// Ready counting (src/adapters/actuators/kubernetes/ready.ts): pods that exist are not capacity
// until Ready, and the controller's snapshots show the ready count, not the created one.
import { describe, expect, it } from 'vitest';
import {
  countReadyPods,
  isPodReady,
  readingOfWorkload,
  selectorString,
  readyOf,
  WORKLOADS,
} from '../../src/adapters/actuators/kubernetes/ready.ts';
import { policyAlertSnapshot, policyStatusSnapshot } from '../../src/controller/snapshot.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';

const pod = (phase: string, ready: string | undefined, deleting = false) => ({
  metadata: deleting ? { deletionTimestamp: '2026-01-01T00:00:00Z' } : {},
  status: { phase, conditions: ready === undefined ? [] : [{ type: 'Ready', status: ready }] },
});

describe('ready pods', () => {
  it('only Running pods with Ready=True that are not being deleted count', () => {
    expect(isPodReady(pod('Running', 'True'))).toBe(true);
    expect(isPodReady(pod('Pending', undefined))).toBe(false); // created, never scheduled
    expect(isPodReady(pod('Running', 'False'))).toBe(false); // crash-looping or failing readiness
    expect(isPodReady(pod('Running', 'Unknown'))).toBe(false);
    expect(isPodReady(pod('Running', 'True', true))).toBe(false); // terminating
    expect(isPodReady(pod('Succeeded', 'True'))).toBe(false);
    expect(isPodReady({})).toBe(false);
    const pods = [pod('Running', 'True'), pod('Pending', undefined), pod('Running', 'False'), pod('Running', 'True')];
    expect(countReadyPods(pods)).toBe(2);
    expect(countReadyPods([])).toBe(0);
  });

  it("a workload's LabelSelector in the string form a pod list takes (what the scale subresource shows)", () => {
    expect(
      selectorString({
        matchLabels: { app: 'web', track: 'stable' },
        matchExpressions: [
          { key: 'tier', operator: 'In', values: ['a', 'b'] },
          { key: 'zone', operator: 'NotIn', values: ['x'] },
          { key: 'canary', operator: 'DoesNotExist' },
          { key: 'team', operator: 'Exists' },
        ],
      }),
    ).toBe('app=web,track=stable,tier in (a,b),zone notin (x),!canary,team');
    expect(selectorString({})).toBeUndefined();
    const dep = { spec: { replicas: 2, selector: { matchLabels: { app: 'web' } } } };
    expect(readingOfWorkload(dep).selector).toBe('app=web');
  });

  it('a workload reading takes status.readyReplicas, absent (omitempty) = 0', () => {
    const dep = { metadata: { resourceVersion: '42' }, spec: { replicas: 3 }, status: { replicas: 3 } };
    expect(readingOfWorkload(dep)).toEqual({ specReplicas: 3, statusReplicas: 3, readyReplicas: 0, version: '42' });
    expect(readingOfWorkload({ ...dep, status: { replicas: 3, readyReplicas: 2 } }).readyReplicas).toBe(2);
    expect(readingOfWorkload({})).toEqual({ specReplicas: 1, statusReplicas: 0, readyReplicas: 0, version: '' });
    expect(readingOfWorkload({ status: { replicas: -1, readyReplicas: Number.NaN } })).toMatchObject({
      statusReplicas: 0,
      readyReplicas: 0,
    });
    expect(Object.keys(WORKLOADS).sort()).toEqual(['apps/v1/Deployment', 'apps/v1/ReplicaSet', 'apps/v1/StatefulSet']);
  });

  it('decide() gets the ready count; status.replicas only when the target cannot say', () => {
    expect(readyOf({ statusReplicas: 3, readyReplicas: 0 })).toBe(0);
    expect(readyOf({ statusReplicas: 3, readyReplicas: 2 })).toBe(2);
    expect(readyOf({ statusReplicas: 3 })).toBe(3);
  });
});

describe('snapshots show the ready count', () => {
  const policy: HeadroomPolicy = {
    metadata: { name: 'web', namespace: 'shop', uid: 'u1' },
    spec: {
      scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' },
      service: { instance: { serviceTimeMs: 40, concurrency: 1 }, replicas: { min: 1, max: 10 } },
      demand: { query: 'vector(1)' },
    },
  };
  const observed = { at: 0, specReplicas: 3, statusReplicas: 3, readyReplicas: 0, applied: false };

  it('0 of 3 pods ready: the dashboard and the alert engine see ready 0', () => {
    const v = { policy, observed, history: [], events: [] };
    expect(policyStatusSnapshot(v, 0, 0).replicas).toMatchObject({ current: 3, ready: 0 });
    expect(policyAlertSnapshot(v, 0)).toMatchObject({ current: 3, ready: 0 });
  });
});
