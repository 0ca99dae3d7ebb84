// `controller --shadow` lists every policy that cannot decide with why (docs/controller.md): the
// row's reason is the round's own problem, not a generic "no valid metrics".
import { describe, expect, it } from 'vitest';
import { ownedMessage, type ReconcileResult } from '../../src/controller/reconcile.ts';
import { shadowRow } from '../../src/controller/shadow.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';

const policy = {
  metadata: { name: 'owned', namespace: 'shop', uid: 'u1' },
  spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-96d5df5c8' }, service: {} },
} as unknown as HeadroomPolicy;

const result = (outcome: Partial<ReconcileResult['outcome']>): ReconcileResult =>
  ({ result: 'conflict', outcome, status: {}, events: [], memory: {}, scaled: false, statusWritten: false }) as never;

describe('shadowRow', () => {
  it('a target its owner scales says so (it read "no decision (no valid metrics)")', () => {
    const why = ownedMessage({ kind: 'ReplicaSet', name: 'web-96d5df5c8' }, { kind: 'Deployment', name: 'web' });
    const row = shadowRow(policy, result({ targetOwned: why, reading: { specReplicas: 1 } as never }), undefined);
    expect(row.reason).toBe(why);
    expect(row.reason).toMatch(/^ReplicaSet web-96d5df5c8 is managed by Deployment web /);
    expect(row.recommended).toBeUndefined();
  });

  it('a round with nothing to say still says there is no decision', () => {
    expect(shadowRow(policy, result({}), undefined).reason).toBe('no decision (no valid metrics)');
    expect(shadowRow(policy, undefined, undefined).reason).toBe('not reconciled');
  });
});
