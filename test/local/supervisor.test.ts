// The supervisor's deadlines on vitest's fake timers (its default clock, systemClock, reads them),
// with a real process: `sh` that never serves HTTP and ignores SIGTERM (so do the `sleep`s it
// starts), so only the startup timeout and the kill grace decide what happens, at fake times.
// Real I/O (the process starting, the refused health checks, its exit) runs on real time between
// the fake steps; the end-to-end behaviour with real services is in test/e2e/run-*.test.ts.
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HeadroomError } from '../../src/core/errors.ts';
import { Supervisor } from '../../src/local/supervisor.ts';

const realSetTimeout = globalThis.setTimeout;
const realWait = (ms: number): Promise<void> => new Promise((r) => realSetTimeout(r, ms));
async function untilReal(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await realWait(10);
  if (!cond()) throw new Error(`timed out waiting for ${what}`);
}

describe('Supervisor deadlines (fake timers, a real process)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('start() gives up at the startup timeout of monotonic time, even after a wall-clock jump; SIGKILL after the kill grace', async () => {
    const armed = join(mkdtempSync(join(tmpdir(), 'headroom-sup-')), 'armed');
    const sup = new Supervisor({
      command: ['sh', '-c', `trap "" TERM; touch ${armed}; while :; do sleep 1; done`],
      startupTimeoutMs: 3_000,
      killGraceMs: 2_000,
      probeIntervalMs: 60_000,
    });
    let outcome: unknown;
    const t0 = performance.now();
    const wall0 = Date.now();
    void sup.start(1).then(
      () => (outcome = 'ready'),
      (err: unknown) => (outcome = err),
    );
    await untilReal(() => existsSync(armed), 'the process to start');
    await vi.advanceTimersByTimeAsync(1_000);
    vi.setSystemTime(Date.now() + 3_600_000); // NTP steps the wall clock an hour ahead
    await vi.advanceTimersByTimeAsync(1_940);
    await realWait(50);
    expect(outcome).toBeUndefined();
    expect(sup.list().map((i) => i.state)).toEqual(['starting']);

    await vi.advanceTimersByTimeAsync(60); // 3 s: start() stops the instance: SIGTERM, ignored
    await realWait(50);
    await vi.advanceTimersByTimeAsync(1_900);
    await realWait(50);
    expect(sup.events().map((e) => e.type)).not.toContain('Killed');
    await vi.advanceTimersByTimeAsync(200); // the 2 s grace is over: SIGKILL
    await untilReal(() => outcome !== undefined, 'start() to settle');
    expect(performance.now() - t0).toBe(5_100);
    // Event times are wall ms (shown as dates): they carry the jump, the deadlines did not.
    const events = sup.events().map((e) => [e.type, e.at - wall0] as const);
    expect(events.slice(0, 3)).toEqual([
      ['ScaledUp', 0],
      ['Started', 0],
      ['StartupTimeout', 3_603_000],
    ]);
    // Both start() giving up and the startup timeout stop it; each logs its SIGKILL at the grace.
    const killed = events.filter(([type]) => type === 'Killed');
    expect(killed.length).toBeGreaterThanOrEqual(1);
    for (const [, at] of killed) expect(at).toBe(3_605_000);
    expect(events.filter(([type]) => type === 'Stopped')).toHaveLength(1);
    expect(outcome).toBeInstanceOf(HeadroomError);
    expect((outcome as HeadroomError).problems[0]).toMatchObject({ code: 'HR_HEALTH_CHECK_FAILED' });
    expect((outcome as HeadroomError).message).toContain('within 3 s');
    expect(sup.list()).toEqual([]);
  });
});
