// LeaderElector's timing on vitest's fake timers (systemClock reads them): an in-memory Lease store
// that keeps resourceVersion as the apiserver does (a stale write gets 409), candidates that can be
// cut off from it, and the client-go defaults (lease 15 s, renew deadline 10 s, retry 2 s). The real
// apiserver runs in test/e2e/controller.test.ts; here the point is the deadlines, stepped exactly.
import { ApiException, type V1Lease } from '@kubernetes/client-node';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { KubeClients } from '../../src/adapters/kubernetes/client.ts';
import { LeaderElector } from '../../src/controller/leader.ts';

class LeaseStore {
  lease: V1Lease | undefined;
  writes = 0;
  private rv = 0;
  read(): V1Lease {
    if (!this.lease) throw new ApiException(404, 'not found', {}, {});
    return structuredClone(this.lease);
  }
  create(body: V1Lease): V1Lease {
    if (this.lease) throw new ApiException(409, 'exists', {}, {});
    return this.save(body);
  }
  replace(body: V1Lease): V1Lease {
    if (body.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion)
      throw new ApiException(409, 'conflict', {}, {});
    return this.save(body);
  }
  private save(body: V1Lease): V1Lease {
    this.writes++;
    this.lease = { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(++this.rv) } };
    return structuredClone(this.lease);
  }
}

interface Candidate {
  elector: LeaderElector;
  /** true: every API call fails, as for a leader cut off from the apiserver. */
  cut: boolean;
}

const events: string[] = [];
/** Fake seconds since the test started (performance.now is faked). */
const at = (): number => performance.now() / 1000;

function candidate(store: LeaseStore, identity: string): Candidate {
  const c: Candidate = { cut: false, elector: undefined as unknown as LeaderElector };
  const call = <T>(f: () => T): Promise<T> =>
    c.cut ? Promise.reject(new Error('connect ECONNREFUSED')) : Promise.resolve().then(f);
  const coordination = {
    readNamespacedLease: () => call(() => store.read()),
    createNamespacedLease: ({ body }: { body: V1Lease }) => call(() => store.create(body)),
    replaceNamespacedLease: ({ body }: { body: V1Lease }) => call(() => store.replace(body)),
  };
  c.elector = new LeaderElector({ coordination } as unknown as KubeClients, {
    namespace: 'ns',
    name: 'headroom',
    identity,
    onStartedLeading: () => events.push(`${identity} started @${at()}`),
    onStoppedLeading: () => events.push(`${identity} stopped @${at()}`),
  });
  return c;
}

describe('LeaderElector (fake timers)', () => {
  let store: LeaseStore;
  let a: Candidate;
  let b: Candidate;
  beforeEach(async () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    events.length = 0;
    store = new LeaseStore();
    a = candidate(store, 'a');
    b = candidate(store, 'b');
    a.elector.start();
    await vi.advanceTimersByTimeAsync(0);
    b.elector.start();
    await vi.advanceTimersByTimeAsync(0);
  });
  afterEach(async () => {
    a.cut = b.cut = true; // stop() must not hand the lease over between tests
    const stopped = Promise.all([a.elector.stop(), b.elector.stop()]);
    await vi.runAllTimersAsync();
    await stopped;
    vi.useRealTimers();
  });

  it('a live leader renews every retry period and keeps the lease; the standby never starts', async () => {
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(events).toEqual(['a started @0']);
    expect(a.elector.isLeader).toBe(true);
    expect(b.elector.isLeader).toBe(false);
    // 1 create + one renewal per 2 s for 60 s; renewTime is the (fake) wall time of the last one.
    expect(store.writes).toBe(1 + 30);
    expect(store.lease?.spec?.holderIdentity).toBe('a');
    expect(new Date(store.lease!.spec!.renewTime!).getTime()).toBe(t0 + 60_000);
  });

  it('a cut-off leader stops at the renew deadline, before the standby takes over after the lease duration', async () => {
    await vi.advanceTimersByTimeAsync(10_000); // a renewed at 0, 2, … 10 s
    a.cut = true;
    await vi.advanceTimersByTimeAsync(30_000);
    // a: last renewal at 10 s; at 20 s 10 s have passed (not > 10), at 22 s it gives up.
    // b: saw the 10 s renewal at 10 s; at 24 s 14 s have passed, at 26 s 16 s > 15: takes over.
    expect(events).toEqual(['a started @0', 'a stopped @22', 'b started @26']);
    expect(store.lease?.spec).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
  });

  it('a wall-clock jump does not expire the lease early: expiry runs on the monotonic clock', async () => {
    await vi.advanceTimersByTimeAsync(10_000);
    a.cut = true;
    vi.setSystemTime(Date.now() + 3_600_000); // NTP steps the wall clock an hour ahead
    await vi.advanceTimersByTimeAsync(14_000);
    expect(b.elector.isLeader).toBe(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events).toEqual(['a started @0', 'a stopped @22', 'b started @26']);
  });

  it('stop() gives the lease up, so the standby takes over within one retry period', async () => {
    await vi.advanceTimersByTimeAsync(5_000);
    const stopped = a.elector.stop();
    await vi.advanceTimersByTimeAsync(0);
    await stopped;
    expect(store.lease?.spec?.holderIdentity).toBe('');
    await vi.advanceTimersByTimeAsync(2_000);
    expect(events).toEqual(['a started @0', 'a stopped @5', 'b started @6']);
  });

  it('two candidates racing for an expired lease: one write wins, the other gets 409', async () => {
    a.cut = b.cut = true; // a dies; b is out of the picture too
    const c = candidate(store, 'c');
    const d = candidate(store, 'd');
    expect(await Promise.all([c.elector.tryAcquireOrRenew(), d.elector.tryAcquireOrRenew()])).toEqual([false, false]);
    await vi.advanceTimersByTimeAsync(16_000); // both have seen a's record unchanged for 16 s > 15 s
    const won = await Promise.all([c.elector.tryAcquireOrRenew(), d.elector.tryAcquireOrRenew()]);
    expect(won.filter(Boolean)).toHaveLength(1);
    expect(store.lease?.spec?.holderIdentity).toBe(won[0] ? 'c' : 'd');
  });
});
