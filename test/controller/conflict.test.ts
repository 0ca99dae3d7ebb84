// Who may write a scale target (src/controller/conflict.ts): an HPA on the same target wins; among
// active policies the oldest (then the lexically first name) wins; shadow policies never conflict.
import { describe, expect, it } from 'vitest';
import { conflictOf, precedes, type HpaLike } from '../../src/controller/conflict.ts';
import type { HeadroomPolicy } from '../../src/controller/policy.ts';

function policy(
  name: string,
  created: string | Date | undefined,
  target = 'web',
  extra: { mode?: 'active' | 'shadow'; namespace?: string; apiVersion?: string; kind?: string } = {},
): HeadroomPolicy {
  return {
    metadata: {
      name,
      namespace: extra.namespace ?? 'shop',
      uid: `uid-${name}-${extra.namespace ?? 'shop'}`,
      ...(created !== undefined ? { creationTimestamp: created as Date } : {}),
    },
    spec: {
      scaleTargetRef: { apiVersion: extra.apiVersion ?? 'apps/v1', kind: extra.kind ?? 'Deployment', name: target },
      ...(extra.mode ? { mode: extra.mode } : {}),
      service: {},
      demand: { query: 'vector(1)' },
    },
  };
}

const hpa = (name: string, target: string, apiVersion?: string, namespace = 'shop'): HpaLike => ({
  metadata: { name, namespace },
  spec: { scaleTargetRef: { ...(apiVersion ? { apiVersion } : {}), kind: 'Deployment', name: target } },
});

describe('conflictOf', () => {
  const old = policy('zeta', '2026-01-01T00:00:00Z');
  const young = policy('alpha', '2026-01-02T00:00:00Z');
  const all = [old, young];

  it('a policy alone on its target writes', () => {
    expect(conflictOf(old, [old], [])).toBeUndefined();
  });

  it('two policies on one target: the older writes, the younger yields and names it', () => {
    expect(conflictOf(old, all, [])).toBeUndefined();
    const c = conflictOf(young, all, []);
    expect(c).toMatchObject({ by: 'HeadroomPolicy', name: 'zeta' });
    expect(c?.message).toContain('HeadroomPolicy zeta');
    expect(c?.message).toContain('Deployment web');
    // The informer's order does not matter.
    expect(conflictOf(young, [...all].reverse(), [])?.name).toBe('zeta');
  });

  it('same creationTimestamp (1 s resolution): the lexically first name writes', () => {
    const a = policy('a', '2026-01-01T00:00:00Z');
    const b = policy('b', new Date('2026-01-01T00:00:00Z')); // a Date from the typed client, a string from a watch
    expect(conflictOf(a, [a, b], [])).toBeUndefined();
    expect(conflictOf(b, [a, b], [])?.name).toBe('a');
    expect(precedes(a, b)).toBe(true);
    expect(precedes(b, a)).toBe(false);
  });

  it('three policies: each loser names the one that writes', () => {
    const mid = policy('mid', '2026-01-01T12:00:00Z');
    const three = [young, mid, old];
    expect(conflictOf(mid, three, [])?.name).toBe('zeta');
    expect(conflictOf(young, three, [])?.name).toBe('zeta');
    expect(conflictOf(old, three, [])).toBeUndefined();
  });

  it('an unknown creation time never beats a known one', () => {
    const unknown = policy('aaa', undefined);
    expect(conflictOf(unknown, [unknown, old], [])?.name).toBe('zeta');
    expect(conflictOf(old, [unknown, old], [])).toBeUndefined();
  });

  it('different targets, namespaces, kinds or API groups do not conflict; another version of one group does', () => {
    const other = policy('other', '2025-01-01T00:00:00Z', 'api');
    const elsewhere = policy('elsewhere', '2025-01-01T00:00:00Z', 'web', { namespace: 'blog' });
    const sts = policy('sts', '2025-01-01T00:00:00Z', 'web', { kind: 'StatefulSet' });
    const crd = policy('crd', '2025-01-01T00:00:00Z', 'web', { apiVersion: 'example.com/v1' });
    expect(conflictOf(young, [young, other, elsewhere, sts, crd], [])).toBeUndefined();
    const beta = policy('beta', '2025-01-01T00:00:00Z', 'web', { apiVersion: 'apps/v1beta2' });
    expect(conflictOf(young, [young, beta], [])?.name).toBe('beta');
  });

  it('shadow policies never write, so they neither yield nor make others yield', () => {
    const shadowOld = policy('shadow-old', '2025-01-01T00:00:00Z', 'web', { mode: 'shadow' });
    expect(conflictOf(young, [young, shadowOld], [])).toBeUndefined();
    const shadowYoung = policy('shadow-young', '2027-01-01T00:00:00Z', 'web', { mode: 'shadow' });
    expect(conflictOf(shadowYoung, [old, shadowYoung], [hpa('h', 'web')])).toBeUndefined();
  });

  it('an HPA on the target (v1 without apiVersion, or v2 with it) wins over every policy, even the oldest', () => {
    for (const h of [hpa('web-hpa', 'web'), hpa('web-hpa', 'web', 'apps/v1')]) {
      const c = conflictOf(old, all, [h]);
      expect(c).toMatchObject({ by: 'HorizontalPodAutoscaler', name: 'web-hpa' });
      expect(c?.message).toContain('HorizontalPodAutoscaler web-hpa also scales Deployment web');
    }
    expect(conflictOf(old, all, [hpa('x', 'api'), hpa('y', 'web', undefined, 'blog')])).toBeUndefined();
    expect(conflictOf(old, all, [hpa('z', 'web', 'example.com/v1')])).toBeUndefined();
  });
});
