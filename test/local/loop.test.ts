// The control loop with the real decide() and a fake clock and actuator: table of ticks.
import { describe, expect, it } from 'vitest';
import { LocalActuator } from '../../src/adapters/actuators/local/actuator.ts';
import type { Observation } from '../../src/core/decide.ts';
import { ControlLoop, type LoopOptions } from '../../src/local/loop.ts';
import { systemClock } from '../../src/ports/clock.ts';
import { model } from './helpers.ts';

function fakeSupervisor(initial: number) {
  const s = {
    desired: initial,
    get running() {
      return s.desired;
    },
    setDesired(n: number) {
      s.desired = n;
    },
  };
  return s;
}

function setup(shadow: boolean) {
  const sup = fakeSupervisor(1);
  const actuator = new LocalActuator(sup, 'web');
  let nowMs = 1_000_000;
  let demand: number | undefined = 0;
  // 2 slots × 1000/50 = 40 rps per instance; 70 % target → 28 rps per instance.
  const m = model({
    instance: { serviceTimeMs: 50, concurrency: 2 },
    targetUtilization: 0.7,
    replicas: { min: 1, max: 10 },
    behavior: { scaleDown: { stabilizationWindowSeconds: 5 }, forecast: { enabled: false } },
  });
  const loop = new ControlLoop({
    model: m,
    tickMs: 1000,
    shadow,
    clock: { ...systemClock, now: () => nowMs / 1000 },
    observe: (): { observation: Observation } => ({
      observation: {
        ...(demand !== undefined ? { demandRps: demand } : {}),
        readyReplicas: sup.desired,
        currentReplicas: sup.desired,
      },
    }),
    actuator,
    target: actuator.target(),
  });
  return {
    sup,
    loop,
    step: async (seconds: number, rps: number | undefined) => {
      nowMs += seconds * 1000;
      demand = rps;
      return loop.tick();
    },
  };
}

describe('control loop', () => {
  it('scales up at once, down only after the stabilization window', async () => {
    const { sup, step } = setup(false);
    const table: Array<[number, number | undefined, number]> = [
      // [seconds later, demand rps, expected instances]
      [1, 20, 1],
      [1, 100, 4], // ceil(100 / 28) = 4
      [1, undefined, 4], // no metrics: hold, never down
      [1, 20, 4], // wants 1, stabilized (5 s window holds 4)
      [2, 20, 4],
      [3, 20, 1], // 6 s after the last 4: down
    ];
    for (const [dt, rps, want] of table) {
      const r = await step(dt, rps);
      expect(sup.desired, `after demand ${rps}`).toBe(want);
      if (rps === undefined) expect(r.decision.valid).toBe(false);
    }
  });

  it('shadow mode decides but never scales', async () => {
    const { sup, step } = setup(true);
    const r = await step(1, 100);
    expect(r.decision.desired).toBe(4);
    expect(r.applied).toBe(false);
    expect(sup.desired).toBe(1);
  });

  it('paused: neither decides nor acts; shadow can be switched at run time', async () => {
    const { sup, loop, step } = setup(false);
    loop.paused = true;
    const r = await step(1, 100);
    expect(r.paused).toBe(true);
    expect(r.decision.reasons.map((x) => x.code)).toEqual(['Paused']);
    expect(sup.desired).toBe(1);
    expect(loop.decideState.recommendations).toEqual([]); // decide() was not called
    loop.paused = false;
    loop.shadow = true;
    const s = await step(1, 100);
    expect(s.decision.desired).toBe(4);
    expect(sup.desired).toBe(1);
    loop.shadow = false;
    const t = await step(1, 100);
    // Acts again (how far this tick depends on the rate policy's budget, which shadow ticks count).
    expect(t.applied).toBe(true);
    expect(sup.desired).toBeGreaterThan(1);
  });

  it('rejects a tick above 1 s', () => {
    expect(() => new ControlLoop({ tickMs: 1500 } as unknown as LoopOptions)).toThrow(/tickMs/);
  });
});

describe('local actuator', () => {
  it('reads and scales the supervisor, reporting unchanged when already there', async () => {
    const sup = fakeSupervisor(2);
    const a = new LocalActuator(sup, 'web');
    const t = a.target();
    const r = await a.read(t);
    expect(r.specReplicas).toBe(2);
    expect(await a.scale(t, 5, r)).toEqual({ kind: 'scaled', from: 2, to: 5, attempts: 1 });
    expect(await a.scale(t, 5)).toEqual({ kind: 'unchanged', replicas: 5, attempts: 1 });
    expect(await a.scale(t, 3, r)).toMatchObject({ kind: 'scaled', attempts: 2 }); // stale basis
    await expect(a.scale(t, -1)).rejects.toThrow(/whole number/);
    expect(() => a.read({ ...t, name: 'other' })).toThrow(/LocalService web/);
  });
});
